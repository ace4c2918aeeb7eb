"""Rich bot messages made fit for messaging apps (plain Python, no Rasa).

The web widget draws product cards, promo codes and carts from ``custom`` payloads; a
messaging app gets text, links and, where the platform has them, buttons:

- ``{"type": "product_cards", "heading": …, "start": 1, "cards": [card, …]}`` becomes
  the heading and a numbered list ``N. Title — $129.00 (4.5★)`` with each product's
  absolute link (``public_url`` joined with the card's ``url``), numbered from
  ``start``; the message's own ``text`` (the same list without links) is not sent.
  Cards sent as a separate message without ``heading``/``start`` are numbered from 1.
- ``{"type": "promo_code", "code", "discount", "applies_to", "expires"}`` becomes one
  line with the code; ``{"type": "cart", "lines", "count", "total"}`` a short summary;
  any other ``custom`` is dropped (debug log).
- Buttons stay buttons on Telegram and Slack (:class:`Outgoing.buttons`); on plain-text
  channels (WhatsApp) they become numbered options continuing after the card numbers.

"Reply with a number": while a bot turn is sent, :class:`TurnNumbers` collects what
each number shown means (card N -> ``/product_details{"product_id": ID}``, option N ->
the button's payload); :class:`ReplyNumbers` keeps the last turn's numbers per
(channel, sender) and :func:`parse_number` recognises a reply that is just a number.

Both :class:`ReplyNumbers` and :class:`CallbackKeys` keep their maps in this process, or,
given ``shared`` (a source of :class:`SharedStrings`: :func:`bot.shared_state.get_strings`,
Redis when ``SHOP_REDIS_URL`` is set), there with a time to live, so that a number
reply or a button press reaches whichever Rasa process takes it. A shared entry is
keyed by :func:`conversation_key` (a hash: a WhatsApp sender id is a phone number) and
carries that key inside its value; an entry whose owner is not the asking conversation
is ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin

logger = logging.getLogger(__name__)

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
TELEGRAM_CALLBACK_BYTES = 64
CALLBACK_KEY_PREFIX = "k:"
NO_TEXT_WITH_BUTTONS = "Choose one:"
_NUMBER_RE = re.compile(r"^\s*(?:#|no\.?|number)?\s*(\d{1,4})\s*[.)]?\s*$", re.IGNORECASE)
#: how long a conversation's numbers are kept in the shared store (a day)
REPLY_NUMBERS_TTL_S = 24 * 3600
#: how long a short button key is kept in the shared store (a week: old messages keep their buttons)
CALLBACK_KEYS_TTL_S = 7 * 24 * 3600


def conversation_key(channel: str, sender: str) -> str:
    """The conversation ``(channel, sender)`` as it appears in shared keys: 32 hex digits
    of the SHA-256 of both (a sender id may be a phone number)."""
    return hashlib.sha256(f"{channel}\x00{sender}".encode()).hexdigest()[:32]


class SharedStrings(Protocol):
    """Strings with a time to live shared by the Rasa processes (:mod:`bot.shared_state`)."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, *, ttl_s: float) -> None: ...

    def delete(self, key: str) -> None: ...


#: where a shared map lives: called on first use (``None``: this process only)
SharedSource = Callable[[], SharedStrings | None]


class _Shared:
    """The shared store of ``source``, looked up on first use (nothing at import)."""

    def __init__(self, source: SharedSource | None) -> None:
        self.source = source
        self._store: SharedStrings | None = None
        self._resolved = source is None

    def store(self) -> SharedStrings | None:
        if not self._resolved:
            self._store = self.source() if self.source is not None else None
            self._resolved = True
        return self._store


@dataclass(frozen=True)
class Button:
    """A button: ``title`` shown, ``payload`` sent back as the user's message."""

    title: str
    payload: str


@dataclass
class Outgoing:
    """One platform message: ``text`` (never empty) and platform ``buttons`` (may be empty)."""

    text: str
    buttons: list[Button] = field(default_factory=list)


