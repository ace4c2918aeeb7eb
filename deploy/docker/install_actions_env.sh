#!/bin/sh
# Install requirements/actions.lock.txt into a new virtual environment, as `make setup`
# installs .venv/actions (--no-deps: the lock is complete), for actions.Dockerfile and
# web.Dockerfile (the storefront and the console run in the same environment).
#
#   install_actions_env.sh VENV LOCK TORCH_INDEX
#
# torch: the lock pins `torch==X` (the Makefile's `lock` target strips the `+cpu` of the
# CPU build it was resolved with). PyPI's Linux wheel of that version is the CUDA build,
# several GB with its nvidia-* packages, and those packages are not in the lock (--no-deps
# would leave a torch that cannot load). So torch comes first, as `X+cpu` from
# TORCH_INDEX (PyTorch's CPU wheel index, https://download.pytorch.org/whl/cpu; a mirror
# of it works the same); pip then takes the lock's `torch==X` as already satisfied
# (a local version label such as +cpu satisfies ==X).
set -eu
VENV=$1
LOCK=$2
TORCH_INDEX=$3

python -m venv "$VENV"
"$VENV/bin/pip" install --no-cache-dir -q --upgrade pip wheel
torch_version=$(sed -n 's/^torch==//p' "$LOCK")
[ -n "$torch_version" ] || { echo "error: $LOCK pins no torch==VERSION" >&2; exit 1; }
"$VENV/bin/pip" install --no-cache-dir -q --no-deps --index-url "$TORCH_INDEX" "torch==${torch_version}+cpu"
"$VENV/bin/pip" install --no-cache-dir -q --no-deps -r "$LOCK"
# the torch that is installed must be the CPU build
"$VENV/bin/python" -c 'import sys, torch; sys.exit("torch is a CUDA build" if torch.version.cuda else 0)'
