"""Turn latency over the REST channel: p50/p95 for a turn with no custom action
("hi") and for an order-status turn (the email that completes the order form: form
validation with a DB check, then the status action).

Starts its own action server and Rasa server on a freshly generated demo shop
(SQLite), like the end-to-end tests, and prints a table. Needs ``make setup train``.

    .venv/actions/bin/python -m bench.turn_latency [--turns 50] [--scale 1.0] [--llm-load]

``--llm-load`` then measures both turns again while 4 LLM answers are always in flight
(product-answer prompts sent straight to the stack's own supervised llama.cpp server,
``--llm-model``, default the settings' model; needs ``make llm llm-server``), and prints
the loaded/idle ratios.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from bench.stats import percentile
from models.llm import prompts
from models.llm.chat import as_openai_messages
from shop.db.engine import session_scope
from shop.db.migrate import upgrade
from shop.db.schema import Customer, Order
from shop.settings import get_settings
from tests.stack import RunningStack, missing_prerequisites, new_sender
from tools.demo.generate import generate_demo_shop

ROOT = Path(__file__).resolve().parent.parent


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=50, help="measured turns of each kind (default 50)")
    parser.add_argument("--scale", type=float, default=1.0, help="demo shop scale (default 1.0)")
    parser.add_argument("--llm-load", action="store_true", help="also measure with 4 LLM answers in flight")
    parser.add_argument("--llm-model", default=None, help="local model for --llm-load (default: the settings')")
    args = parser.parse_args()
    reason = missing_prerequisites()
    if reason:
        print(reason)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="shop-bench-"))
    url = f"sqlite:///{workdir / 'shop.db'}"
    upgrade(url)
    with session_scope(url) as session:
        generate_demo_shop(session, seed=7, as_of=datetime.now(timezone.utc).replace(tzinfo=None),
                           scale=args.scale, progress=True)
    with session_scope(url) as session:
        email = session.scalar(select(Customer.email).where(Customer.id == 1))
        number = session.scalar(select(Order.number).where(Order.customer_id == 1).limit(1))

    llm = args.llm_model or get_settings().llm_model.split("/", 1)[-1]
    extra = {"SHOP_LLM_MODEL": f"llamacpp/{llm}"} if args.llm_load else {"SHOP_LLM_MODEL": "off"}
    stack = RunningStack(workdir=workdir, database_url=url, rasa_port=16005, action_port=16055, llm_port=16077,
                         extra_env=extra).start()

    def measure() -> tuple[list[float], list[float]]:
        plain = [timed(lambda: stack.send(new_sender(), "hi")) for _ in range(args.turns)]
        order_turns = []
        for _ in range(args.turns):
            sender = new_sender()
            stack.send(sender, "where is my order?")
            stack.send(sender, number)
            order_turns.append(timed(lambda s=sender: stack.send(s, email)))
        return plain, order_turns

    loaded: tuple[list[float], list[float]] | None = None
    llm_answers = 0
    try:
        for _ in range(5):  # warm-up
            stack.send(new_sender(), "hi")
        plain, order_turns = measure()
        if args.llm_load:
            import threading

            import httpx


            stop = threading.Event()
            facts = ("Product: Summit Line Men's Ridge Rain Jacket by Summit Line\nMaterial: recycled polyester\n"
                     "Features: waterproof, hooded, packable")

            def ask(k: int) -> None:
                """4 LLM answers always in flight: product-answer prompts sent straight to the
                stack's LLM server (each one new, so the server computes every answer)."""
                nonlocal llm_answers
                i = k
                with httpx.Client(timeout=120) as client:
                    while not stop.is_set():
                        messages = prompts.messages(
                            prompts.PRODUCT_REWORD, facts=facts, question=f"is it waterproof? (ask {i})",
                            answer="Yes, the Summit Line Men's Ridge Rain Jacket is waterproof: it's one of its "
                                   "listed features.")
                        client.post(f"http://127.0.0.1:{stack.llm_port}/v1/chat/completions",
                                    json={"model": llm, "messages": as_openai_messages(messages), "max_tokens": 80,
                                          "temperature": 0, "cache_prompt": True})
                        llm_answers += 1
                        i += 4

            threads = [threading.Thread(target=ask, args=(k,), daemon=True) for k in range(4)]
            for t in threads:
                t.start()
            time.sleep(5)
            loaded = measure()
            stop.set()
            for t in threads:
                t.join(timeout=120)
    finally:
        stack.stop()
    print(f"\nREST turn latency, {args.turns} turns each (ms):")
    print(f"{'turn':<34}{'p50':>8}{'p95':>8}{'mean':>8}")
    for name, values in (("non-action ('hi')", plain), ("order status (form + DB + action)", order_turns)):
        print(f"{name:<34}{percentile(values, 0.5):8.1f}{percentile(values, 0.95):8.1f}{statistics.mean(values):8.1f}")
    print(f"ratio order/non-action p50: {percentile(order_turns, 0.5) / percentile(plain, 0.5):.2f}x")
    if loaded is not None:
        print(f"\nWith 4 LLM answers always in flight ({llm_answers} answered meanwhile):")
        print(f"{'turn':<34}{'p50':>8}{'p95':>8}{'p50 x':>8}{'p95 x':>8}")
        for name, idle, busy in (("non-action ('hi')", plain, loaded[0]),
                                 ("order status (form + DB + action)", order_turns, loaded[1])):
            p50, p95 = percentile(busy, 0.5), percentile(busy, 0.95)
            print(f"{name:<34}{p50:8.1f}{p95:8.1f}"
                  f"{p50 / percentile(idle, 0.5):8.2f}{p95 / percentile(idle, 0.95):8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
