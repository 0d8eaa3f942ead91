#!/bin/sh
# The master endpoint's HAProxy (RedisMasterEndpoint) with TLS or ACL users: runs it in master-worker
# mode and reloads it (SIGUSR2: a new worker takes the listeners and reads the files again; the old
# one, which runs no checks once stopping, closes its sessions at the config's hard-stop-after) when a
# mounted file it uses changes:
# - the certificate files (TLS_DIR), e.g. after cert-manager renewed the Secret: HAProxy reads its CA
#   and client certificate only at start, and its checks present that certificate to Redis and Sentinel;
# - the password of its checks' user (PASSWORD_FILE), e.g. in a rotation: it reaches HAProxy as
#   `setenv REDIS_PASSWORD` in a config file of its own in RUN_DIR (a memory volume), which every
#   (re)load reads; the checks read the variable at run time.
# Before a reload it saves the servers' states (`show servers state` through the runtime API on
# 127.0.0.1:STATS_PORT) into RUN_DIR/servers.state, which the config's server-state-file names: the new
# worker starts from them, not from every server up until its first checks (which, for a moment, let
# several pods look named by a Sentinel majority, and the endpoint refuse connections).
# Usage: sh endpoint-start.sh <haproxy.cfg>. Env: TLS_DIR (the mounted Secret: tls.crt, tls.key,
# ca.crt), PASSWORD_FILE, RUN_DIR (a writable directory: needed with PASSWORD_FILE or STATS_PORT),
# STATS_PORT, TLS_CHECK_SECONDS (how often to look, default 10).
set -eu
cfg=$1
[ -n "${TLS_DIR:-}" ] || [ -n "${PASSWORD_FILE:-}" ] || { echo "endpoint-start.sh: set TLS_DIR, PASSWORD_FILE or both" >&2; exit 2; }
[ -z "${PASSWORD_FILE:-}" ] || : "${RUN_DIR:?RUN_DIR must name a writable directory for the config file holding the password}"
[ -z "${STATS_PORT:-}" ] || : "${RUN_DIR:?RUN_DIR must name a writable directory for the states of the servers}"
every=${TLS_CHECK_SECONDS:-10}

# The certificate part twins tls_files_sum in lib.sh, which the HAProxy pod does not get; both must
# sum the same three files.
files_sum() {
  {
    [ -z "${TLS_DIR:-}" ] || cat "$TLS_DIR/tls.crt" "$TLS_DIR/tls.key" "$TLS_DIR/ca.crt"
    [ -z "${PASSWORD_FILE:-}" ] || cat "$PASSWORD_FILE"
  } 2>/dev/null | sha1sum
}

# Writes the password into RUN_DIR/auth.cfg as a double-quoted HAProxy string (\, " and $ escaped).
write_auth() {
  [ -n "${PASSWORD_FILE:-}" ] || return 0
  (
    umask 077
    pw=$(sed -e 's/[\\"$]/\\&/g' "$PASSWORD_FILE")
    printf 'global\n  setenv REDIS_PASSWORD "%s"\n' "$pw" > "$RUN_DIR/auth.cfg.tmp"
    mv "$RUN_DIR/auth.cfg.tmp" "$RUN_DIR/auth.cfg"
  )
}

# Saves the servers' states for the next worker (server-state-file). On failure the file is left out:
# the new worker then starts as a fresh HAProxy does.
save_state() {
  [ -n "${STATS_PORT:-}" ] || return 0
  if printf 'show servers state\n' | nc -w 2 127.0.0.1 "$STATS_PORT" > "$RUN_DIR/servers.state.tmp" 2>/dev/null \
    && grep -q '^# be_id' "$RUN_DIR/servers.state.tmp"; then
    mv "$RUN_DIR/servers.state.tmp" "$RUN_DIR/servers.state"
  else
    rm -f "$RUN_DIR/servers.state.tmp" "$RUN_DIR/servers.state"
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) endpoint: could not save the servers' states (runtime API on 127.0.0.1:$STATS_PORT); the new worker checks every server from scratch" >&2
  fi
}

loaded=$(files_sum)
write_auth
# A state file is for the reload it was saved for. One left in RUN_DIR (a memory volume that outlives the
# container) by an earlier run of this container is old: its servers' states and addresses (a master since
# demoted, a pod since recreated) would route new connections until the first checks. Start from none.
[ -z "${STATS_PORT:-}" ] || rm -f "$RUN_DIR/servers.state" "$RUN_DIR/servers.state.tmp"
if [ -n "${PASSWORD_FILE:-}" ]; then
  haproxy -W -db -f "$cfg" -f "$RUN_DIR/auth.cfg" &
else
  haproxy -W -db -f "$cfg" &
fi
pid=$!
# The kubelet's SIGTERM (and an interrupt) go to HAProxy, whose exit status becomes ours.
trap 'kill -TERM "$pid" 2>/dev/null || true' TERM INT
while kill -0 "$pid" 2>/dev/null; do
  sleep "$every" &
  wait $! || true
  now=$(files_sum)
  if [ "$now" != "$loaded" ] && kill -0 "$pid" 2>/dev/null; then
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) endpoint: the certificate or password files changed; reloading HAProxy (new connections and checks use them; the old worker's sessions end at its hard-stop-after)" >&2
    write_auth
    save_state
    kill -USR2 "$pid"
    loaded=$now
  fi
done
status=0
wait "$pid" || status=$?
exit "$status"
