"""Admin commands: staff accounts, policy and FAQ texts, offers.

    python -m apps.cli admin create-user --email E --name N --role admin|supervisor|agent [--team T ...]
                                         [--password-stdin] [--by ADMIN_EMAIL]
    python -m apps.cli policy list
    python -m apps.cli policy show KEY [--json]
    python -m apps.cli policy set KEY --by ADMIN_EMAIL [--title T] [--body-file F|-] [--topic TOPIC]
                                      [--param key=value ...]
    python -m apps.cli offer list
    python -m apps.cli offer create KEY --by ADMIN_EMAIL --name N --kind K [--value V] --budget MONEY
                                        --ends YYYY-MM-DD [--starts ...] [--min-items N] [--margin PCT]
                                        [--category SLUG ...] [--product ID ...] [--per-customer N]
    python -m apps.cli offer pause|resume|end KEY --by ADMIN_EMAIL

Every command takes ``--url`` (default ``DATABASE_URL``). Changes need ``--by``, the email
of an active admin, and each writes an ``audit_log`` row naming them; the first admin
of a shop is made without ``--by`` (and only an admin can be made that way). Passwords
are read from a prompt (twice) or, with ``--password-stdin``, from the first line of
standard input, and are never printed or logged. The chat's FAQ answers are the
policies' texts: ``policy set`` changes both.

Exit status: 0 done; 1 refused (the message says why and what is allowed); 2 bad arguments.
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from apps.console.staff import StaffError, create_staff
from shop.cli_args import parse_as_of, run_parsed
from shop.db.engine import session_scope
from shop.db.migrate import upgrade
from shop.db.schema import STAFF_ROLES, OfferCode, StaffUser
from shop.handoff.handoff_config import load_config
from shop.services.admin_audit import AdminError, acting_admin, active_admins, record_admin_change
from shop.services.admin_offers import (
    OFFER_KINDS,
    OfferSpec,
    create_offer,
    end_offer,
    list_offers,
    offer_state,
    pause_offer,
    resume_offer,
)
from shop.services.admin_policies import (
    MAX_BODY,
    get_policy_row,
    list_policies,
    policy_as_dict,
    policy_topics,
    set_policy,
)
from shop.services.admin_staff import PASSWORD_RULE, password_problems
from shop.services.money import format_money
from shop.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
FAQ_DATA = REPO_ROOT / "data" / "nlu" / "faq.yml"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def _url(args: argparse.Namespace) -> str:
    url = args.url or get_settings().database_url
    upgrade(url)
    return url


def _refuse(message: str) -> int:
    print(f"refused: {message}", file=sys.stderr)
    return 1


# --------------------------------------------------------------------------- staff


def _read_password(args: argparse.Namespace) -> str | None:
    """The new password: stdin's first line with ``--password-stdin``, else asked twice
    on the terminal; ``None`` (after saying why) when it can't be read."""
    if args.password_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not sys.stdin.isatty():
        print("no terminal to ask for the password on: pipe it in with --password-stdin", file=sys.stderr)
        return None
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        print("the two passwords differ", file=sys.stderr)
        return None
    return first


def _creator(session: Session, args: argparse.Namespace) -> StaffUser | None:
    """Who creates the account: the ``--by`` admin, or ``None`` for a shop's first admin
    (only an admin may be made without ``--by``). Raises :class:`AdminError`."""
    if active_admins(session) == 0:
        if args.role != "admin":
            raise AdminError("the shop has no active admin yet: the first account made here must be --role admin "
                             "(who then makes the others, with --by)")
        return None
    return acting_admin(session, email=args.by)


