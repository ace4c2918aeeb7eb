#!/usr/bin/env bash
# Start the shop as a cluster on one machine: HAProxy in front of RASA_PROCESSES (2) Rasa
# servers and ACTION_PROCESSES (2) action servers on the production engines (PostgreSQL
# tracker store, Redis lock store, RabbitMQ broker: bot/endpoints.production.yml), one LLM
# server they all share, the demo storefront and the staff console; wait until they answer,
# print the URLs, and stop them all on Ctrl-C. The launcher is bench/cluster.py; every
# process it starts is restarted when it crashes. See docs/production.md.
#
# Ports: RASA_PORT (5005, HAProxy: REST and socket.io), ACTION_PORT (5055, HAProxy, loopback),
# the Rasa processes 5105.., the action servers 5155.., LLM_PORT (5077), WEB_PORT (8000),
# CONSOLE_PORT (8001), HAProxy's statistics 8404. Logs in var/cluster/ and var/log/.
# Needs HAProxy (make haproxy) and the services the production variables name; when unset
# they default to this machine's loopback services (printed below).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RASA_PORT=${RASA_PORT:-5005}
WEB_PORT=${WEB_PORT:-8000}
CONSOLE_PORT=${CONSOLE_PORT:-8001}
RASA_PROCESSES=${RASA_PROCESSES:-2}
ACTION_PROCESSES=${ACTION_PROCESSES:-2}
command -v haproxy >/dev/null 2>&1 || { echo "HAProxy is not installed: make haproxy (Debian: apt-get install -y haproxy)"; exit 1; }
[ -f var/rasa-models/shop.tar.gz ] || { echo "var/rasa-models/shop.tar.gz is missing: make train"; exit 1; }
mkdir -p var/log var/cluster

export PYTHONPATH="$ROOT"
export SHOP_DEPLOYMENT=production
# the production engines; defaults: this machine's loopback services
defaulted=()
default() {  # NAME value
  if [ -z "${!1+set}" ]; then printf -v "$1" '%s' "$2"; defaulted+=("$1=$2"); fi
  export "${1?}"
}
default RASA_TRACKER_URL "postgresql://postgres@127.0.0.1:5432/shop_tracker"
default RASA_LOCK_STORE_HOST 127.0.0.1
default RASA_LOCK_STORE_PORT 6379
default RASA_LOCK_STORE_DB 1
default RASA_LOCK_STORE_PASSWORD ""
default RASA_LOCK_STORE_KEY_PREFIX shop
default RASA_BROKER_HOST 127.0.0.1
default RASA_BROKER_PORT 5672
default RASA_BROKER_USERNAME guest
default RASA_BROKER_PASSWORD guest
default RASA_BROKER_EXCHANGE shop-events
default RASA_BROKER_QUEUE shop_events
default SHOP_REDIS_URL "redis://127.0.0.1:6379/1"
[ ${#defaulted[@]} -eq 0 ] || printf 'defaulted (set them for your services): %s\n' "${defaulted[*]//RASA_BROKER_PASSWORD=guest/RASA_BROKER_PASSWORD=***}"
# the tracker store's database must exist (Rasa makes its table, not the database)
.venv/actions/bin/python - "$RASA_TRACKER_URL" <<'PY'
import sys
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
url = make_url(sys.argv[1]).set(drivername="postgresql+psycopg")
try:
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}) is None:
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
            print(f"created the tracker database {url.database}")
except (OperationalError, ProgrammingError) as exc:
    print(f"cannot reach or create the tracker database: {str(exc).splitlines()[0]}")
PY

# secrets, made once per checkout (mode 600 in var/) unless set: scripts/lib/secrets.sh
. "$ROOT/scripts/lib/secrets.sh"
shop_secrets
export SHOP_PUBLIC_URL=${SHOP_PUBLIC_URL:-http://127.0.0.1:${WEB_PORT}}
export SHOP_WIDGET_SERVER_URL=${SHOP_WIDGET_SERVER_URL:-http://127.0.0.1:${RASA_PORT}}
export SHOP_WIDGET_ORIGINS=${SHOP_WIDGET_ORIGINS:-$SHOP_PUBLIC_URL}
export SHOP_RASA_URL=${SHOP_RASA_URL:-http://127.0.0.1:${RASA_PORT}}
export SHOP_LLM_SERVER_URL=${SHOP_LLM_SERVER_URL:-http://127.0.0.1:${LLM_PORT:-5077}}

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
.venv/actions/bin/python -m bench.cluster --rasa "$RASA_PROCESSES" --actions "$ACTION_PROCESSES" \
  --lb-port "$RASA_PORT" --workdir var/cluster >var/log/cluster.log 2>&1 &
pids+=($!)
.venv/actions/bin/python -m apps.cli web --port "$WEB_PORT" >var/log/web.log 2>&1 &
pids+=($!)
.venv/actions/bin/python -m apps.cli console --port "$CONSOLE_PORT" >var/log/console.log 2>&1 &
pids+=($!)

for _ in $(seq 1 600); do
  grep -q "cluster is running" var/log/cluster.log 2>/dev/null && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "the cluster did not start:"; tail -40 var/log/cluster.log; exit 1; }
  sleep 1
done
grep -q "cluster is running" var/log/cluster.log || { echo "the cluster did not start within 600 s; see var/cluster/"; exit 1; }
cat var/log/cluster.log
cat <<MSG
  Demo storefront with the chat widget: http://127.0.0.1:${WEB_PORT}/
  Staff console (agent assist):         http://127.0.0.1:${CONSOLE_PORT}/
  Logs: var/cluster/*.log (each process, HAProxy), var/log/web.log, var/log/console.log
MSG
wait -n "${pids[@]}"
