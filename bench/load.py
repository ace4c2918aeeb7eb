"""Load benchmark: N concurrent conversations over REST and socket.io for T seconds against
the shop's cluster (2 Rasa + 2 action servers behind HAProxy on the production engines,
``bench/cluster.py``), and the same REST load against a bare Rasa bot deployed the same
way (``rasa init``'s bot, ``bench/bare_rasa.py``), for the ratio the issue asks for.

    .venv/actions/bin/python -m bench.load [--conversations 50] [--seconds 45] [--socketio-share 0.5]
    .venv/actions/bin/python -m bench.load --target http://127.0.0.1:5005 --token "$(cat var/rest-token)"

Without ``--target`` it makes what it needs in a work folder: a demo shop (``--scale``,
SQLite, shared by the action servers) with its search index, or uses
``--database-url``/``--index-dir``; this run's tracker database, broker queue and lock
keys (``bench/engines.py``, removed at the end); both clusters. Then, in one run:

1. **ratio**: the shop, then the bare bot, each under the same load without the LLM
   turn (the shop's non-LLM turns against the bare bot's replies to the same texts),
   ``--socketio-share`` of the shoppers on socket.io and the rest on REST; prints both,
   per channel too, and shop/bare;
2. **with the LLM** (only with ``--llm MODEL``, unless ``--no-mixed``): the shop under
   the full script, product questions worded by the LLM included, turn kinds reported
   separately.

The shoppers run in the Rasa environment (``bench/load_clients.py``: aiohttp and
python-socketio), one process; each turn's outcome is kept as JSON in the work folder.
Needs ``make setup train``, HAProxy, PostgreSQL, Redis and RabbitMQ on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench import bare_rasa
from bench.cluster import SHOP_MODEL, Cluster, ClusterError, ClusterPorts, haproxy_missing
from bench.engines import PG_ADMIN_URL, RunEngines, services_missing
from retrieval.catalog_index import CatalogIndex
from retrieval.embeddings import get_embedder
from shop.db.engine import get_engine, session_scope
from shop.db.migrate import upgrade
from shop.db.schema import Customer, Order
from tools.demo.generate import generate_demo_shop

ROOT = Path(__file__).resolve().parent.parent
RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"


@dataclass(frozen=True)
class ShopData:
    """What the action servers serve: the shop database, its search index, the
    preference models' folder, and the persona's order number and e-mail."""

    database_url: str
    index_dir: Path | None
    model_dir: Path
    order_number: str
    email: str


def persona(database_url: str) -> tuple[str, str]:
    """Customer 1's latest order number and e-mail."""
    with session_scope(database_url) as session:
        email = session.scalar(select(Customer.email).where(Customer.id == 1))
        number = session.scalar(select(Order.number).where(Order.customer_id == 1)
                                .order_by(Order.placed_at.desc()).limit(1))
    if not email or not number:
        raise SystemExit(f"{database_url} has no customer 1 with an order (the demo shop's persona)")
    return str(number), str(email)


def prepare_shop(workdir: Path, *, scale: float, database_url: str | None = None,
                 index_dir: Path | None = None, build_index: bool = True) -> ShopData:
    """A demo shop at ``scale`` in ``workdir`` (or ``database_url``) and its search index
    (or ``index_dir``; none when ``build_index`` is false: SQL search)."""
    if database_url is None:
        database_url = f"sqlite:///{workdir / 'shop.db'}"
        upgrade(database_url)
        as_of = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        with session_scope(database_url) as session:
            generate_demo_shop(session, seed=7, as_of=as_of, scale=scale, progress=False)
        get_engine(database_url).dispose()
    if index_dir is None and build_index:
        index_dir = workdir / "index"
        with session_scope(database_url) as session:
            CatalogIndex.build(session, directory=index_dir, embedder=get_embedder("bf16")).close()
    model_dir = workdir / "models"
    model_dir.mkdir(exist_ok=True)
    number, email = persona(database_url)
    return ShopData(database_url, index_dir, model_dir, number, email)


@dataclass(frozen=True)
class Secrets:
    action_token: str
    rest_token: str
    relay_secret: str
    session_secret: str
    identity_secret: str

    @classmethod
    def fresh(cls) -> Secrets:
        return cls(*(uuid.uuid4().hex for _ in range(5)))


