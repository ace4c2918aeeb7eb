"""The promo engine on a real database (SQLite and PostgreSQL): eligibility and margin
rules, unique single-use codes, atomic and idempotent redemption under concurrency,
the control group, logged decisions, the A/B report, verified promo copy with the
fake LLM, and (SQLite, slow) the uplift policy beating random offers in the A/B
simulation on the demo shop's hidden truth."""

from __future__ import annotations

import asyncio
import random
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from models.llm.chat import FakeChat
from models.llm.runner import LLMRunner
from models.recsys.uplift import UpliftModel
from shop.db.engine import session_scope
from shop.db.schema import Customer, Offer, OfferCode, OfferEvent, Product
from shop.promo.copy import PromoFacts, check_message, promo_message, template_message
from shop.promo.offers import (
    applies_to,
    discount_cents,
    eligible_offers,
    issue_code,
    redeem_code,
    terms_of,
)
from shop.promo.policy import PolicyConfig, decide, in_control_group, train_uplift
from shop.promo.report import ab_report
from shop.promo.service import personal_offer
from tests.demo_shops import DemoShops
from tools.demo.offer_simulation import simulate

NOW = datetime(2026, 11, 20, 12, 0, 0)


@pytest.fixture
def shop(db_url: str, demo_shop: DemoShops) -> str:
    return demo_shop(seed=11, scale=0.05, as_of=NOW, url=db_url)


def _opted_in(s, n: int = 1) -> list[int]:  # type: ignore[no-untyped-def]
    return list(s.scalars(select(Customer.id).where(Customer.marketing_opt_in.is_(True))
                          .order_by(Customer.id).limit(n)))


def _offer(s, key: str = "ten_off") -> Offer:  # type: ignore[no-untyped-def]
    return s.scalar(select(Offer).where(Offer.key == key))


def test_eligibility_budget_dates_and_opt_in(shop: str) -> None:
    with session_scope(shop) as s:
        cid = _opted_in(s)[0]
        assert {o.key for o in eligible_offers(s, customer_id=cid, now=NOW)} == {
            "jackets15", "ten_off", "free_ship", "socks_bundle"}
        opted_out = s.scalar(select(Customer.id).where(Customer.marketing_opt_in.is_(False)))
        assert eligible_offers(s, customer_id=opted_out, now=NOW) == []
        assert eligible_offers(s, customer_id=cid, now=NOW + timedelta(days=365)) == []  # all ended
        s.execute(update(Offer).where(Offer.key == "ten_off").values(spent_cents=Offer.budget_cents))
        s.execute(update(Offer).where(Offer.key == "free_ship").values(active=False))
        assert {o.key for o in eligible_offers(s, customer_id=cid, now=NOW)} == {"jackets15", "socks_bundle"}


def test_discounts_and_the_margin_floor(shop: str) -> None:
    with session_scope(shop) as s:
        jackets = _offer(s, "jackets15")
        product = s.scalar(select(Product).join(Product.category).where(Product.category.has(slug="jackets")))
        assert discount_cents(jackets, product) == product.price_cents * 15 // 100
        product.cost_cents = int(product.price_cents * 0.5)
        assert applies_to(s, jackets, product)
        product.cost_cents = int(product.price_cents * 0.8)  # 15% off leaves < 10% over cost
        assert not applies_to(s, jackets, product)
        socks = s.scalar(select(Product).where(Product.category.has(slug="socks")))
        assert not applies_to(s, jackets, socks)
        assert terms_of(s, jackets).discount == "15% off"
        assert terms_of(s, _offer(s, "ten_off")).discount == "$10.00 off"


def test_codes_are_unique_and_limited_per_customer(shop: str) -> None:
    with session_scope(shop) as s:
        offer = _offer(s)
        offer.per_customer_limit = 2
        customers = _opted_in(s, 40)
        codes = []
        for cid in customers:
            codes += [issue_code(s, offer=offer, customer_id=cid, now=NOW) for _ in range(3)]
        issued = [c for c in codes if c is not None]
        assert len(issued) == 2 * len(customers)  # the third per customer is refused
        assert len({c.code for c in issued}) == len(issued)
        assert all(c.expires_at == NOW + timedelta(days=7) for c in issued)


