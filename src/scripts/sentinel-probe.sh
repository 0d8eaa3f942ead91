#!/bin/sh
# Sentinel probes: sh sentinel-probe.sh [liveness]. PING must answer PONG. With TLS, liveness also
# fails when the certificate was renewed and it is this Sentinel's turn to restart and load it
# (tls_restart_due in lib.sh). Env: SELF_FQDN (with TLS). Per-release values: constants.sh (see lib.sh).
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

load_auth
reply=$(cli -p "$SENTINEL_PORT" PING | tr -d "\r" || true)
if [ "$reply" != "PONG" ]; then
  echo "PING answered '$reply'"
  exit 1
fi
if [ "${1:-}" = liveness ]; then
  why=$(tls_restart_due "$SENTINEL_TLS_LOADED" "$SENTINEL_TLS_CHANGED")
  if [ -n "$why" ]; then
    echo "$why"
    exit 1
  fi
fi
exit 0
