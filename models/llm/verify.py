"""Checks that an LLM's text states only what its facts say.

:func:`unsupported` lists each claim in the text that the facts do not contain:

- percentages must be percentages in the facts (``20%`` is not grounded by "20 reviews");
- prices: a ``$`` amount must be a ``$`` amount in the facts (``$80`` matches ``$80.00``);
- other numbers: counts, days, sizes like ``10.5``, ratings (``4.6/5``), compared as
  numbers with any number in the facts; a number with a unit (``10 inches``, ``780 g``,
  ``30 days``) must appear with the same unit in the facts, so a shoe size cannot ground
  a height;
- letter sizes (``XS`` ... ``XXXL``);
- codes: words in capitals with a digit (``SAVE20``, SKUs);
- names: capitalised words that are not sentence starts or common words must occur
  in the facts (an invented brand or product fails);
- commerce promises (``free``, ``discount``, ``coupon``, ``warranty``, ...) that the
  facts never mention;
- links: every URL, bare domain (``evil.example/pay``), e-mail address or markdown link
  target must be one the facts give; a relative path (``/products/x``) or a URL on the
  shop's own host (:attr:`Facts.site`) is allowed too.

Facts have two tiers (:class:`Facts`): ``structured`` lines come from database fields
(prices, offer codes, policy texts); free text (descriptions, reviews, Q&A) is shown to
the model but grounds only words and plain numbers. Codes, prices, percentages, links
and commerce promises must be in the structured tier, so a review saying "use code
FREE100 for 100% off at https://evil.example/pay" grounds none of it. A plain string
passed as facts counts as structured throughout (callers whose facts are all database
fields).

:func:`echoes` tells whether the text repeats a run of the system prompt.
:func:`required_missing` lists facts that must appear verbatim (a promo's code,
discount, price and expiry). Both return human-readable problems; empty means it passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

_NUMBER = re.compile(r"(?<![A-Za-z0-9])\$?\d[\d,]*(?:\.\d+)?")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?(?:%|percent\b)", re.I)
_SIZE = re.compile(r"\b(XXS|XS|S|M|L|XL|XXL|XXXL)\b")
_CODE = re.compile(r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9][A-Z0-9-]{3,}\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’&-]*")
# a code named as one: "code FREESHIP", "coupon: spring-deal"
_NAMED_CODE = re.compile(r"\b(?:code|coupon|voucher|promo)\s*:?\s*[\"'“‘]?([A-Za-z0-9][A-Za-z0-9_-]{2,})", re.I)
_SCHEME_URL = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.|(?:mailto|javascript|data|tel|sms):)[^\s<>\"'`]+")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# a bare domain: lower-case top-level part ("evil.example", "pay.evil.com/x"); "dry.Yes" is a typo, not a link
_DOMAIN = re.compile(r"(?<![@\w.-])(?:[A-Za-z0-9-]+\.)+[a-z]{2,24}(?![\w-])(?:/[^\s<>\"'`]*)?")
_LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]+)")
_TRAILING = ".,;:!?)]}'\"’”"
UNITS: dict[str, str] = {
    "g": "g", "gram": "g", "grams": "g", "kg": "kg", "kilo": "kg", "kilos": "kg", "kilograms": "kg",
    "oz": "oz", "ounce": "oz", "ounces": "oz", "lb": "lb", "lbs": "lb", "pound": "lb", "pounds": "lb",
    "mm": "mm", "cm": "cm", "meters": "m", "metres": "m", "inch": "in", "inches": "in",
    "ft": "ft", "feet": "ft", "foot": "ft", "l": "l", "liter": "l", "liters": "l", "litre": "l", "litres": "l",
    "day": "day", "days": "day", "hour": "hour", "hours": "hour", "week": "week", "weeks": "week",
    "month": "month", "months": "month", "year": "year", "years": "year", "f": "F", "°f": "F", "c": "C", "°c": "C",
    "degrees": "deg", "mah": "mAh",
}
_WITH_UNIT = re.compile(r"(?<![A-Za-z0-9.])(\d[\d,]*(?:\.\d+)?)\s?(°?[a-zA-Z]+)\b")


def measures_in(text: str) -> set[tuple[float, str]]:
    """``(number, unit)`` pairs in ``text`` ("780 g", "30 days", "0F"), units normalised."""
    out: set[tuple[float, str]] = set()
    for number, unit in _WITH_UNIT.findall(text or ""):
        norm = UNITS.get(unit.lower())
        value = _num(number)
        if norm and value is not None:
            out.add((value, norm))
    return out
PROMISES = ("free", "discount", "coupon", "voucher", "promo", "code", "warranty", "guarantee", "lifetime",
            "refund", "price match", "% off", "percent off", "gift card", "cashback")
COMMON = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "did", "do", "does", "for", "from",
    "had", "has", "have", "he", "her", "his", "how", "i", "if", "in", "is", "it", "its", "just", "let", "may",
    "me", "might", "more", "most", "my", "no", "not", "of", "on", "or", "our", "she", "so", "some", "such",
    "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "up", "us",
    "was", "we", "were", "what", "when", "where", "which", "while", "who", "why", "will", "with", "would", "yes",
    "you", "your", "yours", "hi", "hello", "thanks", "thank", "sorry", "great", "good", "sure", "unfortunately",
    "however", "also", "both", "each", "either", "neither", "here", "please", "note", "based", "according",
    "overall", "compared", "while", "whereas", "if", "so", "because", "since", "although", "though"
])


def _num(token: str) -> float | None:
    try:
        return round(float(token.replace("$", "").replace(",", "")), 2)
    except ValueError:
        return None


def numbers_in(text: str) -> set[float]:
    """Every number in ``text``, as floats rounded to cents."""
    return {n for n in (_num(t) for t in _NUMBER.findall(text or "")) if n is not None}


def _names(text: str) -> list[str]:
    """Capitalised words that are not the first word of a sentence or common words."""
    names: list[str] = []
    for sentence in re.split(r"(?<=[.!?:;\n])\s+|\n", text or ""):
        words = _WORD.findall(sentence)
        for word in words[1:]:
            clean = word.strip("'’-&")
            if clean[:1].isupper() and clean.lower() not in COMMON and not _SIZE.fullmatch(clean):
                names.append(clean)
    return names


@dataclass(frozen=True)
class Facts:
    """What an LLM text may rest on, by tier.

    Attributes:
        text: every fact line the model is shown (structured and free text); grounds
            words, names, sizes and plain numbers.
        structured: the lines made from database fields (prices, offer codes, policy
            texts, product pages); only these ground codes, prices, percentages, links
            and commerce promises.
        site: the shop's own base URL (``https://shop.example``); links to any path on
            its host are allowed. Empty: only relative paths and the links in
            ``structured``.
    """

    text: str
    structured: str
    site: str = ""

    @classmethod
    def of(cls, *, structured: Iterable[str], free: Iterable[str] = (), site: str = "") -> Facts:
        """Facts from ``structured`` lines and ``free``-text lines (shown after them)."""
        trusted, loose = [x for x in structured if x], [x for x in free if x]
        return cls("\n".join([*trusted, *loose]), "\n".join(trusted), site)

    def plus(self, *, structured: str = "", free: str = "") -> Facts:
        """These facts with more lines of either tier."""
        return Facts("\n".join(x for x in (self.text, structured, free) if x),
                     "\n".join(x for x in (self.structured, structured) if x), self.site)


def _as_facts(facts: str | Facts) -> Facts:
    return facts if isinstance(facts, Facts) else Facts(facts or "", facts or "")


def _clean_link(link: str) -> str:
    return link.rstrip(_TRAILING).lower()


def links_in(text: str) -> list[str]:
    """Every URL, bare domain, e-mail address and markdown link target in ``text``,
    lower-cased, without trailing punctuation, in order."""
    found: list[str] = []
    rest = text or ""
    for pattern in (_LINK_TARGET, _SCHEME_URL, _EMAIL):
        for match in pattern.finditer(rest):
            found.append(match.group(match.lastindex or 0))
        rest = pattern.sub(" ", rest)
    found += _DOMAIN.findall(rest)
    return list(dict.fromkeys(c for c in (_clean_link(x) for x in found) if c))


def _host(link: str) -> str:
    target = link if "://" in link or link.startswith("//") else f"//{link}"
    try:
        return (urlsplit(target).hostname or "").lower()
    except ValueError:
        return ""


def _link_allowed(link: str, *, known: set[str], site_host: str) -> bool:
    if link in known or link.rstrip("/") in {k.rstrip("/") for k in known}:
        return True
    if link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return True  # a path on the shop's own site
    if ":" in link.split("/", 1)[0] and not re.match(r"https?://", link):
        return False  # mailto:, javascript:, data: ... only when given verbatim
    return bool(site_host) and "@" not in link and _host(link) == site_host


def unsupported_links(text: str, facts: str | Facts) -> list[str]:
    """The links in ``text`` (:func:`links_in`) that ``facts`` do not give: not in its
    structured tier, not a relative path, not on :attr:`Facts.site`'s host."""
    grounds = _as_facts(facts)
    known = set(links_in(grounds.structured))
    site_host = _host(grounds.site.lower()) if grounds.site else ""
    return [f"the link or address {link} is not in the facts" for link in links_in(text)
            if not _link_allowed(link, known=known, site_host=site_host)]


