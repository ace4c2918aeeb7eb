"""Seeded drawing helpers of the demo-shop generator: weighted picks, distinct samples,
Poisson counts, random characters, plus the small conversions every stage shares
(seconds, scaled row counts, the normalised ``as_of``, slugs and progress bars).

Every helper takes the :class:`random.Random` stream it draws from, so the order of
draws, and therefore the generated rows, stays fixed for a seed.
"""

from __future__ import annotations

import math
import random
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from typing import TypeVar

T = TypeVar("T")


def pick(rng: random.Random, items: Sequence[T], cum: Sequence[float]) -> T:
    """One of ``items`` drawn with cumulative weights ``cum`` (same length)."""
    i = bisect_right(cum, rng.random() * cum[-1])
    return items[min(i, len(items) - 1)]


def cumulative(weights: Iterable[float]) -> list[float]:
    """Cumulative sums of ``weights`` (the ``cum`` of :func:`pick`)."""
    return list(accumulate(weights))


def sample_distinct(rng: random.Random, items: Sequence[T], weights: Sequence[float], k: int) -> list[T]:
    """``k`` distinct items drawn by weight, in draw order (k <= len(items))."""
    pool = list(items)
    w = list(weights)
    out: list[T] = []
    for _ in range(min(k, len(pool))):
        i = min(bisect_right(cumulative(w), rng.random() * sum(w)), len(pool) - 1)
        out.append(pool.pop(i))
        w.pop(i)
    return out


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth's method; fine for the small rates used here)."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def slugify(value: str) -> str:
    """``"Alpine Crest Ridgeline 2"`` -> ``"alpine-crest-ridgeline-2"`` (ASCII a-z0-9 and dashes)."""
    value = value.lower().replace("&", " and ").replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", value).strip("-")


def random_chars(rng: random.Random, alphabet: str, k: int) -> str:
    """``k`` random characters from ``alphabet``."""
    return "".join(rng.choice(alphabet) for _ in range(k))


def seconds(value: float) -> timedelta:
    """A whole-second :class:`timedelta` (fractions dropped)."""
    return timedelta(seconds=int(value))


def progress(iterable: Iterable[T], *, desc: str, total: int | None, enabled: bool) -> Iterator[T]:
    """``iterable``, with a tqdm progress bar on stderr when ``enabled``."""
    if not enabled:
        yield from iterable
        return
    from tqdm import tqdm

    yield from tqdm(iterable, desc=desc, total=total, unit="row", leave=False, mininterval=0.3)


def normalise_as_of(as_of: datetime) -> datetime:
    """``as_of`` as naive UTC without microseconds."""
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(timezone.utc).replace(tzinfo=None)
    return as_of.replace(microsecond=0)


def scaled(base: int, scale: float, minimum: int) -> int:
    """``base`` rows times ``scale``, at least ``minimum``."""
    return max(minimum, round(base * scale))
