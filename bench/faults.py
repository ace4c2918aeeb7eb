"""Fault suite: the shop's cluster (``bench/cluster.py``: 2 Rasa + 2 action servers behind
HAProxy, the shared LLM server, the production engines) under load (``bench/load.py``'s
shoppers, REST and socket.io), while one after another:

1. one Rasa process is killed (``kill -9``);
2. one action server is killed (``kill -9``);
3. the LLM server (llama-server itself, under its supervisor) is killed (``kill -9``), when
   the cluster runs one;
4. Redis goes away for ``--outage-s`` and comes back;
5. RabbitMQ goes away for ``--outage-s`` and comes back.

Redis and RabbitMQ are the machine's shared services, so they are never restarted:
the cluster reaches them through a TCP proxy of its own (a second HAProxy in TCP mode,
:func:`bench.haproxy.fault_proxy_config`), and an "outage" closes every connection
through it and refuses new ones until it ends: what the cluster sees of a restart.
The killed processes are started again by the cluster's supervisor.

Checks (:meth:`FaultReport.problems`):

- every message got an answer, possibly after the client was told to retry: HAProxy's
  502/503/504 carry ``Retry-After`` and a JSON body saying to send again, REST's 429
  ``retry_after_s``, the assistant's apology says "Please try again", a dropped
  socket.io connection is reconnected and its session resumed; a turn that has no
  answer within ``--turn-deadline-s`` is an error;
- no conversation lost: every answered message is in the tracker store, in order;
- no event lost: per conversation, the broker's queue holds exactly the tracker store's
  events (compared event by event; one that arrived twice, after a confirmation that
  did not come in time, counts once and is reported);
- afterwards every process runs again and HAProxy has every server up.

    .venv/actions/bin/python -m bench.faults [--conversations 50] [--seconds 90] [--llm MODEL]
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import load
from bench.cluster import Cluster, ClusterError, free_ports
from bench.engines import AMQP_HOST, AMQP_PORT, PG_ADMIN_URL, REDIS_HOST, REDIS_PORT, RunEngines
from bench.haproxy import Admin, Backend, fault_proxy_config

ROOT = Path(__file__).resolve().parent.parent


class FaultProxy:
    """HAProxy in TCP mode in front of Redis and RabbitMQ, cut and restored per service."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.redis_port, self.amqp_port = free_ports(2)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def admin(self) -> Admin:
        return Admin(self.workdir / "fault-proxy.sock")

    def start(self) -> FaultProxy:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "fault-proxy.cfg"
        config.write_text(fault_proxy_config(
            services={"redis": (Backend("redis", REDIS_PORT, REDIS_HOST), self.redis_port),
                      "amqp": (Backend("amqp", AMQP_PORT, AMQP_HOST), self.amqp_port)},
            admin_socket=self.workdir / "fault-proxy.sock"), encoding="utf-8")
        with open(self.workdir / "fault-proxy.log", "wb") as out:
            self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.admin.servers()
                return self
            except OSError:
                time.sleep(0.2)
        raise ClusterError("the fault proxy did not start: " + (self.workdir / "fault-proxy.log").read_text())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@dataclass
class Fault:
    """One fault at ``at_s`` seconds into the load; ``undo`` (if any) ``lasts_s`` later."""

    at_s: float
    name: str
    do: Callable[[], str]
    undo: Callable[[], None] | None = None
    lasts_s: float = 0.0
    detail: str = ""
    done_at_s: float | None = None


def plan(cluster: Cluster, proxy: FaultProxy, *, seconds: float, outage_s: float) -> list[Fault]:
    """The faults of the module doc, spread over the load's ``seconds``."""
    rasa = next(name for name in cluster.members if name.startswith("rasa"))
    actions = next(name for name in cluster.members if name.startswith("actions"))
    faults = [Fault(0.12 * seconds, f"kill -9 {rasa}", lambda: f"pid {cluster.kill(rasa)}"),
              Fault(0.27 * seconds, f"kill -9 {actions}", lambda: f"pid {cluster.kill(actions)}")]
    if cluster.llm:
        faults.append(Fault(0.40 * seconds, "kill -9 llama-server", lambda: f"pid {cluster.kill_llm_server()}"))

    def cut(name: str) -> Callable[[], str]:
        def do() -> str:
            proxy.admin.cut(name)
            return f"connections closed, refused for {outage_s:.0f} s"
        return do

    faults += [Fault(0.52 * seconds, "Redis away", cut("redis"), lambda: proxy.admin.restore("redis"), outage_s),
               Fault(0.70 * seconds, "RabbitMQ away", cut("amqp"), lambda: proxy.admin.restore("amqp"), outage_s)]
    return faults