def _cmd_create_user(args: argparse.Namespace) -> int:
    url = _url(args)
    with session_scope(url) as session:
        try:
            _creator(session, args)  # before asking for a password nobody may use
        except AdminError as exc:
            return _refuse(str(exc))
    password = _read_password(args)
    if password is None:
        return 1
    problems = password_problems(password, email=args.email, name=args.name)
    if problems:
        return _refuse(f"weak password: {'; '.join(problems)}. The rule: {PASSWORD_RULE}")
    teams = args.team or ([load_config(get_settings().handoff_config).default_team] if args.role == "agent" else [])
    now = _now()
    with session_scope(url) as session:
        try:
            by = _creator(session, args)
            user = create_staff(session, email=args.email, name=args.name, password=password, role=args.role,
                                teams=teams, now=now)
        except (AdminError, StaffError) as exc:
            return _refuse(str(exc))
        record_admin_change(session, by=by if by is not None else user.id, action="create_staff", now=now,
                            staff_id=user.id, email=user.email, role=user.role, teams=list(user.teams),
                            first_admin=by is None)
        made = f"{user.role} {user.email} (id {user.id}{', teams ' + ', '.join(user.teams) if user.teams else ''})"
        first = by is None
    first_note = ", the shop's first admin" if first else ""
    print(f"Created {made}{first_note}. They sign in to the staff console with "
          "this email and the password given.")
    return 0


# --------------------------------------------------------------------------- policies


def _cmd_policy_list(args: argparse.Namespace) -> int:
    with session_scope(_url(args)) as session:
        rows = list_policies(session)
        if not rows:
            print("No policies yet. Add one: python -m apps.cli policy set KEY --by ADMIN --topic TOPIC "
                  "--title TITLE --body-file FILE")
            return 0
        width = max(len(r.key) for r in rows)
        for row in rows:
            print(f"{row.key:<{width}}  {row.topic:<10}  {row.title}")
    return 0


def _cmd_policy_show(args: argparse.Namespace) -> int:
    with session_scope(_url(args)) as session:
        row = get_policy_row(session, key=args.key)
        if row is None:
            return _refuse(f"there is no policy {args.key!r} (`python -m apps.cli policy list` shows them)")
        shown = policy_as_dict(row)
    if args.json:
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return 0
    print(f"{shown['key']} ({shown['topic']}), updated {shown['updated_at']}\nTitle: {shown['title']}\n"
          f"Body:  {shown['body']}\nParams: {json.dumps(shown['params'], ensure_ascii=False)}\n"
          f"Shoppers read: {shown['text']}")
    return 0


def faq_keys(path: Path = FAQ_DATA) -> set[str]:
    """The policy keys the chat's FAQ model answers (``faq/<key>`` in its training data)."""
    try:
        return set(re.findall(r"faq/([a-z0-9_]+)", path.read_text(encoding="utf-8")))
    except OSError:
        return set()


def _read_body(path: str | None) -> str | None:
    if path is None:
        return None
    if path == "-":
        return sys.stdin.read(MAX_BODY * 4 + 1)
    with open(path, encoding="utf-8") as fh:
        return fh.read(MAX_BODY * 4 + 1)


def _cmd_policy_set(args: argparse.Namespace) -> int:
    try:
        body = _read_body(args.body_file)
    except (OSError, UnicodeDecodeError) as exc:
        return _refuse(f"cannot read the body file: {exc}")
    url = _url(args)
    with session_scope(url) as session:
        try:
            by = acting_admin(session, email=args.by)
            change = set_policy(session, key=args.key, by=by, now=_now(), title=args.title, body=body,
                                topic=args.topic, param_assignments=tuple(args.param or ()))
        except AdminError as exc:
            return _refuse(str(exc))
    if not change.changed:
        print(f"Policy {change.key}: nothing changed.")
        return 0
    params = "; ".join(f"{k} {before!r} -> {after!r}" for k, (before, after) in change.params.items())
    print(f"{'Created' if change.created else 'Updated'} policy {change.key} ({', '.join(change.changed)})"
          f"{'; params: ' + params if params else ''}.\nShoppers now read: {change.text}")
    if change.key not in faq_keys():
        print(f"Note: the chat's FAQ model has no examples for {change.key!r} ({FAQ_DATA.relative_to(REPO_ROOT)}), "
              "so it answers questions with this text only once examples are added and the model retrained "
              "(make train); the return rules and other services read it now.")
    return 0


# --------------------------------------------------------------------------- offers


