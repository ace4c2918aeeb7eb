"""What a demo-shop generation run reports back (:class:`DemoStats`) and the error for
generating into a shop that already has products."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tools.demo.profiles import CustomerProfile


@dataclass
class DemoStats:
    """What :func:`generate_demo_shop` wrote.

    ``counts``: table name -> rows inserted, plus ``policies_added`` (policies seeded now)
    and ``policies`` (policies in the shop). ``persona_orders``: the demo persona's order
    numbers by role: ``"returnable"`` (delivered 5 days before ``as_of``), ``"expired"``
    (delivered 60 days before, outside the 30-day window), ``"processing"`` (placed 1 day
    before, cancellable) and ``"shipped"`` (in transit, with a tracking number).
    ``truth``: customer id -> hidden :class:`CustomerProfile` (not in the database).
    """

    seed: int
    scale: float
    as_of: datetime
    counts: dict[str, int]
    persona_customer_id: int
    persona_email: str
    persona_orders: dict[str, str]
    truth: dict[int, CustomerProfile] = field(repr=False, default_factory=dict)

    def truth_json(self) -> dict[str, dict[str, Any]]:
        """``{"<customer id>": profile dict}`` for every customer, by id."""
        return {str(cid): self.truth[cid].as_json() for cid in sorted(self.truth)}

    def write_truth(self, path: str | Path) -> Path:
        """Write :meth:`truth_json` to ``path`` (UTF-8 JSON, parents created); returns the path."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.truth_json(), indent=1, sort_keys=False), encoding="utf-8")
        return out


class ShopNotEmptyError(RuntimeError):
    """The database already holds products; generate only into an empty shop."""
