"""Which widget pages are connected, across Rasa processes (:mod:`bot.socketio_presence`),
in the Rasa server's environment (run as a subprocess, its redis 4.6 client) against
the real Redis on 127.0.0.1:6379 (db 15; skipped, saying why, when it does not answer).

Two :class:`RoomPresence` objects stand for two processes: a page one of them holds is
seen by the other; it is gone once it left; a process that stops beating (killed) no
longer counts after three beats, and its entries are removed; a process that closes
stops counting at once. Hostile: a Redis that does not answer gives ``None`` (unknown),
never an exception, and the channel then falls back to its own process's pages.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from tests.paths import ROOT

RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"

pytestmark = pytest.mark.rasa

SCRIPT = r'''
import asyncio, json, sys
from redis.asyncio import Redis
from bot.socketio_presence import RoomPresence

PREFIX = sys.argv[1]

async def main():
    out = {}
    redis_a = Redis.from_url("redis://127.0.0.1:6379/15", decode_responses=True)
    redis_b = Redis.from_url("redis://127.0.0.1:6379/15", decode_responses=True)
    a = RoomPresence(redis_a, room_ttl_s=60, prefix=PREFIX, heartbeat_s=0.5)
    b = RoomPresence(redis_b, room_ttl_s=60, prefix=PREFIX, heartbeat_s=0.5)
    out["empty"] = await b.anyone_in("room1")
    await a.joined("room1", "sid1")
    out["joined_seen_by_other"] = await b.anyone_in("room1")
    out["other_room"] = await b.anyone_in("room2")
    await a.left("room1", "sid1")
    out["after_left"] = await b.anyone_in("room1")
    await a.joined("room1", "sid2")
    a._beat.cancel()  # process A is killed: no more beats
    await asyncio.sleep(2.6)  # its key expires 2 s (3 beats, rounded) after the last one
    out["killed_after_3_beats"] = await b.anyone_in("room1")
    out["stale_removed"] = await redis_b.hlen(PREFIX + "room:room1")
    await b.joined("room3", "sid3")
    out["own_room"] = await a.anyone_in("room3")
    await b.close()
    out["closed"] = await a.anyone_in("room3")
    down = RoomPresence(Redis.from_url("redis://127.0.0.1:1/0", decode_responses=True, socket_connect_timeout=1),
                        room_ttl_s=60, prefix=PREFIX)
    await down.joined("room4", "sid4")  # logged, not raised
    out["redis_down"] = await down.anyone_in("room4")
    await down.close()
    keys = [k async for k in redis_a.scan_iter(PREFIX + "*")]
    if keys:
        await redis_a.delete(*keys)
    print(json.dumps(out))

asyncio.run(main())
'''


def test_pages_seen_across_processes_and_gone_with_their_process() -> None:
    import redis

    if not RASA_PY.exists():
        pytest.skip(f"{RASA_PY} is missing: run 'make setup'")
    try:
        redis.Redis(host="127.0.0.1", port=6379, db=15, socket_connect_timeout=2).ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"Redis not reachable at 127.0.0.1:6379: {exc}")
    prefix = f"presence{uuid.uuid4().hex[:8]}:"
    out = subprocess.run([str(RASA_PY), "-c", SCRIPT, prefix], cwd=ROOT, env={"PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"empty": False, "joined_seen_by_other": True, "other_room": False, "after_left": False,
                    "killed_after_3_beats": False, "stale_removed": 0, "own_room": True, "closed": False,
                    "redis_down": None}
