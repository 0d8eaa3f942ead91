#!/bin/sh
# Redis entrypoint, run at EVERY start of the container (an init container would not rerun after
# a crash or liveness restart): decides this pod's role by asking the Sentinels, writes the
# runtime config to a private writable volume, then execs redis-server. It starts as the replica
# of the master the Sentinels name, or as master when they name this pod. When no Sentinel answers
# it never takes the master role on its own (it may hold older data than a pod promoted while it
# was down): it runs fenced (lib.sh) until a Sentinel names the master. A background watcher
# (watch_role) unfences it then, and keeps this pod's facts (lib.sh) on its data volume.
# Env: SELF_FQDN, this pod's stable DNS name. Per-release values: constants.sh (see lib.sh).
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SELF_FQDN:?SELF_FQDN must be set to the DNS name of this pod}"
: "${BOOTSTRAP_MASTER_HOST:?missing from constants.sh (scripts ConfigMap)}"
: "${REDIS_TEMPLATE:?missing from constants.sh (scripts ConfigMap)}"
: "${REDIS_CONF:?missing from constants.sh (scripts ConfigMap)}"
: "${SENTINEL_WAIT:?missing from constants.sh (scripts ConfigMap)}"
: "${REDIS_HOSTS:?missing from constants.sh (scripts ConfigMap)}"

DATA_DIR=$(awk '$1 == "dir" { d = $2 } END { print d }' "$REDIS_TEMPLATE")
FACTS="${DATA_DIR:-.}/role.facts"
RUN_DIR=$(dirname "$REDIS_CONF")
# The replica-priority the template gives (Redis' default 100): a replica starts at 0 and gets it
# back once it has synced, so Sentinel never promotes a replica holding nothing of the master yet.
PRIORITY=$(awk '$1 == "replica-priority" { p = $2 } END { print (p == "" ? 100 : p) }' "$REDIS_TEMPLATE")

# Records "<epoch> <host>" (the Sentinels named host master at that epoch) on the data volume.
record_facts() {
  [ "$(read_facts "$FACTS")" = "$1 $2" ] && return 0
  printf '%s %s\n' "$1" "$2" > "$FACTS.tmp"
  mv "$FACTS.tmp" "$FACTS"
  sync 2>/dev/null || true
}

# This pod's revision (REDIS_REVISION, from the pod template), in the process title: its peers read
# it (CONFIG GET proc-title-template) and so does ps. A departing master waits, in a rolling update,
# until the pods that roll before it run another revision than its own (redis-prestop.sh).
revision_conf() {
  case ${REDIS_REVISION:-} in
    ''|*[!0-9a-f]*) ;;
    *) echo "proc-title-template \"{title} {listen-addr} {server-mode} rev=$REDIS_REVISION\"" ;;
  esac
}

# Writes the runtime config: $1 master, replica (of $2:$3) or fenced.
write_config() {
  # With ACL users, a replica logs in as replication, or as the default user while a Redis pod of
  # the release from before acl was turned on has no such user (acl_start_as).
  REPLICATION_AS=''
  [ -z "$ACL_USERS_REDIS" ] || [ -z "$AUTH_FILE" ] || REPLICATION_AS=$(acl_start_as replication "$REDIS_HOSTS" "$REDIS_PORT")
  umask 077
  tmp="$REDIS_CONF.tmp"
  cp "$REDIS_TEMPLATE" "$tmp"
  {
    echo "replica-announce-ip $SELF_FQDN"
    echo "replica-announce-port $REDIS_PORT"
    if [ -n "$AUTH_FILE" ]; then
      check_password
      pw=$(conf_quote "$REDISCLI_AUTH")
      if [ -n "$ACL_USERS_REDIS" ]; then
        # ACL users: the default user (this password, and during a rotation <key>-next/-previous)
        # serves the scripts; replicas use their own.
        echo "user default on$(acl_hashes "$AUTH_FILE") ~* &* +@all"
        acl_conf "$ACL_USERS_REDIS"
        # An assignment: set -e stops the script when the password is missing.
        mpw=$(acl_password replication)
        if [ "$REPLICATION_AS" = default ]; then
          echo "masterauth $pw"
        else
          echo "masteruser replication"
          echo "masterauth $mpw"
        fi
      else
        echo "requirepass $pw"
        echo "masterauth $pw"
      fi
    fi
    case $1 in
      replica) echo "replicaof $2 $3"; echo "replica-priority 0" ;;
      fenced) echo "replicaof $FENCE_HOST $FENCE_PORT"; echo "replica-priority 0" ;;
    esac
    revision_conf
  } >> "$tmp"
  mv "$tmp" "$REDIS_CONF"
}

# Keeps this pod's facts published (see lib.sh) as the name of a connection to the local Redis.
publish_facts() {
  f=$(read_facts "$FACTS")
  name="$FACTS_CLIENT:none"
  [ -n "$f" ] && name="$FACTS_CLIENT:${f% *}:${f#* }"
  hold_name "$REDIS_PORT" "$name" "$RUN_DIR/facts.fifo"
}

