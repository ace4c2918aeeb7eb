#!/usr/bin/env bash
# Start the local LLM server (supervised), the action server, the Rasa server, the demo
# storefront and the staff console on the embedded defaults (SQLite shop database,
# SQLite tracker store), wait until they answer, print the URLs, and stop them on Ctrl-C.
# Ports: ACTION_PORT (5055), RASA_PORT (5005), WEB_PORT (8000), CONSOLE_PORT (8001) and
# LLM_PORT (5077, loopback only). With SHOP_COMMERCE_BACKEND=shopify or woocommerce it also
# starts the commerce webhook receiver (SHOP_COMMERCE_WEBHOOK_PORT, 8002, loopback only).
# The analytics tables fill by themselves (scripts/analytics_loop.sh, var/log/analytics.log):
# embedded, the tracker store's new events every SHOP_ANALYTICS_INGEST_S (30) seconds;
# production, the consumer of Rasa's RabbitMQ queue. A failing run never stops the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
ACTION_PORT=${ACTION_PORT:-5055}
RASA_PORT=${RASA_PORT:-5005}
WEB_PORT=${WEB_PORT:-8000}
CONSOLE_PORT=${CONSOLE_PORT:-8001}
LLM_PORT=${LLM_PORT:-5077}
MODEL=${MODEL:-var/rasa-models/shop.tar.gz}
# SHOP_DEPLOYMENT=embedded (default): SQLite tracker store, in-memory lock store, no event
# broker (bot/endpoints.yml); production: PostgreSQL tracker, Redis lock store, RabbitMQ
# broker (bot/endpoints.production.yml; its variables in docs/production.md)
case "${SHOP_DEPLOYMENT:-embedded}" in
  embedded) ENDPOINTS=bot/endpoints.yml ;;
  production) ENDPOINTS=bot/endpoints.production.yml ;;
  *) echo "SHOP_DEPLOYMENT must be embedded or production, not '${SHOP_DEPLOYMENT}'"; exit 2 ;;
esac
mkdir -p var/log