def unsupported(text: str, facts: str | Facts, *, allowed: Iterable[str] = ()) -> list[str]:
    """The claims in ``text`` that ``facts`` do not support; ``[]`` when every claim is
    grounded. ``facts``: :class:`Facts` (codes, prices, percentages, links and promises
    only from its structured tier) or a string, all of it structured. ``allowed``: other
    texts (the shopper's own question) whose *words* may be echoed ("good for
    Scotland?"), never their numbers, sizes, codes, links or promises: a shopper cannot
    ground "$1" by typing it."""
    grounds = _as_facts(facts)
    source, trusted = grounds.text, grounds.structured
    low_source = trusted.lower()
    low_words = "\n".join([source, *allowed]).lower()
    problems: list[str] = unsupported_links(text, grounds)
    text = _strip_links(text)
    known_numbers = numbers_in(source)
    known_money = {n for n in (_num(t) for t in _NUMBER.findall(trusted) if t.startswith("$")) if n is not None}
    for token in _NUMBER.findall(text or ""):
        value = _num(token)
        if value is None:
            continue
        if token.startswith("$") and value not in known_money:
            problems.append(f"the price {token} is not a price in the facts")
        elif value not in known_numbers:
            problems.append(f"the number {token} is not in the facts")
    known_measures = measures_in(source)
    for value, unit in measures_in(text or "") - known_measures:
        if value in known_numbers and (value, unit) not in known_measures:
            problems.append(f"the measure {value:g} {unit} is not in the facts")
    known_percents = {float(p) for p in _PERCENT.findall(trusted)}
    for pct in _PERCENT.findall(text or ""):
        if float(pct) not in known_percents:
            problems.append(f"the percentage {pct}% is not in the facts")
    known_sizes = set(_SIZE.findall(source))
    for size in dict.fromkeys(_SIZE.findall(text or "")):
        # one letter is a size only when called one ("size M"); "I" or "a" never are
        said_as_size = len(size) > 1 or re.search(rf"\bsizes? (?:[A-Z]+, |[A-Z]+ or |[A-Z]+ and )*{size}\b", text or "")
        if said_as_size and size not in known_sizes:
            problems.append(f"the size {size} is not in the facts")
    named = [c for c in _NAMED_CODE.findall(text or "") if _looks_like_code(c)]
    for code in dict.fromkeys([*_CODE.findall(text or ""), *named]):
        if not re.search(rf"(?<![a-z0-9]){re.escape(code.lower())}(?![a-z0-9])", low_source):
            problems.append(f"the code {code} is not in the facts")
    for name in _names(_CODE.sub(" ", text or "")):
        if name.lower() not in low_words:
            problems.append(f"the name {name} is not in the facts")
    low_text = (text or "").lower()
    for word in PROMISES:
        if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", low_text) and word not in low_source:
            problems.append(f"'{word}' is not in the facts")
    return list(dict.fromkeys(problems))


