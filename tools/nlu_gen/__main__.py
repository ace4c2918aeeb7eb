"""``python -m tools.nlu_gen [--check]``: write (or check) data/nlu/generated/*.yml."""

from __future__ import annotations

import argparse
import sys

from tools.nlu_gen.examples import DEFAULT_OUT, generate_files, write_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when the files on disk are stale")
    args = parser.parse_args(argv)
    files = generate_files()
    if args.check:
        stale = [name for name, text in files.items()
                 if not (DEFAULT_OUT / name).exists() or (DEFAULT_OUT / name).read_text() != text]
        for name in stale:
            print(f"stale: {DEFAULT_OUT / name}", file=sys.stderr)
        return 1 if stale else 0
    for path in write_files(files):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
