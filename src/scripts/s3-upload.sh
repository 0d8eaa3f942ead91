#!/bin/sh
# Upload (the backup Job's container when `backup.s3` is set; the rclone image): copies the
# snapshot the backup init container just verified with redis-check-rdb (its name is in
# $WORK_DIR/backup-name) to S3 as <S3_PATH>/<name>, and keeps the newest S3_RETAIN objects named
# like backups there. The object appears under its backup name only after its SHA-256 was checked:
# it is uploaded as .<name>.partial (SHA-256 in its metadata), downloaded again and hashed, then
# renamed on the server (copy + delete). Exits non-zero on any failure with one "upload FAILED: ..."
# line, after deleting its partial object; partial objects of killed runs older than
# BACKUP_STALE_MINUTES are removed at start. Retention and clean-up touch only names this script
# gives, directly under S3_PATH.
# Env: BACKUP_DIR, BACKUP_PREFIX, BACKUP_STALE_MINUTES, WORK_DIR, S3_PATH (`s3:<bucket>/<prefix>`),
# S3_RETAIN, and rclone's own RCLONE_CONFIG_S3_* (endpoint, region, credentials).
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${BACKUP_DIR:?must be set in the env of the upload container}"
: "${BACKUP_PREFIX:?must be set in the env of the upload container}"
: "${BACKUP_STALE_MINUTES:?must be set in the env of the upload container}"
: "${WORK_DIR:?must be set in the env of the upload container}"
: "${S3_PATH:?must be set in the env of the upload container}"
: "${S3_RETAIN:?must be set in the env of the upload container}"
FAIL_PREFIX='upload FAILED'

[ -s "$WORK_DIR/backup-name" ] || fail "no snapshot to upload: the backup init container left no name in $WORK_DIR/backup-name"
name=$(cat "$WORK_DIR/backup-name")
file="$BACKUP_DIR/$name"
[ -f "$file" ] || fail "$file is gone"
: > "$WORK_DIR/rclone.log"
sum=$(sha256sum "$file" | cut -d " " -f 1)
bytes=$(wc -c < "$file" | tr -d " ")

if ! listing=$(rc lsf --files-only --max-depth 1 --min-age "${BACKUP_STALE_MINUTES}m" "$S3_PATH/"); then
  fail "cannot list $S3_PATH/: $(why)(endpoint, bucket, credentials, NetworkPolicy egress?)"
fi
printf '%s\n' "$listing" | sed -n 's/^\.\(.*\)\.partial$/\1/p' | backup_names | while read -r old; do
  rc deletefile "$S3_PATH/.$old.partial" || true
  log "upload: removed .$old.partial, left by a run that did not finish"
done

partial="$S3_PATH/.$name.partial"
start=$(date +%s)
trap 'rc deletefile "$partial" 2>/dev/null || true' EXIT
trap 'log "upload FAILED: terminated (activeDeadlineSeconds?)"; exit 143' TERM INT
if ! rc copyto --metadata --metadata-set "sha256=$sum" "$file" "$partial"; then
  fail "copying $name to $partial failed: $(why)"
fi
got=$(rc cat "$partial" | sha256sum | cut -d " " -f 1)
if [ "$got" != "$sum" ]; then
  fail "$partial reads back with SHA-256 ${got:-nothing}, not $sum: deleted"
fi
if ! rc moveto "$partial" "$S3_PATH/$name"; then
  fail "renaming $partial to $name on the server failed: $(why)"
fi
trap - EXIT
size=$(rc lsf --format s "$S3_PATH/$name" || true)
if [ "$size" != "$bytes" ]; then
  fail "$S3_PATH/$name has ${size:-no} size, not $bytes bytes"
fi
log "upload ok: $S3_PATH/$name, $bytes bytes, sha256 $sum, in $(( $(date +%s) - start ))s"

# Retention: the newest S3_RETAIN backups stay (names sort by time); nothing else is touched.
if ! listing=$(rc lsf --files-only --max-depth 1 "$S3_PATH/"); then
  fail "cannot list $S3_PATH/ for retention: $(why)"
fi
printf '%s\n' "$listing" | backup_names | sort -r | tail -n "+$(( S3_RETAIN + 1 ))" | while read -r old; do
  rc deletefile "$S3_PATH/$old" || fail "retention: deleting $old failed: $(why)"
  log "retention: removed $S3_PATH/$old"
done
log "kept in $S3_PATH: $(rc lsf --files-only --max-depth 1 "$S3_PATH/" | backup_names | sort -r | tr "\n" " ")"
