"""Editing the shop's policies, which are also the chat's FAQ answers (the FAQ response
selector picks a key, :func:`shop.services.policies.faq_answer` answers with that
policy's text).

A policy's numbers live in ``params`` and the body shows them through
``{placeholders}`` (:func:`shop.services.policies.render_policy_text`): the returns
service enforces ``returns_window.params.window_days``, and the grounded LLM answers are
checked against the rendered text. So an edit is refused when:

- the title is empty or over :data:`MAX_TITLE` characters, or the body empty or over
  :data:`MAX_BODY`;
- the title or body holds HTML or script (``<tag``, ``javascript:``, ``on...=``) or
  control characters (the texts go to every channel as plain text);
- the body uses a ``{placeholder}`` that ``params`` doesn't hold;
- the body drops a placeholder of a number the policy holds in ``params`` (writing
  "45 days" instead of ``{window_days}`` would leave the enforced rule at 30 while the
  text says 45): the message names the placeholder, the param and the
  ``--param key=value`` that changes the number instead.

``--param key=value`` changes keep each param's type: a number stays a number (0 or
more; ``*_cents`` and ``*_days`` whole), a list a list of words, text text.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db.schema import Policy, StaffUser
from shop.services.admin_audit import AdminError, record_admin_change
from shop.services.policies import render_policy_text
from shop.services.policy_questions import load_questions

MAX_TITLE = 200
MAX_BODY = 2000
MAX_PARAM_TEXT = 300
MAX_DAYS = 365
KEY_RE = re.compile(r"[a-z][a-z0-9_]{1,63}")
PARAM_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")
MARKUP_RE = re.compile(r"<\s*[a-zA-Z/!?]|javascript\s*:|vbscript\s*:|data\s*:\s*text/html|\bon[a-z]+\s*=",
                       re.IGNORECASE)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
NUMBER_RE = re.compile(r"(?<![\w.{])\d+(?:[.,]\d+)?(?![\w}])")


def policy_topics() -> tuple[str, ...]:
    """The topics a policy may have: those ``policy_questions.yml`` recognises
    (shipping, returns, payment, promotions, support, and the ones a shop may add:
    warranty, price_match ...)."""
    return tuple(sorted({t.policy_topic for t in load_questions().topics}))


@dataclass(frozen=True)
class PolicyChange:
    """What :func:`set_policy` did: ``created`` or updated ``key``; ``changed``: the
    fields that changed (``title``, ``body``, ``topic``, ``params``); ``params``: param
    -> [before, after] of the changed params; ``text``: the rendered text now."""

    key: str
    created: bool
    changed: tuple[str, ...]
    params: dict[str, list[Any]] = field(default_factory=dict)
    text: str = ""


def _text_problems(label: str, value: str, limit: int) -> list[str]:
    problems = []
    if not value.strip():
        problems.append(f"the {label} is empty")
    if len(value) > limit:
        problems.append(f"the {label} has {len(value)} characters; at most {limit}")
    markup = MARKUP_RE.search(value)
    if markup:
        problems.append(f"the {label} holds HTML or script ({markup.group(0)!r}); write plain text")
    if CONTROL_RE.search(value):
        problems.append(f"the {label} holds control characters; plain text and line breaks only")
    return problems


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown_by(name: str) -> str:
    """The placeholder that shows param ``name`` (``free_threshold_cents`` -> ``free_threshold``)."""
    return name[:-len("_cents")] if name.endswith("_cents") else name


def parse_param(assignment: str, *, current: dict[str, Any]) -> tuple[str, Any]:
    """``"key=value"`` -> ``(key, value)`` typed like the current value of ``key``
    (a new key: a number when it reads as one, else text).

    Raises:
        AdminError: not ``key=value``, a bad key, or a value of the wrong type or range.
    """
    key, sep, raw = assignment.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not PARAM_KEY_RE.fullmatch(key):
        raise AdminError(f"--param {assignment!r}: write key=value, the key 1-40 lower-case letters, digits or _")
    before = current.get(key)
    if isinstance(before, list):
        items = [w.strip() for w in raw.split(",") if w.strip()]
        if any(not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,79}", w) for w in items):
            raise AdminError(f"--param {key}: a comma-separated list of slugs (lower-case letters, digits, - or _)")
        return key, items
    if _is_number(before) or key.endswith(("_cents", "_days")) or (before is None and NUMBER_RE.fullmatch(raw)):
        whole = (key.endswith(("_cents", "_days")) or isinstance(before, int)
                 or (before is None and raw.isdigit()))
        try:
            number: int | float = int(raw) if whole else float(raw.replace(",", "."))
        except ValueError:
            raise AdminError(f"--param {key}: {raw!r} is not a{' whole' if whole else ''} number") from None
        if not math.isfinite(number) or number < 0:
            raise AdminError(f"--param {key}: must be a number of 0 or more, not {raw}")
        if key.endswith("_days") and number > MAX_DAYS:
            raise AdminError(f"--param {key}: at most {MAX_DAYS} days")
        return key, number
    if not raw or len(raw) > MAX_PARAM_TEXT or MARKUP_RE.search(raw) or CONTROL_RE.search(raw):
        raise AdminError(f"--param {key}: 1-{MAX_PARAM_TEXT} characters of plain text")
    return key, raw


def consistency_problems(body: str, params: dict[str, Any], *, old_body: str | None) -> list[str]:
    """How ``body`` would disagree with ``params`` (see the module doc)."""
    problems = []
    used = set(PLACEHOLDER_RE.findall(body))
    for name in sorted(used):
        if name not in params and f"{name}_cents" not in params:
            problems.append(f"the body uses {{{name}}}, which is not a param of this policy "
                            f"(add it with --param {name}=VALUE, or remove it)")
    if old_body is not None:
        shown_before = set(PLACEHOLDER_RE.findall(old_body))
        literal = NUMBER_RE.findall(PLACEHOLDER_RE.sub("", body))
        for key, value in sorted(params.items()):
            placeholder = _shown_by(key)
            if _is_number(value) and placeholder in shown_before and placeholder not in used:
                states = f"; the body states {', '.join(literal)} instead" if literal else ""
                problems.append(
                    f"the body no longer shows {{{placeholder}}} ({key} = {value} in params, which the shop's rules "
                    f"and the checked answers read){states}: keep {{{placeholder}}} in the text and change the "
                    f"number with --param {key}=NEW")
    return problems


def list_policies(session: Session) -> list[Policy]:
    """Every policy, by topic and key."""
    return list(session.scalars(select(Policy).order_by(Policy.topic, Policy.key)))


def get_policy_row(session: Session, *, key: str) -> Policy | None:
    return session.scalar(select(Policy).where(Policy.key == key))


def set_policy(session: Session, *, key: str, by: StaffUser, now: datetime, title: str | None = None,
               body: str | None = None, topic: str | None = None, param_assignments: tuple[str, ...] = ()
               ) -> PolicyChange:
    """Create or change the policy ``key`` (see the module doc for what is refused) and
    write an audit row (``policy_create`` / ``policy_update``, with the texts before and
    after and the params changed). A new policy needs ``title``, ``body`` and ``topic``.

    Raises:
        AdminError: listing every problem found.
    """
    if not KEY_RE.fullmatch(key or ""):
        raise AdminError("the key must be 2-64 lower-case letters, digits or _, starting with a letter "
                         "(e.g. returns_window)")
    row = get_policy_row(session, key=key)
    problems: list[str] = []
    if row is None and (title is None or body is None or topic is None):
        raise AdminError(f"there is no policy {key!r} yet: a new one needs --title, --body-file and --topic "
                         f"({', '.join(policy_topics())})")
    if topic is not None and topic not in policy_topics():
        problems.append(f"the topic must be one of {', '.join(policy_topics())}")
    if title is not None:
        problems += _text_problems("title", title, MAX_TITLE)
    if body is not None:
        problems += _text_problems("body", body, MAX_BODY)
    params = dict(row.params or {}) if row is not None else {}
    changed_params: dict[str, list[Any]] = {}
    for assignment in param_assignments:
        try:
            name, value = parse_param(assignment, current=params)
        except AdminError as exc:
            problems.append(str(exc))
            continue
        if params.get(name) != value:
            changed_params[name] = [params.get(name), value]
            params[name] = value
    new_body = body if body is not None else (row.body if row is not None else "")
    problems += consistency_problems(new_body, params, old_body=row.body if row is not None else None)
    if problems:
        raise AdminError("; ".join(problems))
    before = {"title": row.title, "body": row.body, "topic": row.topic} if row is not None else None
    created = row is None
    if row is None:
        row = Policy(key=key, topic=str(topic), title=str(title).strip(), body=new_body.strip(), params=params,
                     updated_at=now)
        session.add(row)
        changed = ("title", "body", "topic", *(("params",) if params else ()))
    else:
        fields = {"title": title.strip() if title is not None else row.title,
                  "body": new_body.strip(), "topic": topic or row.topic}
        changed = tuple(f for f, v in fields.items() if getattr(row, f) != v) + (("params",) if changed_params else ())
        row.title, row.body, row.topic = fields["title"], fields["body"], fields["topic"]
        if changed_params:
            row.params = params  # a new dict: the JSON column sees the change
        if changed:
            row.updated_at = now
    session.flush()
    if changed:
        record_admin_change(session, by=by, action="policy_create" if created else "policy_update", now=now,
                            key=key, changed=list(changed), params=changed_params, before=before,
                            after={"title": row.title, "body": row.body, "topic": row.topic})
    return PolicyChange(key, created, changed, changed_params, render_policy_text(row.body, dict(row.params or {})))


def policy_as_dict(row: Policy) -> dict[str, Any]:
    """A policy for ``policy show``: its fields, params and rendered text."""
    params = dict(row.params or {})
    return {"key": row.key, "topic": row.topic, "title": row.title, "body": row.body,
            "params": json.loads(json.dumps(params)), "text": render_policy_text(row.body, params),
            "updated_at": row.updated_at.isoformat(timespec="seconds") if row.updated_at else None}