def _looks_like_code(word: str) -> bool:
    """A word after "code"/"coupon" that is a code, not prose: a digit, capitals, - or _."""
    return any(ch.isdigit() for ch in word) or "-" in word or "_" in word or (word.isupper() and len(word) > 3)


def _strip_links(text: str) -> str:
    """``text`` without its links (their digits and capitals are not claims of their own)."""
    rest = text or ""
    for pattern in (_SCHEME_URL, _EMAIL, _DOMAIN):
        rest = pattern.sub(" ", rest)
    return re.sub(r"\]\([^)]*\)", "]", rest)


def echoes(text: str, secret: str, *, words: int = 6) -> bool:
    """Whether ``text`` repeats any ``words`` consecutive words of ``secret`` (a system
    prompt leaking), ignoring case and punctuation."""
    def norm(value: str) -> list[str]:
        return re.findall(r"[a-z0-9]+", (value or "").lower())

    have = " " + " ".join(norm(text)) + " "
    seq = norm(secret)
    return any(f" {' '.join(seq[i:i + words])} " in have for i in range(max(0, len(seq) - words + 1)))


def required_missing(text: str, required: Iterable[str]) -> list[str]:
    """The ``required`` strings that ``text`` does not contain (case-insensitive; a
    price also passes as the same number in another format)."""
    low = (text or "").lower()
    have = numbers_in(text)
    missing: list[str] = []
    for item in required:
        if item.lower() in low:
            continue
        value = _num(item) if _NUMBER.fullmatch(item.strip()) else None
        if value is not None and value in have:
            continue
        missing.append(f"it must state {item}")
    return missing


NEGATION = re.compile(r"\b(no|not|never|none|nothing|doesn't|does not|isn't|is not|aren't|are not|don't|do not|"
                      r"won't|wouldn't|can't|cannot|sold out|out of stock|without)\b|n't\b", re.I)


def flips_answer(text: str, reference: str) -> bool:
    """Whether ``text`` turns a yes into a no or back: one of the two says no (a negation
    word) and the other does not. Used when the LLM rewords a yes/no answer."""
    return bool(NEGATION.search(text or "")) != bool(NEGATION.search(reference or ""))
