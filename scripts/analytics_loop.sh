#!/usr/bin/env bash
# Keeps the analytics tables filling while the stack runs (scripts/run_stack.sh starts it;
# docs/operations.md#analytics):
#
#   scripts/analytics_loop.sh ingest TRACKER_URL SECONDS
#       embedded profile: `python -m apps.cli analytics ingest-tracker` on Rasa's SQL
#       tracker store every SECONDS seconds (each run reads the rows after its cursor);
#   scripts/analytics_loop.sh consume SECONDS
#       production profile: `python -m apps.cli analytics consume` (RabbitMQ), started
#       again SECONDS seconds after it stops (RabbitMQ or the database went away).
#
# What the commands print goes to stdout (run_stack.sh appends it to var/log/analytics.log),
# dated, and a dated line for each run that failed; an ingest that stored nothing new says
# nothing (one line every 30 s would bury the rest). A failing run never ends the loop; TERM ends
# it and the run in progress (the consumer's unacknowledged events go back to the queue,
# an ingest's open transaction is rolled back: both are read again next time, once).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/actions/bin/python

usage() { echo "usage: $0 ingest TRACKER_URL SECONDS | consume SECONDS" >&2; exit 2; }
mode=${1:-}
case "$mode" in
  ingest) [ $# -eq 3 ] || usage; tracker=$2; every=$3 ;;
  consume) [ $# -eq 2 ] || usage; every=$2 ;;
  *) usage ;;
esac
case "$every" in
  '' | *[!0-9]* | 0) echo "SECONDS must be a whole number from 1, not '$every'" >&2; exit 2 ;;
esac

stamp() { date -u +%Y-%m-%dT%H:%M:%SZ; }
out=$(mktemp "${TMPDIR:-/tmp}/analytics-loop.XXXXXX")
child=
stop() {
  if [ -n "$child" ]; then
    kill "$child" 2>/dev/null
    wait "$child" 2>/dev/null
  fi
  rm -f "$out"
  exit 0
}
trap stop TERM INT HUP

while true; do
  if [ "$mode" = ingest ]; then
    "$PY" -m apps.cli analytics ingest-tracker --tracker-db "$tracker" >"$out" 2>&1 &
    child=$!
    wait "$child"
    status=$?
    child=
    if [ "$status" -ne 0 ] || ! grep -q "events read: 0 stored," "$out"; then
      sed "s/^/$(stamp) /" "$out"
    fi
  else
    echo "$(stamp) analytics consume starting"
    "$PY" -m apps.cli analytics consume &
    child=$!
    wait "$child"
    status=$?
    child=
  fi
  if [ "$status" -ne 0 ]; then
    echo "$(stamp) analytics $mode failed (exit status $status); next try in ${every} s"
  fi
  # in the background, so that TERM is handled at once rather than after the sleep
  sleep "$every" &
  child=$!
  wait "$child"
  child=
done