# Fenced: asks the Sentinels; when one names the master, takes the role it gives this pod.
unfence() {
  master=$(current_master "" "$SELF_FQDN")
  if [ -z "$master" ]; then
    if [ $(( $(date +%s) - ${waiting_logged:-0} )) -ge "$SENTINEL_WAIT" ]; then
      waiting_logged=$(date +%s)
      f=$(read_facts "$FACTS")
      log "waiting: no Sentinel answers ($SENTINEL_HOSTS); this pod stays fenced (read-only, unready, never promoted) until one names the master, as it may hold older data than another pod (its facts: ${f:-none})"
    fi
    return 0
  fi
  # shellcheck disable=SC2086
  set -- $master
  if [ "$2" = "$SELF_FQDN" ]; then
    cli -p "$REDIS_PORT" REPLICAOF NO ONE > /dev/null || return 0
    cli -p "$REDIS_PORT" CONFIG SET replica-priority "$PRIORITY" > /dev/null || true
    log "the Sentinels name this pod as master of $MASTER_NAME (config epoch $1): serving as master"
  else
    cli -p "$REDIS_PORT" REPLICAOF "$2" "$3" > /dev/null || return 0
    log "the Sentinels name $2:$3 as master of $MASTER_NAME (config epoch $1): replicating it"
  fi
  record_facts "$1" "$2"
}

# Runs beside redis-server (pid $1) for its whole life, once a second: unfences the pod when a
# Sentinel names the master; gives a synced replica its replica-priority back; records the facts
# when this pod's role or master changed and the Sentinels confirm it; keeps them published.
watch_role() {
  set +e
  trap '' PIPE
  server=$1
  until [ "$(cli -p "$REDIS_PORT" PING | tr -d "\r")" = PONG ]; do
    kill -0 "$server" 2>/dev/null || return 0
    sleep 1
  done
  asked=0
  while kill -0 "$server" 2>/dev/null; do
    publish_facts
    info=$({ cli -p "$REDIS_PORT" INFO replication || true; } | tr -d "\r")
    v() { echo "$info" | sed -n "s/^$1://p"; }
    role=$(v role)
    view=''
    if [ "$role" = slave ] && [ "$(v master_host)" = "$FENCE_HOST" ] && [ "$(v master_port)" = "$FENCE_PORT" ]; then
      unfence
    elif [ "$role" = master ]; then
      view=$SELF_FQDN
    elif [ "$role" = slave ] && [ "$(v master_link_status)" = up ] && [ "$(v master_sync_in_progress)" = 0 ]; then
      view=$(v master_host)
      # Once per start: a priority an operator sets later (CONFIG SET) stays.
      if [ -z "${prioritised:-}" ] && [ "$(v slave_priority)" = 0 ] && [ "$PRIORITY" != 0 ]; then
        cli -p "$REDIS_PORT" CONFIG SET replica-priority "$PRIORITY" > /dev/null && prioritised=1 && log "synced from $view: replica-priority $PRIORITY"
      fi
    fi
    f=$(read_facts "$FACTS")
    if [ -n "$view" ] && [ "$view" != "${f#* }" ] && [ $(( $(date +%s) - asked )) -ge 5 ]; then
      asked=$(date +%s)
      # shellcheck disable=SC2046
      set -- $(current_master "" "")
      if [ "${2:-}" = "$view" ]; then
        record_facts "$1" "$2"
      fi
    fi
    # Every 10 s: renewed certificates, changed passwords (acl_reload), then the replication
    # password sent to masters once every Redis pod accepts it.
    tick=$(( (${tick:-0} + 1) % 10 ))
    if [ "$tick" = 0 ]; then
      tls_reload "$REDIS_PORT" "$REDIS_TLS_LOADED"
      acl_reload "$REDIS_PORT" "$ACL_USERS_REDIS" "$REDIS_ACL_STATE"
      if [ -n "$ACL_DIR" ]; then
        was=$(cat "$REDIS_ACL_STATE/sent" 2>/dev/null)
        acl_send_when_accepted replication "$REDIS_HOSTS" "$REDIS_PORT" "$REDIS_PORT" "$REDIS_ACL_STATE/sent" "CONFIG SET masteruser replication" CONFIG SET masterauth
        # From the default user to replication: the link to the master logs in again, as replication
        # (a partial resync: the replica continues where it was).
        if [ "$was" = default ] && [ "$(cat "$REDIS_ACL_STATE/sent" 2>/dev/null)" != default ]; then
          cli -p "$REDIS_PORT" CLIENT KILL TYPE master > /dev/null
        fi
      fi
    fi
    sleep 1
  done
}

# Records what the server about to start accepts and sends (see acl_reload).
acl_record_loaded() {
  [ -n "$ACL_DIR" ] || return 0
  mkdir -p "$REDIS_ACL_STATE"
  acl_files_sum "$ACL_USERS_REDIS" > "$REDIS_ACL_STATE/loaded"
  acl_record_sent replication "$REDIS_ACL_STATE/sent" "$REPLICATION_AS"
}

load_auth
master=$(current_master "" "$SELF_FQDN")
if [ -n "$master" ]; then
  # shellcheck disable=SC2086
  set -- $master
  log "the Sentinels name $2:$3 as master of $MASTER_NAME (config epoch $1)"
  record_facts "$1" "$2"
  if [ "$2" = "$SELF_FQDN" ]; then
    write_config master
    log "starting as master"
  else
    write_config replica "$2" "$3"
    log "starting as replica of $2:$3"
  fi
else
  write_config fenced
  f=$(read_facts "$FACTS")
  log "no Sentinel answered: starting fenced (read-only replica of nothing, never promoted) until one names the master (this pod's facts: ${f:-none})"
  waiting_logged=$(date +%s)
fi
tls_record_loaded "$REDIS_TLS_LOADED"
acl_record_loaded
watch_role $$ &
exec redis-server "$REDIS_CONF"
