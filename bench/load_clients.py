"""The load driver of ``bench/load.py``: ``N`` shoppers, each holding one conversation at a
time over REST or socket.io (the widget's protocol, over long polling), with scripted realistic turns, for
``T`` seconds against a Rasa URL (a load balancer or one process). Prints throughput and
p50/p95 per turn kind and writes every turn's outcome as JSON (``--json``), which the
fault suite checks against the tracker store and the broker.

Runs in the Rasa environment (aiohttp and python-socketio live there):

    .venv/rasa/bin/python -m bench.load_clients --url http://127.0.0.1:5005 --token "$(cat var/rest-token)" \\
        --conversations 50 --seconds 30 --socketio-share 0.5 --order-number 100234 --email alex.rivera@example.com

A conversation: ``greet``, ``search``, ``refine``, ``question`` (a product question: the
LLM words it, unless ``--no-llm-turns`` leaves it out), ``order_ask``, ``order_number``,
``order_email`` (the persona's order: form, database check, status) and ``thanks``; then
the next conversation, with a new sender (REST) or a new widget session (socket.io).
Every turn but ``question`` is a non-LLM turn.

Retries, as a client told to retry does: an HTTP 429/502/503/504 (HAProxy's answers
carry ``Retry-After`` and ``retry_after_s``), a connection that failed or dropped
(socket.io: the socket reconnects and resumes its session; a reply that is late on a
connection still open is waited for there, not asked again), or the assistant's apology
("... Please try again.") send the same message again after the wait, until
``--turn-deadline-s``; the turn counts as answered (with its retries) or, past the
deadline, as an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.stats import percentile

#: the assistant's apology (bot/apology.py), which tells the shopper to try again
APOLOGY = "Sorry, something went wrong on my side. Please try again."
RETRY_STATUSES = frozenset({429, 502, 503, 504})
LLM_KINDS = frozenset({"question"})
#: a socket.io message whose reply is late (it waits in Rasa behind its conversation's
#: lock, which a killed process's ticket holds for up to 60 s) is waited for on the same
#: connection this many request timeouts in all before it is sent again on a fresh one:
#: sent again at once, its reply would go to the old connection, where nobody listens
LATE_REPLY_WAITS = 2

SEARCHES = ["waterproof hiking boots under 150", "a warm jacket for winter", "trail running shoes",
            "lightweight tent for backpacking", "merino base layer", "rain jacket for women",
            "down sleeping bag", "daypack around 20 litres"]
REFINES = ["in black", "under 100 instead", "cheaper please", "any in a medium?", "in blue?", "make it mens"]
QUESTIONS = ["is the first one waterproof?", "what's the first one made of?", "does the second one run small?"]


@dataclass(frozen=True)
class Turn:
    kind: str
    text: str


def script(rng: random.Random, *, number: str, email: str, llm_turns: bool) -> list[Turn]:
    """One conversation's turns."""
    turns = [Turn("greet", rng.choice(["hi", "hello", "hey there"])), Turn("search", rng.choice(SEARCHES)),
             Turn("refine", rng.choice(REFINES))]
    if llm_turns:
        turns.append(Turn("question", rng.choice(QUESTIONS)))
    turns += [Turn("order_ask", "where is my order?"), Turn("order_number", f"#{number}"),
              Turn("order_email", email), Turn("thanks", "thanks")]
    return turns


@dataclass
class Outcome:
    """One turn as the shopper saw it."""

    conversation: str
    channel: str
    kind: str
    text: str
    started: float  # seconds since the run started
    latency_s: float
    answered: bool
    retries: int = 0
    silent: bool = False  # answered with no message (only counted as answered with --empty-ok)
    error: str | None = None
    reasons: list[str] = field(default_factory=list)  # why each retry happened


