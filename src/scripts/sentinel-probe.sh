#!/bin/sh
# Sentinel probes (startup, liveness, readiness): PING must answer PONG. (A renewed certificate is
# loaded by a restart the Sentinel's watcher makes, in turn: sentinel-start.sh.)
# Per-release values: constants.sh (see lib.sh).
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

load_auth
reply=$(cli -p "$SENTINEL_PORT" PING | tr -d "\r" || true)
if [ "$reply" != "PONG" ]; then
  echo "PING answered '$reply'"
  exit 1
fi
