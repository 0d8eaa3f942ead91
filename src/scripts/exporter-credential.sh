#!/bin/sh
# Init container of the Redis and Sentinel pods with ACL users: makes the pod's own password of the
# `exporter` user, in a memory volume that only this pod mounts (the start script gives the local
# server that user with this password; the exporter sidecar reads it). It never leaves the pod and
# lives as long as the pod: no Secret holds it and nothing needs to rotate it.
# $1: the port the exporter scrapes (the pod's Redis or Sentinel port).
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${1:?usage: exporter-credential.sh <port>}"
: "${EXPORTER_AUTH_DIR:?missing from constants.sh (scripts ConfigMap)}"

umask 027
if [ ! -s "$EXPORTER_AUTH_DIR/password" ]; then
  # 32 random bytes, as letters and digits (JSON-safe).
  head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40 > "$EXPORTER_AUTH_DIR/password.tmp"
  mv "$EXPORTER_AUTH_DIR/password.tmp" "$EXPORTER_AUTH_DIR/password"
fi
scheme=redis
[ -z "$TLS_DIR" ] || scheme=rediss
# The exporter's --redis.password-file: a JSON map from the address it scrapes to the password.
printf '{"%s://localhost:%s": "%s"}\n' "$scheme" "$1" "$(cat "$EXPORTER_AUTH_DIR/password")" > "$EXPORTER_AUTH_DIR/passwords.json.tmp"
mv "$EXPORTER_AUTH_DIR/passwords.json.tmp" "$EXPORTER_AUTH_DIR/passwords.json"
log "the exporter's password of this pod is in $EXPORTER_AUTH_DIR"
