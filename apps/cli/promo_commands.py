"""Retraining commands: the uplift model alone, or both models on a schedule.

    python -m apps.cli promo retrain [--url URL] [--out DIR] [--as-of DATE] [--min-outcomes 20]
                                     [--tolerance 0] [--no-promote] [--if-missing] [--lock FILE]
    python -m apps.cli retrain [--url URL] [--as-of DATE] [--min-outcomes 20] [--lock FILE]
                               [--skip-preference]

``promo retrain`` builds the uplift model's training set from the shop's own tables,
fits it, and promotes it only through its gate (:mod:`shop.promo.uplift_retrain`).
``retrain`` (what ``make retrain`` and the systemd timer in ``deploy/systemd/`` run) trains
the preference model (``recommender train``, its own NDCG@10 gate) and then the uplift
model, and ends with one line saying what each run promoted or kept and why.

Both hold an exclusive lock on ``--lock`` (default ``retrain.lock`` next to the model
roots, ``var/models/retrain.lock``) for the whole run, so two runs never overlap: a run
that finds it taken says so and exits with status 75 (``EX_TEMPFAIL``; the systemd unit
counts it as success). Exit status otherwise: 0 when every step ran (a model kept by
its gate or for too little data included), 1 when a step failed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from apps.cli import recommender_commands
from models.recsys.artifact import ArtifactError, current_version
from shop.cli_args import at_least_one, display_url, parse_as_of, run_parsed
from shop.db.engine import session_scope
from shop.promo.uplift_data import MIN_OUTCOMES, build_training_set
from shop.promo.uplift_retrain import RetrainResult, retrain_uplift
from shop.settings import Settings, get_settings

LOCK_BUSY = 75  # EX_TEMPFAIL: try again later
LOCK_NAME = "retrain.lock"


class RetrainRunning(RuntimeError):
    """Another run holds the retrain lock."""


@contextmanager
def retrain_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the block; raise
    :class:`RetrainRunning` at once when another process (or another open of the file)
    holds it. The lock goes with the process, so a killed run never leaves it behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")  # noqa: SIM115 - closed below, after the lock is released
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip()[:40]
            raise RetrainRunning(f"another retrain holds {path}" + (f" (pid {holder})" if holder else "")) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    finally:
        fh.close()


def default_lock(settings: Settings) -> Path:
    return settings.promo_model_dir.parent / LOCK_NAME


def _stamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _now(args: argparse.Namespace) -> datetime:
    return args.as_of or datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def run_uplift(args: argparse.Namespace, *, out: Path) -> RetrainResult:
    """One uplift retrain on ``args.url`` into ``out``."""
    now = _now(args)
    with session_scope(args.url) as session:
        data = build_training_set(session, now=now)
        return retrain_uplift(session, data=data, root=out, min_outcomes=args.min_outcomes,
                              tolerance=args.tolerance, promote_it=not args.no_promote)


def _cmd_promo_retrain(args: argparse.Namespace) -> int:
    settings = get_settings()
    args.url = args.url or settings.database_url
    out = Path(args.out) if args.out else settings.promo_model_dir
    if args.if_missing and current_version(out):
        print(f"uplift model {current_version(out)} is in place ({out}); "
              "run `python -m apps.cli promo retrain` to retrain")
        return 0
    try:
        with retrain_lock(Path(args.lock) if args.lock else default_lock(settings)):
            print(f"uplift model: training on {display_url(args.url)} as of {_now(args):%Y-%m-%d %H:%M} UTC",
                  flush=True)
            result = run_uplift(args, out=out)
    except RetrainRunning as exc:
        print(f"{_stamp()} uplift model: skipped, {exc}", file=sys.stderr)
        return LOCK_BUSY
    except (SQLAlchemyError, ArtifactError, OSError) as exc:
        print(f"{_stamp()} uplift model: FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"{_stamp()} {result.line()}")
    return 0


def add_promo_retrain(promo: argparse._SubParsersAction, *, url_help: str) -> None:
    """``promo retrain`` on the ``promo`` group's subparsers."""
    settings = get_settings()
    cmd = promo.add_parser("retrain", help="retrain the uplift model from the shop's redemptions; promote it if "
                                           "it is no worse than the served one on held-out decisions")
    cmd.add_argument("--url", help=url_help)
    cmd.add_argument("--out", help=f"model root (default: SHOP_PROMO_MODEL_DIR, {settings.promo_model_dir})")
    cmd.add_argument("--if-missing", action="store_true", help="do nothing when a version is already served")
    cmd.add_argument("--no-promote", action="store_true", help="save the version but leave CURRENT alone")
    _common(cmd)
    cmd.set_defaults(func=_cmd_promo_retrain)


