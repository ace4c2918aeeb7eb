"""One way for every test to get a demo shop: :class:`DemoShops`, behind the
session-scoped ``demo_shop`` fixture (tests/conftest.py).

``demo_shop(seed=3, scale=0.02, as_of=NOW)`` returns the URL of a fresh SQLite copy of
the deterministic demo shop for those arguments: each shop is generated once per test
session and copied per call, so a test may change its copy freely.
``demo_shop(..., url=db_url)`` generates into a given (migrated or empty) database
instead, e.g. the PostgreSQL one of the ``db_url`` fixture; ``demo_shop.into(db_url, ...)``
does the same and returns what was generated (:class:`DemoStats`).
"""

from __future__ import annotations

import shutil
from datetime import datetime
from itertools import count
from pathlib import Path

from shop.db.engine import get_engine, session_scope
from shop.db.migrate import upgrade
from tools.demo.generate import DemoStats, generate_demo_shop

DEFAULT_AS_OF = datetime(2026, 11, 20, 12, 0, 0)


class DemoShops:
    """Generated demo shops under ``root``, one per ``(seed, scale, as_of)``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._built: dict[tuple[int, float, datetime], tuple[Path, DemoStats]] = {}
        self._copies = count()

    def stats(self, *, seed: int, scale: float, as_of: datetime = DEFAULT_AS_OF) -> DemoStats:
        """What generating that shop wrote (personas, counts, hidden profiles)."""
        return self._template(seed, scale, as_of)[1]

    def _template(self, seed: int, scale: float, as_of: datetime) -> tuple[Path, DemoStats]:
        key = (seed, scale, as_of)
        if key not in self._built:
            path = self.root / f"demo-{seed}-{scale:g}-{as_of:%Y%m%d%H%M}.db"
            url = f"sqlite:///{path}"
            upgrade(url)
            with session_scope(url) as session:
                stats = generate_demo_shop(session, seed=seed, as_of=as_of, scale=scale, progress=False)
            get_engine(url).dispose()  # checkpoint SQLite's WAL into the file before it is copied
            self._built[key] = (path, stats)
        return self._built[key]

    def into(self, url: str, *, seed: int, scale: float, as_of: datetime = DEFAULT_AS_OF) -> DemoStats:
        """Migrate the database at ``url`` and generate that demo shop into it."""
        upgrade(url)
        with session_scope(url) as session:
            return generate_demo_shop(session, seed=seed, as_of=as_of, scale=scale, progress=False)

    def __call__(self, *, seed: int, scale: float, as_of: datetime = DEFAULT_AS_OF, url: str | None = None) -> str:
        """The URL of a demo shop of its own for the caller (see the module docstring)."""
        if url is not None:
            self.into(url, seed=seed, scale=scale, as_of=as_of)
            return url
        template, _ = self._template(seed, scale, as_of)
        copy = self.root / f"copy-{next(self._copies)}-{template.name}"
        shutil.copyfile(template, copy)
        return f"sqlite:///{copy}"