def shop_env(data: ShopData, secrets: Secrets, *, llm_model: str | None) -> dict[str, str]:
    """The action servers' and Rasa processes' shop settings (engines come on top)."""
    env = {
        "DATABASE_URL": data.database_url,
        "SHOP_SEARCH_BACKEND": "hybrid" if data.index_dir else "sql",
        "SHOP_SEARCH_INDEX_SYNC_S": "0",
        "SHOP_RECOMMEND_MODEL_DIR": str(data.model_dir), "SHOP_RECOMMEND_CHECK_S": "0",
        "SHOP_LLM_MODEL": f"llamacpp/{llm_model}" if llm_model else "off",
        "SHOP_ACTION_TOKEN": secrets.action_token, "SHOP_REST_TOKEN": secrets.rest_token,
        "SHOP_RELAY_SECRET": secrets.relay_secret, "SHOP_SESSION_SECRET": secrets.session_secret,
        "SHOP_IDENTITY_SECRET": secrets.identity_secret,
        "SHOP_WIDGET_ORIGINS": "*",
        # every shopper of the benchmark comes from 127.0.0.1 (the per-conversation limit stays)
        "SHOP_RATE_PER_CLIENT_PER_MIN": "1000000",
    }
    if data.index_dir:
        env["SHOP_SEARCH_INDEX_DIR"] = str(data.index_dir)
    return env


def drive(url: str, *, out: Path, token: str | None, conversations: int, seconds: float, warmup_s: float,
          socketio_share: float, order_number: str, email: str, llm_turns: bool, label: str,
          deadline_s: float = 150, request_timeout_s: float = 130, quiet: bool = False,
          empty_ok: bool = False) -> dict[str, Any]:
    """Run the shoppers (``bench/load_clients.py`` in the Rasa environment) and return
    their summary (also in ``out``)."""
    proc = start_driver(url, out=out, token=token, conversations=conversations, seconds=seconds,
                        warmup_s=warmup_s, socketio_share=socketio_share, order_number=order_number, email=email,
                        llm_turns=llm_turns, label=label, deadline_s=deadline_s,
                        request_timeout_s=request_timeout_s, quiet=quiet, empty_ok=empty_ok)
    return finish_driver(proc, out, timeout_s=seconds + deadline_s + 180)


def measured(cluster: Cluster, **kwargs: Any) -> dict[str, Any]:
    """:func:`drive` against ``cluster``, with the CPU each kind of process used per
    answered turn (``cpu_ms_per_turn``: rasa, actions, llm, haproxy), printed too."""
    before = cluster.cpu_seconds()
    summary = drive(cluster.url, **kwargs)
    after = cluster.cpu_seconds()
    groups: dict[str, float] = {}
    for name, seconds in after.items():
        group = name.rstrip("0123456789")
        groups[group] = groups.get(group, 0.0) + seconds - before.get(name, 0.0)
    turns = max(summary["turns_all"], 1)
    summary["cpu_ms_per_turn"] = {group: 1000 * seconds / turns for group, seconds in groups.items()}
    print("  CPU per answered turn (ms): " + ", ".join(f"{g} {ms:.1f}" for g, ms in summary["cpu_ms_per_turn"].items())
          + f"  (over all {turns} answered turns of the run)", flush=True)
    return summary


def start_driver(url: str, *, out: Path, token: str | None, conversations: int, seconds: float, warmup_s: float,
                 socketio_share: float, order_number: str, email: str, llm_turns: bool, label: str,
                 deadline_s: float, request_timeout_s: float, quiet: bool = False,
                 empty_ok: bool = False) -> subprocess.Popen[str]:
    args = [str(RASA_PY), "-m", "bench.load_clients", "--url", url, "--conversations", str(conversations),
            "--seconds", str(seconds), "--warmup-s", str(warmup_s), "--socketio-share", str(socketio_share),
            "--order-number", order_number, "--email", email, "--label", label, "--json", str(out),
            "--turn-deadline-s", str(deadline_s), "--request-timeout-s", str(request_timeout_s)]
    args += ["--token", token] if token else []
    args += [] if llm_turns else ["--no-llm-turns"]
    args += ["--quiet"] if quiet else []
    args += ["--empty-ok"] if empty_ok else []
    return subprocess.Popen(args, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, text=True)


