"""The promo policy's uplift model retrained from the shop's own tables: the training set
(hostile rows included: a control customer who redeemed a code, one code named by two
decisions and two orders, another customer's order claiming a code, open windows), the
retrain and its gate on a demo shop with a planted offer effect (promoted; a worse model
kept out; too little data keeps the served one), the serving side reloading by version,
and the lock that keeps two runs from overlapping (a real second process)."""

from __future__ import annotations

import json
import logging
import random
import subprocess
import sys
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from apps.cli import promo_commands
from models.recsys.artifact import current_version, read_manifest
from models.recsys.uplift import CONTROL
from shop.db.attribution_tables import OrderAttribution
from shop.db.engine import session_scope
from shop.db.schema import Customer, Offer, OfferCode, OfferEvent, Order
from shop.promo.features import customer_features
from shop.promo.offers import new_code
from shop.promo.policy import PolicyConfig, UpliftHolder
from shop.promo.service import personal_offer
from shop.promo.uplift_data import build_training_set, in_holdout
from shop.promo.uplift_retrain import retrain_uplift
from shop.settings import get_settings
from tests.demo_shops import DemoShops

NOW = datetime(2026, 11, 20, 12, 0, 0)


# --- the training set from hostile rows -------------------------------------------------


def _customer(s: Session, name: str) -> int:
    c = Customer(email=f"{name}@example.com", first_name=name, last_name="T", marketing_opt_in=True,
                 created_at=NOW - timedelta(days=400))
    s.add(c)
    s.flush()
    return c.id


def _order(s: Session, customer_id: int, number: str, at: datetime, total: int, status: str = "delivered") -> int:
    o = Order(number=number, customer_id=customer_id, status=status, subtotal_cents=total, total_cents=total,
              placed_at=at, ship_name="T", ship_line1="1 Road", ship_city="Town", ship_postcode="1", ship_country="US")
    s.add(o)
    s.flush()
    return o.id


def _code(s: Session, offer: Offer, customer_id: int, at: datetime, *, redeemed: datetime | None = None,
          order_ref: str | None = None) -> int:
    c = OfferCode(code=new_code(), offer_id=offer.id, customer_id=customer_id, slot=1, issued_at=at,
                  expires_at=at + timedelta(days=7), redeemed_at=redeemed, order_ref=order_ref,
                  discount_cents=1000 if redeemed else None)
    s.add(c)
    s.flush()
    return c.id


def _event(s: Session, customer_id: int, arm: str, at: datetime, *, offer: Offer | None = None,
           code_id: int | None = None) -> int:
    e = OfferEvent(customer_id=customer_id, offer_id=offer.id if offer else None, arm=arm, policy="uplift",
                   shown_at=at, code_id=code_id)
    s.add(e)
    s.flush()
    return e.id


def _attribute(s: Session, order_id: int, customer_id: int, key: str, *, code_id: int, event_id: int | None,
               at: datetime) -> None:
    s.add(OrderAttribution(order_id=order_id, idempotency_key=key, conversation_id=f"conv-{key}",
                           customer_id=customer_id, offer_id=None, offer_code_id=code_id, offer_event_id=event_id,
                           discount_cents=1000, placed_at=at))
    s.flush()