class Run:
    """Shared state of one run: the clock, the outcomes and the progress line."""

    def __init__(self, *, seconds: float, warmup_s: float, deadline_s: float, progress: bool,
                 empty_ok: bool = False, request_timeout_s: float = 130) -> None:
        self.start = time.monotonic()
        self.seconds, self.warmup_s, self.deadline_s, self.progress = seconds, warmup_s, deadline_s, progress
        self.empty_ok = empty_ok  # a turn the bot answers with silence counts as answered (the bare bot)
        self.request_timeout_s = request_timeout_s
        self.outcomes: list[Outcome] = []

    def now(self) -> float:
        return time.monotonic() - self.start

    def running(self) -> bool:
        return self.now() < self.seconds

    async def retry_after(self, out: Outcome, *, wait: float, reason: str) -> bool:
        """Wait ``wait`` seconds before the turn's next try, noting why (``True``), or
        give the turn up (``False``, with its error) when that would pass its deadline."""
        if self.now() - out.started + wait > self.deadline_s:
            out.error = f"no answer within {self.deadline_s:.0f} s (last: {reason})"
            return False
        out.retries += 1
        out.reasons.append(reason)
        await asyncio.sleep(wait)
        return True

    async def show_progress(self) -> None:
        tty = sys.stderr.isatty()
        every = 1.0 if tty else 5.0
        while self.running():
            await asyncio.sleep(every)
            done = min(self.now(), self.seconds)
            answered = sum(o.answered for o in self.outcomes)
            errors = sum(not o.answered for o in self.outcomes)
            retries = sum(o.retries for o in self.outcomes)
            width = 30
            filled = int(width * done / self.seconds)
            line = (f"[{'#' * filled}{'.' * (width - filled)}] {done:5.0f}/{self.seconds:.0f} s  turns {answered}"
                    f"  {answered / max(done, 1e-9):5.1f}/s  retries {retries}  errors {errors}")
            print(("\r" + line) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
        if tty:
            print(file=sys.stderr)


async def rest_shopper(run: Run, k: int, *, url: str, token: str | None, args: argparse.Namespace) -> None:
    import aiohttp

    rng = random.Random(args.seed * 1000 + k)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = aiohttp.ClientTimeout(total=args.request_timeout_s)
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as http:
        await asyncio.sleep(rng.random())
        while run.running():
            sender = f"load-{uuid.uuid4().hex[:12]}"
            for turn in script(rng, number=args.order_number, email=args.email, llm_turns=not args.no_llm_turns):
                if not run.running():
                    return
                run.outcomes.append(await rest_turn(run, http, url, sender, turn))


async def rest_turn(run: Run, http: Any, url: str, sender: str, turn: Turn) -> Outcome:
    import aiohttp

    started = run.now()
    out = Outcome(f"rest:{sender}", "rest", turn.kind, turn.text, started, 0.0, False)
    while True:
        wait, reason = 1.0, ""
        # no attempt outlives the turn's deadline
        limit = aiohttp.ClientTimeout(total=min(run.request_timeout_s, max(run.deadline_s - (run.now() - started), 1)))
        try:
            async with http.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": turn.text},
                                 timeout=limit) as resp:
                body = await resp.read()
                if resp.status == 200:
                    messages = json.loads(body)
                    texts = [m.get("text") for m in messages if isinstance(m, dict)]
                    if texts == [APOLOGY]:
                        reason = "apology"
                    elif messages or run.empty_ok:
                        out.answered, out.silent = True, not messages
                        break
                    else:
                        reason, out.error = "empty reply", "empty reply"
                        break
                elif resp.status in RETRY_STATUSES:
                    reason = f"HTTP {resp.status}"
                    wait = float(resp.headers.get("Retry-After", "1") or 1)
                else:
                    out.error = f"HTTP {resp.status}: {body[:200].decode(errors='replace')}"
                    break
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            reason = f"{exc.__class__.__name__}"
        if not await run.retry_after(out, wait=wait, reason=reason):
            break
    out.latency_s = run.now() - started
    return out