@dataclass
class TurnNumbers:
    """Numbers shown during one bot turn: ``choices`` maps each to the payload it stands for."""

    choices: dict[int, str] = field(default_factory=dict)

    def next_number(self) -> int:
        """The number after the highest shown so far (1 when none)."""
        return max(self.choices, default=0) + 1

    def add(self, number: int, payload: str) -> None:
        self.choices[number] = payload


class ReplyNumbers:
    """The numbers of each conversation's last bot turn, for at most ``max_senders``
    conversations (default 10,000; least recently used forgotten first). Keys are
    ``(channel, sender)``. With ``shared`` they live in the shared store instead, for
    ``ttl_s`` seconds (default a day; see the module doc)."""

    def __init__(self, max_senders: int = 10_000, *, shared: SharedSource | None = None,
                 ttl_s: float = REPLY_NUMBERS_TTL_S) -> None:
        self.max_senders = max_senders
        self.ttl_s = ttl_s
        self._shared = _Shared(shared)
        self._maps: OrderedDict[tuple[str, str], dict[int, str]] = OrderedDict()

    def remember(self, key: tuple[str, str], choices: Mapping[int, str]) -> None:
        """Keep ``choices`` as the conversation's numbers; an empty turn clears them."""
        store = self._shared.store()
        if store is not None:
            owner = conversation_key(*key)
            if choices:
                value = {"owner": owner, "choices": {str(n): p for n, p in choices.items()}}
                store.set("rn:" + owner, json.dumps(value, ensure_ascii=False), ttl_s=self.ttl_s)
            else:
                store.delete("rn:" + owner)
            return
        self._maps.pop(key, None)
        if choices:
            self._maps[key] = dict(choices)
            while len(self._maps) > self.max_senders:
                self._maps.popitem(last=False)

    def resolve(self, key: tuple[str, str], text: str) -> str | None:
        """The payload ``text`` stands for when it is just a number the conversation's
        last turn showed, else ``None`` (the text then goes on unchanged)."""
        number = parse_number(text)
        if number is None:
            return None
        choices = self.get(key)
        if number not in choices:
            return None
        if key in self._maps:
            self._maps.move_to_end(key)
        return choices[number]

    def get(self, key: tuple[str, str]) -> dict[int, str]:
        store = self._shared.store()
        if store is None:
            return dict(self._maps.get(key, {}))
        owner = conversation_key(*key)
        value = _json_object(store.get("rn:" + owner))
        if value is None or value.get("owner") != owner or not isinstance(value.get("choices"), dict):
            return {}
        return {int(n): str(p) for n, p in value["choices"].items() if str(n).isdigit()}

    def __len__(self) -> int:
        return len(self._maps)


def _json_object(raw: str | None) -> dict[str, Any] | None:
    """``raw`` read as a JSON object, or ``None`` (missing or not an object)."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def parse_number(text: str) -> int | None:
    """The number in a reply that is only a number ("2", " 2. ", "#2", "no. 2"), else ``None``."""
    match = _NUMBER_RE.match(text or "")
    return int(match.group(1)) if match else None


def absolute_link(public_url: str, url: Any) -> str | None:
    """``url`` made absolute against ``public_url`` (an absolute ``url`` is kept), or ``None``."""
    if not isinstance(url, str) or not url.strip():
        return None
    if url.startswith(("http://", "https://")):
        return url
    return urljoin(public_url.rstrip("/") + "/", url.lstrip("/"))


def details_payload(product_id: Any) -> str:
    """The message that asks for a product's details: ``/product_details{"product_id": 12}``."""
    return "/product_details" + json.dumps({"product_id": product_id})


