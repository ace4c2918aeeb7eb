#!/usr/bin/env bash
# Build llama.cpp's own OpenAI-compatible server (llama-server) portably, for any x86-64
# machine, into var/llama.cpp/bin/llama-server.
#
# The sources are the llama.cpp that llama-cpp-python 0.3.36 vendors (its PyPI sdist,
# pinned by SHA-256 below), so no git or model hub is needed. The instruction-set level
# is FIXED (requirements/llama-cpp.cmake): never a build for the native CPU, which
# crashed with SIGSEGV on AVX-512/AMX Xeons (issue 13). A stamp keyed on this script and the flags
# file skips the build when nothing changed; pip's cache is never involved, so a wheel
# built with other flags can't sneak in.
#
#   scripts/build_llama.sh [PYTHON]      PYTHON runs `pip download` (default python3)
#   LLAMA_CMAKE_EXTRA="-DGGML_CPU_ALL_VARIANTS=ON ..." LLAMA_OUT=/tmp/x LLAMA_TARGETS=llama-bench \
#     scripts/build_llama.sh   another variant and target, for bench/llm_builds.py only;
#                              never what make installs
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${1:-python3}
SDIST_VERSION=0.3.36
SDIST_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
FLAGS_FILE=requirements/llama-cpp.cmake
OUT=${LLAMA_OUT:-$ROOT/var/llama.cpp}
SRC=$ROOT/var/llama.cpp-src
JOBS=${LLAMA_JOBS:-$(nproc)}
TARGET=${LLAMA_TARGETS:-llama-server}

# flags: one -D option per line, comments after '#'
mapfile -t FLAGS < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$FLAGS_FILE")
read -r -a EXTRA <<<"${LLAMA_CMAKE_EXTRA:-}"
KEY=$( (cat "$0" "$FLAGS_FILE"; echo "${LLAMA_CMAKE_EXTRA:-}"; [ "$TARGET" = llama-server ] || echo "$TARGET") \
  | sha256sum | cut -c1-16)
if [ -x "$OUT/bin/$TARGET" ] && [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$KEY" ]; then
  echo "$TARGET is up to date ($OUT/bin/$TARGET)"
  exit 0
fi
for tool in cmake c++ cc; do
  command -v "$tool" >/dev/null || { echo "error: '$tool' is missing: install a C/C++ toolchain and CMake (Debian: apt-get install build-essential cmake)" >&2; exit 1; }
done

mkdir -p "$SRC"
TARBALL=$SRC/llama_cpp_python-$SDIST_VERSION.tar.gz
if [ ! -s "$TARBALL" ] || ! echo "$SDIST_SHA256  $TARBALL" | sha256sum -c --status; then
  echo "Downloading llama-cpp-python $SDIST_VERSION sources (the llama.cpp they vendor) from PyPI"
  rm -f "$TARBALL"
  PIP_NO_CACHE_DIR=1 "$PY" -m pip download -q --no-deps --no-binary :all: --disable-pip-version-check \
    -d "$SRC" "llama-cpp-python==$SDIST_VERSION" 2>&1 | grep -v "is ignored: it is neither" >&2 || true
fi
echo "$SDIST_SHA256  $TARBALL" | sha256sum -c --status || {
  echo "error: $TARBALL does not have the pinned SHA-256 $SDIST_SHA256" >&2; exit 1; }
rm -rf "$SRC/llama_cpp_python-$SDIST_VERSION"
tar -xzf "$TARBALL" -C "$SRC" "llama_cpp_python-$SDIST_VERSION/vendor/llama.cpp"
LLAMA_SRC=$SRC/llama_cpp_python-$SDIST_VERSION/vendor/llama.cpp

BUILD=$OUT/build
mkdir -p "$OUT"
rm -rf "$BUILD"
echo "Configuring llama.cpp: ${FLAGS[*]} ${EXTRA[*]:-}"
cmake -S "$LLAMA_SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release "${FLAGS[@]}" "${EXTRA[@]}" >"$OUT/configure.log" 2>&1 || {
  tail -30 "$OUT/configure.log" >&2; echo "error: cmake configure failed (log: $OUT/configure.log)" >&2; exit 1; }
echo "Building $TARGET with $JOBS jobs (about 6 min on 2 idle cores; log: $OUT/build.log)"
# the build's progress on one line ([ 42%] ...)
cmake --build "$BUILD" -j "$JOBS" --target "$TARGET" 2>&1 | tee "$OUT/build.log" \
  | grep --line-buffered -E '^\[ *[0-9]+%\]' \
  | awk '{ match($0, /[0-9]+%/); printf "\r  %4s %-60s", substr($0, RSTART, RLENGTH), substr($NF, 1, 60); fflush() }
         END { print "" }' || true
[ -x "$BUILD/bin/$TARGET" ] || { tail -30 "$OUT/build.log" >&2; echo "error: the $TARGET build failed (log: $OUT/build.log)" >&2; exit 1; }
rm -rf "$OUT/bin"
mkdir -p "$OUT/bin"
cp -a "$BUILD/bin/." "$OUT/bin/"   # the executable, and the CPU-variant libraries of a dispatch build
rm -rf "$BUILD"
echo "$KEY" >"$OUT/.stamp"
echo "Built $OUT/bin/$TARGET"
