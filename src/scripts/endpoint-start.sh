#!/bin/sh
# The master endpoint's HAProxy with TLS (RedisMasterEndpoint): runs it in master-worker mode and
# reloads it (SIGUSR2: a new worker takes the listeners and reads the certificate files again; the
# old one keeps its sessions until they end) when the mounted certificate files change, e.g. after
# cert-manager renewed the Secret and the kubelet swapped the files. HAProxy reads its CA and client
# certificate only at start, and its checks present that certificate to Redis and Sentinel.
# Usage: sh endpoint-start.sh <haproxy.cfg>. Env: TLS_DIR (the mounted Secret: tls.crt, tls.key,
# ca.crt); TLS_CHECK_SECONDS (how often to look, default 10).
set -eu
cfg=$1
: "${TLS_DIR:?TLS_DIR must name the mounted certificate Secret}"
every=${TLS_CHECK_SECONDS:-10}

# Twin of tls_files_sum in lib.sh, which the HAProxy pod does not get; both must sum the same three files.
files_sum() {
  cat "$TLS_DIR/tls.crt" "$TLS_DIR/tls.key" "$TLS_DIR/ca.crt" 2>/dev/null | cksum
}

loaded=$(files_sum)
haproxy -W -db -f "$cfg" &
pid=$!
# The kubelet's SIGTERM (and an interrupt) go to HAProxy, whose exit status becomes ours.
trap 'kill -TERM "$pid" 2>/dev/null || true' TERM INT
while kill -0 "$pid" 2>/dev/null; do
  sleep "$every" &
  wait $! || true
  now=$(files_sum)
  if [ "$now" != "$loaded" ] && kill -0 "$pid" 2>/dev/null; then
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) endpoint: the certificate files changed; reloading HAProxy (new connections and checks use them, established sessions stay)" >&2
    kill -USR2 "$pid"
    loaded=$now
  fi
done
status=0
wait "$pid" || status=$?
exit "$status"
