#!/bin/sh
# Restore fetch (init container of the bootstrap master before `restore` when `restore.s3` is set;
# the rclone image): on a first start (no restore marker, no Redis data on the volume) downloads the
# chosen backup object from S3 into RESTORE_DIR (a directory on the data volume that the restore
# init container removes once done), where `restore` checks and loads it with the same safety as a
# local restore (it alone asks the Sentinels whether to restore at all). The object is downloaded
# to a .partial file, its SHA-256 compared with the one the upload stored in its metadata, then
# renamed: RESTORE_DIR never holds a partial backup. Retry-safe (RESTORE_DIR is emptied at every
# start); any failure exits 1 with one "restore FAILED: ..." line, so the pod never starts empty.
# Env: RESTORE_FROM (an object name under S3_PATH, or `latest`), RESTORE_DIR, BACKUP_PREFIX,
# DATA_DIR, WORK_DIR, S3_PATH (`s3:<bucket>/<prefix>`), and rclone's own RCLONE_CONFIG_S3_*.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${RESTORE_FROM:?must be set in the env of the restore-fetch container}"
: "${RESTORE_DIR:?must be set in the env of the restore-fetch container}"
: "${BACKUP_PREFIX:?must be set in the env of the restore-fetch container}"
: "${DATA_DIR:?must be set in the env of the restore-fetch container}"
: "${WORK_DIR:?must be set in the env of the restore-fetch container}"
: "${S3_PATH:?must be set in the env of the restore-fetch container}"
FAIL_PREFIX='restore FAILED'

rm -rf "$RESTORE_DIR"
if [ -e "$DATA_DIR/restored-from" ] || [ -n "$(redis_data_in "$DATA_DIR")" ]; then
  log "restore-fetch: $DATA_DIR holds Redis data or was restored before: nothing to fetch"
  exit 0
fi
: > "$WORK_DIR/rclone.log"
if [ "$RESTORE_FROM" = latest ]; then
  if ! listing=$(rc lsf --files-only --max-depth 1 "$S3_PATH/"); then
    fail "cannot list $S3_PATH/: $(why)(endpoint, bucket, credentials, NetworkPolicy egress?)"
  fi
  name=$(printf '%s\n' "$listing" | backup_names | tail -n 1)
  [ -n "$name" ] || fail "no object in $S3_PATH/ is named $BACKUP_PREFIX-<YYYYMMDDTHHMMSSZ>.rdb"
else
  name=$RESTORE_FROM
fi
if ! meta=$(rc lsjson --metadata --files-only "$S3_PATH/$name"); then
  fail "cannot read $S3_PATH/$name: $(why)"
fi
case $meta in
  *'"Name":'*) ;;
  *) fail "$S3_PATH/$name does not exist; the newest backups there: $(rc lsf --files-only --max-depth 1 "$S3_PATH/" | backup_names | sort -r | head -n 5 | tr "\n" " ")" ;;
esac
want=$(printf '%s' "$meta" | sed -n 's/.*"sha256":"\([0-9a-f]\{64\}\)".*/\1/p')
mkdir -p "$RESTORE_DIR"
start=$(date +%s)
if ! rc copyto "$S3_PATH/$name" "$RESTORE_DIR/.$name.partial"; then
  fail "downloading $S3_PATH/$name failed: $(why)"
fi
got=$(sha256sum "$RESTORE_DIR/.$name.partial" | cut -d " " -f 1)
if [ -n "$want" ] && [ "$got" != "$want" ]; then
  fail "$S3_PATH/$name has SHA-256 $got, not $want as uploaded"
fi
mv "$RESTORE_DIR/.$name.partial" "$RESTORE_DIR/$name"
log "restore-fetch: $S3_PATH/$name, $(wc -c < "$RESTORE_DIR/$name" | tr -d " ") bytes, sha256 $got${want:+ (as uploaded)}, in $(( $(date +%s) - start ))s"