def finish_driver(proc: subprocess.Popen[str], out: Path, *, timeout_s: float) -> dict[str, Any]:
    try:
        printed, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise RuntimeError(f"the load driver did not finish within {timeout_s:.0f} s") from None
    print(printed, flush=True)
    if proc.returncode != 0 or not out.is_file():
        raise RuntimeError(f"the load driver failed ({proc.returncode})")
    return dict(json.loads(out.read_text(encoding="utf-8")))


def shop_cluster(workdir: Path, data: ShopData, secrets: Secrets, engines: RunEngines, *, rasa: int, actions: int,
                 llm_model: str | None, redis_port: int | None = None, amqp_port: int | None = None) -> Cluster:
    env = {**shop_env(data, secrets, llm_model=llm_model),
           **engines.env(**{k: v for k, v in (("redis_port", redis_port), ("amqp_port", amqp_port)) if v})}
    return Cluster(workdir=workdir, ports=ClusterPorts.free(rasa, actions), env=env, model=SHOP_MODEL,
                   llm=llm_model is not None)


def bare_cluster(workdir: Path, engines: RunEngines, *, rasa: int) -> Cluster:
    """The bare bot on the same engines and load balancer (no action servers): the
    same lock store and broker classes (``bot/``), and its folder on the path for its
    socket.io channel (``bench/bare_rasa.py``)."""
    env = {**engines.env(), "SHOP_ACTION_TOKEN": "unused",
           "PYTHONPATH": os.pathsep.join((str(bare_rasa.BARE_DIR), str(ROOT)))}
    return Cluster(workdir=workdir, ports=ClusterPorts.free(rasa, 0), env=env, model=bare_rasa.model_path(),
                   credentials=bare_rasa.credentials_path(), rasa_cwd=bare_rasa.BARE_DIR)


def prerequisites(pg_admin_url: str = PG_ADMIN_URL) -> str | None:
    if not SHOP_MODEL.is_file():
        return f"{SHOP_MODEL} is missing: run 'make train'"
    return haproxy_missing() or services_missing(pg_admin_url)


