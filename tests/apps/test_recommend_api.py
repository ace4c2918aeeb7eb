"""``GET /recommend`` on the storefront (SQLite and PostgreSQL), serving a real
recommender version (the cold-start model trained on the demo shop): the bearer token,
parameters checked with messages that say what is allowed, ``k`` bounds, a customer id
without a valid signature served as anonymous, the same answers as the chat's service
function for the same inputs, and impressions that later orders are credited to."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from apps.storefront.pages import StorefrontConfig, create_app
from models.recsys.cold_start import catalog_signals
from models.recsys.interaction_log import from_database
from models.recsys.preference import demo_item_facts
from models.recsys.serving import ModelHolder
from models.recsys.training import TrainingData, train_cold_start
from protocol.identity import sign_customer_id
from shop.db.engine import session_scope
from shop.db.schema import OrderLineAttribution, Product, RecommendationImpression
from shop.services.checkout import Address, CheckoutRequest, checkout
from shop.services.interactions import record_interaction, utc_now
from shop.services.recommendations import get_model_holder, recommend_products
from shop.services.search.query import SearchQuery
from tests.demo_shops import DemoShops
from tests.shop.checkout_shop import ALEX, DEMO_AS_OF, Ready, fill, ready_shop

TOKEN = "recommend-api-test-token"
IDENTITY = "storefront-identity-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _vectors(s: Session) -> dict[int, np.ndarray]:
    """Text vectors standing in for the search index's: products of one category close."""
    rng = np.random.default_rng(5)
    centres: dict[int | None, np.ndarray] = {}
    out = {}
    for pid, cat in s.execute(select(Product.id, Product.category_id).order_by(Product.id)).all():
        centre = centres.setdefault(cat, rng.normal(size=16))
        v = centre + 0.2 * rng.normal(size=16)
        out[int(pid)] = (v / np.linalg.norm(v)).astype(np.float32)
    return out


@pytest.fixture
def shop(db_url: str, demo_shop: DemoShops) -> Ready:
    return ready_shop(demo_shop(seed=3, scale=0.02, as_of=DEMO_AS_OF, url=db_url))


@pytest.fixture
def models(shop: Ready, tmp_path: Path) -> Path:
    """A served cold-start version trained on the demo shop (as ``recommender train`` makes one)."""
    with session_scope(shop.url) as s:
        items = list(s.scalars(select(Product.id).where(Product.is_active.is_(True))))
        data = TrainingData(from_database(s), items, _vectors(s), demo_item_facts(s), catalog_signals(s), "test/vec")
    assert train_cold_start(data, tmp_path / "models", why="test").promoted
    return tmp_path / "models"


def _app(shop: Ready, models: Path | None, tmp_path: Path, *, token: str = TOKEN) -> TestClient:
    return TestClient(create_app(StorefrontConfig(
        database_url=shop.url, rasa_url="http://127.0.0.1:5005", widget_bundle=tmp_path / "none.js",
        identity_secret=IDENTITY, recommend_api_token=token, recommend_model_dir=models, recommend_check_s=0,
        recommend_count=5)))


@pytest.fixture
def client(shop: Ready, models: Path, tmp_path: Path) -> TestClient:
    return _app(shop, models, tmp_path)


def _holder(models: Path) -> ModelHolder:
    return get_model_holder(str(models), 0)  # the storefront's own holder


def _get(client: TestClient, **params: Any) -> Any:
    return client.get("/recommend", params=params, headers=AUTH)


def _ids(answer: dict[str, Any]) -> list[int]:
    return [item["product"]["id"] for item in answer["items"]]