def _money_cents(value: str) -> int:
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{value!r} is not an amount of money like 250 or 19.99") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise argparse.ArgumentTypeError(f"{value!r}: at most 2 decimals")
    return int(amount * 100)


def _cmd_offer_list(args: argparse.Namespace) -> int:
    now = _now()
    with session_scope(_url(args)) as session:
        offers = list_offers(session)
        if not offers:
            print("No offers yet. Create one: python -m apps.cli offer create KEY --by ADMIN ...")
            return 0
        for o in offers:
            value = {"percent_off": f"{o.value}% off", "bundle": f"{o.value}% off {o.min_items}+",
                     "amount_off": f"{format_money(o.value, 'USD')} off"}.get(o.kind, "free shipping")
            print(f"{o.key:<24} {offer_state(o, now=now):<9} {value:<16} spent {format_money(o.spent_cents, 'USD')} "
                  f"of {format_money(o.budget_cents, 'USD')}  {o.starts_at:%Y-%m-%d} - {o.ends_at:%Y-%m-%d}  {o.name}")
    return 0


def _cmd_offer_create(args: argparse.Namespace) -> int:
    now = _now()
    if args.kind == "amount_off":
        try:
            value = _money_cents(args.value or "")
        except argparse.ArgumentTypeError as exc:
            return _refuse(f"--value: {exc}")
    else:
        try:
            value = int(args.value) if args.value is not None else 0
        except ValueError:
            return _refuse(f"--value: {args.value!r} is not a whole percentage")
    spec = OfferSpec(key=args.key, name=args.name, kind=args.kind, value=value, budget_cents=args.budget,
                     ends_at=args.ends, starts_at=args.starts, min_items=args.min_items, min_margin_pct=args.margin,
                     category_slugs=tuple(args.category or ()), product_ids=tuple(args.product or ()),
                     per_customer_limit=args.per_customer)
    with session_scope(_url(args)) as session:
        try:
            by = acting_admin(session, email=args.by)
            offer = create_offer(session, spec=spec, by=by, now=now)
        except AdminError as exc:
            return _refuse(str(exc))
        print(f"Created offer {offer.key} ({offer_state(offer, now=now)}, {offer.starts_at:%Y-%m-%d %H:%M} to "
              f"{offer.ends_at:%Y-%m-%d %H:%M} UTC, budget {format_money(offer.budget_cents, 'USD')}).")
    return 0


def _cmd_offer_change(args: argparse.Namespace) -> int:
    now = _now()
    change = {"pause": pause_offer, "resume": resume_offer, "end": end_offer}[args.command]
    with session_scope(_url(args)) as session:
        try:
            by = acting_admin(session, email=args.by)
            offer = change(session, key=args.key, by=by, now=now)
        except AdminError as exc:
            return _refuse(str(exc))
        open_codes = session.scalar(select(func.count()).select_from(OfferCode).where(
            OfferCode.offer_id == offer.id, OfferCode.redeemed_at.is_(None), OfferCode.expires_at > now)) or 0
        print(f"Offer {offer.key} is {offer_state(offer, now=now)} now"
              + (f"; {open_codes} code(s) already issued stay valid until they expire" if open_codes
                 and args.command != "resume" else "") + ".")
    return 0


# --------------------------------------------------------------------------- parsers


def _common(parser: argparse.ArgumentParser, *, by: bool) -> None:
    parser.add_argument("--url", help="SQLAlchemy database URL (default: DATABASE_URL or var/shop.db)")
    if by:
        parser.add_argument("--by", required=True, metavar="ADMIN_EMAIL",
                            help="the active admin making the change (written to the audit log)")


