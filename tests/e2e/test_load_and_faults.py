"""The load and fault suite in CI's shortened form: the shop's cluster (2 Rasa + 2 action
servers behind HAProxy, ``bench/cluster.py``) on the production engines, under 50
conversations over REST and socket.io for 30 s (no errors; every turn in the tracker
store; the queue holds exactly the tracker store's events), then the faults of
``bench/faults.py`` under the same load for 30 s (``kill -9`` of a Rasa process, an
action server and the LLM server when there is one; Redis and RabbitMQ away for a few
seconds behind a proxy of the test's own): every message answered, after the client
was told to retry if need be, nothing lost, every process back.

Also, without services: the load balancer's generated configuration (valid for
HAProxy, the checked-in ``deploy/haproxy.cfg`` in step with the generator, error pages
that tell the client to retry) and the fault proxy (cut and restored).

Skips, saying why: no HAProxy (``make haproxy``), no Rasa model (``make train``), no
PostgreSQL/Redis/RabbitMQ on loopback. The LLM fault needs ``make llm-server`` and the
e2e model (``tests/e2e/conftest.py``). Bounded: 293 s measured on this 2-core machine at
a load average of 5 from other work (most of it Rasa loading its model, twice).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import warnings
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from websockets.sync.client import connect

from bench import load
from bench.cluster import Cluster, ClusterError, ClusterPorts, haproxy_missing, rendered_default_config
from bench.engines import RunEngines
from bench.faults import FaultProxy, FaultReport, check, run_faults
from bench.haproxy import DEFAULT_CONFIG, ERRORS_DIR, Backend, cluster_config
from models.llm.weights import spec_for
from shop.settings import get_settings
from tests.conftest import PG_ADMIN_URL
from tests.demo_shops import DemoShops
from tests.e2e.conftest import E2E_LLM

LOAD_CONVERSATIONS, LOAD_SECONDS = 50, 30
FAULT_SECONDS, OUTAGE_S = 30, 4
#: a turn under faults may wait for a killed Rasa process to come back (about 100 s here under load)
FAULT_TURN_DEADLINE_S = 180

needs_haproxy = pytest.mark.skipif(haproxy_missing() is not None, reason=str(haproxy_missing()))


# --- the configuration, without services ------------------------------------------------


def test_the_checked_in_config_is_the_generated_one() -> None:
    assert DEFAULT_CONFIG.read_text(encoding="utf-8") == rendered_default_config(), \
        "deploy/haproxy.cfg is stale: python -m bench.cluster --write-config deploy/haproxy.cfg"


@needs_haproxy
@pytest.mark.parametrize("rasa, actions", [(2, 2), (3, 1), (1, 0)])
def test_generated_configs_are_valid_for_haproxy(tmp_path: Path, rasa: int, actions: int) -> None:
    ports = ClusterPorts.free(rasa, actions)
    config = cluster_config(rasa=[Backend(f"rasa{k}", p) for k, p in enumerate(ports.rasa)],
                            actions=[Backend(f"actions{k}", p) for k, p in enumerate(ports.actions)],
                            rasa_bind=f"127.0.0.1:{ports.rasa_lb}", actions_bind=f"127.0.0.1:{ports.actions_lb}",
                            errors_dir=ERRORS_DIR, admin_socket=tmp_path / "admin.sock")
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    checked = subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert config.count(" check inter ") == 2 * rasa + actions  # REST and socket.io backends, and the actions
    assert ("frontend shop_actions" in config) == bool(actions)
    assert config.count(" cookie rasa") == rasa  # socket.io sticky per process


def test_a_config_without_rasa_processes_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one Rasa process"):
        cluster_config(rasa=[], actions=[Backend("a", 1)], rasa_bind="127.0.0.1:1", actions_bind="127.0.0.1:2",
                       errors_dir=ERRORS_DIR)


@pytest.mark.parametrize("code", [502, 503, 504])
def test_the_load_balancers_errors_tell_the_client_to_retry(code: int) -> None:
    raw = (ERRORS_DIR / f"{code}.http").read_bytes()
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {code} ")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert int(headers["Retry-After"]) > 0
    assert int(headers["Content-Length"]) == len(body)
    answer = json.loads(body)
    assert answer["retry_after_s"] == int(headers["Retry-After"])
    assert "send your message again" in answer["error"]


def _echo_server() -> tuple[socket.socket, int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=lambda c=conn: [c.sendall(d) for d in iter(lambda: c.recv(1024), b"")],
                             daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return server, int(server.getsockname()[1])


def _echo(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
        conn.sendall(b"ping")
        return conn.recv(16)


@needs_haproxy
def test_the_fault_proxy_cuts_open_connections_and_refuses_new_ones_until_restored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server, port = _echo_server()
    monkeypatch.setattr("bench.faults.REDIS_PORT", port)
    proxy = FaultProxy(tmp_path).start()
    try:
        assert _echo(proxy.redis_port) == b"ping"
        held = socket.create_connection(("127.0.0.1", proxy.redis_port), timeout=3)
        held.sendall(b"one")
        assert held.recv(16) == b"one"
        proxy.admin.cut("redis")
        assert held.recv(16) == b""  # the open connection is closed
        with pytest.raises(OSError):
            reply = _echo(proxy.redis_port)  # a new one gets nothing through
            if not reply:
                raise ConnectionResetError("closed")
        assert proxy.admin.servers()[("redis", "redis")] == "MAINT"
        proxy.admin.restore("redis")
        assert _echo(proxy.redis_port) == b"ping"
        held.close()
    finally:
        proxy.stop()
        server.close()


# --- the cluster under load and faults ----------------------------------------------------


LLM_MISSING = (f"var/llama.cpp/bin/llama-server (make llm-server) or the e2e model's GGUF ({E2E_LLM}) "
               "is missing")


def _llm_model() -> str | None:
    """The e2e LLM when its server binary and weights are here (never downloaded here)."""
    settings = get_settings()
    spec = spec_for(E2E_LLM)
    weights = settings.llm_cache_dir / spec.filename
    if settings.llm_server_bin.exists() and weights.is_file() and weights.stat().st_size == spec.size_bytes:
        return E2E_LLM
    return None


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory: pytest.TempPathFactory,
                demo_shop: DemoShops) -> Iterator[tuple[Cluster, FaultProxy, RunEngines, load.ShopData, str]]:
    if os.environ.get("SHOP_LOAD_SUITE") != "1":
        pytest.skip("the cluster run (5-6 min here) runs with SHOP_LOAD_SUITE=1; not in CI until it has passed "
                    "more runs in a row (4 of the last 5 here, the failure fixed since: docs/production.md)")
    reason = load.prerequisites(PG_ADMIN_URL)
    if reason:
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("cluster")
    as_of = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    url = demo_shop(seed=7, scale=0.05, as_of=as_of)
    data = load.prepare_shop(workdir, scale=0.05, database_url=url, build_index=False)  # SQL search: fast set-up
    secrets, engines, proxy = load.Secrets.fresh(), RunEngines(pg_admin_url=PG_ADMIN_URL).create(), FaultProxy(workdir)
    cluster = load.shop_cluster(workdir / "cluster", data, secrets, engines, rasa=2, actions=2,
                                llm_model=_llm_model(), redis_port=proxy.redis_port, amqp_port=proxy.amqp_port)
    try:
        proxy.start()
        cluster.start(timeout_s=420)
    except ClusterError as exc:
        cluster.stop()
        proxy.stop()
        engines.drop()
        pytest.fail(str(exc))
    yield cluster, proxy, engines, data, secrets.rest_token
    cluster.stop()
    proxy.stop()
    engines.drop()


@pytest.mark.e2e
@pytest.mark.rasa
@pytest.mark.slow
def test_fifty_conversations_for_thirty_seconds_without_errors(cluster_run: tuple[Cluster, FaultProxy, RunEngines,
                                                                                 load.ShopData, str]) -> None:
    cluster, _, engines, data, token = cluster_run
    summary = load.drive(cluster.url, out=cluster.workdir / "load.json", token=token,
                         conversations=LOAD_CONVERSATIONS, seconds=LOAD_SECONDS, warmup_s=5, socketio_share=0.5,
                         order_number=data.order_number, email=data.email, llm_turns=cluster.llm,
                         label="CI load", deadline_s=120, quiet=True)
    unanswered = [o for o in summary["outcomes"] if not o["answered"]]
    assert unanswered == []
    assert summary["by_channel"]["rest"] > 0 and summary["by_channel"]["socketio"] > 0
    report = FaultReport(summary, [])
    check(report, engines, cluster, recover_s=60)
    assert report.problems() == []


@pytest.mark.e2e
@pytest.mark.rasa
def test_the_widgets_websocket_passes_the_load_balancer(cluster_run: tuple[Cluster, FaultProxy, RunEngines,
                                                                           load.ShopData, str]) -> None:
    """The widget opens a WebSocket first (the load driver's shoppers use long polling):
    engine.io's handshake and socket.io's connect answered through HAProxy's tunnel."""
    cluster = cluster_run[0]
    url = cluster.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    with connect(url, open_timeout=30) as ws:
        opened = ws.recv(timeout=30)
        assert isinstance(opened, str) and opened.startswith("0{") and '"sid"' in opened
        ws.send("40")  # socket.io: connect to the default namespace
        assert str(ws.recv(timeout=30)).startswith("40")
        ws.send('42["session_request",{}]')
        confirm = str(ws.recv(timeout=30))
        assert confirm.startswith('42["session_confirm"'), confirm


@pytest.mark.e2e
@pytest.mark.rasa
@pytest.mark.slow
def test_faults_under_load_lose_no_message_and_no_event(cluster_run: tuple[Cluster, FaultProxy, RunEngines,
                                                                           load.ShopData, str]) -> None:
    cluster, proxy, engines, data, token = cluster_run
    report = run_faults(cluster, proxy, engines, data, token, workdir=cluster.workdir,
                        conversations=LOAD_CONVERSATIONS, seconds=FAULT_SECONDS, outage_s=OUTAGE_S,
                        deadline_s=FAULT_TURN_DEADLINE_S, recover_s=240)
    print(report.text())
    if not cluster.llm:
        warnings.warn(f"the LLM server was not killed: {LLM_MISSING}", stacklevel=1)
    assert [f.name for f in report.faults][:2] == ["kill -9 rasa1", "kill -9 actions1"]
    assert ("kill -9 llama-server" in [f.name for f in report.faults]) == cluster.llm
    assert all(f.done_at_s is not None for f in report.faults)
    assert report.restarts.get("rasa1", 0) >= 1 and report.restarts.get("actions1", 0) >= 1
    assert report.problems() == []
