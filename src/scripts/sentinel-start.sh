#!/bin/sh
# Sentinel entrypoint, run at every start: writes this Sentinel's config from the template,
# monitoring the master known with the highest config epoch among the live peer Sentinels, its
# own saved state and the facts the Redis pods that answer keep (see lib.sh), with a stable
# `sentinel myid` derived from the pod's DNS name, then execs redis-sentinel. When none of these
# knows anything (a new install, or every Sentinel lost its volume) it waits until every Redis pod
# answers and monitors the one holding the newest data (adopt_newest), never the bootstrap pod by
# default.
# Env: SELF_FQDN, this pod's stable DNS name. Per-release values: constants.sh (see lib.sh).
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SELF_FQDN:?SELF_FQDN must be set to the DNS name of this pod}"
: "${BOOTSTRAP_MASTER_HOST:?missing from constants.sh (scripts ConfigMap)}"
: "${SENTINEL_TEMPLATE:?missing from constants.sh (scripts ConfigMap)}"
: "${SENTINEL_CONF:?missing from constants.sh (scripts ConfigMap)}"
: "${RESOLVE_WAIT:?missing from constants.sh (scripts ConfigMap)}"
: "${REDIS_HOSTS:?missing from constants.sh (scripts ConfigMap)}"
: "${SENTINEL_WAIT:?missing from constants.sh (scripts ConfigMap)}"

# True when $1 is an IP address or a name that resolves.
resolvable() {
  case $1 in
    *[!0-9.]*) ;;
    *) return 0 ;;
  esac
  getent hosts "$1" >/dev/null 2>&1 || nslookup "$1" >/dev/null 2>&1
}

load_auth
# A stable id: a restarted Sentinel is the same voter, not a new one.
MYID=$(printf '%s' "$SELF_FQDN" | sha1sum | cut -c1-40)

peer=$(current_master "$SELF_FQDN" "")
saved=''
saved_current=0
if [ -f "$SENTINEL_CONF" ]; then
  saved=$(awk -v m="$MASTER_NAME" '
    $1 == "sentinel" && $2 == "monitor" && $3 == m { h = $4; p = $5 }
    $1 == "sentinel" && $2 == "config-epoch" && $3 == m { e = $4 }
    END {
      if (e == "") e = 0
      if (h ~ /^[A-Za-z0-9.:-]+$/ && p ~ /^[0-9]+$/ && e ~ /^[0-9]+$/) print e, h, p
    }' "$SENTINEL_CONF")
  saved_current=$(awk '$1 == "sentinel" && $2 == "current-epoch" && $3 ~ /^[0-9]+$/ { c = $3 } END { print c + 0 }' "$SENTINEL_CONF")
fi

# No Sentinel knows anything: waits until the Redis pods tell (newest_redis in lib.sh), asking
# the peers again meanwhile (one that started since knows). Prints "<epoch> <host> <port> <source>".
adopt_newest() {
  since=0
  while :; do
    p=$(current_master "$SELF_FQDN" "")
    if [ -n "$p" ]; then
      echo "$p the live Sentinels"
      return 0
    fi
    verdict=$(newest_redis)
    case $verdict in
      ok\ *)
        echo "${verdict#ok } what the Redis pods hold (no Sentinel had state)"
        return 0
        ;;
    esac
    if [ $(( $(date +%s) - since )) -ge "$SENTINEL_WAIT" ]; then
      since=$(date +%s)
      log "waiting: no Sentinel has state for $MASTER_NAME and the Redis pods cannot tell which holds the newest data yet: ${verdict#wait }"
    fi
    sleep 1
  done
}

# With some Sentinel state, newer facts of the Redis pods that answer now (no wait) win over it (a
# Sentinel that was down during a failover). Without any, every Redis pod must answer: adopt_newest.
facts=''
if [ -n "$saved$peer" ]; then
  facts=$(redis_facts)
  [ -n "$facts" ] && facts="$facts $REDIS_PORT"
