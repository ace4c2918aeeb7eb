#!/usr/bin/env bash
# Print the path of a Python interpreter of the given version (e.g. 3.10), looking at
# the PATH, pyenv's versions and the usual system locations. Exit 1 if none is found.
set -u
want="$1"
candidates=("python${want}")
for d in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"${want}"*/bin /usr/local/bin /usr/bin; do
  [ -x "$d/python${want}" ] && candidates+=("$d/python${want}")
done
for p in "${candidates[@]}"; do
  if "$p" -c "import sys; assert '%d.%d' % sys.version_info[:2] == '${want}'" >/dev/null 2>&1; then
    command -v "$p" 2>/dev/null || echo "$p"
    exit 0
  fi
done
echo "no python${want} found: install Python ${want} (e.g. 'pyenv install ${want}')" >&2
exit 1
