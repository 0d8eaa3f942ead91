#!/bin/sh
# preStop hook of every Sentinel pod: a Sentinel that is running a failover stays until it ends, so
# a rolling update of the Sentinels never stops the one carrying out a hand-over half-way (its peers
# would wait failover-timeout, twice, before trying again, and the departing master's writes stay
# paused meanwhile). Any other Sentinel stops at once. Per-release values: constants.sh (see lib.sh).
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${FAILOVER_WAIT:?missing from constants.sh (scripts ConfigMap)}"

# Prints this Sentinel's flags for the master (failover_in_progress while it runs a failover).
own_flags() {
  { cli -p "$SENTINEL_PORT" --raw SENTINEL MASTER "$MASTER_NAME" || true; } | tr -d "\r" | awk 'NR % 2 == 1 { k = $0; next } k == "flags" { print; exit }'
}

load_auth
deadline=$(( $(date +%s) + FAILOVER_WAIT ))
said=''
while [ "$(date +%s)" -lt "$deadline" ]; do
  case $(own_flags) in
    *failover_in_progress*) ;;
    *)
      [ -z "$said" ] || log "preStop: the failover has ended"
      exit 0
      ;;
  esac
  if [ -z "$said" ]; then
    log "preStop: this Sentinel is failing $MASTER_NAME over: waiting for the failover to end"
    said=yes
  fi
  sleep 0.2
done
log "preStop: the failover still runs after ${FAILOVER_WAIT}s; stopping anyway"
