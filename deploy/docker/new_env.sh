#!/bin/sh
# Make env/.env for deploy/compose.yml: the shop's public host name, the staff console's
# host name and fresh random secrets (32 random bytes each, hex, so they are safe inside
# the database and Redis URLs the compose file builds from them). The file is created
# mode 600 and never overwritten: a second run would lock everyone out (sessions, signed
# ids, the services' passwords in their volumes).
#
#   deploy/docker/new_env.sh SHOP_HOST CONSOLE_HOST [FILE]     (FILE: default env/.env)
#
# Every secret it writes, and where it goes, is in docs/production.md#secrets.
set -eu
usage="usage: $0 SHOP_HOST CONSOLE_HOST [FILE]  (host names such as shop.example.com)"
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "$usage" >&2; exit 2; }
SHOP_HOST=$1
CONSOLE_HOST=$2
OUT=${3:-env/.env}
for host in "$SHOP_HOST" "$CONSOLE_HOST"; do
  # a DNS name: letters, digits, hyphens and dots, nothing a config file or URL could
  # misread (the case pattern also refuses a newline, which grep would read as two lines)
  case $host in
    '' | *[!A-Za-z0-9.-]*) echo "error: '$host' is not a host name (letters, digits, hyphens and dots); $usage" >&2
                           exit 2 ;;
  esac
  if ! printf '%s' "$host" | grep -Eqx '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*'; then
    echo "error: '$host' is not a host name (letters, digits, hyphens and dots); $usage" >&2
    exit 2
  fi
done
[ "$SHOP_HOST" != "$CONSOLE_HOST" ] || { echo "error: the console needs a host name of its own" >&2; exit 2; }
if [ -e "$OUT" ]; then
  echo "error: $OUT exists; it holds the secrets this deployment runs with: keep it (remove it yourself to start over)" >&2
  exit 1
fi
secret() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
umask 077
mkdir -p "$(dirname "$OUT")"
cat >"$OUT" <<ENV
# Settings and secrets of deploy/compose.yml, made by deploy/docker/new_env.sh.
# Secret: mode 600, never committed, never in an image. docs/production.md#secrets.

# host names (the proxy's TLS certificate in env/tls/ must cover both)
SHOP_HOST=$SHOP_HOST
SHOP_CONSOLE_HOST=$CONSOLE_HOST
# pages allowed to open the widget (comma-separated origins; add the shop's own site)
SHOP_WIDGET_ORIGINS=https://$SHOP_HOST

# the services' passwords (the compose file builds the URLs from them)
POSTGRES_PASSWORD=$(secret)
REDIS_PASSWORD=$(secret)
RABBITMQ_PASSWORD=$(secret)

# the shop's secrets (docs/security.md#secrets)
SHOP_ACTION_TOKEN=$(secret)
SHOP_REST_TOKEN=$(secret)
SHOP_SESSION_SECRET=$(secret)
SHOP_IDENTITY_SECRET=$(secret)
SHOP_RELAY_SECRET=$(secret)
SHOP_METRICS_TOKEN=$(secret)
SHOP_RECOMMEND_API_TOKEN=$(secret)

# ticket replies by e-mail (docs/agent-assist.md); unset: replies are stored as failed
#SHOP_SMTP_HOST=
#SHOP_SMTP_FROM=
#SHOP_SMTP_USER=
#SHOP_SMTP_PASSWORD=

# messaging apps, when used (docs/messaging.md); a channel with settings missing is off
#SHOP_TELEGRAM_TOKEN=
#SHOP_TELEGRAM_SECRET_TOKEN=$(secret)
#SHOP_TELEGRAM_WEBHOOK_URL=https://$SHOP_HOST/webhooks/telegram/webhook
#SHOP_SLACK_TOKEN=
#SHOP_SLACK_SIGNING_SECRET=
#SHOP_TWILIO_ACCOUNT_SID=
#SHOP_TWILIO_AUTH_TOKEN=
#SHOP_TWILIO_NUMBER=
#SHOP_TWILIO_WEBHOOK_URL=https://$SHOP_HOST/webhooks/twilio/webhook

# a commerce platform instead of the shop's own database, when used (docs/onboarding.md)
#SHOP_COMMERCE_BACKEND=shopify
#SHOP_SHOPIFY_DOMAIN=
#SHOP_SHOPIFY_TOKEN=
#SHOP_SHOPIFY_WEBHOOK_SECRET=
#SHOP_WOOCOMMERCE_URL=
#SHOP_WOOCOMMERCE_KEY=
#SHOP_WOOCOMMERCE_SECRET=
#SHOP_WOOCOMMERCE_WEBHOOK_SECRET=

# the shop (shown to shoppers and given to the LLM)
#SHOP_NAME=
#SHOP_DESCRIPTION=
ENV
chmod 600 "$OUT"
echo "wrote $OUT (mode 600); put the TLS certificate and key for $SHOP_HOST and $CONSOLE_HOST in $(dirname "$OUT")/tls/" >&2
