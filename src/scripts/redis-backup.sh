#!/bin/sh
# Backup (the backup CronJob's container): asks the Sentinels for the master and a healthy replica
# of it, streams a snapshot from the replica (the master only when no replica is healthy, and says
# so) with `redis-cli --rdb`, checks it with `redis-check-rdb`, moves it into place as
# <BACKUP_PREFIX>-<UTC time>.rdb and keeps the newest BACKUP_RETAIN backups. Exits non-zero on any
# failure (those it checks for log one "backup FAILED: ..." line) and leaves no partial file behind.
# Env (the container's, so that changing them rolls no Redis pod): BACKUP_DIR, BACKUP_PREFIX,
# BACKUP_RETAIN, BACKUP_STALE_MINUTES (partial files older than this are leftovers of killed runs),
# WORK_DIR (writable scratch; the file's name goes to $WORK_DIR/backup-name for s3-upload.sh).
# Per-release values: constants.sh (see lib.sh).
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${BACKUP_DIR:?must be set in the env of the backup container}"
: "${BACKUP_PREFIX:?must be set in the env of the backup container}"
: "${BACKUP_RETAIN:?must be set in the env of the backup container}"
: "${BACKUP_STALE_MINUTES:?must be set in the env of the backup container}"
: "${WORK_DIR:?must be set in the env of the backup container}"
FAIL_PREFIX='backup FAILED'

# Prints "<offset> <host> <port>" of every replica Sentinel $1 sees healthy (flags exactly
# "slave", master link ok) and replicating from $2:$3.
healthy_replicas() {
  { cli -h "$1" -p "$SENTINEL_PORT" --raw SENTINEL REPLICAS "$MASTER_NAME" || true; } | tr -d "\r" | awk -v mh="$2" -v mp="$3" '
    function flush() {
      if (name != "" && flags == "slave" && link == "ok" && host == mh && port == mp && ip ~ /^[A-Za-z0-9.:-]+$/ && rport ~ /^[0-9]+$/)
        print (off ~ /^[0-9]+$/ ? off : 0), ip, rport
    }
    NR % 2 == 1 { k = $0; next }
    k == "name" { flush(); name = $0; ip = ""; rport = ""; flags = ""; link = ""; host = ""; port = ""; off = "" }
    k == "ip" { ip = $0 }
    k == "port" { rport = $0 }
    k == "flags" { flags = $0 }
    k == "master-link-status" { link = $0 }
    k == "master-host" { host = $0 }
    k == "master-port" { port = $0 }
    k == "slave-repl-offset" { off = $0 }
    END { flush() }'
}

load_auth
if [ ! -d "$BACKUP_DIR" ] || [ ! -w "$BACKUP_DIR" ]; then
  fail "cannot write to $BACKUP_DIR: is the backup volume mounted and writable by this user?"
fi
# Leftovers of runs killed before their cleanup (activeDeadlineSeconds, node loss).
find "$BACKUP_DIR" -maxdepth 1 -name ".$BACKUP_PREFIX-*.partial" -mmin "+$BACKUP_STALE_MINUTES" -exec rm -f {} \;

master=$(current_master "" "")
if [ -z "$master" ]; then
  fail "no Sentinel answered ($SENTINEL_HOSTS): cannot tell the master from the replicas"
fi
# shellcheck disable=SC2086
set -- $master
mhost=$2
mport=$3
log "the Sentinels name $mhost:$mport as master of $MASTER_NAME (config epoch $1)"

candidate=''
for s in $SENTINEL_HOSTS; do
  candidate=$(healthy_replicas "$s" "$mhost" "$mport" | sort -n -r | head -n 1)
  [ -n "$candidate" ] && break
done
role=''
if [ -n "$candidate" ]; then
  # shellcheck disable=SC2086
  set -- $candidate
  # The Sentinels' view can be a second old: the replica itself must confirm its link.
  if cli -h "$2" -p "$3" INFO replication | tr -d "\r" | grep -q "^master_link_status:up$"; then
    host=$2
    port=$3
    role=replica
  else
    log "replica $2:$3 does not confirm its link to the master"
  fi
fi
if [ -z "$role" ]; then
  host=$mhost
  port=$mport
  role=master
  log "no healthy replica of $MASTER_NAME: taking the snapshot from the MASTER $host (it forks to write it)"
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
name="$BACKUP_PREFIX-$stamp.rdb"
final="$BACKUP_DIR/$name"
partial="$BACKUP_DIR/.$name.partial"
if [ -e "$final" ]; then
  fail "$final exists already (two backups in the same second?)"
fi
pid=''
# Whatever happens, no partial file stays behind.
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -f "$partial"' EXIT
trap 'log "backup FAILED: terminated (activeDeadlineSeconds?)"; exit 143' TERM INT
# redis-cli has no connect timeout here: find out first, within CLI_TIMEOUT, whether it answers.
pong=$(cli -h "$host" -p "$port" PING | tr -d "\r" || true)
if [ "$pong" != "PONG" ]; then
  fail "cannot reach the $role $host:$port (PING answered '${pong:-nothing}'): is Redis up, and does the NetworkPolicy admit this pod?"
fi
start=$(date +%s)
log "streaming a snapshot from the $role $host:$port"
tcli exec -h "$host" -p "$port" --rdb "$partial" >"$WORK_DIR/rdb.log" 2>&1 &
pid=$!
if ! wait "$pid"; then
  pid=''
  fail "redis-cli --rdb from the $role $host:$port failed: $(tail -n 3 "$WORK_DIR/rdb.log" | tr "\n" " ")"
fi
pid=''
if [ ! -s "$partial" ]; then
  fail "the snapshot from $host:$port is empty"
fi
if ! redis-check-rdb "$partial" >"$WORK_DIR/check.log" 2>&1; then
  fail "redis-check-rdb rejects the snapshot from $host:$port: $(grep -v "^\[offset" "$WORK_DIR/check.log" | head -n 3 | tr "\n" " ")"
fi
keys=$(sed -n "s/^\[info\] \([0-9]*\) keys read$/\1/p" "$WORK_DIR/check.log" | head -n 1)
sync
mv "$partial" "$final"
sync
bytes=$(wc -c < "$final" | tr -d " ")
# For the upload container, when there is one.
printf '%s\n' "$name" > "$WORK_DIR/backup-name"
log "backup ok: $name, $bytes bytes, ${keys:-?} keys, from the $role $host, in $(( $(date +%s) - start ))s"

# Retention: the newest BACKUP_RETAIN backups stay (names sort by time).
backups_in "$BACKUP_DIR" | sort -r | tail -n "+$(( BACKUP_RETAIN + 1 ))" | while read -r old; do
  rm -f "$BACKUP_DIR/$old"
  log "retention: removed $old"
done
log "kept: $(backups_in "$BACKUP_DIR" | sort -r | tr "\n" " ")"
