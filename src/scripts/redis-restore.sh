#!/bin/sh
# Restore (init container of the bootstrap master): on the FIRST start only (no Redis data on the
# volume, no restore marker) and only when no Sentinel names another master, checks the chosen RDB
# with `redis-check-rdb`, loads it into a temporary Redis without AOF (Redis with `appendonly yes`
# ignores an RDB file), turns AOF on so Redis writes the AOF from the loaded data, moves that AOF
# into place and leaves a marker so that later starts never restore again. The Redis container
# then starts from that data.
# Retry-safe: all work happens in a staging directory on the data volume whose name is none of
# Redis' own (STAGE below), removed at every start; only Redis' own files count as data
# (redis_data_in), and they appear only once complete (one rename). A restore that fails exits 1
# with one "restore FAILED: ..." line at every attempt, so the pod never starts without its data.
# Env (the container's): RESTORE_FROM (a file name in RESTORE_DIR, or `latest` for the newest
# <BACKUP_PREFIX>-<UTC time>.rdb), RESTORE_DIR (the backups' volume, or where the restore-fetch
# init container put the object), BACKUP_PREFIX, DATA_DIR (Redis' data volume), WORK_DIR (writable
# scratch), SELF_FQDN (this pod's stable DNS name). Per-release values: constants.sh (see lib.sh).
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
STAGE="$DATA_DIR/.restore-staging"
FAIL_PREFIX='restore FAILED'
# With restore.s3, RESTORE_DIR is restore-fetch's download directory on the data volume: removed
# once this script is done with it (kept after a failure: the kubelet reruns only this container).
fetched=''
case $RESTORE_DIR in
  "$DATA_DIR"/*) fetched=$RESTORE_DIR ;;
esac
finish() {
  [ -z "$fetched" ] || rm -rf "$fetched"
  exit 0
}

if [ -e "$MARKER" ]; then
  log "restore: done before ($(cat "$MARKER")); never again"
  rm -rf "$STAGE"
  finish
fi
# A run stopped between moving the AOF into place and the marker: the data is complete.
if [ -f "$STAGE/restored-from" ] && [ -n "$(redis_data_in "$DATA_DIR")" ]; then
  mv "$STAGE/restored-from" "$MARKER"
  rm -rf "$STAGE"
  log "restore: done before ($(cat "$MARKER")); never again"
  finish
fi
# Leftovers of an attempt that did not finish (and restore.rdb of releases before this one).
rm -rf "$STAGE" "$DATA_DIR/restore.rdb" "$DATA_DIR/restore.rdb.partial"
existing=$(redis_data_in "$DATA_DIR")
if [ -n "$existing" ]; then
  log "restore: $DATA_DIR already holds Redis data ($existing); not restoring over it"
  finish
fi
load_auth
master=$(current_master "" "$SELF_FQDN")
if [ -n "$master" ]; then
  # shellcheck disable=SC2086
  set -- $master
  if [ "$2" != "$SELF_FQDN" ]; then
    log "restore: the Sentinels name $2 as master; this pod starts as its replica and copies its data: not restoring"
    finish
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

mkdir "$STAGE"
rdb=restore.rdb
cp "$src" "$STAGE/$rdb" || fail "could not copy $src into $STAGE (volume full?)"
# A private server: no TCP port (no TLS port either), a socket in the scratch directory, no auth needed.
sock="$WORK_DIR/restore.sock"
local_cli() {
  env -u REDISCLI_AUTH redis-cli -s "$sock" "$@" 2>/dev/null | tr -d "\r"
}
# shellcheck disable=SC2086
redis-server "$REDIS_TEMPLATE" --port 0 ${TLS_DIR:+--tls-port 0} --unixsocket "$sock" --unixsocketperm 700 --appendonly no --save "" \
  --dbfilename "$rdb" --dir "$STAGE" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
until [ "$(local_cli PING || true)" = "PONG" ]; do
  kill -0 "$pid" 2>/dev/null || fail "the temporary redis-server exited while loading $src (see its log above)"
  sleep 1
done
keys=$(local_cli DBSIZE)
# Redis with AOF on ignores RDB files: turning AOF on writes the AOF from the loaded data.
if [ "$(local_cli CONFIG SET appendonly yes || true)" != "OK" ]; then
  # The socket tells whether it is gone (a killed child can linger as a zombie for kill -0).
  [ "$(local_cli PING || true)" = "PONG" ] || fail "the temporary redis-server exited after loading $src (see its log above)"
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
  kill -0 "$pid" 2>/dev/null || fail "the temporary redis-server exited while writing the AOF (see its log above)"
  sleep 1
done
local_cli SHUTDOWN NOSAVE >/dev/null || true
# Only a clean exit counts: a server that died instead (killed, out of memory) may have left
# anything behind, and a retry costs one more load.
status=0
wait "$pid" || status=$?
trap - EXIT
[ "$status" = 0 ] || fail "the temporary redis-server exited with status $status while shutting down after writing the AOF"
aof="$STAGE/appendonlydir"
if [ -z "$(redis_data_in "$STAGE")" ] || [ ! -d "$aof" ]; then
  fail "the temporary server left no AOF in $STAGE"
fi
echo "$file restored $(date -u +%Y-%m-%dT%H:%M:%SZ) keys=$keys" > "$STAGE/restored-from"
sync
# The data appears in one rename, complete; then the marker (see the start of this script). An
# appendonlydir there holds no manifest with data (checked above): a leftover, not data.
rm -rf "$DATA_DIR/appendonlydir"
mv "$aof" "$DATA_DIR/appendonlydir"
mv "$STAGE/restored-from" "$MARKER"
sync
rm -rf "$STAGE"
log "restore: $keys keys from $file; Redis starts from them (this never happens again for this volume)"
finish
