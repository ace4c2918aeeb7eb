# shellcheck shell=bash
# Sourced by scripts/run_stack.sh and scripts/run_cluster.sh from the repository root.
# Secrets, made once per checkout (mode 600 in var/) unless the shop sets them:
# SHOP_IDENTITY_SECRET (the storefront signs customer ids, the Rasa server checks them),
# SHOP_RELAY_SECRET (console -> relay and gate -> action server), SHOP_ACTION_TOKEN
# (Rasa -> action server), SHOP_REST_TOKEN (server-to-server REST channel) and
# SHOP_SESSION_SECRET (the widget's session tokens). See docs/security.md.
secret() {  # NAME file
  if [ -z "${!1:-}" ]; then
    [ -s "var/$2" ] || (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"var/$2")
    printf -v "$1" '%s' "$(cat "var/$2")"
  fi
  export "${1?}"
}

shop_secrets() {  # the secrets every way of starting the shop exports
  secret SHOP_IDENTITY_SECRET identity-secret
  secret SHOP_RELAY_SECRET relay-secret
  secret SHOP_ACTION_TOKEN action-token
  secret SHOP_REST_TOKEN rest-token
  secret SHOP_SESSION_SECRET session-secret
}
