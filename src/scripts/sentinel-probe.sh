#!/bin/sh
# Sentinel probe: PING must answer PONG. Per-release values: constants.sh (see lib.sh).
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

load_auth
reply=$(cli -p "$SENTINEL_PORT" PING | tr -d "\r" || true)
[ "$reply" = "PONG" ] && exit 0
echo "PING answered '$reply'"
exit 1