class Widget:
    """One widget page: a socket.io connection that resumes its session after a drop."""

    def __init__(self, url: str, *, connect_timeout_s: float) -> None:
        self.url, self.connect_timeout_s = url, connect_timeout_s
        self.token: str | None = None
        self.sio: Any = None
        self.http: Any = None
        self.replies: list[dict[str, Any]] = []
        self.done = asyncio.Event()
        self.confirmed = asyncio.Event()
        self.dropped = asyncio.Event()

    @property
    def session_id(self) -> str:
        return (self.token or "").split(".", 1)[0]

    async def connect(self, timeout_s: float | None = None) -> None:
        """(Re)connect and resume the session, within ``timeout_s`` (default: the widget's)."""
        timeout_s = self.connect_timeout_s if timeout_s is None else timeout_s
        import aiohttp
        import socketio

        await self.close()
        # HAProxy's sticky cookie comes from an IP address: aiohttp keeps those only when unsafe
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        # engine.io's requests wait as long as a browser's do: python-engineio gives up on a
        # handshake or a message POST after 5 s by default and drops the connection, which a
        # loaded server (p95 over 5 s) turned into refused connects and dropped pages
        self.sio = sio = socketio.AsyncClient(reconnection=False, http_session=self.http,
                                              request_timeout=self.connect_timeout_s)
        self.confirmed.clear()
        self.dropped.clear()

        async def on_confirm(data: Any) -> None:
            self.token = data if isinstance(data, str) else (data or {}).get("session_id")
            self.confirmed.set()

        async def on_bot(data: Any) -> None:
            self.replies.append(data if isinstance(data, dict) else {"text": str(data)})

        async def on_done(*_: Any) -> None:
            self.done.set()

        async def on_disconnect(*_: Any) -> None:
            self.dropped.set()

        sio.on("session_confirm", on_confirm)
        sio.on("bot_uttered", on_bot)
        sio.on("bot_done", on_done)
        sio.on("disconnect", on_disconnect)
        # long polling only: python-engineio 4.15 cannot upgrade to a WebSocket with the Rasa
        # environment's aiohttp 3.9; polling is also what needs the load balancer's stickiness
        await asyncio.wait_for(sio.connect(self.url, transports=["polling"], socketio_path="/socket.io",
                                           wait_timeout=timeout_s), timeout_s + 5)
        await sio.emit("session_request", {"session_id": self.token})
        await asyncio.wait_for(self.confirmed.wait(), timeout_s)

    async def say(self, text: str, timeout_s: float) -> list[dict[str, Any]] | str:
        """The replies to ``text``, or why there are none ("dropped", "timeout")."""
        self.replies, self.done = [], asyncio.Event()
        await self.sio.emit("user_uttered", {"message": text, "session_id": self.token})
        return await self.wait(timeout_s)

    async def wait(self, timeout_s: float) -> list[dict[str, Any]] | str:
        """The replies to the last message sent, waiting up to ``timeout_s`` more."""
        done, drop = asyncio.ensure_future(self.done.wait()), asyncio.ensure_future(self.dropped.wait())
        finished, pending = await asyncio.wait({done, drop}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if done in finished:
            return list(self.replies)
        return "dropped" if drop in finished else "timeout"

    async def close(self) -> None:
        from socketio.exceptions import SocketIOError

        sio, http, self.sio, self.http = self.sio, self.http, None, None
        if sio is not None:  # abort: a connection cut half-way has no reader task to wait for
            with contextlib.suppress(SocketIOError, OSError):
                await sio.eio.disconnect(abort=True)
        if http is not None:
            await http.close()


async def socketio_shopper(run: Run, k: int, *, url: str, args: argparse.Namespace) -> None:
    from socketio.exceptions import SocketIOError

    rng = random.Random(args.seed * 1000 + k)
    await asyncio.sleep(rng.random())
    while run.running():
        widget = Widget(url, connect_timeout_s=args.request_timeout_s)
        try:
            # the page connects when it opens, before the shopper types: not part of a turn
            # (a failure here is retried by the first turn)
            with contextlib.suppress(asyncio.TimeoutError, OSError, ValueError, SocketIOError):
                await widget.connect(min(args.request_timeout_s, 60))
            for turn in script(rng, number=args.order_number, email=args.email, llm_turns=not args.no_llm_turns):
                if not run.running():
                    return
                run.outcomes.append(await socketio_turn(run, widget, turn, args.request_timeout_s))
        finally:
            await widget.close()


async def socketio_turn(run: Run, widget: Widget, turn: Turn, timeout_s: float) -> Outcome:
    from socketio.exceptions import SocketIOError

    started = run.now()
    out = Outcome("", "socketio", turn.kind, turn.text, started, 0.0, False)

    def remaining() -> float:  # no attempt outlives the turn's deadline
        return max(run.deadline_s - (run.now() - started), 1.0)

    # times the message has been waited for on the connection still open (its reply comes there)
    waited = 0
    while True:
        wait = 1.0
        try:
            if (widget.sio is None or not widget.sio.connected or widget.dropped.is_set()
                    or not widget.confirmed.is_set()):  # a session never confirmed: Rasa ignores its messages
                waited = 0
                await widget.connect(min(timeout_s, remaining()))
            out.conversation = widget.session_id
            if 0 < waited < LATE_REPLY_WAITS:
                replies = await widget.wait(min(timeout_s, remaining()))
            else:
                replies = await widget.say(turn.text, min(timeout_s, remaining()))
            waited += 1
        except (asyncio.TimeoutError, OSError, ValueError, SocketIOError) as exc:
            replies = f"connect failed ({exc.__class__.__name__}: {str(exc)[:80]})"
        if isinstance(replies, list):
            texts = [r.get("text") for r in replies]
            if (replies or run.empty_ok) and texts != [APOLOGY]:
                out.answered, out.silent = True, not replies
                break
            if not replies:
                out.error = "bot_done without a reply"
                break
            reason, waited = "apology", 0
        else:
            reason = replies
            if reason == "dropped":
                wait = 0.5
            elif reason == "timeout" and waited >= LATE_REPLY_WAITS:
                # still nothing: the connection may be stuck (its process was killed); a fresh one
                await widget.close()
                waited = 0
        if not await run.retry_after(out, wait=wait, reason=reason):
            break
    out.latency_s = run.now() - started
    return out


def summarize(run: Run, *, label: str, conversations: int, elapsed: float) -> dict[str, Any]:
    """Figures of the measured window (after the warm-up), and every outcome."""
    window = max(min(elapsed, run.seconds) - run.warmup_s, 1e-9)
    measured = [o for o in run.outcomes if o.started >= run.warmup_s and o.started + o.latency_s <= run.seconds]
    answered = [o for o in measured if o.answered]
    kinds: dict[str, dict[str, float]] = {}
    for kind in sorted({o.kind for o in answered}):
        lat = [o.latency_s * 1000 for o in answered if o.kind == kind]
        kinds[kind] = {"n": len(lat), "p50_ms": percentile(lat, 0.5), "p95_ms": percentile(lat, 0.95)}
    non_llm = [o.latency_s * 1000 for o in answered if o.kind not in LLM_KINDS]
    by_channel = {ch: sum(1 for o in answered if o.channel == ch) / window for ch in ("rest", "socketio")}
    channels = {}
    for ch in ("rest", "socketio"):
        lat = [o.latency_s * 1000 for o in answered if o.channel == ch and o.kind not in LLM_KINDS]
        channels[ch] = {"non_llm_throughput": len(lat) / window, "p50_ms": percentile(lat, 0.5) if lat else None,
                        "p95_ms": percentile(lat, 0.95) if lat else None}
    errors = [o for o in run.outcomes if not o.answered]
    return {
        "label": label, "conversations": conversations, "seconds": run.seconds, "warmup_s": run.warmup_s,
        "turns": len(answered), "throughput": len(answered) / window,
        "turns_all": sum(o.answered for o in run.outcomes),
        "non_llm_throughput": len(non_llm) / window,
        "non_llm_p50_ms": percentile(non_llm, 0.5) if non_llm else None,
        "non_llm_p95_ms": percentile(non_llm, 0.95) if non_llm else None,
        "by_channel": by_channel, "channels": channels, "kinds": kinds,
        "errors": len(errors), "retried_turns": sum(1 for o in run.outcomes if o.retries),
        "silent_turns": sum(1 for o in measured if o.silent),
        "error_samples": [asdict(o) for o in errors[:10]],
        "outcomes": [asdict(o) for o in run.outcomes],
    }


def report(summary: dict[str, Any]) -> str:
    lines = [f"\n{summary['label']}: {summary['conversations']} conversations, {summary['seconds']:.0f} s "
             f"(first {summary['warmup_s']:.0f} s not counted)",
             f"  answered turns {summary['turns']}, {summary['throughput']:.1f} turns/s "
             f"(non-LLM {summary['non_llm_throughput']:.1f}/s; REST {summary['by_channel']['rest']:.1f}/s, "
             f"socket.io {summary['by_channel']['socketio']:.1f}/s)",
             f"  errors {summary['errors']}, turns retried {summary['retried_turns']}"
             + (f", answered with silence {summary['silent_turns']}" if summary["silent_turns"] else ""),
             f"  {'turn':<14}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}"]
    for kind, row in summary["kinds"].items():
        lines.append(f"  {kind:<14}{row['n']:>6}{row['p50_ms']:>10.0f}{row['p95_ms']:>10.0f}")
    if summary["non_llm_p50_ms"] is not None:
        lines.append(f"  {'non-LLM':<14}{'':>6}{summary['non_llm_p50_ms']:>10.0f}{summary['non_llm_p95_ms']:>10.0f}")
    for ch, row in summary["channels"].items():
        if row["p50_ms"] is not None:
            lines.append(f"  {'  ' + ch:<14}{'':>6}{row['p50_ms']:>10.0f}{row['p95_ms']:>10.0f}"
                         f"   ({row['non_llm_throughput']:.1f} non-LLM turns/s)")
    for sample in summary["error_samples"][:5]:
        lines.append(f"  error: {sample['kind']} {sample['conversation']}: {sample['error']}")
    return "\n".join(lines)


async def drive(args: argparse.Namespace) -> dict[str, Any]:
    run = Run(seconds=args.seconds, warmup_s=args.warmup_s, deadline_s=args.turn_deadline_s,
              progress=not args.quiet, empty_ok=args.empty_ok, request_timeout_s=args.request_timeout_s)
    n_sio = round(args.conversations * args.socketio_share)
    shoppers = [socketio_shopper(run, k, url=args.url, args=args) for k in range(n_sio)]
    shoppers += [rest_shopper(run, k, url=args.url, token=args.token, args=args)
                 for k in range(n_sio, args.conversations)]
    progress = asyncio.ensure_future(run.show_progress()) if run.progress else None
    await asyncio.gather(*shoppers)
    elapsed = run.now()
    if progress is not None:
        progress.cancel()
    return summarize(run, label=args.label, conversations=args.conversations, elapsed=elapsed)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True, help="the Rasa server or load balancer, e.g. http://127.0.0.1:5005")
    p.add_argument("--token", default=None, help="the REST channel's bearer token (SHOP_REST_TOKEN)")
    p.add_argument("--conversations", type=int, default=50, help="concurrent shoppers (default 50)")
    p.add_argument("--seconds", type=float, default=30, help="how long new turns start (default 30)")
    p.add_argument("--warmup-s", type=float, default=5, help="turns started earlier are not counted (default 5)")
    p.add_argument("--socketio-share", type=float, default=0.0, help="share of shoppers on socket.io (0..1)")
    p.add_argument("--order-number", default="100001", help="the persona's order number")
    p.add_argument("--email", default="alex.rivera@example.com", help="the persona's e-mail")
    p.add_argument("--no-llm-turns", action="store_true", help="leave out the product question (an LLM turn)")
    p.add_argument("--empty-ok", action="store_true",
                   help="a turn answered with no message counts as answered (the bare bot; the shop always replies)")
    p.add_argument("--request-timeout-s", type=float, default=130, help="one request's limit (default 130)")
    p.add_argument("--turn-deadline-s", type=float, default=150, help="a turn's limit with its retries (default 150)")
    p.add_argument("--label", default="load")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", type=Path, help="write the summary and every outcome here")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    return p


def main() -> int:
    args = parser().parse_args()
    if not 0 <= args.socketio_share <= 1 or args.conversations < 1 or args.seconds <= args.warmup_s:
        print("--socketio-share must be within 0..1, --conversations at least 1, --seconds over --warmup-s",
              file=sys.stderr)
        return 2
    summary = asyncio.run(drive(args))
    print(report(summary), flush=True)
    if args.json:
        args.json.write_text(json.dumps(summary), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