@dataclass
class FaultReport:
    summary: dict[str, Any]
    faults: list[Fault]
    lost: list[tuple[str, str]] = field(default_factory=list)  # answered but not in the tracker
    #: conversations whose published events are not exactly the stored ones: (stored, distinct published)
    broker: dict[str, tuple[int, int]] = field(default_factory=dict)
    duplicates: int = 0  # events that arrived more than once (at least once delivery)
    down_after: list[str] = field(default_factory=list)
    restarts: dict[str, int] = field(default_factory=dict)
    started_at: float = 0.0  # wall-clock time the load started (epoch seconds)
    #: events stored but never published, by when they happened (seconds into the load, 5 s bins)
    unpublished_at: dict[int, int] = field(default_factory=dict)

    @property
    def unanswered(self) -> list[dict[str, Any]]:
        return [o for o in self.summary["outcomes"] if not o["answered"]]

    def problems(self) -> list[str]:
        out = [f"no answer: {o['channel']} {o['kind']} {o['conversation']}: {o['error']}" for o in self.unanswered]
        out += [f"answered but not in the tracker store: {c}: {t!r}" for c, t in self.lost]
        out += [f"broker/tracker mismatch: {c}: {s} events stored, {p} distinct published"
                for c, (s, p) in self.broker.items()]
        out += [f"not running or not up afterwards: {name}" for name in self.down_after]
        return out

    def text(self) -> str:
        reasons = collections.Counter(r for o in self.summary["outcomes"] for r in o["reasons"])
        lines = ["\nFaults:"]
        lines += [f"  {f.done_at_s or 0:6.1f} s  {f.name}: {f.detail}" for f in self.faults]
        lines.append(f"Turns: {len(self.summary['outcomes'])}, answered "
                     f"{sum(o['answered'] for o in self.summary['outcomes'])}, retried "
                     f"{sum(1 for o in self.summary['outcomes'] if o['retries'])} (client told to retry: "
                     + (", ".join(f"{r} x{n}" for r, n in reasons.most_common()) or "never") + ")")
        lines.append(f"Restarts by the supervisor: {self.restarts}")
        stored = sum(s for s, _ in self.broker.values())
        lines += [f"Checks: {len(self.unanswered)} turns without an answer, {len(self.lost)} answered turns missing "
                  f"from the tracker store, {len(self.broker)} conversations whose broker count differs from the "
                  f"tracker store ({stored} events stored, {sum(p for _, p in self.broker.values())} published in "
                  f"them), {self.duplicates} events published twice, {len(self.down_after)} processes not back"]
        if self.unpublished_at:
            lines.append("Events stored but not published, by when they happened (s into the load): " + ", ".join(
                f"{at}-{at + 5}: {n}" for at, n in sorted(self.unpublished_at.items())))
        lines += [f"  {p}" for p in self.problems()[:25]]
        return "\n".join(lines)


def event_key(event: dict[str, Any]) -> str:
    """One event as stored or as published (without the ``sender_id`` the broker adds)."""
    return json.dumps({k: v for k, v in event.items() if k != "sender_id"}, sort_keys=True)


def published_keys(published: list[dict[str, Any]]) -> dict[str, collections.Counter[str]]:
    """Per conversation, how often each event arrived (more than once: published again
    after a confirmation that did not come in time; the broker delivers at least once)."""
    out: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for event in published:
        out[str(event.get("sender_id"))][event_key(event)] += 1
    return out


def is_subsequence(wanted: list[str], found: list[str]) -> bool:
    it = iter(found)
    return all(any(w == f for f in it) for w in wanted)