export PYTHONPATH="$ROOT"
export ACTION_SERVER_URL="http://127.0.0.1:${ACTION_PORT}/webhook"
export RASA_TRACKER_DIALECT=${RASA_TRACKER_DIALECT:-sqlite}
export RASA_TRACKER_HOST=${RASA_TRACKER_HOST:-}
export RASA_TRACKER_DB=${RASA_TRACKER_DB:-$ROOT/var/tracker.db}
export RASA_TELEMETRY_ENABLED=false
export SHOP_WIDGET_SERVER_URL=${SHOP_WIDGET_SERVER_URL:-http://127.0.0.1:${RASA_PORT}}
export SHOP_PUBLIC_URL=${SHOP_PUBLIC_URL:-http://127.0.0.1:${WEB_PORT}}
# secrets made once per checkout unless set (scripts/lib/secrets.sh), and the
# recommendation API's token
. "$ROOT/scripts/lib/secrets.sh"
shop_secrets
secret SHOP_RECOMMEND_API_TOKEN recommend-api-token
# Every server listens on loopback unless told otherwise (a TLS proxy in front of them
# in production); the widget may be opened from the storefront's origin only.
RASA_HOST=${RASA_HOST:-127.0.0.1}
export SHOP_WIDGET_ORIGINS=${SHOP_WIDGET_ORIGINS:-$SHOP_PUBLIC_URL}
# rasa run --cors takes one argument per origin (one comma-separated string matches none)
IFS=',' read -r -a CORS_ORIGINS <<< "$SHOP_WIDGET_ORIGINS"
export SHOP_RASA_URL=${SHOP_RASA_URL:-http://127.0.0.1:${RASA_PORT}}
export SHOP_LLM_SERVER_URL=${SHOP_LLM_SERVER_URL:-http://127.0.0.1:${LLM_PORT}}

# conversations idle longer than SHOP_TRACKER_RETENTION_DAYS (30) leave the tracker
# store at every start (a shop running for weeks runs this daily; docs/security.md)
# (with another tracker store, set SHOP_TRACKER_DB_URL to it)
TRACKER_URL=
if [ -n "${SHOP_TRACKER_DB_URL:-}" ] || { [ "${SHOP_DEPLOYMENT:-embedded}" = embedded ] && [ "$RASA_TRACKER_DIALECT" = sqlite ]; }; then
  TRACKER_URL=${SHOP_TRACKER_DB_URL:-sqlite:///$RASA_TRACKER_DB}
  SHOP_TRACKER_DB_URL=$TRACKER_URL .venv/actions/bin/python -m apps.cli \
    privacy purge >>var/log/privacy.log 2>&1 || echo "retention purge failed; see var/log/privacy.log"
fi

pids=()
llm_pid=
analytics_pid=
cleanup() {
  for p in "${pids[@]}" $llm_pid $analytics_pid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# the local model in its own process, restarted when it crashes or hangs; it exits at
# once when SHOP_LLM_MODEL is not a local model (off, or openai/... elsewhere)
.venv/actions/bin/python -m apps.cli llm serve --pid-file var/llm-server.pid --log var/log/llm-server.log \
  >var/log/llm-supervisor.log 2>&1 &
llm_pid=$!
.venv/actions/bin/python -m actions --port "$ACTION_PORT" >var/log/actions.log 2>&1 &
pids+=($!)
.venv/rasa/bin/rasa run --model "$MODEL" --endpoints "$ENDPOINTS" --credentials bot/credentials.yml \
  --interface "$RASA_HOST" --port "$RASA_PORT" --cors "${CORS_ORIGINS[@]}" >var/log/rasa.log 2>&1 &
pids+=($!)
.venv/actions/bin/python -m apps.cli web --port "$WEB_PORT" >var/log/web.log 2>&1 &
pids+=($!)
.venv/actions/bin/python -m apps.cli console --port "$CONSOLE_PORT" >var/log/console.log 2>&1 &
pids+=($!)
# a shop whose catalog and orders live on Shopify or WooCommerce: their webhooks keep the
# mirror (and so the search index and the recommender's data) current
COMMERCE_BACKEND=${SHOP_COMMERCE_BACKEND:-builtin}
COMMERCE_PORT=${SHOP_COMMERCE_WEBHOOK_PORT:-8002}
commerce_line="Commerce webhooks:    none (SHOP_COMMERCE_BACKEND=builtin: the shop's own database)"
if [ "$COMMERCE_BACKEND" != builtin ]; then
  .venv/actions/bin/python -m apps.cli commerce webhooks --port "$COMMERCE_PORT" \
    >var/log/commerce-webhooks.log 2>&1 &
  pids+=($!)
  commerce_line="Commerce webhooks:    http://127.0.0.1:${COMMERCE_PORT}/webhooks/commerce/${COMMERCE_BACKEND} (var/log/commerce-webhooks.log)"
fi

# analytics (docs/operations.md#analytics): supervised by scripts/analytics_loop.sh, not
# one of the processes the stack stops for
ANALYTICS_EVERY=${SHOP_ANALYTICS_INGEST_S:-30}
if [ "${SHOP_DEPLOYMENT:-embedded}" = production ]; then
  # the queue (and exchange, so that events published before the consumer binds are kept)
  # of the Rasa side's broker unless set apart; SHOP_ANALYTICS_AMQP_URL: its RabbitMQ
  export SHOP_ANALYTICS_QUEUE=${SHOP_ANALYTICS_QUEUE:-${RASA_BROKER_QUEUE:-shop_events}}
  export SHOP_ANALYTICS_EXCHANGE=${SHOP_ANALYTICS_EXCHANGE:-${RASA_BROKER_EXCHANGE:-}}
  scripts/analytics_loop.sh consume "$ANALYTICS_EVERY" >>var/log/analytics.log 2>&1 &
  analytics_pid=$!
  analytics_line="Analytics:            consuming queue ${SHOP_ANALYTICS_QUEUE} (var/log/analytics.log)"
elif [ -n "$TRACKER_URL" ]; then
  scripts/analytics_loop.sh ingest "$TRACKER_URL" "$ANALYTICS_EVERY" >>var/log/analytics.log 2>&1 &
  analytics_pid=$!
  analytics_line="Analytics:            tracker store read every ${ANALYTICS_EVERY} s (var/log/analytics.log)"
else
  analytics_line="Analytics:            off (set SHOP_TRACKER_DB_URL to the tracker store to read it)"
fi

wait_for() {  # url name seconds
  for _ in $(seq 1 "$3"); do
    curl -fsS "$1" >/dev/null 2>&1 && return 0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo "$2 exited; see var/log/"; tail -20 var/log/*.log; exit 1; }; done
    sleep 1
  done
  echo "$2 did not start within $3 s; see var/log/"; exit 1
}
wait_for "http://127.0.0.1:${ACTION_PORT}/health" "action server" 120
wait_for "http://127.0.0.1:${WEB_PORT}/health" "storefront" 60
wait_for "http://127.0.0.1:${CONSOLE_PORT}/health" "staff console" 60
if [ "$COMMERCE_BACKEND" != builtin ]; then
  wait_for "http://127.0.0.1:${COMMERCE_PORT}/health" "commerce webhook receiver" 60
fi
wait_for "http://127.0.0.1:${RASA_PORT}/" "Rasa server" 300
if kill -0 "$llm_pid" 2>/dev/null; then
  for _ in $(seq 1 120); do curl -fsS "$SHOP_LLM_SERVER_URL/health" >/dev/null 2>&1 && break; sleep 1; done
  curl -fsS "$SHOP_LLM_SERVER_URL/health" >/dev/null 2>&1 \
    && llm_line="LLM server:           $SHOP_LLM_SERVER_URL (llama.cpp, supervised; var/log/llm-server.log)" \
    || llm_line="LLM server:           not answering yet; answers use templates meanwhile (var/log/llm-supervisor.log)"
else
  llm_line="LLM server:           none (SHOP_LLM_MODEL=${SHOP_LLM_MODEL:-default} is not a local model)"
fi

cat <<MSG

Shop assistant is running.
  Demo storefront with the chat widget: http://127.0.0.1:${WEB_PORT}/
  Staff console (agent assist):         http://127.0.0.1:${CONSOLE_PORT}/
    demo logins (made on first run):    $(tr '\n' ' ' <var/console-demo-login.txt 2>/dev/null || echo "see var/console-demo-login.txt")
  Rasa server (REST):   http://127.0.0.1:${RASA_PORT}/webhooks/rest/webhook
  Rasa server (socket.io, for the web widget): http://127.0.0.1:${RASA_PORT}/socket.io
  Action server:        http://127.0.0.1:${ACTION_PORT}/webhook
  ${llm_line}
  ${commerce_line}
  ${analytics_line}
  Logs:                 var/log/rasa.log, var/log/actions.log, var/log/web.log, var/log/console.log
Try it:
  curl -s -XPOST http://127.0.0.1:${RASA_PORT}/webhooks/rest/webhook -H "Authorization: Bearer \$(cat var/rest-token)" \\
    -d '{"sender":"me","message":"waterproof hiking boots under 150"}'
Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}"