fi
chosen=''
for candidate in "$peer|the live Sentinels" "$saved|its own saved state" "$facts|the facts the Redis pods keep"; do
  c=${candidate%%|*}
  [ -n "$c" ] || continue
  if [ -z "$chosen" ] || [ "${c%% *}" -gt "${chosen%% *}" ]; then
    chosen=$c
    source=${candidate#*|}
  fi
done
if [ -z "$chosen" ]; then
  a=$(adopt_newest)
  # shellcheck disable=SC2086
  set -- $a
  chosen="$1 $2 $3"
  shift 3
  source=$*
fi
# shellcheck disable=SC2086
set -- $chosen
epoch=$1
host=$2
port=$3
current=$epoch
if [ "$saved_current" -gt "$current" ]; then
  current=$saved_current
fi
log "monitoring $MASTER_NAME at $host:$port (config epoch $epoch), from $source"

# Sentinel refuses a monitor line whose name does not resolve yet (pod not yet scheduled).
deadline=$(( $(date +%s) + RESOLVE_WAIT ))
until resolvable "$host"; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "$host does not resolve yet; starting anyway"
    break
  fi
  sleep 1
done

SENTINEL_AS=''
PEER_AS=''
if [ -n "$ACL_USERS_SENTINEL" ] && [ -n "$AUTH_FILE" ]; then
  SENTINEL_AS=$(acl_start_as sentinel "$REDIS_HOSTS" "$REDIS_PORT")
  PEER_AS=$(acl_start_as sentinel-peer "$SENTINEL_HOSTS" "$SENTINEL_PORT")
fi
umask 077
tmp="$SENTINEL_CONF.tmp"
sed "s|^sentinel monitor $MASTER_NAME [^ ]* [0-9]* |sentinel monitor $MASTER_NAME $host $port |" "$SENTINEL_TEMPLATE" > "$tmp"
{
  echo "sentinel myid $MYID"
  echo "sentinel announce-ip $SELF_FQDN"
  if [ -n "$AUTH_FILE" ]; then
    check_password
    pw=$(conf_quote "$REDISCLI_AUTH")
    if [ -n "$ACL_USERS_SENTINEL" ]; then
      # ACL users: the default user (this password, and during a rotation <key>-next/-previous)
      # serves the scripts; Sentinel reaches Redis and its peers as its own users.
      echo "user default on$(acl_hashes "$AUTH_FILE") ~* &* +@all"
      acl_conf "$ACL_USERS_SENTINEL"
      # Assignments: set -e stops the script when a password is missing.
      spw=$(acl_password sentinel)
      ppw=$(acl_password sentinel-peer)
      # As the default user while a pod of the release from before acl was turned on has no such
      # user (SENTINEL_AS, PEER_AS: acl_start_as, below).
      if [ "$SENTINEL_AS" = default ]; then
        echo "sentinel auth-pass $MASTER_NAME $pw"
      else
        echo "sentinel auth-user $MASTER_NAME sentinel"
        echo "sentinel auth-pass $MASTER_NAME $spw"
      fi
      if [ "$PEER_AS" = default ]; then
        echo "sentinel sentinel-pass $pw"
      else
        echo "sentinel sentinel-user sentinel-peer"
        echo "sentinel sentinel-pass $ppw"
      fi
    else
      echo "requirepass $pw"
      echo "sentinel auth-pass $MASTER_NAME $pw"
    fi
  fi
  echo "sentinel config-epoch $MASTER_NAME $epoch"
  echo "sentinel current-epoch $current"
} >> "$tmp"
mv "$tmp" "$SENTINEL_CONF"
tls_record_loaded "$SENTINEL_TLS_LOADED"
state=$SENTINEL_ACL_STATE
if [ -n "$ACL_DIR" ]; then
  mkdir -p "$state"
  acl_files_sum "$ACL_USERS_SENTINEL" > "$state/loaded"
  acl_record_sent sentinel "$state/sent-sentinel" "$SENTINEL_AS"
  acl_record_sent sentinel-peer "$state/sent-peer" "$PEER_AS"
fi
if [ -n "$ACL_DIR" ] || [ -n "$TLS_DIR" ]; then
  # The watcher: runs beside redis-sentinel (this pid, after exec) for its whole life, every 10 s.
  # With TLS: tells the peers which certificate files this Sentinel loaded (a connection named
  # "$TLS_CLIENT:<sum>") and, when the files changed, restarts it once its turn has come
  # (tls_restart_wait): SIGTERM, and the kubelet starts the container again. With ACL users:
  # changed passwords (acl_reload), then what Sentinel sends to Redis (auth-pass) and to its peers
  # (sentinel-pass) once every Redis pod / every Sentinel accepts the new one.
  (
    set +e
    trap '' PIPE
    loaded=$(cat "$SENTINEL_TLS_LOADED" 2>/dev/null)
    waiting=''
    sleep 1
    while kill -0 $$ 2>/dev/null; do
      if [ -n "$TLS_DIR" ]; then
        hold_name "$SENTINEL_PORT" "$TLS_CLIENT:$loaded" "${SENTINEL_CONF%/*}/tls-name.fifo"
        if [ "$(tls_files_sum)" != "$loaded" ]; then
          why=$(tls_restart_wait)
          if [ -z "$why" ]; then
            log "TLS: the certificate files changed and Sentinel cannot load them while it runs: restarting it now (every other Sentinel answers; those before it in SENTINEL_HOSTS have loaded them)"
            kill -TERM $$
            exit 0
          fi
          [ "$why" = "$waiting" ] || log "TLS: the certificate files changed; this Sentinel restarts to load them when its turn comes; waiting: $why"
          waiting=$why
        fi
      fi
      if [ -n "$ACL_DIR" ]; then
        acl_reload "$SENTINEL_PORT" "$ACL_USERS_SENTINEL" "$state"
        acl_send_when_accepted sentinel "$REDIS_HOSTS" "$REDIS_PORT" "$SENTINEL_PORT" "$state/sent-sentinel" "SENTINEL SET $MASTER_NAME auth-user sentinel" SENTINEL SET "$MASTER_NAME" auth-pass
        acl_send_when_accepted sentinel-peer "$SENTINEL_HOSTS" "$SENTINEL_PORT" "$SENTINEL_PORT" "$state/sent-peer" "SENTINEL CONFIG SET sentinel-user sentinel-peer" SENTINEL CONFIG SET sentinel-pass
      fi
      sleep 10
    done
  ) &
fi
exec redis-sentinel "$SENTINEL_CONF"