def test_redemption_is_single_use_idempotent_and_owned(shop: str) -> None:
    with session_scope(shop) as s:
        a, b = _opted_in(s, 2)
        offer = _offer(s)
        code = issue_code(s, offer=offer, customer_id=a, now=NOW).code
    with session_scope(shop) as s:
        assert redeem_code(s, code=code, customer_id=b, order_ref="X1", discount=1000, now=NOW).status == "not_yours"
        assert redeem_code(s, code="RDG-NOPE-NOPE", customer_id=a, order_ref="X1", discount=1000,
                           now=NOW).status == "not_found"
        first = redeem_code(s, code=code.lower(), customer_id=a, order_ref="X1", discount=1000, now=NOW)
        assert (first.status, first.discount_cents) == ("redeemed", 1000)
    with session_scope(shop) as s:
        again = redeem_code(s, code=code, customer_id=a, order_ref="X1", discount=1000, now=NOW)
        assert again.status == "redeemed"  # same order: same answer, charged once
        assert redeem_code(s, code=code, customer_id=a, order_ref="X2", discount=1000,
                           now=NOW).status == "already_redeemed"
        assert _offer(s).spent_cents == 1000


def test_expired_codes_and_spent_budgets(shop: str) -> None:
    with session_scope(shop) as s:
        a, b = _opted_in(s, 2)
        offer = _offer(s)
        late = issue_code(s, offer=offer, customer_id=a, now=NOW).code
        poor = issue_code(s, offer=offer, customer_id=b, now=NOW).code
        offer.spent_cents = offer.budget_cents - 500
    with session_scope(shop) as s:
        assert redeem_code(s, code=late, customer_id=a, order_ref="O", discount=100,
                           now=NOW + timedelta(days=8)).status == "expired"
        assert redeem_code(s, code=poor, customer_id=b, order_ref="P", discount=1000,
                           now=NOW).status == "budget_spent"
        assert s.scalar(select(OfferCode.redeemed_at).where(OfferCode.code == poor)) is None


def test_simultaneous_redemptions_succeed_at_most_once(shop: str) -> None:
    with session_scope(shop) as s:
        cid = _opted_in(s)[0]
        code = issue_code(s, offer=_offer(s), customer_id=cid, now=NOW).code
    start = threading.Barrier(8)
    results: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        start.wait()
        for _ in range(20):  # SQLite may answer "database is locked": try again, like a client would
            try:
                with session_scope(shop) as s:
                    status = redeem_code(s, code=code, customer_id=cid, order_ref=f"order-{i}", discount=1000,
                                         now=NOW).status
                break
            except Exception as exc:
                if "locked" not in str(exc) and "could not serialize" not in str(exc):
                    raise
        else:
            status = "gave up"
        with lock:
            results.append(status)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("redeemed") == 1, results
    assert results.count("already_redeemed") == 7, results
    with session_scope(shop) as s:
        assert _offer(s).spent_cents == 1000
        assert s.scalar(select(func.count()).select_from(OfferCode).where(OfferCode.redeemed_at.is_not(None))) == 1


def test_control_group_paused_policy_and_logged_decisions(shop: str) -> None:
    with session_scope(shop) as s:
        customers = _opted_in(s, 60)
        control = [c for c in customers if in_control_group(c, pct=20, salt="x")]
        assert 0 < len(control) < 30
        assert all(in_control_group(c, pct=20, salt="x") for c in control)  # stable
        paused = decide(s, customer_id=customers[0], now=NOW, config=PolicyConfig(name="paused"), model=None,
                        categories=[])
        assert (paused.arm, paused.code) == ("none", None)
        before = s.scalar(select(func.count()).select_from(OfferEvent))
        config = PolicyConfig(name="random", control_pct=20, salt="x")
        decisions = [decide(s, customer_id=c, now=NOW, config=config, model=None, categories=[],
                            rng=random.Random(c)) for c in customers]
        assert {d.arm for d, c in zip(decisions, customers, strict=True) if c in control} == {"control"}
        issued = [d for d in decisions if d.code is not None]
        assert issued and all(d.code.offer_id == d.offer.id for d in issued)
        logged = s.scalar(select(func.count()).select_from(OfferEvent)) - before
        assert logged == len(customers)  # control decisions are logged too


def test_personal_offer_reuses_a_held_code_and_words_it(shop: str) -> None:
    with session_scope(shop) as s:
        cid = next(c for c in _opted_in(s, 50) if not in_control_group(c, pct=10, salt="t"))
        config = PolicyConfig(name="random", control_pct=10, salt="t")
        first = personal_offer(s, customer_id=cid, now=NOW, config=config, rng=random.Random(1))
        assert first.facts is not None and first.decision.code is not None
        again = personal_offer(s, customer_id=cid, now=NOW, config=config)
        assert again.decision.arm == "existing" and again.facts.code == first.facts.code
        text = template_message(first.facts)
        assert check_message(text, first.facts) == [], text