def test_training_set_counts_real_redemptions_once_and_only_the_customers_own(db_url: str) -> None:
    shown = NOW - timedelta(days=30)
    with session_scope(db_url) as s:
        offer = Offer(key="ten_off", name="$10 off", kind="amount_off", value=1000, budget_cents=10**7,
                      starts_at=NOW - timedelta(days=90), ends_at=NOW + timedelta(days=30))
        s.add(offer)
        s.flush()
        a, b, c, d, x = (_customer(s, n) for n in ("a", "b", "c", "d", "x"))
        # a: one code, named by a decision and by its replay, redeemed once, two orders naming it
        code_a = _code(s, offer, a, shown, redeemed=shown + timedelta(days=2), order_ref="A-1")
        first = _event(s, a, "ten_off", shown, offer=offer, code_id=code_a)
        replay = _event(s, a, "ten_off", shown + timedelta(minutes=1), offer=offer, code_id=code_a)
        for n, (day, total) in enumerate(((2, 5000), (3, 3000)), start=1):
            oid = _order(s, a, f"A-{n}", shown + timedelta(days=day), total)
            _attribute(s, oid, a, f"a{n}", code_id=code_a, event_id=first, at=shown + timedelta(days=day))
        # b: another customer's order claims b's code and decision; b's own orders are cancelled or late
        code_b = _code(s, offer, b, shown, redeemed=shown + timedelta(days=1), order_ref="X-1")
        forged = _event(s, b, "ten_off", shown, offer=offer, code_id=code_b)
        oid = _order(s, x, "X-1", shown + timedelta(days=1), 9900)
        _attribute(s, oid, x, "x1", code_id=code_b, event_id=forged, at=shown + timedelta(days=1))
        _order(s, b, "B-1", shown + timedelta(days=2), 4000, status="cancelled")
        _order(s, b, "B-2", shown + timedelta(days=20), 4000)  # after the 14-day window
        # x: a decision of x's naming a's code
        borrowed = _event(s, x, "ten_off", shown, offer=offer, code_id=code_a)
        # c: in the control group, yet redeemed a code (issued by staff) within the window
        _event(s, c, CONTROL, shown)
        _code(s, offer, c, shown - timedelta(days=1), redeemed=shown + timedelta(days=1), order_ref="C-1")
        _order(s, c, "C-1", shown + timedelta(days=1), 7000)
        # d: a clean control decision that converted, and one still inside its window
        clean = _event(s, d, CONTROL, shown)
        _order(s, d, "D-1", shown + timedelta(days=5), 2500)
        _event(s, d, CONTROL, NOW - timedelta(days=3))

    with session_scope(db_url) as s:
        data = build_training_set(s, now=NOW)
    rows = {r.event_id: r for r in data.rows}
    assert set(rows) == {first, replay, forged, borrowed, clean}
    assert (data.open_windows, data.contaminated_control) == (1, 1)
    assert (rows[first].converted, rows[first].redeemed, rows[first].revenue_cents) == (True, True, 8000)
    assert rows[replay].redeemed is False  # the same code counts once
    assert (rows[forged].converted, rows[forged].redeemed, rows[forged].revenue_cents) == (False, False, 0)
    assert (rows[clean].converted, rows[clean].revenue_cents) == (True, 2500)
    assert (rows[borrowed].converted, rows[borrowed].redeemed) == (True, False)  # x's own order; a's code
    assert data.outcomes() == (1, 1)  # redeemed codes among offers shown, conversions in control
    shortfall = data.shortfall()
    assert shortfall is not None and "1 redeemed code" in shortfall and "needs 20 of each" in shortfall
    assert data.shortfall(min_outcomes=1) is None
    assert len(data.digest()) == 64 and data.digest() == build_training_set_digest(db_url)


def build_training_set_digest(url: str) -> str:
    with session_scope(url) as s:
        return build_training_set(s, now=NOW).digest()


# --- retraining on a demo shop with a planted effect --------------------------------------


@pytest.fixture
def shop(demo_shop: DemoShops) -> str:
    url = demo_shop(seed=11, scale=0.05, as_of=NOW)
    with session_scope(url) as s:
        s.execute(delete(OfferEvent))  # the demo's own history: replaced by the planted one
        s.execute(update(Offer).values(per_customer_limit=1000))
    return url


def _plant(url: str, *, seed: int, per_customer: int, reverse: bool = False, only_training: bool = False) -> None:
    """Decisions whose windows have closed: "ten_off" lifts conversion by 55 points for
    customers with more orders in the year before than the median, not at all for the
    rest (``reverse``: the other way round); "free_ship" by 10 points for everyone. Treated
    decisions get real codes, redeemed by most converted customers."""
    rng = random.Random(seed)
    with session_scope(url) as s:
        offers = {o.key: o for o in s.scalars(select(Offer))}
        customers = [c for c in s.scalars(select(Customer.id).order_by(Customer.id))
                     if not (only_training and in_holdout(c))]
        rows = [(c, NOW - timedelta(days=rng.uniform(15, 85), minutes=rng.randrange(1440)))
                for c in customers for _ in range(per_customer)]
        orders = customer_features(s, rows=rows, categories=[])[:, 0]
        threshold = float(np.median(orders))
        slots: dict[tuple[int, int], int] = defaultdict(int)
        for offer_id, cid, slot in s.execute(select(OfferCode.offer_id, OfferCode.customer_id, OfferCode.slot)):
            slots[(offer_id, cid)] = max(slots[(offer_id, cid)], slot)
        for (cid, at), n in zip(rows, orders, strict=True):
            arm = rng.choices([CONTROL, "ten_off", "free_ship"], weights=[3, 4, 3])[0]
            p = 0.15 if arm == CONTROL else 0.25 if arm == "free_ship" else (
                0.70 if (n > threshold) != reverse else 0.15)
            converted = rng.random() < p
            code_id = None
            if arm != CONTROL:
                offer = offers[arm]
                slots[(offer.id, cid)] += 1
                redeemed = converted and rng.random() < 0.8
                code = OfferCode(code=new_code(), offer_id=offer.id, customer_id=cid, slot=slots[(offer.id, cid)],
                                 issued_at=at, expires_at=at + timedelta(days=7),
                                 redeemed_at=at + timedelta(days=1) if redeemed else None,
                                 discount_cents=1000 if redeemed else None)
                s.add(code)
                s.flush()
                code_id = code.id
            s.add(OfferEvent(customer_id=cid, offer_id=offers[arm].id if arm != CONTROL else None, arm=arm,
                             policy="uplift", shown_at=at, code_id=code_id, converted=converted,
                             revenue_cents=6000 if converted else 0))


