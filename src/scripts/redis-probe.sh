#!/bin/sh
# Redis probes: sh redis-probe.sh liveness|readiness.
# Liveness accepts PONG, LOADING and MASTERDOWN (a replica whose master is down is alive), but not
# a replica chained behind another replica (invisible to the Sentinels; a restart re-attaches it
# to the master they name). Readiness: a master answers PONG; a replica has its master link up
# and no sync in progress. Per-release values: constants.sh (see lib.sh).
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

load_auth
case ${1:-} in
  liveness)
    reply=$(cli -p "$REDIS_PORT" PING | tr -d "\r" || true)
    case $reply in
      PONG|LOADING*|MASTERDOWN*) ;;
      *)
        echo "PING answered '$reply'"
        exit 1
        ;;
    esac
    # A replica of a replica is invisible to the Sentinels (they find replicas only in the
    # master's INFO): it is never promoted nor reconfigured, and does not count for
    # min-replicas-to-write. Failing liveness (failureThreshold x period: longer than Sentinel
    # needs to reconfigure replicas after a failover) restarts it, and the start script asks the
    # Sentinels for the master again.
    info=$(tcli 1 -p "$REDIS_PORT" INFO replication 2>/dev/null | tr -d "\r" || true)
    if [ "$(echo "$info" | sed -n "s/^master_link_status://p")" = "up" ]; then
      mh=$(echo "$info" | sed -n "s/^master_host://p")
      mp=$(echo "$info" | sed -n "s/^master_port://p")
      upstream=$(tcli 1 -h "$mh" -p "$mp" --raw ROLE 2>/dev/null | head -n 1 | tr -d "\r" || true)
      if [ "$upstream" = "slave" ]; then
        echo "replica of $mh, itself a replica: the Sentinels cannot see this pod; restarting asks them again"
        exit 1
      fi
    fi
    exit 0
    ;;
  readiness)
    info=$(cli -p "$REDIS_PORT" INFO replication | tr -d "\r" || true)
    role=$(echo "$info" | sed -n "s/^role://p")
    case $role in
      master)
        [ "$(cli -p "$REDIS_PORT" PING | tr -d "\r" || true)" = "PONG" ] && exit 0
        echo "master does not answer PONG"
        exit 1
        ;;
      slave)
        link=$(echo "$info" | sed -n "s/^master_link_status://p")
        syncing=$(echo "$info" | sed -n "s/^master_sync_in_progress://p")
        if [ "$link" = "up" ] && [ "$syncing" = "0" ]; then
          exit 0
        fi
        echo "replica not ready: master_link_status=$link master_sync_in_progress=$syncing"
        exit 1
        ;;
    esac
    echo "no role reported"
    exit 1
    ;;
esac
echo "usage: redis-probe.sh liveness|readiness" >&2
exit 2