def card_line(number: int, card: Mapping[str, Any]) -> str:
    """``"2. Trail Boot — $129.00 (4.5★)"`` (no rating part without a rating)."""
    title = str(card.get("title") or "Product")
    price = f" — {card['price']}" if card.get("price") else ""
    rating = card.get("rating")
    stars = f" ({float(rating):.1f}★)" if isinstance(rating, (int, float)) and rating > 0 else ""
    return f"{number}. {title}{price}{stars}"


def cards_text(custom: Mapping[str, Any], *, public_url: str, turn: TurnNumbers) -> str:
    """A ``product_cards`` payload as heading plus numbered lines with links; each
    number is recorded in ``turn`` as that product's details request. A single card
    without a heading (the card after a product's details) becomes its link only."""
    try:
        start = int(custom.get("start") or 1)
    except (TypeError, ValueError):
        start = 1
    lines = [str(custom["heading"])] if custom.get("heading") else []
    cards = custom.get("cards") if isinstance(custom.get("cards"), list) else []
    if len(cards) == 1 and not lines and isinstance(cards[0], Mapping):
        # one card after a description (product details): just where to see it
        link = absolute_link(public_url, cards[0].get("url"))
        return f"See it in the shop: {link}" if link else ""
    for offset, card in enumerate(c for c in cards if isinstance(c, Mapping)):
        number = start + offset
        lines.append(card_line(number, card))
        link = absolute_link(public_url, card.get("url"))
        if link:
            lines.append(f"   {link}")
        if card.get("id") is not None:
            turn.add(number, details_payload(card["id"]))
    return "\n".join(lines)


def promo_text(custom: Mapping[str, Any]) -> str:
    """``"Your code: RDG7K2 — 15% off jackets and fleece, valid until December 1, 2026."``"""
    terms = " ".join(str(custom[k]) for k in ("discount",) if custom.get(k))
    if custom.get("applies_to"):
        terms = f"{terms} {'on' if terms else 'for'} {custom['applies_to']}".strip()
    expires = f", valid until {custom['expires']}" if custom.get("expires") else ""
    return f"Your code: {custom.get('code', '')}" + (f" — {terms}" if terms else "") + f"{expires}."


def cart_text(custom: Mapping[str, Any]) -> str:
    """``"Your cart: 2 items, $258.00"`` and one ``"- 1 × Title (M, Black) — $129.00"`` per line."""
    count = custom.get("count") or 0
    if not count:
        return "Your cart is empty."
    out = [f"Your cart: {count} item{'s' if count != 1 else ''}, {custom.get('total', '')}".rstrip(", ")]
    for line in custom.get("lines") or []:
        if not isinstance(line, Mapping):
            continue
        variant = ", ".join(str(line[k]) for k in ("size", "colour") if line.get(k))
        out.append(f"- {line.get('quantity', 1)} × {line.get('title', 'item')}"
                   + (f" ({variant})" if variant else "")
                   + (f" — {line['line_total']}" if line.get("line_total") else ""))
    return "\n".join(out)


def custom_text(custom: Any, *, public_url: str, turn: TurnNumbers) -> str | None:
    """A ``custom`` payload as text, or ``None`` when its type is unknown (dropped)."""
    kind = custom.get("type") if isinstance(custom, Mapping) else None
    if kind == "product_cards":
        return cards_text(custom, public_url=public_url, turn=turn)
    if kind == "promo_code":
        return promo_text(custom)
    if kind == "cart":
        return cart_text(custom)
    logger.debug("custom payload of type %r dropped on a messaging channel", kind)
    return None


def read_buttons(raw: Any) -> list[Button]:
    """Rasa's ``buttons``/``quick_replies`` (``[{"title", "payload"}]``) as :class:`Button` s;
    malformed entries are skipped."""
    if not isinstance(raw, list):
        return []
    out = []
    for item in raw:
        if isinstance(item, Mapping) and item.get("title") is not None and item.get("payload") is not None:
            out.append(Button(str(item["title"]), str(item["payload"])))
    return out


