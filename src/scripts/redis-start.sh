#!/bin/sh
# Redis entrypoint, run at EVERY start of the container (an init container would not rerun after
# a crash or liveness restart): decides this pod's role by asking the Sentinels, writes the
# runtime config to a private writable volume, then execs redis-server. It starts as the replica
# of the master the Sentinels name, or as master when they name this pod; only when no Sentinel
# answers does the bootstrap master pod start as master.
# Env: SELF_FQDN, this pod's stable DNS name. Per-release values: constants.sh (see lib.sh).
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SELF_FQDN:?SELF_FQDN must be set to the DNS name of this pod}"
: "${BOOTSTRAP_MASTER_HOST:?missing from constants.sh (scripts ConfigMap)}"
: "${REDIS_TEMPLATE:?missing from constants.sh (scripts ConfigMap)}"
: "${REDIS_CONF:?missing from constants.sh (scripts ConfigMap)}"
: "${SENTINEL_WAIT:?missing from constants.sh (scripts ConfigMap)}"

load_auth

# Ask the Sentinels; keep asking (bounded) only while none of them answers at all.
deadline=$(( $(date +%s) + SENTINEL_WAIT ))
while :; do
  master=$(current_master "" "$SELF_FQDN")
  [ -n "$master" ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    break
  fi
  log "no Sentinel answered; asking again"
  sleep 2
done

if [ -n "$master" ]; then
  # shellcheck disable=SC2086
  set -- $master
  host=$2
  port=$3
  log "the Sentinels name $host:$port as master of $MASTER_NAME (config epoch $1)"
else
  host=$BOOTSTRAP_MASTER_HOST
  port=$REDIS_PORT
  log "no Sentinel answered within ${SENTINEL_WAIT}s: the bootstrap master is $host"
fi

umask 077
tmp="$REDIS_CONF.tmp"
cp "$REDIS_TEMPLATE" "$tmp"
{
  echo "replica-announce-ip $SELF_FQDN"
  echo "replica-announce-port $REDIS_PORT"
  if [ -n "$AUTH_FILE" ]; then
    check_password
    pw=$(conf_quote "$REDISCLI_AUTH")
    echo "requirepass $pw"
    echo "masterauth $pw"
  fi
  if [ "$host" != "$SELF_FQDN" ]; then
    echo "replicaof $host $port"
  fi
} >> "$tmp"
# This pod's revision (REDIS_REVISION, from the pod template), in the process title: its peers read
# it (CONFIG GET proc-title-template) and so does ps. A departing master waits, in a rolling update,
# until the pods that roll before it run another revision than its own (redis-prestop.sh).
revision_conf() {
  case ${REDIS_REVISION:-} in
    ''|*[!0-9a-f]*) ;;
    *) echo "proc-title-template \"{title} {listen-addr} {server-mode} rev=$REDIS_REVISION\"" ;;
  esac
}
revision_conf >> "$tmp"
mv "$tmp" "$REDIS_CONF"

if [ "$host" = "$SELF_FQDN" ]; then
  log "starting as master"
else
  log "starting as replica of $host:$port"
fi
exec redis-server "$REDIS_CONF"