def admin_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m apps.cli admin", description="Staff accounts.")
    commands = parser.add_subparsers(dest="command", required=True)
    cu = commands.add_parser("create-user", help="create a console account (the first admin needs no --by)",
                             description=f"Password rule: {PASSWORD_RULE}")
    cu.add_argument("--email", required=True)
    cu.add_argument("--name", required=True)
    cu.add_argument("--role", required=True, choices=STAFF_ROLES)
    cu.add_argument("--team", action="append", metavar="TEAM",
                    help="a queue an agent works (repeat; default: the handoff config's default team)")
    cu.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    cu.add_argument("--by", metavar="ADMIN_EMAIL", help="the active admin creating the account (not for the first)")
    cu.add_argument("--url", help="SQLAlchemy database URL (default: DATABASE_URL or var/shop.db)")
    cu.set_defaults(func=_cmd_create_user)
    return parser


def policy_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m apps.cli policy",
                                     description="Shop policies, which are also the chat's FAQ answers.")
    commands = parser.add_subparsers(dest="command", required=True)
    ls = commands.add_parser("list", help="every policy: key, topic, title")
    _common(ls, by=False)
    ls.set_defaults(func=_cmd_policy_list)
    show = commands.add_parser("show", help="one policy: body, params and the text shoppers read")
    show.add_argument("key")
    show.add_argument("--json", action="store_true")
    _common(show, by=False)
    show.set_defaults(func=_cmd_policy_show)
    st = commands.add_parser("set", help="change (or add) a policy; numbers stay in params")
    st.add_argument("key")
    st.add_argument("--title")
    st.add_argument("--body-file", metavar="FILE", help=f"the new body, plain text (- for stdin; at most {MAX_BODY} "
                                                          "characters; {placeholders} show params)")
    st.add_argument("--topic", choices=policy_topics())
    st.add_argument("--param", action="append", metavar="KEY=VALUE", help="change a param (repeat)")
    _common(st, by=True)
    st.set_defaults(func=_cmd_policy_set)
    return parser


def offer_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m apps.cli offer", description="Offers for the promo engine.")
    commands = parser.add_subparsers(dest="command", required=True)
    ls = commands.add_parser("list", help="every offer with its state and budget")
    _common(ls, by=False)
    ls.set_defaults(func=_cmd_offer_list)
    cr = commands.add_parser("create", help="create an offer (validated: kind, value, budget, dates, margin)")
    cr.add_argument("key")
    cr.add_argument("--name", required=True)
    cr.add_argument("--kind", required=True, choices=OFFER_KINDS)
    cr.add_argument("--value", help="percent_off/bundle: a whole percentage; amount_off: money (10 or 9.99); "
                                    "free_shipping: none")
    cr.add_argument("--budget", required=True, type=_money_cents, metavar="MONEY",
                    help="the most discount it may give in all (e.g. 500)")
    cr.add_argument("--ends", required=True, type=parse_as_of, metavar="YYYY-MM-DD")
    cr.add_argument("--starts", type=parse_as_of, metavar="YYYY-MM-DD", help="default: now")
    cr.add_argument("--min-items", type=int, default=1, help="bundles: items needed (2 or more)")
    cr.add_argument("--margin", type=int, default=0, metavar="PCT",
                    help="the discounted price stays this many percent above cost (0-100)")
    cr.add_argument("--category", action="append", metavar="SLUG", help="limit to a category (repeat)")
    cr.add_argument("--product", action="append", type=int, metavar="ID", help="limit to a product (repeat)")
    cr.add_argument("--per-customer", type=int, default=1, help="codes one customer may hold (1-10)")
    _common(cr, by=True)
    cr.set_defaults(func=_cmd_offer_create)
    for name, text in (("pause", "stop giving it out (codes issued stay valid)"), ("resume", "give it out again"),
                       ("end", "end it now")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("key")
        _common(sub, by=True)
        sub.set_defaults(func=_cmd_offer_change)
    return parser


def admin_main(argv: Sequence[str] | None = None) -> int:
    """``python -m apps.cli admin ...``"""
    return run_parsed(admin_parser(), argv)


def policy_main(argv: Sequence[str] | None = None) -> int:
    """``python -m apps.cli policy ...``"""
    return run_parsed(policy_parser(), argv)


def offer_main(argv: Sequence[str] | None = None) -> int:
    """``python -m apps.cli offer ...``"""
    return run_parsed(offer_parser(), argv)
