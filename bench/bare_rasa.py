"""A bare Rasa 3.6 assistant, for the load benchmark's ratio: ``rasa init``'s default bot
(its own NLU data, domain, config and stories; no custom actions), made once into
``var/bare-rasa`` and trained once there (cached: a second call only checks the model).

    .venv/actions/bin/python -m bench.bare_rasa          # make and train it (a few minutes on 2 cores)

It serves REST and socket.io, as the shop does, for the ratio: the same turns over the
same channels, the same concurrency, the same deployment (processes, load balancer,
tracker and lock stores, broker) as the shop (``bench/load.py``). Its socket.io channel
is Rasa's own (:data:`CHANNELS`, written into the bot's folder, which goes on the Rasa
processes' ``PYTHONPATH``) plus one ``bot_done`` event after each answer, the end mark
the load driver waits for (the shop's widget channel sends it too). Without session
persistence: Rasa 3.6's channel does not await python-socketio 5.18's ``enter_room``, so
with persistence a page never joins its session's room and gets no reply; each
connection is its own conversation instead. Rasa's default bot says nothing to some
messages (its stories do not cover them): the load driver counts such a turn as
answered for this bot (``--empty-ok``), as it did the work of a turn. Nothing of the shop
is in it; the production endpoints it is started with (``bot/endpoints.production.yml``)
name an action server it never calls.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BARE_DIR = ROOT / "var" / "bare-rasa"
RASA_BIN = ROOT / ".venv" / "rasa" / "bin" / "rasa"
#: the model file, fixed so that later runs find it
MODEL_NAME = "bare"
#: the channels: Rasa's REST, and Rasa's socket.io with the end mark (:data:`CHANNELS`)
CREDENTIALS = """rest:
bare_channels.DoneSocketIO:
  user_message_evt: user_uttered
  bot_message_evt: bot_uttered
  session_persistence: false
"""
#: ``bare_channels.py``: Rasa's socket.io channel, and ``bot_done`` after each answer
CHANNELS = '''"""Rasa's socket.io channel plus a ``bot_done`` event after each answer (bench/bare_rasa.py)."""

from rasa.core.channels.socketio import SocketIOInput


class DoneSocketIO(SocketIOInput):
    def blueprint(self, on_new_message):
        async def handle(message):
            try:
                await on_new_message(message)
            finally:
                await self.sio.emit("bot_done", {}, room=message.sender_id)

        return super().blueprint(handle)
'''


def model_path(directory: Path = BARE_DIR) -> Path:
    return directory / "models" / f"{MODEL_NAME}.tar.gz"


def credentials_path(directory: Path = BARE_DIR) -> Path:
    return directory / "credentials.yml"


def write_channels(directory: Path = BARE_DIR) -> None:
    """The bot's ``credentials.yml`` and ``bare_channels.py`` (written every time: cheap,
    and a folder made by an older version gets them)."""
    credentials_path(directory).write_text(CREDENTIALS, encoding="utf-8")
    (directory / "bare_channels.py").write_text(CHANNELS, encoding="utf-8")


def missing(directory: Path = BARE_DIR) -> str | None:
    """Why the bare bot cannot be served now (``None``: its model is there)."""
    if not model_path(directory).is_file():
        return f"{model_path(directory)} is missing: run '.venv/actions/bin/python -m bench.bare_rasa'"
    return None


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOP_", "RASA_"))}
    env.update(RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
    return env


def ensure(directory: Path = BARE_DIR, *, quiet: bool = False) -> Path:
    """The bare bot's trained model, made (``rasa init --no-prompt``, which trains it) the
    first time; a half-made directory (no model) is made again.

    Raises:
        RuntimeError: ``rasa init`` or ``rasa train`` failed (the tail of its output).
    """
    model = model_path(directory)
    if model.is_file():
        write_channels(directory)
        return model
    if not RASA_BIN.exists():
        raise RuntimeError(f"{RASA_BIN} is missing: run 'make setup'")
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)  # rasa init --no-prompt wants it made, and empty
    log = directory.parent / "bare-rasa-train.log"
    started = time.monotonic()
    with open(log, "wb") as out:  # `rasa init --no-prompt` makes the project and trains it
        args = [str(RASA_BIN), "init", "--no-prompt", "--init-dir", str(directory)]
        done = subprocess.run(args, cwd=ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT, check=False)
    trained = sorted(directory.glob("models/*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if done.returncode != 0 or not trained:
        tail = log.read_text(errors="replace").splitlines()[-30:]
        raise RuntimeError(f"rasa init failed ({done.returncode}); {log}:\n" + "\n".join(tail))
    trained[-1].rename(model)  # a fixed name, so that later runs find it
    write_channels(directory)
    if not quiet:
        print(f"bare Rasa bot made and trained in {time.monotonic() - started:.0f} s: {model}", file=sys.stderr)
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=BARE_DIR, help="where to make it (default var/bare-rasa)")
    args = parser.parse_args()
    try:
        print(ensure(args.dir))
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