def _tolerance(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1 (Qini coefficient points)")
    return number


def _common(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--as-of", type=parse_as_of, default=None,
                     help="train the uplift model as if it were this date (UTC; default now): on decisions "
                          "whose 14-day window had closed by then")
    cmd.add_argument("--min-outcomes", type=at_least_one, default=MIN_OUTCOMES, metavar="N",
                     help="redeemed codes among offers shown, and conversions in control, needed to train "
                          f"(default {MIN_OUTCOMES})")
    cmd.add_argument("--tolerance", type=_tolerance, default=0.0,
                     help="held-out Qini a new version may lose against the served one (default 0)")
    cmd.add_argument("--lock", help=f"lock file (default: {LOCK_NAME} next to the model roots)")


# --- both models ------------------------------------------------------------------------


def _preference(args: argparse.Namespace, root: Path) -> tuple[str, bool]:
    """Run ``recommender train``; ``(what happened, ok)``."""
    before = current_version(root)
    try:
        rc = recommender_commands.main(["train", "--url", args.url, "--out", str(root)])
    except (OSError, ValueError, RuntimeError, SQLAlchemyError) as exc:
        return f"preference model: FAILED: {exc}; {before or 'none'} stays", False
    after = current_version(root)
    if after and after != before:
        return f"preference model: PROMOTED {after} (was {before or 'none'})", True
    why = {1: "too little history to train it", 3: "its NDCG@10 dropped (see above)"}.get(
        rc, "nothing new was promoted")
    return f"preference model: KEPT {before or 'none'} ({why})", rc in (0, 1, 3)


def _cmd_retrain(args: argparse.Namespace) -> int:
    settings = get_settings()
    args.url = args.url or settings.database_url
    try:
        with retrain_lock(Path(args.lock) if args.lock else default_lock(settings)):
            lines, ok = [], True
            if not args.skip_preference:
                line, ok = _preference(args, settings.recommend_model_dir)
                print(f"{_stamp()} {line}", flush=True)
                lines.append(line)
            try:
                result = run_uplift(args, out=settings.promo_model_dir)
                line = result.line()
            except (SQLAlchemyError, ArtifactError, OSError) as exc:
                line, ok = f"uplift model: FAILED: {exc}", False
            print(f"{_stamp()} {line}", flush=True)
            lines.append(line)
    except RetrainRunning as exc:
        print(f"{_stamp()} retrain: skipped, {exc}", file=sys.stderr)
        return LOCK_BUSY
    print(f"{_stamp()} retrain {'done' if ok else 'FAILED'}: " + " | ".join(lines))
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m apps.cli retrain ...``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m apps.cli retrain",
                                     description="Retrain the preference and the uplift models, each promoted "
                                                 "only through its gate; one run at a time.")
    parser.add_argument("--url", help="shop database (default: DATABASE_URL or var/shop.db)")
    parser.add_argument("--skip-preference", action="store_true", help="retrain only the uplift model")
    _common(parser)
    parser.set_defaults(func=_cmd_retrain, no_promote=False)
    return run_parsed(parser, argv)
