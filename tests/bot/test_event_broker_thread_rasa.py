"""The production event broker (:class:`bot.event_broker.DurablePikaEventBroker`) keeps
up with a Rasa process whose event loop is busy, and loses nothing when RabbitMQ goes
away under it (real RabbitMQ on loopback, reached through the fault suite's TCP proxy,
``bench/faults.py``; the broker runs in the Rasa environment).

The publisher stands in for a Rasa server under load: its event loop runs 100 ms of
synchronous work (NLU, policies) between turns and publishes 5 events a turn. Rasa's
own broker publishes on that loop and fell behind by almost every event (1,454 of
1,470 still waiting after 30 s); this one publishes on its own thread.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.cluster import haproxy_missing
from bench.engines import RASA_PY, RunEngines, services_missing
from bench.faults import FaultProxy
from tests.conftest import PG_ADMIN_URL
from tests.paths import ROOT

pytestmark = [pytest.mark.rasa, pytest.mark.slow,
              pytest.mark.skipif(not RASA_PY.exists(), reason="the Rasa environment is missing: run 'make setup'")]

PUBLISHER = r'''
import asyncio, json, logging, sys, time
import rasa.shared.core.events  # noqa: F401  (Rasa's pika module expects it imported)
import structlog
from bot.event_broker import DurablePikaEventBroker

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))

async def main(port, exchange, queue, seconds):
    broker = DurablePikaEventBroker(host="127.0.0.1", username="guest", password="guest", port=port, queues=[queue],
                                    exchange_name=exchange, connection_attempts=5, retry_delay_in_seconds=1)
    await broker.connect()
    print("connected", flush=True)
    n, started = 0, time.monotonic()
    while time.monotonic() - started < seconds:
        time.sleep(0.1)  # the loop busy with a turn
        for _ in range(5):
            broker.publish({"sender_id": "s", "event": "user", "n": n, "timestamp": time.time()})
            n += 1
        await asyncio.sleep(0)
    behind = len(broker._background_tasks) + len(broker._unpublished_events)
    for _ in range(60):
        if not broker._background_tasks and not broker._unpublished_events:
            break
        await asyncio.sleep(0.5)
    left = len(broker._background_tasks) + len(broker._unpublished_events)
    await broker.close()
    print(json.dumps({"sent": n, "behind_at_end": behind, "left": left}), flush=True)

asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])))
'''


@pytest.fixture()
def proxy(tmp_path: Path) -> Iterator[FaultProxy]:
    reason = haproxy_missing() or services_missing(PG_ADMIN_URL)
    if reason:
        pytest.skip(reason)
    started = FaultProxy(tmp_path).start()
    yield started
    started.stop()


def _publish_across_an_outage(proxy: FaultProxy, *, seconds: float, cut_at_s: float,
                              outage_s: float = 4) -> tuple[dict[str, int], list[int]]:
    """The publisher's result and the events that arrived, RabbitMQ cut at ``cut_at_s``
    for ``outage_s``."""
    engines = RunEngines(pg_admin_url=PG_ADMIN_URL)
    engines.created = False  # no tracker database: only this run's exchange and queue
    publisher = subprocess.Popen([str(RASA_PY), "-c", PUBLISHER, str(proxy.amqp_port), engines.exchange, engines.queue,
                                  str(seconds)], cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert publisher.stdout is not None
        assert publisher.stdout.readline().strip() == "connected", publisher.stderr.read() if publisher.stderr else ""
        time.sleep(cut_at_s)
        proxy.admin.cut("amqp")  # every connection closed, new ones refused
        time.sleep(outage_s)
        proxy.admin.restore("amqp")
        out, err = publisher.communicate(timeout=120)
        assert publisher.returncode == 0, err[-3000:]
        result = json.loads(out.strip().splitlines()[-1])
        arrived = [event["n"] for event in engines.drain()]
    finally:
        if publisher.poll() is None:
            publisher.kill()
        engines.drain(delete=True, read=False)
    return result, arrived


def test_the_broker_keeps_up_with_a_busy_loop_and_loses_nothing_when_rabbitmq_goes_away(proxy: FaultProxy) -> None:
    result, arrived = _publish_across_an_outage(proxy, seconds=20, cut_at_s=8)
    assert result["sent"] > 400
    assert result["behind_at_end"] < 50  # kept up while the loop was busy (Rasa's own: nearly all behind)
    assert result["left"] == 0
    assert sorted(set(arrived)) == list(range(result["sent"]))  # every event arrived, across the outage
    assert len(arrived) - len(set(arrived)) <= 20  # at least once: few, if any, twice


def test_events_kept_at_the_end_of_an_outage_go_out_with_no_later_event(proxy: FaultProxy) -> None:
    """The last events are published while RabbitMQ is away and nothing is published
    after it is back: the kept ones still go out (a publish hanging on the dropped
    connection fails only after the reconnection, when nothing else would carry it)."""
    result, arrived = _publish_across_an_outage(proxy, seconds=10, cut_at_s=7)
    assert result["left"] == 0
    assert sorted(set(arrived)) == list(range(result["sent"]))


DROPPED_MIDWAY = r'''
import asyncio, json
import rasa.shared.core.events  # noqa: F401  (Rasa's pika module expects it imported)
from pamqp.exceptions import AMQPFrameError
import bot.event_broker as eb
from bot.event_broker import DurablePikaEventBroker

eb.RETRY_KEPT_S = 0.2

class Exchange:  # stands in for aio-pika's: the connection drops under the first publish, then it is back
    def __init__(self):
        self.fail, self.sent = 1, []
    async def publish(self, message, routing_key):
        if self.fail:
            self.fail -= 1
            raise AMQPFrameError("Server connection unexpectedly closed")
        self.sent.append(json.loads(message.body))

async def main():
    broker = DurablePikaEventBroker(host="127.0.0.1", username="guest", password="guest", queues=["q"])
    broker._loop = asyncio.get_running_loop()
    broker._exchange = exchange = Exchange()
    broker.publish({"sender_id": "s", "event": "user", "n": 0})  # the conversation's last event: none follows
    for _ in range(50):
        await asyncio.sleep(0.1)
        if exchange.sent:
            break
    print(json.dumps({"sent": exchange.sent, "kept": len(broker._unpublished_events)}))

asyncio.run(main())
'''


def test_a_publish_cut_by_a_dropped_connection_is_kept_and_sent_again() -> None:
    """pamqp's ``AMQPFrameError`` (a publish pending when the connection drops) is a
    failure like aiormq's: the event is kept and goes out on the next try, with no
    later event to carry it."""
    done = subprocess.run([str(RASA_PY), "-c", DROPPED_MIDWAY], cwd=ROOT, env={"PYTHONPATH": str(ROOT),
                          "PATH": "/usr/bin"}, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert [e["n"] for e in result["sent"]] == [0] and result["kept"] == 0