def ratio_line(shop: dict[str, Any], bare: dict[str, Any]) -> str:
    """shop/bare: throughput of non-LLM turns, and p50/p95 (latency: bare/shop is the
    throughput-like ratio; both are printed as measured)."""
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    ratio = shop["non_llm_throughput"] / max(bare["non_llm_throughput"], 1e-9)
    lines = [f"\nshop / bare Rasa, same load: {shop['non_llm_throughput']:.1f} / {bare['non_llm_throughput']:.1f} "
             f"non-LLM turns/s = {ratio:.2f}x (goal >= 0.67x); p50 {ms(shop['non_llm_p50_ms'])} / "
             f"{ms(bare['non_llm_p50_ms'])} ms, p95 {ms(shop['non_llm_p95_ms'])} / {ms(bare['non_llm_p95_ms'])} ms; "
             f"errors {shop['errors']} / {bare['errors']}"]
    for ch in ("rest", "socketio"):
        a, b = shop["channels"][ch], bare["channels"][ch]
        if a["p50_ms"] is not None and b["p50_ms"] is not None:
            lines.append(f"  {ch}: {a['non_llm_throughput']:.1f} / {b['non_llm_throughput']:.1f} turns/s "
                         f"= {a['non_llm_throughput'] / max(b['non_llm_throughput'], 1e-9):.2f}x; p50 "
                         f"{ms(a['p50_ms'])} / {ms(b['p50_ms'])} ms, p95 {ms(a['p95_ms'])} / {ms(b['p95_ms'])} ms")
    return "\n".join(lines)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--target", help="drive a running Rasa URL only (no clusters, no bare bot)")
    p.add_argument("--token", help="with --target: the REST bearer token")
    p.add_argument("--conversations", type=int, default=50)
    p.add_argument("--seconds", type=float, default=45)
    p.add_argument("--warmup-s", type=float, default=5)
    p.add_argument("--socketio-share", type=float, default=0.5, help="share of shoppers on socket.io (default 0.5)")
    p.add_argument("--rasa", type=int, default=2, help="Rasa processes per cluster (default 2)")
    p.add_argument("--actions", type=int, default=2, help="action servers (default 2)")
    p.add_argument("--scale", type=float, default=0.2, help="demo shop scale (default 0.2)")
    p.add_argument("--database-url", help="the shop database to serve instead of a fresh demo shop")
    p.add_argument("--index-dir", type=Path, help="its search index (default: built in the work folder)")
    p.add_argument("--sql-search", action="store_true", help="no index: SQL search")
    p.add_argument("--llm", metavar="MODEL", help="run the LLM server with this local model (e.g. "
                   "smollm2-135m-instruct-q4_1) and a run with LLM turns; default: LLM off, templates answer")
    p.add_argument("--no-mixed", action="store_true", help="with --llm: no run with LLM turns")
    p.add_argument("--no-bare", action="store_true", help="no bare bot (no ratio)")
    p.add_argument("--pg-url", default=PG_ADMIN_URL, help=f"PostgreSQL maintenance database (default {PG_ADMIN_URL})")
    p.add_argument("--order-number", help="with --target: the persona's order number")
    p.add_argument("--email", default="alex.rivera@example.com", help="with --target: the persona's e-mail")
    p.add_argument("--workdir", type=Path, help="work folder (default: a new temporary one, removed)")
    args = p.parse_args()
    if not 0 <= args.socketio_share <= 1 or args.conversations < 1 or args.seconds <= args.warmup_s:
        p.error("--socketio-share must be within 0..1, --conversations at least 1, --seconds over --warmup-s")
    if args.rasa < 1 or args.actions < 1:
        p.error("--rasa and --actions must be at least 1")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="shop-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    common = {"conversations": args.conversations, "seconds": args.seconds, "warmup_s": args.warmup_s,
              "socketio_share": args.socketio_share}
    if args.target:
        drive(args.target, out=workdir / "target.json", token=args.token, order_number=args.order_number or "100001",
              email=args.email, llm_turns=True, label="target", **common)
        return 0
    reason = prerequisites(args.pg_url)
    if reason:
        print(reason, file=sys.stderr)
        return 1
    if not args.no_bare:
        try:
            bare_rasa.ensure()
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 1
    started = time.monotonic()
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {load_average()}", flush=True)
    print(f"preparing the shop (scale {args.scale}) in {workdir} ...", file=sys.stderr, flush=True)
    data = prepare_shop(workdir, scale=args.scale, database_url=args.database_url, index_dir=args.index_dir,
                        build_index=not args.sql_search)
    secrets = Secrets.fresh()
    engines, bare_engines = RunEngines(pg_admin_url=args.pg_url), RunEngines(pg_admin_url=args.pg_url)
    clusters: list[Cluster] = []
    try:
        engines.create()
        shop = shop_cluster(workdir / "shop", data, secrets, engines, rasa=args.rasa, actions=args.actions,
                            llm_model=args.llm)
        clusters.append(shop)
        if not args.no_bare:
            bare_engines.create()
            clusters.append(bare_cluster(workdir / "bare", bare_engines, rasa=args.rasa))
        print(f"starting {len(clusters)} cluster(s) ...", file=sys.stderr, flush=True)
        for cluster in clusters:
            cluster.launch()
        for cluster in clusters:
            cluster.ready()
        print(f"ready after {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        persona_args = {"order_number": data.order_number, "email": data.email}
        channels = f"REST + socket.io ({args.socketio_share:.0%})"
        shop_run = measured(shop, out=workdir / "shop.json", token=secrets.rest_token, llm_turns=False,
                            label=f"shop {args.rasa}+{args.actions}, {channels}, non-LLM turns", **persona_args,
                            **common)
        print(load_average(), flush=True)
        if not args.no_bare:
            bare = measured(clusters[1], out=workdir / "bare.json", token=None, llm_turns=False, empty_ok=True,
                            label=f"bare Rasa x{args.rasa}, {channels}, same texts", **persona_args, **common)
            print(load_average(), flush=True)
            print(ratio_line(shop_run, bare), flush=True)
        if args.llm and not args.no_mixed:
            measured(shop, out=workdir / "shop-llm.json", token=secrets.rest_token, llm_turns=True,
                     label=f"shop {args.rasa}+{args.actions}, {channels}, all turns (LLM on)", **persona_args,
                     **common)
            print(load_average(), flush=True)
    except (ClusterError, RuntimeError) as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        for cluster in clusters:
            cluster.stop()
        engines.drop()
        bare_engines.drop()
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
