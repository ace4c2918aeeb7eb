"""Issue 15, messaging replays: a Twilio ``MessageSid``, Slack ``event_id`` or Telegram
``update_id`` seen once is not processed again by another guard (a second process, a
restarted one) when the replay memory is in Redis (real Redis, 127.0.0.1:6379 db 15,
keys under a unique prefix, deleted afterwards); with Redis down each process still
remembers alone; Twilio and Telegram ids (no timestamp to go stale) are kept a month."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest
import redis
from redis.exceptions import RedisError

from bot import webhook_auth as wa
from protocol.replay import RedisSeen
from tests.paths import ROOT

REDIS_URL = "redis://127.0.0.1:6379/15"
ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)
RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"


def _client(url: str = REDIS_URL) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


@pytest.fixture
def prefix() -> Iterator[str]:
    client = _client()
    try:
        client.ping()
    except ERRORS as exc:
        pytest.skip(f"no Redis on 127.0.0.1:6379 ({exc.__class__.__name__})")
    name = f"test-h4-replay-{uuid.uuid4().hex}:"
    yield name
    for key in client.scan_iter(match=f"{name}*"):
        client.delete(key)


def _guard(prefix: str, url: str = REDIS_URL) -> wa.ReplayGuard:
    """A guard as one Rasa process builds it: its own Redis connection."""
    return wa.ReplayGuard(store=RedisSeen(_client(url), prefix=prefix, errors=ERRORS))


def _events(tag: str) -> dict[str, wa.Inbound | wa.Ignored]:
    twilio = wa.read_twilio_form({"MessageSid": [f"SM{tag}"], "From": ["whatsapp:+14155550123"], "Body": ["hi"]})
    slack = wa.read_slack_event({"type": "event_callback", "event_id": f"Ev{tag}", "event": {
        "type": "message", "channel_type": "im", "user": "U1", "channel": "D1", "text": "hi"}})
    telegram = wa.read_telegram_update({"update_id": int(tag[:8], 16), "message": {"chat": {"id": 5}, "text": "hi"}})
    return {"twilio": twilio, "slack": slack, "telegram": telegram}


@pytest.mark.parametrize("platform", ["twilio", "slack", "telegram"])
def test_a_replayed_id_is_refused_by_another_process(prefix: str, platform: str) -> None:
    item = _events(uuid.uuid4().hex)[platform]
    assert item.event_id
    first, second = _guard(prefix), _guard(prefix)
    assert first.seen_before(item.event_id) is False
    assert second.seen_before(item.event_id) is True          # the other process knows it
    assert _guard(prefix).seen_before(item.event_id) is True  # so does a restarted one
    assert _client().exists(f"{prefix}{wa.REPLAY_PREFIX}{item.event_id}") == 1


def test_untimed_platforms_are_remembered_for_a_month(prefix: str) -> None:
    item = _events(uuid.uuid4().hex)["twilio"]
    _guard(prefix).seen_before(item.event_id, window_s=wa.UNTIMED_REPLAY_WINDOW_S)
    ttl = _client().ttl(f"{prefix}{wa.REPLAY_PREFIX}{item.event_id}")
    assert ttl > 29 * 24 * 3600


def test_redis_down_falls_back_to_this_process() -> None:
    guard = _guard("unused:", url="redis://127.0.0.1:1/15")  # nothing listens on port 1
    sid = _events(uuid.uuid4().hex)["twilio"].event_id
    assert guard.seen_before(sid) is False
    assert guard.seen_before(sid) is True


def test_without_a_store_the_guard_remembers_in_process() -> None:
    guard = wa.ReplayGuard()
    assert guard.seen_before("twilio:SM1") is False and guard.seen_before("twilio:SM1") is True


SCRIPT = r'''
import json, sys
from bot import messaging
from bot import webhook_auth as wa
item = wa.read_twilio_form({"MessageSid": [sys.argv[1]], "From": ["whatsapp:+14155550123"], "Body": ["hi"]})
channel = messaging.ShopTwilioInput.__new__(messaging.ShopTwilioInput)
print(json.dumps({"replay": channel.is_replay(item), "store": type(messaging.replays().store).__name__}))
'''


@pytest.mark.rasa
@pytest.mark.skipif(not RASA_PY.exists(), reason="the Rasa environment is missing: run 'make setup'")
def test_the_twilio_channel_refuses_a_replay_after_a_restart(prefix: str) -> None:
    """Two Rasa-environment processes, one after the other, over SHOP_REDIS_URL."""
    sid = f"SM{uuid.uuid4().hex}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.update(PYTHONPATH=str(ROOT), SHOP_REDIS_URL=REDIS_URL)
    answers = []
    for _ in range(2):
        done = subprocess.run([str(RASA_PY), "-c", SCRIPT, sid], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]
        answers.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert answers == [{"replay": False, "store": "RedisSeen"}, {"replay": True, "store": "RedisSeen"}]
    key = f"shop:seen:{wa.REPLAY_PREFIX}twilio:{sid}"
    assert _client().ttl(key) > 29 * 24 * 3600
    _client().delete(key)
