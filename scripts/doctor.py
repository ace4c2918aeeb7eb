"""``make doctor``: what this machine has, in one screen, for bug reports and CI logs.

Prints the Python versions (system and both environments), the C/C++ toolchain, the
CPU and its instruction-set flags, the llama-server build and a smoke generation with
it, the Rasa model, which of the project's services answer on loopback, memory and
free disk. Never fails (exit 0) unless ``--strict`` and the LLM smoke test failed.

    .venv/actions/bin/python scripts/doctor.py [--strict] [--no-smoke]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
             "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")
# what the fixed build level in requirements/llama-cpp.cmake needs
BUILD_NEEDS = ("avx", "avx2", "fma", "f16c", "bmi2")
SERVICES = {"PostgreSQL": 5432, "Redis": 6379, "RabbitMQ": 5672, "MariaDB": 3306, "Mosquitto": 1883, "NATS": 4222}
STACK = {"Rasa server": 5005, "action server": 5055, "LLM server": 5077, "storefront": 8000, "staff console": 8001}


def run(cmd: list[str], timeout: float = 20) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc.__class__.__name__})"
    out = (done.stdout or done.stderr).strip().splitlines()
    return out[0] if out else f"exit {done.returncode}"


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def memory_gib() -> str:
    try:
        info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        total, avail = (int(info[k].split()[0]) / 2**20 for k in ("MemTotal", "MemAvailable"))
        return f"{total:.1f} GiB total, {avail:.1f} GiB available"
    except (OSError, KeyError, ValueError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strict", action="store_true", help="exit 1 when the LLM smoke test fails")
    parser.add_argument("--no-smoke", action="store_true", help="skip the LLM smoke generation")
    args = parser.parse_args(argv)
    rows: list[tuple[str, str]] = []
    rows.append(("machine", f"{platform.system()} {platform.release()} {platform.machine()}, "
                            f"{os.cpu_count()} cores, {memory_gib()}"))
    rows.append(("CPU", cpu_model()))
    flags = cpu_flags()
    rows.append(("CPU flags", " ".join(f for f in ISA_FLAGS if f in flags) or "none of interest"))
    missing = [f for f in BUILD_NEEDS if f not in flags]
    rows.append(("llama.cpp level", "this CPU runs the fixed build level (AVX2/FMA/F16C/BMI2)" if not missing else
                 f"MISSING {' '.join(missing)}: lower requirements/llama-cpp.cmake and rebuild"))
    for version in ("3.10", "3.11"):
        found = run([str(ROOT / "scripts" / "find_python.sh"), version])
        rows.append((f"Python {version}", found))
    for name in ("rasa", "actions"):
        py = ROOT / ".venv" / name / "bin" / "python"
        rows.append((f".venv/{name}", run([str(py), "--version"]) if py.exists() else "missing (make setup)"))
    rows.append(("C compiler", run(["cc", "--version"])))
    rows.append(("C++ compiler", run(["c++", "--version"])))
    rows.append(("CMake", run(["cmake", "--version"])))
    rows.append(("Node", run(["node", "--version"])))
    rows.append(("Chromium", run(["chromium", "--version"]) if shutil.which("chromium") else "missing (make browser)"))
    server = ROOT / "var" / "llama.cpp" / "bin" / "llama-server"
    stamp = ROOT / "var" / "llama.cpp" / ".stamp"
    rows.append(("llama-server", f"{server} (build {stamp.read_text().strip() if stamp.exists() else '?'})"
                 if server.exists() else "missing (make llm-server)"))
    smoke_ok = True
    actions_py = ROOT / ".venv" / "actions" / "bin" / "python"
    if args.no_smoke:
        rows.append(("LLM smoke", "skipped"))
    elif server.exists() and actions_py.exists():
        started = time.perf_counter()
        done = subprocess.run([str(actions_py), "-m", "apps.cli", "llm", "smoke"], capture_output=True, text=True,
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300, check=False)
        smoke_ok = done.returncode == 0
        text = (done.stdout if smoke_ok else done.stderr).strip().splitlines()
        rows.append(("LLM smoke", f"{text[0] if text else 'no output'} [{time.perf_counter() - started:.1f} s]"))
    else:
        rows.append(("LLM smoke", "not run (llama-server or .venv/actions missing)"))
    model = ROOT / "var" / "rasa-models" / "shop.tar.gz"
    rows.append(("Rasa model", f"{model} ({model.stat().st_size / 2**20:.0f} MiB, "
                               f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(model.stat().st_mtime))})"
                 if model.exists() else "missing (make train)"))
    llm_dir = ROOT / "var" / "llm"
    ggufs = sorted(p.name for p in llm_dir.glob("*.gguf")) if llm_dir.exists() else []
    rows.append(("LLM weights", ", ".join(ggufs) or "none yet (make llm)"))
    rows.append(("services", ", ".join(f"{n} {'up' if port_open(p) else 'down'}" for n, p in SERVICES.items())))
    rows.append(("this stack", ", ".join(f"{n} {'up' if port_open(p) else 'down'}" for n, p in STACK.items())))
    usage = shutil.disk_usage(ROOT)
    rows.append(("disk", f"{usage.free / 2**30:.1f} GiB free of {usage.total / 2**30:.0f} GiB at {ROOT}"))
    width = max(len(k) for k, _ in rows)
    print("make doctor")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    if not smoke_ok:
        print("The LLM smoke test failed: see `make llm-server` for the fix; the assistant still runs "
              "on template answers (SHOP_LLM_MODEL=off).", file=sys.stderr)
    return 1 if (args.strict and not smoke_ok) else 0


if __name__ == "__main__":
    raise SystemExit(main())