def numbered_options(buttons: list[Button], turn: TurnNumbers) -> list[str]:
    """``"6. Show more"`` lines numbered after the turn's highest number, recorded in ``turn``."""
    lines = []
    for button in buttons:
        number = turn.next_number()
        turn.add(number, button.payload)
        lines.append(f"{number}. {button.title}")
    return lines


def degrade_message(message: Mapping[str, Any], *, public_url: str, turn: TurnNumbers,
                    buttons_as_text: bool) -> list[Outgoing]:
    """A Rasa bot message (``text``, ``buttons``/``quick_replies``, ``custom``, ``image``,
    ``attachment``) as platform messages, in order. ``buttons_as_text``: options become
    numbered lines (channels without buttons) instead of :attr:`Outgoing.buttons`."""
    custom = message.get("custom")
    is_cards = isinstance(custom, Mapping) and custom.get("type") == "product_cards"
    parts: list[str] = []
    if is_cards:
        parts.append(cards_text(custom, public_url=public_url, turn=turn))
    elif message.get("text"):
        parts.append(str(message["text"]))
    buttons = read_buttons(message.get("buttons")) or read_buttons(message.get("quick_replies"))
    if buttons and buttons_as_text:
        parts.extend(numbered_options(buttons, turn))
        buttons = []
    out: list[Outgoing] = []
    text = "\n".join(p for p in parts if p)
    if text or buttons:
        out.append(Outgoing(text or NO_TEXT_WITH_BUTTONS, buttons))
    if custom is not None and not is_cards:
        extra = custom_text(custom, public_url=public_url, turn=turn)
        if extra:
            out.append(Outgoing(extra))
    for key in ("image", "attachment"):
        value = message.get(key)
        if isinstance(value, str) and value.strip():
            out.append(Outgoing(absolute_link(public_url, value) or value))
    return out


def split_text(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at line breaks where it can."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:].lstrip("\n")
    if rest or not pieces:
        pieces.append(rest)
    return pieces


class CallbackKeys:
    """Telegram's ``callback_data`` holds at most 64 bytes: a longer payload is sent as
    a short key (``k:`` and 16 hex digits of its SHA-256) remembered here (at most
    ``max_keys``, default 10,000) and turned back into the payload on the callback.
    With ``shared`` the keys live in the shared store for ``ttl_s`` seconds (default
    a week), so a button sent by one Rasa process works when another gets the press.
    A key names its payload's hash, so knowing a key means knowing the payload: it
    opens nothing a shopper could not type."""

    def __init__(self, max_keys: int = 10_000, limit: int = TELEGRAM_CALLBACK_BYTES, *,
                 shared: SharedSource | None = None, ttl_s: float = CALLBACK_KEYS_TTL_S) -> None:
        self.max_keys = max_keys
        self.limit = limit
        self.ttl_s = ttl_s
        self._shared = _Shared(shared)
        self._payloads: OrderedDict[str, str] = OrderedDict()

    def data_for(self, payload: str) -> str:
        """What to put in ``callback_data`` for ``payload`` (the payload when it fits)."""
        if len(payload.encode()) <= self.limit and not payload.startswith(CALLBACK_KEY_PREFIX):
            return payload
        key = CALLBACK_KEY_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:16]
        store = self._shared.store()
        if store is not None:
            store.set("cb:" + key, payload, ttl_s=self.ttl_s)
            return key
        self._payloads[key] = payload
        self._payloads.move_to_end(key)
        while len(self._payloads) > self.max_keys:
            self._payloads.popitem(last=False)
        return key

    def payload_for(self, data: str) -> str | None:
        """The payload a callback's ``data`` stands for; ``None`` for a key no longer known
        (or one whose stored payload does not hash to it)."""
        if not data.startswith(CALLBACK_KEY_PREFIX):
            return data
        store = self._shared.store()
        payload = store.get("cb:" + data) if store is not None else self._payloads.get(data)
        if payload is None or CALLBACK_KEY_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:16] != data:
            return None
        return payload