def test_auth_like_the_rest_channel(client: TestClient, shop: Ready, tmp_path: Path) -> None:
    assert _get(client).status_code == 200
    bare = client.get("/recommend")
    assert bare.status_code == 401 and bare.headers["www-authenticate"] == "Bearer"
    assert client.get("/recommend", headers={"Authorization": "Basic abc"}).status_code == 401
    wrong = client.get("/recommend", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 403 and "wrong" in wrong.json()["error"]
    off = _app(shop, None, tmp_path, token="").get("/recommend", headers=AUTH)
    assert off.status_code == 403 and "SHOP_RECOMMEND_API_TOKEN" in off.json()["error"]


BAD_PARAMS: list[tuple[dict[str, str], str | None]] = [  # parameters -> words of the 400 answer
    ({"k": "0"}, "'k' must be a whole number from 1 to 50"),
    ({"k": "51"}, "from 1 to 50"),
    ({"k": "-3"}, "from 1 to 50"),
    ({"k": "ten"}, "from 1 to 50"),
    ({"k": "99999999999999"}, "from 1 to 50"),
    ({"max_price": "-5"}, "'max_price' must be an amount above 0"),
    ({"max_price": "abc"}, "like 150 or 149.99"),
    ({"max_price": "1.001"}, "at most 2 decimals"),
    ({"max_price": "NaN"}, "above 0"),
    ({"in_stock": "false"}, "only ever show products in stock"),
    ({"customer_id": "abc"}, "'customer_id' must be a positive whole number"),
    ({"customer_sig": "1.ab"}, "'customer_sig' comes with 'customer_id'"),
    ({"session": "a b"}, "'session' must be a conversation id"),
    ({"product_id": "999999"}, "not a product of this shop"),
    ({"category": "spaceships"}, "unknown category 'spaceships'; known: backpacks"),
    ({"q": "x" * 501}, "at most 500"),
    ({"sort": "price"}, "unknown parameter 'sort'; allowed: customer_id, customer_sig, session"),
    ({"k": "2", "in_stock": "true", "q": "tents", "max_price": "500.5"}, None),  # all fine
]


def test_bad_parameters_say_what_is_allowed(shop: Ready, tmp_path: Path) -> None:
    client = _app(shop, None, tmp_path)  # bestsellers: no model needed to check parameters
    for params, words in BAD_PARAMS:
        answer = _get(client, **params)
        if words is None:
            assert answer.status_code == 200 and 1 <= len(answer.json()["items"]) <= 2
            continue
        assert answer.status_code == 400 and words in answer.json()["error"], (params, answer.json())
        assert "k" in answer.json()["allowed"]
    repeated = client.get("/recommend?k=1&k=2", headers=AUTH)
    assert repeated.status_code == 400 and "'k' may be given once" in repeated.json()["error"]


def test_k_bounds(client: TestClient) -> None:
    assert len(_ids(_get(client, k=1).json())) == 1
    assert len(_ids(_get(client).json())) == 5  # SHOP_RECOMMEND_COUNT
    fifty = _ids(_get(client, k=50).json())
    assert 5 < len(fifty) <= 50 and len(set(fifty)) == len(fifty)


def test_a_customer_id_without_a_valid_signature_is_anonymous(client: TestClient, shop: Ready) -> None:
    expires = int(time.time()) + 600
    anonymous = _get(client, k=10).json()
    unsigned = _get(client, k=10, customer_id=ALEX).json()
    borrowed = _get(client, k=10, customer_id=ALEX,
                    customer_sig=sign_customer_id(str(shop.other), IDENTITY, expires_at=expires)).json()
    forged = _get(client, k=10, customer_id=ALEX, customer_sig=sign_customer_id(str(ALEX), "guess", expires_at=expires))
    expired = _get(client, k=10, customer_id=ALEX,
                   customer_sig=sign_customer_id(str(ALEX), IDENTITY, expires_at=int(time.time()) - 1))
    for answer in (unsigned, borrowed, forged.json(), expired.json()):
        assert answer["identity"] == "anonymous" and _ids(answer) == _ids(anonymous)
    signed = _get(client, k=10, customer_id=ALEX,
                  customer_sig=sign_customer_id(str(ALEX), IDENTITY, expires_at=expires))
    assert signed.json()["identity"] == "verified"
    with session_scope(shop.url) as s:
        logged = s.scalars(select(RecommendationImpression.customer_id)
                           .where(RecommendationImpression.request_id == unsigned["request_id"])).all()
    assert logged and set(logged) == {None}  # an unsigned id is never stored as who saw it


def test_the_same_answer_as_the_chats_service(client: TestClient, shop: Ready, models: Path) -> None:
    with session_scope(shop.url) as s:
        record_interaction(s, product_id=shop.jacket_product, kind="click", session_id="web-api-same")
    sig = sign_customer_id(str(ALEX), IDENTITY, expires_at=int(time.time()) + 600)
    cases: list[tuple[dict[str, str], dict[str, Any]]] = [  # API parameters -> the chat action's arguments
        ({"session": "web-api-same"}, {"query": SearchQuery(), "session_id": "web-api-same"}),
        ({"category": "Jackets", "max_price": "150"},
         {"query": SearchQuery(category="jackets", price_max_cents=15000)}),
        ({"q": "a warm jacket for my dad under 100"},
         {"query": SearchQuery(category="jackets", price_max_cents=10000), "gift": True}),
        ({"product_id": str(shop.jacket_product)}, {"query": SearchQuery(), "similar_to": shop.jacket_product}),
        ({"customer_id": str(ALEX), "customer_sig": sig, "k": "8"}, {"query": SearchQuery(), "customer_id": ALEX}),
    ]
    for params, chat in cases:
        answer = _get(client, **params).json()
        with session_scope(shop.url) as s:
            expected = recommend_products(s, holder=_holder(models), k=int(params.get("k", 5)), **chat)
        assert answer["how"] == expected.how and answer["model_kind"] == expected.model_kind == "cold-start"
        assert [(i["product"]["id"], i["reason"]) for i in answer["items"]] == [
            (r.card.id, r.reason) for r in expected.items], params
    personal = _get(client, session="web-api-same").json()
    assert personal["how"] == "personal" and any("because you looked at" in i["reason"] for i in personal["items"])


def test_impressions_are_logged_and_orders_are_credited_to_them(client: TestClient, shop: Ready) -> None:
    sid = "a" * 32
    answer = _get(client, session=sid, category="jackets", k=20).json()
    assert shop.jacket_product in _ids(answer)
    with session_scope(shop.url) as s:
        rows = s.scalars(select(RecommendationImpression).where(
            RecommendationImpression.request_id == answer["request_id"]).order_by(RecommendationImpression.position)
        ).all()
        assert [r.product_id for r in rows] == _ids(answer) and [r.position for r in rows] == list(
            range(1, len(rows) + 1))
        assert {(r.source, r.session_id, r.how) for r in rows} == {("api", sid, answer["how"])}
        shown = next(r.id for r in rows if r.product_id == shop.jacket_product)
    fill(shop.url, sid, shop.jacket)  # the shopper then adds it in chat and checks out as a guest
    with session_scope(shop.url) as s:
        result = checkout(s, request=CheckoutRequest(
            session_id=sid, idempotency_key="api-credit-key-0001", email="viewer@example.org",
            address=Address("Viewer", "2 Side St", "Salem", "97301", "US")), now=utc_now())
    assert result.status == "placed"
    with session_scope(shop.url) as s:
        credited = s.scalar(select(OrderLineAttribution.impression_id).where(
            OrderLineAttribution.product_id == shop.jacket_product))
    assert credited == shown
