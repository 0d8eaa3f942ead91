#!/bin/sh
# Restore (init container of the bootstrap master): on the FIRST start only (empty data volume, no
# restore marker) and only when no Sentinel names another master, checks the chosen RDB with
# `redis-check-rdb`, loads it into a temporary Redis without AOF (Redis with `appendonly yes`
# ignores an RDB file), turns AOF on so Redis writes the AOF from the loaded data, and leaves a
# marker so that later starts never restore again. The Redis container then starts from that data.
# Env (the container's): RESTORE_FROM (a file name in RESTORE_DIR, or `latest` for the newest
# <BACKUP_PREFIX>-<UTC time>.rdb), RESTORE_DIR (the backups' volume), BACKUP_PREFIX, DATA_DIR
# (Redis' data volume), WORK_DIR (writable scratch), SELF_FQDN (this pod's stable DNS name).
# Per-release values: constants.sh (see lib.sh).
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SELF_FQDN:?SELF_FQDN must be set to the DNS name of this pod}"
: "${RESTORE_FROM:?must be set in the env of the restore container}"
: "${RESTORE_DIR:?must be set in the env of the restore container}"
: "${BACKUP_PREFIX:?must be set in the env of the restore container}"
: "${DATA_DIR:?must be set in the env of the restore container}"
: "${WORK_DIR:?must be set in the env of the restore container}"
: "${REDIS_TEMPLATE:?missing from constants.sh (scripts ConfigMap)}"
MARKER="$DATA_DIR/restored-from"
FAIL_PREFIX='restore FAILED'

if [ -e "$MARKER" ]; then
  log "restore: done before ($(cat "$MARKER")); never again"
  exit 0
fi
existing=$(find "$DATA_DIR" -mindepth 1 -maxdepth 1 ! -name lost+found | head -n 5)
if [ -n "$existing" ]; then
  log "restore: $DATA_DIR already holds data ($(echo "$existing" | tr "\n" " ")); not restoring over it"
  exit 0
fi
load_auth
master=$(current_master "" "$SELF_FQDN")
if [ -n "$master" ]; then
  # shellcheck disable=SC2086
  set -- $master
  if [ "$2" != "$SELF_FQDN" ]; then
    log "restore: the Sentinels name $2 as master; this pod starts as its replica and copies its data: not restoring"
    exit 0
  fi
fi

if [ "$RESTORE_FROM" = latest ]; then
  file=$(backups_in "$RESTORE_DIR" | tail -n 1)
  if [ -z "$file" ]; then
    fail "no backup file in $RESTORE_DIR is named $BACKUP_PREFIX-<YYYYMMDDTHHMMSSZ>.rdb"
  fi
else
  file=$RESTORE_FROM
fi
src="$RESTORE_DIR/$file"
if [ ! -f "$src" ]; then
  fail "$src does not exist; the newest backups there: $(backups_in "$RESTORE_DIR" | sort -r | head -n 5 | tr "\n" " ")"
fi
if ! redis-check-rdb "$src" >"$WORK_DIR/check.log" 2>&1; then
  fail "redis-check-rdb rejects $src: $(grep -v "^\[offset" "$WORK_DIR/check.log" | head -n 3 | tr "\n" " ")"
fi
log "restore: $src is a valid RDB file; loading it"

rdb=restore.rdb
cp "$src" "$DATA_DIR/$rdb.partial"
mv "$DATA_DIR/$rdb.partial" "$DATA_DIR/$rdb"
# A private server: no TCP port, a socket in the scratch directory, no auth needed.
sock="$WORK_DIR/restore.sock"
local_cli() {
  env -u REDISCLI_AUTH redis-cli -s "$sock" "$@" 2>/dev/null | tr -d "\r"
}
redis-server "$REDIS_TEMPLATE" --port 0 --unixsocket "$sock" --unixsocketperm 700 --appendonly no --save "" --dbfilename "$rdb" --dir "$DATA_DIR" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
until [ "$(local_cli PING || true)" = "PONG" ]; do
  kill -0 "$pid" 2>/dev/null || fail "redis-server exited while loading $src (see its log above)"
  sleep 1
done
keys=$(local_cli DBSIZE)
# Redis with AOF on ignores RDB files: turning AOF on writes the AOF from the loaded data.
if [ "$(local_cli CONFIG SET appendonly yes || true)" != "OK" ]; then
  fail "could not turn AOF on in the temporary server"
fi
while :; do
  info=$(local_cli INFO persistence || true)
  if echo "$info" | grep -q "^aof_last_bgrewrite_status:err"; then
    fail "writing the AOF failed (volume full?)"
  fi
  if echo "$info" | grep -q "^aof_enabled:1" && echo "$info" | grep -q "^aof_rewrite_in_progress:0" \
    && echo "$info" | grep -q "^aof_rewrite_scheduled:0"; then
    break
  fi
  kill -0 "$pid" 2>/dev/null || fail "redis-server exited while writing the AOF"
  sleep 1
done
local_cli SHUTDOWN NOSAVE >/dev/null || true
wait "$pid" || true
trap - EXIT
rm -f "$DATA_DIR/$rdb"
echo "$file restored $(date -u +%Y-%m-%dT%H:%M:%SZ) keys=$keys" > "$MARKER"
log "restore: $keys keys from $file; Redis starts from them (this never happens again for this volume)"
