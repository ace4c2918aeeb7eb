"""Request bodies of the console's JSON API and how typed text is cleaned before it
is stored (:func:`clean_text`)."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from pydantic import BaseModel, Field

MAX_MESSAGE = 2000
KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` as stored: NFC, without control characters (tab and newlines stay) or
    lone surrogates, which PostgreSQL cannot store; surrounding whitespace trimmed."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", _CONTROL.sub("", text))).strip()


class MessageIn(BaseModel):
    """A text for the shopper; ``suggestion_key``/``suggestion_event`` when it came from a
    suggested reply (``used`` as is or ``edited``), ``suggestion_text`` what was shown."""

    text: str = Field(min_length=1, max_length=MAX_MESSAGE)
    suggestion_key: str | None = Field(default=None, pattern=KEY_PATTERN)
    suggestion_event: Literal["used", "edited"] | None = None
    suggestion_text: str | None = Field(default=None, max_length=4000)
    suggestion_source: str | None = Field(default=None, max_length=16)


class CardIn(BaseModel):
    product_id: int = Field(ge=1)


class OfferIn(BaseModel):
    offer_id: int = Field(ge=1)


class SuggestionEventIn(BaseModel):
    handoff_id: int = Field(ge=1)
    event: Literal["shown", "ignored"]
    text: str = Field(default="", max_length=4000)
    source: str = Field(default="llm", max_length=16)


class StaffIn(BaseModel):
    email: str = Field(max_length=254)
    name: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=12, max_length=256)
    role: Literal["agent", "supervisor", "admin"] = "agent"
    teams: list[str] = Field(default_factory=list, max_length=20)
