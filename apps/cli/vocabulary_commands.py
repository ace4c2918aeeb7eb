"""The shop's own words for the NLU (:mod:`shop.services.vocabulary`)::

    python -m apps.cli vocabulary build [--url URL] [--out data/nlu/shop_vocabulary.yml]
                                        [--generic data/nlu/lookups.yml] [--check]

``build`` reads the catalog in the shop database (``--url``, default ``DATABASE_URL``)
and writes its lookup tables and synonyms (categories, brands, colours, sizes, use
cases) as Rasa NLU training data to ``--out`` (``-``: print it). Phrases the generic
file ``--generic`` already maps are left to it. ``--check`` writes nothing and exits 1
when the file on disk differs from what the catalog gives (the catalog changed: run
``make shop-vocabulary``, which builds it, regenerates the NLU examples and retrains). A
file that is already current is not rewritten.
Exit status: 0 written (or current), 1 stale (``--check``) or an empty catalog, 2 bad
arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from shop.cli_args import display_url, run_parsed
from shop.db.engine import session_scope
from shop.services.vocabulary import (
    ShopVocabulary,
    build_vocabulary,
    read_catalog,
    read_nlu_words,
    reserved_phrases,
    to_rasa_yaml,
)
from shop.settings import REPO_ROOT, get_settings

DEFAULT_OUT = REPO_ROOT / "data" / "nlu" / "shop_vocabulary.yml"
DEFAULT_GENERIC = REPO_ROOT / "data" / "nlu" / "lookups.yml"


def _yaml_path(value: str) -> Path:
    if value == "-":
        return Path("-")
    if not value.endswith((".yml", ".yaml")):
        raise argparse.ArgumentTypeError(f"'{value}' must end in .yml or .yaml (Rasa reads only those), or be -")
    return Path(value)


def _summary(vocabulary: ShopVocabulary) -> str:
    parts = []
    for entity, words in vocabulary.entities.items():
        synonyms = sum(len(p) for p in words.synonyms.values())
        parts.append(f"{entity} {len(words.lookup)} phrases" + (f", {synonyms} synonyms" if synonyms else ""))
    return "; ".join(parts)


def _write(path: Path, text: str) -> None:
    """``text`` to ``path`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cmd_build(args: argparse.Namespace) -> int:
    url = args.url or get_settings().database_url
    with session_scope(url) as session:
        words = read_catalog(session)
    if not words.categories or not any(words.titles.values()):
        print(f"The catalog at {display_url(url)} has no active products in a category: nothing to learn "
              "words from. Import a catalog first.", file=sys.stderr)
        return 1
    reserved = reserved_phrases(read_nlu_words(args.generic)) if args.generic else set()
    vocabulary = build_vocabulary(words, reserved=reserved)
    text = to_rasa_yaml(vocabulary)
    if str(args.out) == "-":
        sys.stdout.write(text)
        return 0
    current = args.out.read_text(encoding="utf-8") if args.out.is_file() else None
    if args.check and current != text:
        print(f"{args.out} is stale for the catalog at {display_url(url)}: run make shop-vocabulary",
              file=sys.stderr)
        return 1
    if current == text:  # left alone, so make sees nothing new to train on
        print(f"{args.out} is current for the catalog at {display_url(url)}.")
        return 0
    _write(args.out, text)
    print(f"Wrote {args.out} from {display_url(url)}: {_summary(vocabulary)}.")
    if vocabulary.dropped:
        shown = ", ".join(vocabulary.dropped[:8]) + (" ..." if len(vocabulary.dropped) > 8 else "")
        print(f"Left out {len(vocabulary.dropped)} (ambiguous or unusable): {shown}")
    print("Retrain to use them: python -m tools.nlu_gen && make train (make shop-vocabulary does all three).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``vocabulary`` group's parser."""
    parser = argparse.ArgumentParser(prog="python -m apps.cli vocabulary",
                                     description="The shop's own words (lookup tables, synonyms) for the NLU.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write the NLU lookup tables and synonyms from the catalog")
    build.add_argument("--url", help="shop database URL (default: DATABASE_URL)")
    build.add_argument("--out", type=_yaml_path, default=DEFAULT_OUT,
                       help=f"where to write them (default: {DEFAULT_OUT.relative_to(REPO_ROOT)}; - prints)")
    build.add_argument("--generic", type=_yaml_path, default=DEFAULT_GENERIC,
                       help="the generic lookups whose phrases are left to it "
                            f"(default: {DEFAULT_GENERIC.relative_to(REPO_ROOT)})")
    build.add_argument("--check", action="store_true", help="write nothing; exit 1 when --out is stale")
    build.set_defaults(func=_cmd_build)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m apps.cli vocabulary ...`` with ``argv``; returns the exit status."""
    return run_parsed(build_parser(), list(argv) if argv is not None else None)


if __name__ == "__main__":
    sys.exit(main())