def _facts() -> PromoFacts:
    from shop.promo.offers import Terms

    return PromoFacts(first_name="Ana", liked="Trailblazer Shell Jacket",
                      terms=Terms("jackets15", "percent_off", "15% off", "jackets and fleece", NOW),
                      code="RDG-7QK2-M9XA", expires="November 27, 2026", product="Trailblazer Shell Jacket",
                      price="$110.49")


def test_promo_copy_is_verified_against_the_terms() -> None:
    facts = _facts()
    good = ("Hi Ana! Since you liked the Trailblazer Shell Jacket, take 15% off jackets and fleece with "
            "RDG-7QK2-M9XA until November 27, 2026: it would be $110.49.")
    msg = asyncio.run(promo_message(facts, runner=LLMRunner(FakeChat(responder=lambda m: good))))
    assert (msg.source, msg.text) == ("llm", good)
    dropped_price = good.replace(": it would be $110.49", "")
    msg = asyncio.run(promo_message(facts, runner=LLMRunner(FakeChat(responder=lambda m: dropped_price))))
    assert msg.source == "template" and any("$110.49" in p for p in msg.problems)
    assert all(x in msg.text for x in ("RDG-7QK2-M9XA", "15% off", "$110.49", "November 27, 2026"))
    greedy = good + " Or take 40% off everything today!"
    msg = asyncio.run(promo_message(facts, runner=LLMRunner(FakeChat(responder=lambda m: greedy))))
    assert msg.source == "template" and "40%" not in msg.text
    calls = iter([dropped_price, good])
    msg = asyncio.run(promo_message(facts, runner=LLMRunner(FakeChat(responder=lambda m: next(calls)))))
    assert msg.source == "llm_retry"
    assert asyncio.run(promo_message(facts, runner=None)).source == "template"


def test_ab_report_against_control(shop: str) -> None:
    with session_scope(shop) as s:
        s.execute(OfferEvent.__table__.delete())
        cid = _opted_in(s)[0]
        offer = _offer(s)
        rows = [OfferEvent(customer_id=cid, offer_id=None, arm="control", policy="p", shown_at=NOW,
                           converted=i < 10, redeemed=False, revenue_cents=5000 if i < 10 else 0) for i in range(100)]
        rows += [OfferEvent(customer_id=cid, offer_id=offer.id, arm="ten_off", policy="p", shown_at=NOW,
                            converted=i < 25, redeemed=i < 20, revenue_cents=4000 if i < 25 else 0) for i in range(100)]
        s.add_all(rows)
        s.flush()
        control, arm = ab_report(s, policy="p")
    assert (control.arm, control.shown, control.conversion, control.incremental) == ("control", 100, 0.10, None)
    assert (arm.arm, arm.shown, arm.redemption_rate, arm.conversion) == ("ten_off", 100, 0.20, 0.25)
    assert arm.incremental == pytest.approx(0.15)
    assert arm.ci_low == pytest.approx(0.15 - 1.959964 * (0.25 * 0.75 / 100 + 0.09 / 100) ** 0.5)
    assert arm.revenue_per_customer_cents == 1000


def test_uplift_model_recovers_a_planted_effect() -> None:
    rng = random.Random(3)
    X, arms, y = [], [], []
    for _ in range(4000):
        budget = rng.random() < 0.5
        arm = rng.choice(["control", "deal"])
        p = 0.1 + (0.15 if (arm == "deal" and budget) else 0.0)
        X.append([1.0 if budget else 0.0, rng.random()])
        arms.append(arm)
        y.append(int(rng.random() < p))
    import numpy as np

    model = UpliftModel().fit(np.array(X), arms, np.array(y))
    up = model.score(np.array([[1.0, 0.5], [0.0, 0.5]]))["deal"]
    assert up[0] > 0.1 and abs(up[1]) < 0.05
    assert model.recommend(np.array([[1.0, 0.5], [0.0, 0.5]])) == ["deal", None] or up[1] > 0


@pytest.mark.slow
def test_uplift_policy_beats_random_offers_per_budget(tmp_path, demo_shop) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    stats = demo_shop.into(url, seed=7, scale=1.0, as_of=NOW)
    with session_scope(url) as s:
        assert train_uplift(s) is not None
        results = {r.policy: r for r in simulate(s, truth=stats.truth, now=NOW)}
    random_, uplift = results["random"], results["uplift (exploration 1)"]
    assert uplift.per_1000 > random_.per_1000, (uplift, random_)


def test_report_command(shop: str, capsys: pytest.CaptureFixture[str]) -> None:
    from apps.cli.__main__ import main

    assert main(["promo", "report", "--url", shop, "--attribute"]) == 0
    out = capsys.readouterr().out
    assert "| control |" in out and "incremental conversion" in out