def _retrain(url: str, root: Path, **kwargs):  # type: ignore[no-untyped-def]
    with session_scope(url) as s:
        return retrain_uplift(s, data=build_training_set(s, now=NOW), root=root, **kwargs)


def test_retrain_promotes_a_versioned_model_and_a_worse_one_is_kept_out(shop: str, tmp_path: Path) -> None:
    root = tmp_path / "uplift"
    _plant(shop, seed=1, per_customer=8)
    first = _retrain(shop, root)
    assert first.promoted and current_version(root) == first.version, first.line()
    assert "PROMOTED" in first.line() and "the first version" in first.reason
    manifest = read_manifest(root / str(first.version))
    assert manifest["kind"] == "uplift" and manifest["model"] == "UpliftModel"
    assert len(manifest["data"]["digest"]) == 64 and manifest["data"]["holdout"]["pct"] == 20
    assert manifest["data"]["held_out"] > 100 and manifest["data"]["arms"][CONTROL]["conversions"] >= 20
    # the planted effect is found on unseen customers (free shipping lifts everyone alike: ~0)
    assert manifest["metrics"]["model"]["qini:ten_off"] > 0.2 and manifest["metrics"]["model"]["qini"] > 0.1
    assert set(manifest["files"]) == {"uplift.npz", "uplift.json"}

    # the same data again: an equal figure on the same held-out decisions is not worse
    again = _retrain(shop, root)
    assert again.promoted and again.metrics["served"]["qini"] == pytest.approx(first.metrics["model"]["qini"])
    assert read_manifest(root / str(again.version))["data"]["digest"] == manifest["data"]["digest"]

    # new decisions (training customers only) with the effect reversed: the new model ranks
    # the held-out customers worse than the served one, so it is saved but not promoted
    _plant(shop, seed=2, per_customer=30, reverse=True, only_training=True)
    worse = _retrain(shop, root)
    assert not worse.promoted and current_version(root) == again.version
    assert worse.version is not None and (root / worse.version / "manifest.json").is_file()
    assert worse.metrics["model"]["qini"] < worse.metrics["served"]["qini"]
    assert f"below the served version {again.version}" in worse.reason
    assert worse.line().startswith(f"uplift model: KEPT {again.version}")


def test_too_little_data_keeps_the_served_version(shop: str, tmp_path: Path) -> None:
    root = tmp_path / "uplift"
    _plant(shop, seed=1, per_customer=8)
    served = _retrain(shop, root)
    assert served.promoted
    kept = _retrain(shop, root, min_outcomes=10_000)
    assert not kept.promoted and kept.version is None and current_version(root) == served.version
    assert "too little data" in kept.reason and "the current policy stays" in kept.reason
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == [served.version]  # nothing new saved
    # a new shop: no decisions at all
    with session_scope(shop) as s:
        s.execute(delete(OfferEvent))
    empty = _retrain(shop, tmp_path / "fresh")
    assert not empty.promoted and empty.served is None and "0 redeemed codes" in empty.reason
    assert "offers explore" in empty.line()


