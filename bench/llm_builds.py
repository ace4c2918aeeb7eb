"""Tokens/s of llama.cpp builds on this machine: the portable build the project ships
(fixed AVX2 level, ``requirements/llama-cpp.cmake``) against a ``-march=native`` build and
llama.cpp's runtime CPU-variant dispatch (``GGML_CPU_ALL_VARIANTS``), each measured with
``llama-bench`` in a child process, so a build that crashes on this CPU is reported with
its signal instead of ending the benchmark.

    .venv/actions/bin/python -m bench.llm_builds [--model NAME] [--threads 2]
        [--binary VARIANT=PATH ...]   use an existing llama-bench instead of building it

Builds what is missing into ``var/llama.cpp-bench/<variant>`` with ``scripts/build_llama.sh``
(about 6 minutes each on 2 idle cores; the dispatch build compiles the CPU backend
once per x86 level and takes longer). Prints a Markdown table with ratios to the
portable build, measured in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from models.llm.server import signal_name
from models.llm.weights import ensure_gguf
from shop.settings import REPO_ROOT, get_settings

VARIANTS: dict[str, str] = {
    "portable": "",
    "native": "-DGGML_NATIVE=ON",
    "dispatch": "-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DBUILD_SHARED_LIBS=ON",
}


def build(variant: str) -> Path:
    out = REPO_ROOT / "var" / "llama.cpp-bench" / variant
    env = {**os.environ, "LLAMA_OUT": str(out), "LLAMA_TARGETS": "llama-bench", "LLAMA_CMAKE_EXTRA": VARIANTS[variant]}
    subprocess.run([str(REPO_ROOT / "scripts" / "build_llama.sh"), sys.executable], env=env, check=True)
    return out / "bin" / "llama-bench"


def measure(binary: Path, model: Path, threads: int) -> dict[str, object]:
    """``{"pp": prompt tokens/s, "tg": generation tokens/s}`` or ``{"error": ...}``."""
    cmd = [str(binary), "-m", str(model), "-t", str(threads), "-p", "256", "-n", "64", "-r", "3", "-o", "json"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}
    if done.returncode != 0:
        return {"error": f"crashed: {signal_name(done.returncode)}"}
    rows = json.loads(done.stdout)
    out: dict[str, object] = {}
    for row in rows:
        key = "pp" if row.get("n_prompt") else "tg"
        out[key] = float(row["avg_ts"])
    out["cpu"] = rows[0].get("cpu_info", "")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct-q4_k_m")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--binary", action="append", default=[], help="VARIANT=PATH of an existing llama-bench")
    parser.add_argument("--variants", default="portable,native,dispatch")
    args = parser.parse_args(argv)
    given = dict(item.split("=", 1) for item in args.binary)
    model = ensure_gguf(args.model, get_settings().llm_cache_dir)
    results: dict[str, dict[str, object]] = {}
    for variant in args.variants.split(","):
        try:
            binary = Path(given[variant]) if variant in given else build(variant)
        except subprocess.CalledProcessError as exc:
            results[variant] = {"error": f"build failed ({exc.returncode})"}
            continue
        results[variant] = measure(binary, model, args.threads)
        print(f"{variant}: {results[variant]}", flush=True)
    base = results.get("portable", {})
    print(f"\nmodel {args.model}, {args.threads} threads, llama-bench pp256 / tg64, 3 repetitions")
    print("\n| build | prompt tokens/s | generation tokens/s | vs portable (pp / tg) |\n|---|---|---|---|")
    for variant, r in results.items():
        if "error" in r:
            print(f"| {variant} | {r['error']} | | |")
            continue
        ratio = (f"{float(r['pp']) / float(base['pp']):.2f}x / {float(r['tg']) / float(base['tg']):.2f}x"
                 if "pp" in base else "")
        print(f"| {variant} | {float(r['pp']):.1f} | {float(r['tg']):.1f} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
