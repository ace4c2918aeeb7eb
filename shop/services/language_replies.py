"""The honest answer to a message in another language: "I can only chat in English for
now …" in that language when ``language_replies.yml`` has a reviewed translation, else in
English. The detected language decides; the browser's locale is only a hint (it picks a
regional variant of the same language, or a language when none was detected)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

REPLIES_PATH = Path(__file__).with_name("language_replies.yml")
HUMAN_PAYLOAD = "/request_human"
_CODE_RE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})?$")


@dataclass(frozen=True)
class LanguageReply:
    """``text`` and the person button's ``button_title``, in ``language``."""

    language: str
    text: str
    button_title: str
    button_payload: str = HUMAN_PAYLOAD

    def buttons(self) -> list[dict[str, str]]:
        return [{"title": self.button_title, "payload": self.button_payload}]


@lru_cache(maxsize=4)
def load_replies(path: str | None = None) -> tuple[str, dict[str, LanguageReply]]:
    """``(fallback code, {code: reply})`` from ``path`` (default: the file next to this module)."""
    raw: dict[str, Any] = yaml.safe_load((Path(path) if path else REPLIES_PATH).read_text(encoding="utf-8"))
    replies = {
        str(code).lower(): LanguageReply(str(code), str(entry["text"]), str(entry["button"]))
        for code, entry in raw["replies"].items()
    }
    fallback = str(raw.get("fallback", "en")).lower()
    if fallback not in replies:
        raise ValueError(f"language_replies: no reply for the fallback language {fallback!r}")
    return fallback, replies


def _code(value: Any) -> str | None:
    """A well-formed language tag in lower case (``"pt-br"``), or ``None``."""
    if not isinstance(value, str):
        return None
    tag = value.strip().replace("_", "-").lower()[:20]
    return tag if _CODE_RE.match(tag) else None


def reply_for(language: Any, locale: Any = None, *, path: str | None = None) -> LanguageReply:
    """The reply for the detected ``language`` (ISO 639-1), with ``locale`` (the
    browser's, e.g. ``"pt-BR"``) as a hint; the fallback language's when there is no
    translation. Anything malformed counts as not given."""
    fallback, replies = load_replies(path)
    detected, hint = _code(language), _code(locale)
    if detected is not None:
        primary = detected.split("-")[0]
        if hint is not None and hint.split("-")[0] == primary and hint in replies:
            return replies[hint]
        return replies.get(detected) or replies.get(primary) or replies[fallback]
    if hint is not None:
        return replies.get(hint) or replies.get(hint.split("-")[0]) or replies[fallback]
    return replies[fallback]