def check(report: FaultReport, engines: RunEngines, cluster: Cluster, *, recover_s: float,
          detail_to: Path | None = None) -> FaultReport:
    """Fill in the tracker, broker and process checks of ``report``."""
    answered: dict[str, list[str]] = collections.defaultdict(list)
    for o in report.summary["outcomes"]:
        if o["answered"] and o["conversation"]:
            answered[o["conversation"]].append(o["text"])
    stored_texts = engines.tracker_user_texts()
    for conversation, texts in answered.items():
        if not is_subsequence(texts, stored_texts.get(conversation, [])):
            missing = [t for t in texts if t not in stored_texts.get(conversation, [])] or texts[-1:]
            report.lost += [(conversation, t) for t in missing]
    stored_events = engines.tracker_all_events()
    deadline = time.monotonic() + 30  # events published on reconnecting come late
    while True:
        engines.drain()
        published = published_keys(engines.published)
        missing = {c: [e for e in events if event_key(e) not in published[c]] for c, events in stored_events.items()}
        if not any(missing.values()) or time.monotonic() > deadline:
            break
        time.sleep(2)
    stored_keys = {c: collections.Counter(event_key(e) for e in events) for c, events in stored_events.items()}
    report.duplicates = sum(n - 1 for keys in published.values() for n in keys.values() if n > 1)
    report.broker = {}
    for c in set(stored_keys) | set(published):
        extra = set(published.get(c, {})) - set(stored_keys.get(c, {}))
        if missing.get(c) or extra:
            report.broker[c] = (sum(stored_keys.get(c, {}).values()), len(published.get(c, {})))
    unsent: collections.Counter[int] = collections.Counter()
    for events in missing.values():
        for event in events:
            if report.started_at:
                unsent[int((float(event.get("timestamp") or 0) - report.started_at) // 5 * 5)] += 1
    report.unpublished_at = dict(unsent)
    if detail_to is not None:  # every differing conversation's events, both sides, for a closer look
        detail_to.write_text(json.dumps({c: {"stored": stored_events.get(c, []),
                                             "published": [e for e in engines.published if e.get("sender_id") == c]}
                                         for c in list(report.broker)[:20]}), encoding="utf-8")
    try:
        cluster.wait_healthy(recover_s)
    except ClusterError:
        report.down_after = cluster.unhealthy() or ["(HAProxy has a server down)"]
    report.restarts = {name: m.starts - 1 for name, m in cluster.members.items() if m.starts > 1}
    return report


def run_faults(cluster: Cluster, proxy: FaultProxy, engines: RunEngines, data: load.ShopData, rest_token: str, *,
               workdir: Path, conversations: int, seconds: float, outage_s: float = 5, socketio_share: float = 0.5,
               deadline_s: float = 180, recover_s: float = 300) -> FaultReport:
    """Load the running ``cluster`` for ``seconds`` while the faults of :func:`plan`
    happen, then check (see the module doc)."""
    faults = plan(cluster, proxy, seconds=seconds, outage_s=outage_s)
    out = workdir / "faults-load.json"
    proc = load.start_driver(cluster.url, out=out, token=rest_token, conversations=conversations, seconds=seconds,
                             warmup_s=0, socketio_share=socketio_share, order_number=data.order_number,
                             email=data.email, llm_turns=cluster.llm, label="under faults", deadline_s=deadline_s,
                             request_timeout_s=min(60, deadline_s), quiet=True)
    started, started_at = time.monotonic(), time.time()
    pending: list[tuple[float, Callable[[], None]]] = []
    for fault in faults:
        while pending and pending[0][0] <= fault.at_s:
            at, undo = pending.pop(0)
            time.sleep(max(0.0, started + at - time.monotonic()))
            undo()
        time.sleep(max(0.0, started + fault.at_s - time.monotonic()))
        fault.done_at_s = time.monotonic() - started
        fault.detail = fault.do()
        print(f"  {fault.done_at_s:6.1f} s  {fault.name}: {fault.detail}", file=sys.stderr, flush=True)
        if fault.undo is not None:
            pending.append((fault.at_s + fault.lasts_s, fault.undo))
    for at, undo in pending:
        time.sleep(max(0.0, started + at - time.monotonic()))
        undo()
    summary = load.finish_driver(proc, out, timeout_s=seconds + deadline_s + 120)
    return check(FaultReport(summary, faults, started_at=started_at), engines, cluster, recover_s=recover_s,
                 detail_to=workdir / "broker-differences.json")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--conversations", type=int, default=50)
    p.add_argument("--seconds", type=float, default=90)
    p.add_argument("--outage-s", type=float, default=5, help="how long Redis and RabbitMQ stay away (default 5)")
    p.add_argument("--socketio-share", type=float, default=0.5)
    p.add_argument("--scale", type=float, default=0.2)
    p.add_argument("--sql-search", action="store_true", help="no index: SQL search")
    p.add_argument("--llm", metavar="MODEL", help="run the LLM server with this local model (then it is killed too)")
    p.add_argument("--pg-url", default=PG_ADMIN_URL, help=f"PostgreSQL maintenance database (default {PG_ADMIN_URL})")
    p.add_argument("--workdir", type=Path)
    args = p.parse_args()
    reason = load.prerequisites(args.pg_url)
    if reason:
        print(reason, file=sys.stderr)
        return 1
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="shop-faults-"))
    data = load.prepare_shop(workdir, scale=args.scale, build_index=not args.sql_search)
    secrets, engines, proxy = load.Secrets.fresh(), RunEngines(pg_admin_url=args.pg_url), FaultProxy(workdir)
    cluster = load.shop_cluster(workdir / "cluster", data, secrets, engines, rasa=2, actions=2, llm_model=args.llm,
                                redis_port=proxy.redis_port, amqp_port=proxy.amqp_port)
    try:
        engines.create()
        proxy.start()
        cluster.start()
        report = run_faults(cluster, proxy, engines, data, secrets.rest_token, workdir=workdir,
                            conversations=args.conversations, seconds=args.seconds, outage_s=args.outage_s,
                            socketio_share=args.socketio_share)
        print(report.text())
        return 0 if not report.problems() else 3
    except (ClusterError, RuntimeError) as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        cluster.stop()
        proxy.stop()
        engines.drop()
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