def test_serving_loads_the_promoted_version_and_reloads_when_it_changes(
        shop: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "uplift"
    holder = UpliftHolder(root, check_s=0)
    assert holder.get() is None  # nothing promoted yet: the policy explores
    _plant(shop, seed=1, per_customer=8)
    first = _retrain(shop, root)
    served = holder.get()
    assert served is not None and served.version == first.version and served.categories == [
        "fleece", "jackets", "socks"]
    second = _retrain(shop, root)
    assert holder.get().version == second.version  # type: ignore[union-attr]
    # a version whose files changed after training is refused; the served one stays
    broken = _retrain(shop, root, promote_it=False)
    meta = root / str(broken.version) / "uplift.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "feature_names": ["x"]}))
    (root / "CURRENT").write_text(f"{broken.version}\n")
    with caplog.at_level(logging.ERROR, logger="shop.promo.policy"):
        assert holder.get().version == second.version  # type: ignore[union-attr]
    assert any("changed after training" in r.getMessage() for r in caplog.records)

    # the action server's path: personal_offer decides with the served model (offers it knows)
    (root / "CURRENT").write_text(f"{second.version}\n")
    config = PolicyConfig(control_pct=0, exploration=0.0, model_dir=root, model_check_s=0)
    with session_scope(shop) as s:
        s.execute(update(Offer).where(Offer.key.not_in(["ten_off", "free_ship"])).values(active=False))
        cid = s.scalar(select(Customer.id).where(Customer.marketing_opt_in.is_(True)).order_by(Customer.id))
        offer = personal_offer(s, customer_id=cid, now=NOW, config=config, rng=random.Random(0))
    assert offer.decision.reason in ("uplift", "no offer is predicted to pay for itself"), offer.decision
    unserved = PolicyConfig(control_pct=0, model_dir=tmp_path / "none", model_check_s=0)
    with session_scope(shop) as s:
        cid = s.scalar(select(Customer.id).where(Customer.marketing_opt_in.is_(True))
                       .order_by(Customer.id.desc()))
        assert personal_offer(s, customer_id=cid, now=NOW, config=unserved).decision.reason == \
            "explore (no model yet)"


# --- the command and its lock ----------------------------------------------------------


HOLD = ("import fcntl, sys, time\nf = open(sys.argv[1], 'a+')\nfcntl.flock(f, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\nsys.stdin.read()\n")


def test_two_runs_never_overlap(shop: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    _plant(shop, seed=1, per_customer=8)
    root, lock = tmp_path / "uplift", tmp_path / "retrain.lock"
    monkeypatch.setenv("SHOP_PROMO_MODEL_DIR", str(root))
    get_settings.cache_clear()
    try:
        args = ["--skip-preference", "--url", shop, "--as-of", NOW.isoformat(), "--lock", str(lock)]
        other = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert other.stdout is not None and other.stdout.readline().strip() == "held"
            assert promo_commands.main(args) == promo_commands.LOCK_BUSY
            assert "skipped, another retrain holds" in capsys.readouterr().err
            assert not root.exists()  # nothing was trained meanwhile
        finally:
            other.communicate("")  # the other run ends: its lock goes with it
        # in this process too: a second holder is refused at once
        with promo_commands.retrain_lock(lock), pytest.raises(promo_commands.RetrainRunning, match=r"pid \d+"), \
                promo_commands.retrain_lock(lock):
            pass
        assert promo_commands.main(args) == 0
        out = capsys.readouterr().out
        assert "uplift model: PROMOTED" in out and "retrain done" in out
        assert current_version(root) is not None
        # --if-missing: a version is served, nothing to do
        assert promo_commands.main(["--skip-preference", "--url", shop, "--as-of", "2026-11-20", "--lock", str(lock),
                                    "--min-outcomes", "10000"]) == 0
        assert "KEPT" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


def test_promo_retrain_command(shop: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from apps.cli.__main__ import main  # the whole command line (console and storefront included)

    root, lock = tmp_path / "uplift", tmp_path / "retrain.lock"
    args = ["promo", "retrain", "--url", shop, "--out", str(root), "--as-of", "2026-11-20T12:00", "--lock", str(lock)]
    assert main([*args, "--if-missing"]) == 0  # nothing served: trains
    assert "too little data" in capsys.readouterr().out and current_version(root) is None
    _plant(shop, seed=1, per_customer=8)
    assert main(args) == 0
    assert "uplift model: PROMOTED" in capsys.readouterr().out
    served = current_version(root)
    assert main([*args, "--if-missing"]) == 0 and current_version(root) == served
    assert f"uplift model {served} is in place" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([*args, "--tolerance", "2"])  # a Qini coefficient is at most 1
    assert "between 0 and 1" in capsys.readouterr().err
