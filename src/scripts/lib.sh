# shellcheck shell=sh
# Sourced (never run) by every script of cdk8s-redis-sentinel: `. "$(dirname "$0")/lib.sh"`.
# Loads this release's values from constants.sh beside it (the scripts ConfigMap holds both) and
# defines what the scripts share: logging, the password, bounded redis-cli calls, asking the
# Sentinels who the master is, writing the password into a config file, listing backup files.
# POSIX sh (busybox ash on the alpine image); `set -eu` is the calling script's.

# shellcheck source=constants.sh
. "$(dirname "$0")/constants.sh"

# Every release renders all of these (AUTH_FILE and TLS_DIR are empty when off); a missing one means
# a constants.sh from elsewhere.
: "${MASTER_NAME:?missing from constants.sh (scripts ConfigMap)}"
: "${SENTINEL_HOSTS:?missing from constants.sh (scripts ConfigMap)}"
: "${SENTINEL_PORT:?missing from constants.sh (scripts ConfigMap)}"
: "${REDIS_PORT:?missing from constants.sh (scripts ConfigMap)}"
: "${AUTH_FILE?missing from constants.sh (scripts ConfigMap)}"
: "${TLS_DIR?missing from constants.sh (scripts ConfigMap)}"
: "${ACL_USERS_REDIS?missing from constants.sh (scripts ConfigMap)}"
: "${ACL_USERS_SENTINEL?missing from constants.sh (scripts ConfigMap)}"
: "${ACL_DIR?missing from constants.sh (scripts ConfigMap)}"
: "${CLI_TIMEOUT:?missing from constants.sh (scripts ConfigMap)}"

log() {
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $*" >&2
}

# Logs "$FAIL_PREFIX: <message>" and exits 1. The script sets FAIL_PREFIX ("backup FAILED").
FAIL_PREFIX=FAILED
fail() {
  log "$FAIL_PREFIX: $*"
  exit 1
}

# Reads the password from the mounted Secret into REDISCLI_AUTH (used by redis-cli).
load_auth() {
  if [ -n "$AUTH_FILE" ]; then
    if [ ! -r "$AUTH_FILE" ]; then
      log "cannot read the password file $AUTH_FILE: is the Secret there and mounted?"
      exit 1
    fi
    REDISCLI_AUTH=$(cat "$AUTH_FILE")
    export REDISCLI_AUTH
  fi
}

# tcli <seconds|exec> <redis-cli arguments>: redis-cli bounded to <seconds>, or `exec`ed in place
# of the (sub)shell (a background job `tcli exec ... &` whose $! is then the redis-cli itself),
# speaking TLS when it is on (TLS_DIR holds the mounted certificate Secret): the CA verifies the
# server, and the certificate is this component's client certificate (for mutual TLS). As the ACL
# user REDIS_USER when the container sets it (the backup Job), else as the default user.
tcli() {
  cli_limit=$1
  shift
  [ -z "${REDIS_USER:-}" ] || set -- --user "$REDIS_USER" "$@"
  [ -z "$TLS_DIR" ] || set -- --tls --cacert "$TLS_DIR/ca.crt" --cert "$TLS_DIR/tls.crt" --key "$TLS_DIR/tls.key" "$@"
  if [ "$cli_limit" = exec ]; then
    exec redis-cli "$@"
  fi
  timeout "$cli_limit" redis-cli "$@"
}

# redis-cli with the scripts' usual bound; errors go nowhere.
cli() {
  tcli "$CLI_TIMEOUT" "$@" 2>/dev/null
}

# Prints "<host> <port>" of the master Sentinel $1 names to clients (get-master-addr-by-name),
# or nothing when it does not answer or the answer is not an address.
master_addr() {
  # shellcheck disable=SC2046
  set -- $({ cli -h "$1" -p "$SENTINEL_PORT" --raw SENTINEL get-master-addr-by-name "$MASTER_NAME" || true; } | tr -d "\r")
  [ $# -eq 2 ] || return 0
  case "$1:$2" in
    *[!A-Za-z0-9.:-]*|:*|*:) return 0 ;;
  esac
  echo "$1 $2"
}

# Prints "<config-epoch> <host> <port> [failover]" of the master Sentinel $1 monitors (SENTINEL
# MASTER), "failover" while it runs one; nothing when it does not answer.
sentinel_master() {
  { cli -h "$1" -p "$SENTINEL_PORT" --raw SENTINEL MASTER "$MASTER_NAME" || true; } | tr -d "\r" | awk '
    NR % 2 == 1 { k = $0; next }
    k == "ip" { ip = $0 }
    k == "port" { port = $0 }
    k == "config-epoch" { e = $0 }
    k == "flags" { f = $0 }
    END {
      if (e == "") e = 0
      if (ip ~ /^[A-Za-z0-9.:-]+$/ && port ~ /^[0-9]+$/ && e ~ /^[0-9]+$/) print e, ip, port, (f ~ /failover_in_progress/ ? "failover" : "")
    }'
}

# Prints "<config-epoch> <host> <port>" of the master each answering Sentinel (but $1) monitors.
# A Sentinel running a failover reports the new epoch with the OLD address in SENTINEL MASTER until
# the failover ends; its get-master-addr-by-name names the promoted replica as soon as that has
# taken the role: use that. Sentinel changes the epoch and that address at one moment, which can
# fall between the two calls (the old epoch would then be paired with the promoted replica): the
# pair counts only when SENTINEL MASTER, asked again, still reports the same epoch.
sentinel_answers() {
  skip=${1:-}
  for s in $SENTINEL_HOSTS; do
    [ "$s" = "$skip" ] && continue
    answer=$(sentinel_master "$s")
    [ -n "$answer" ] || continue
    # shellcheck disable=SC2086
    set -- $answer
    if [ "${4:-}" = failover ]; then
      addr=$(master_addr "$s")
      [ -n "$addr" ] || continue
      again=$(sentinel_master "$s")
      [ "${again%% *}" = "$1" ] || continue
      # shellcheck disable=SC2086
      set -- "$1" $addr
    fi
    echo "$1 $2 $3"
  done
}

# Prints "<config-epoch> <host> <port>": the master known with the highest config epoch
# (Sentinel's own rule: the highest epoch wins), or nothing when no Sentinel answers.
# $1: a Sentinel not to ask (the caller itself), or "". $2: this pod's name, or "": when
# Sentinels at the highest epoch disagree (a failover is spreading), another host is preferred to
# $2, so a pod never takes the master role on ambiguous evidence.
current_master() {
  sentinel_answers "$1" | sort -n -r | awk -v self="${2:-}" '
    NR == 1 { top = $1 }
    $1 == top && (best == "" || (bh == self && $2 != self)) { best = $0; bh = $2 }
    END { if (best != "") print best }'
}

# Prints $1 as a double-quoted Redis config string.
conf_quote() {
  printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

nl='
'
# Refuses a password Redis cannot read from its config file.
check_password() {
  case $REDISCLI_AUTH in
    *"$nl"*|"")
      log "the password in $AUTH_FILE is empty or spans lines: Redis cannot use it"
      exit 1
      ;;
  esac
}

# With ACL users: reads the passwords a user accepts, once each: the one in file $1 and, during a
# rotation, those in $1-next and $1-previous (Secret keys <key>-next / <key>-previous). Leaves
# " #<sha256>" for each in acl_read_hashes (the config files hold no password of these users, only
# their hashes) and the first one read in acl_read_first (empty when none could be read).
acl_read() {
  acl_read_hashes=''
  acl_read_first=''
  for f in "$1" "$1-next" "$1-previous"; do
    [ -r "$f" ] || continue
    pw=$(cat "$f")
    [ -n "$pw" ] || continue
    acl_read_hashes="$acl_read_hashes #$(printf '%s' "$pw" | sha256sum | cut -d ' ' -f 1)"
    [ -n "$acl_read_first" ] || acl_read_first=$pw
  done
}

# Prints acl_read's hashes of the passwords in file $1 and its -next / -previous.
acl_hashes() {
  acl_read "$1"
  printf '%s' "$acl_read_hashes"
}

# Prints a `user` config line for each line "<name> <password file> <rules>" of the users file $1
# (rendered by the library: acl-users beside redis.conf / sentinel.conf).
acl_conf() {
  while read -r name file rules; do
    case $name in ''|'#'*) continue ;; esac
    if [ ! -r "$file" ] || [ -z "$(cat "$file")" ]; then
      log "cannot read the password of the ACL user $name ($file): is its Secret there, with that key, and mounted?"
      exit 1
    fi
    echo "user $name on$(acl_hashes "$file") $rules"
  done < "$1"
}

# Prints, as a quoted config string, the password this process sends as the deployment's ACL user $1
# (replication, sentinel, sentinel-peer): the Secret's key, never -next / -previous.
acl_password() {
  f="$ACL_DIR/$1"
  pw=$(cat "$f" 2>/dev/null || true)
  case $pw in
    *"$nl"*|"")
      log "the password of the ACL user $1 ($f) is missing, empty or spans lines: is the Secret there, with key $1, and mounted?"
      exit 1
      ;;
  esac
  conf_quote "$pw"
}

# Filters stdin (one name a line) to backup names: <BACKUP_PREFIX>-<UTC time>.rdb with the time as
# YYYYMMDDTHHMMSSZ, the names the backup script gives (retention touches no other file); sorted,
# oldest first.
backup_names() {
  while read -r b; do
    case $b in
      "$BACKUP_PREFIX"-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z.rdb) printf '%s\n' "$b" ;;
    esac
  done | sort
}

# Prints the names of the backup files in directory $1, oldest first (see backup_names).
backups_in() {
  for f in "$1"/*.rdb; do
    [ -f "$f" ] || continue
    printf '%s\n' "${f##*/}"
  done | backup_names
}

# Prints the files of Redis' own in data directory $1 that hold data, space-separated (nothing
# when there are none): a non-empty dump.rdb or appendonly.aof, or an appendonlydir/ whose
# manifest is not empty. Anything else (a restore's staging, lost+found) is not Redis data.
redis_data_in() {
  found=''
  for f in "$1/dump.rdb" "$1/appendonly.aof" "$1"/appendonlydir/*.manifest; do
    [ -f "$f" ] && [ -s "$f" ] && found="$found${f#"$1"/} "
  done
  printf '%s' "$found"
}

# ---- Roles at start: the evidence of who holds the newest data ----------------------------------
# A Redis pod that does not know its role (no Sentinel answers) runs FENCED: a read-only replica
# of FENCE_HOST:FENCE_PORT, where nothing listens, with replica-priority 0 (Sentinel never promotes
# it). It serves no writes and syncs from nobody until a Sentinel names the master.
FENCE_HOST=127.0.0.1
FENCE_PORT=1
# What a Redis pod last learnt from the Sentinels ("<config-epoch> <master host>": at that epoch
# that pod was master) is kept in its data volume, and named on one client connection of its Redis
# ("rs-facts:<epoch>:<host>", or "rs-facts:none" when it has none yet, CLIENT LIST), the one place a
# Sentinel can read it. A pod that names no such connection is still starting: no evidence yet.
FACTS_CLIENT=rs-facts

# Prints the names of the client connections of the server at host $1, port $2, one per line
# (nothing when it does not answer). Peers publish facts to each other this way (FACTS_CLIENT,
# TLS_CLIENT): a name is the one thing any client may read and only the process itself can set.
client_names() {
  { cli -h "$1" -p "$2" CLIENT LIST || true; } | tr -d "\r" | tr ' ' '\n' | sed -n 's/^name=\(..*\)$/\1/p'
}

# Whether the server at host $1, port $2 has a client connection named $3.
has_client_named() {
  case "
$(client_names "$1" "$2")
" in
    *"
$3
"*) return 0 ;;
  esac
  return 1
}

# Prints "<epoch> <host>" from the facts file $1, or nothing.
read_facts() {
  [ -f "$1" ] || return 0
  awk 'NR == 1 && $1 ~ /^[0-9]+$/ && $2 ~ /^[A-Za-z0-9.:-]+$/ { print $1, $2 }' "$1"
}

# Prints what Redis pod $1 reports: "<state> <keys> <facts-epoch> <facts-host>", state master,
# replica or fenced, keys 1 when it holds any key, facts "- -" when it has none. Nothing when it
# does not answer, is still loading its data or has not published its facts yet.
redis_evidence() {
  info=$({ cli -h "$1" -p "$REDIS_PORT" INFO || true; } | tr -d "\r")
  case $info in *"role:"*) ;; *) return 0 ;; esac
  case $info in *"loading:1"*) return 0 ;; esac
  names=$(client_names "$1" "$REDIS_PORT" | sed -n "s/^$FACTS_CLIENT://p")
  [ -n "$names" ] || return 0
  facts=$(echo "$names" | sed -n 's/^\([0-9][0-9]*\):\([A-Za-z0-9.:-][A-Za-z0-9.:-]*\)$/\1 \2/p' | sort -n -r | head -n 1)
  echo "$info" | awk -v fh="$FENCE_HOST" -v fp="$FENCE_PORT" -v facts="${facts:-- -}" -F: '
    $1 == "role" { role = $2 }
    $1 == "master_host" { mh = $2 }
    $1 == "master_port" { mp = $2 }
    $1 ~ /^db[0-9]+$/ && $2 ~ /^keys=[1-9]/ { keys = 1 }
    END {
      state = role == "master" ? "master" : (mh == fh && mp == fp ? "fenced" : "replica")
      print state, keys + 0, facts
    }'
}

# Prints "<epoch> <host>": the highest-epoch facts among the Redis pods that answer now (no wait).
redis_facts() {
  for h in $REDIS_HOSTS; do
    redis_evidence "$h"
  done | awk '$3 ~ /^[0-9]+$/ { print $3, $4 }' | sort -n -r | head -n 1
}

# For a Sentinel with no state: decides from the Redis pods which one to monitor. Prints
# "ok <epoch> <host> <port>", or "wait <why>" when the evidence is missing:
# - every Redis pod must answer (one that does not may hold newer data);
# - the pod named by the highest-epoch facts: it was master last;
# - no facts anywhere (a new install, or data from a release that kept none): the only pod holding
#   keys, else the bootstrap pod when none holds any, else the only pod serving as master.
newest_redis() {
  missing=''
  all=''
  for h in $REDIS_HOSTS; do
    e=$(redis_evidence "$h")
    if [ -z "$e" ]; then
      missing="$missing $h"
    else
      all="$all$h $e
"
    fi
  done
  if [ -n "$missing" ]; then
    echo "wait no answer (or still loading) from Redis pod(s)$missing, which may hold newer data"
    return 0
  fi
  printf '%s' "$all" | awk -v boot="$BOOTSTRAP_MASTER_HOST" -v port="$REDIS_PORT" '
    NF == 5 {
      if ($4 ~ /^[0-9]+$/ && (top == "" || $4 + 0 > top + 0)) { top = $4; named = $5 }
      if ($3 == 1) { holders++; holder = $1 }
      if ($2 == "master") { masters++; master = $1 }
      pods[$1] = 1
    }
    END {
      if (top != "") {
        if (named in pods) print "ok", top, named, port
        else print "wait the newest facts (epoch " top ") name " named ", not a Redis pod of this deployment"
      } else if (holders + 0 == 0) print "ok 0", boot, port
      else if (holders == 1) print "ok 0", holder, port
      else if (masters == 1) print "ok 0", master, port
      else print "wait " holders " Redis pods hold data and none recorded which was master last"
    }'
}

# Holds one connection to the local server on port $1 named $2 (its peers read it in CLIENT LIST),
# through the fifo $3 (fd 3 of the calling shell); opens it again when it is gone (Sentinel kills
# client connections when it reconfigures a pod) or the name is to change. Called again and again
# by one long-running shell.
hold_name() {
  has_client_named 127.0.0.1 "$1" "$2" && return 0
  [ -z "${name_holder:-}" ] || kill "$name_holder" 2>/dev/null || true
  exec 3>&-
  rm -f "$3"
  mkfifo -m 600 "$3"
  tcli exec -p "$1" < "$3" > /dev/null 2>&1 &
  name_holder=$!
  # Read-write: opening a fifo for writing only blocks until the reader has opened it, and a signal
  # arriving meanwhile (SIGCHLD of the holder just killed) fails the open with EINTR, which ends the
  # shell (seen: "can't create .../facts.fifo: Interrupted system call"). On Linux an O_RDWR open
  # of a fifo never blocks.
  exec 3<> "$3"
  printf 'CLIENT SETNAME %s\n' "$2" >&3
}

# ---- TLS certificate renewal -----------------------------------------------------------------
# cert-manager (or you) renews the certificate in its Secret; the kubelet swaps the mounted files
# (all at once) within its sync period. Redis loads them again on CONFIG SET of any TLS file
# (new connections get the new certificate, established ones keep theirs). Sentinel cannot: it
# has no CONFIG SET, so its watcher (sentinel-start.sh) restarts it to load them, one Sentinel at
# a time (tls_restart_wait).

# Which certificate files each process loaded at start (tls_record_loaded): beside its runtime
# config. (Used by the scripts that source this.)
# shellcheck disable=SC2034
REDIS_TLS_LOADED="${REDIS_CONF%/*}/tls-loaded"
# shellcheck disable=SC2034
SENTINEL_TLS_LOADED="${SENTINEL_CONF%/*}/tls-loaded"
# The name of the connection each Sentinel's watcher holds to its own Sentinel, telling its peers
# which certificate files it loaded: "rs-tls:<tls_files_sum>".
TLS_CLIENT=rs-tls

# Prints a checksum of the certificate files as they are now (nothing without TLS).
# Twin: files_sum in endpoint-start.sh (the HAProxy pod has no lib.sh); both must sum the same three files.
tls_files_sum() {
  [ -n "$TLS_DIR" ] || return 0
  cat "$TLS_DIR/tls.crt" "$TLS_DIR/tls.key" "$TLS_DIR/ca.crt" 2>/dev/null | sha1sum | cut -d ' ' -f 1
}

# Records, in file $1, which certificate files the process about to start loads.
tls_record_loaded() {
  [ -n "$TLS_DIR" ] || return 0
  tls_files_sum > "$1"
}

# Redis on port $1: loads the certificate files again when they changed since it loaded them
# (file $2, see tls_record_loaded). A failure (a key that does not match) keeps the previous
# certificate in use and is logged once per change.
tls_reload() {
  [ -n "$TLS_DIR" ] || return 0
  tls_now=$(tls_files_sum)
  [ "$tls_now" != "$(cat "$2" 2>/dev/null)" ] || return 0
  tls_reply=$({ cli -p "$1" CONFIG SET tls-cert-file "$TLS_DIR/tls.crt" || true; } | tr -d "\r")
  if [ "$tls_reply" = OK ]; then
    printf '%s\n' "$tls_now" > "$2"
    log "TLS: loaded the renewed certificate files (new connections get them; established ones keep theirs)"
  elif [ "$tls_now" != "${tls_failed:-}" ]; then
    tls_failed=$tls_now
    log "TLS: the changed certificate files could not be loaded (${tls_reply:-no answer}); still serving the previous certificate"
  fi
}

# Seconds a Sentinel restarted for renewed certificate files must have been back before the next
# one in SENTINEL_HOSTS order goes (it reconnects to Redis and its peers in about a second).
TLS_RESTART_SETTLE=${TLS_RESTART_SETTLE:-15}

# The master the Sentinel (this one, or -h <host>) names to clients, on one line; nothing if it does not answer.
named_by() {
  { cli "$@" -p "$SENTINEL_PORT" --raw SENTINEL get-master-addr-by-name "$MASTER_NAME" || true; } | tr -d "\r" | tr "\n" " "
}

# For the Sentinel's watcher, when the certificate files changed since its Sentinel loaded them:
# prints why it must wait before restarting to load them, or nothing when it may restart now. It
# goes once every other Sentinel answers, each one before it in SENTINEL_HOSTS order has loaded
# these files (its "rs-tls:<sum>" connection, see TLS_CLIENT), has been back TLS_RESTART_SETTLE s
# and names the same master, and no failover is in progress. So the Sentinels restart strictly one
# after another: a Sentinel never goes while one before it has not, and the ones after it wait
# for it.
tls_restart_wait() {
  tls_now=$(tls_files_sum)
  mine=$(named_by)
  [ -n "$mine" ] || { echo "this Sentinel names no master yet"; return 0; }
  before=1
  for s in $SENTINEL_HOSTS; do
    if [ "$s" = "$SELF_FQDN" ]; then
      before=0
      continue
    fi
    [ "$({ cli -h "$s" -p "$SENTINEL_PORT" PING || true; } | tr -d "\r")" = PONG ] || { echo "$s does not answer"; return 0; }
    [ "$before" = 1 ] || continue
    has_client_named "$s" "$SENTINEL_PORT" "$TLS_CLIENT:$tls_now" || { echo "$s (before this one) has not loaded them yet"; return 0; }
    up=$({ cli -h "$s" -p "$SENTINEL_PORT" INFO server || true; } | tr -d "\r" | sed -n 's/^uptime_in_seconds://p')
    [ "${up:-0}" -ge "$TLS_RESTART_SETTLE" ] || { echo "$s (before this one) is back for ${up:-0} s only"; return 0; }
    [ "$(named_by -h "$s")" = "$mine" ] || { echo "$s names another master"; return 0; }
  done
  case $({ cli -p "$SENTINEL_PORT" SENTINEL MASTER "$MASTER_NAME" || true; } | tr -d "\r" | tr "\n" " ") in
    *failover_in_progress*) echo "a failover is in progress"; return 0 ;;
  esac
}

# ---- S3 (s3-upload.sh, s3-fetch.sh: the rclone image) ----------------------------------------
# rclone with bounded retries; its messages go to $WORK_DIR/rclone.log, whose last lines `why`
# prints for the FAILED line.
rc() {
  rclone --retries 2 --low-level-retries 3 --contimeout 15s --timeout 5m -q "$@" 2>>"$WORK_DIR/rclone.log"
}
why() {
  tail -n 2 "$WORK_DIR/rclone.log" | sed -e 's/^[0-9/]* [0-9:]* //' -e 's/[[:space:]]*status code: .*$//' | tr -s "\t\n" "  "
}

# --- ACL password rotation (with `acl`) ------------------------------------------------------
# Each password file may be joined, during a rotation, by <file>-next and <file>-previous (the
# Secret keys <key>-next / <key>-previous): the servers accept all of them, the processes send the
# main one. acl_reload makes a running server accept what the files say now; acl_send_when_accepted
# switches what this process sends once every server accepts it. See the README, "Rotating a password".

# Where each process keeps the checksum of the password files it loaded, and what it sends.
# shellcheck disable=SC2034
REDIS_ACL_STATE="${REDIS_CONF%/*}/acl"
# shellcheck disable=SC2034
SENTINEL_ACL_STATE="${SENTINEL_CONF%/*}/acl"

# Prints "<user> <password file>" for each user of the users file $1, then the default user (last:
# acl_reload logs in as the default user while it sets the others).
acl_user_files() {
  grep -v '^#' "$1" || true
  echo "default $AUTH_FILE"
}

# Makes the scripts' password (REDISCLI_AUTH) one that the server on port $1 accepts for the default
# user: the one in use, else <key>, <key>-next, <key>-previous. The files can move on between two
# looks (a kubelet sync that skipped a rotation step: <key> new and the old one already gone), and a
# password the server no longer takes would lock the scripts out of it for good. False when none works.
acl_use_accepted_auth() {
  for aa_file in '' "$AUTH_FILE" "$AUTH_FILE-next" "$AUTH_FILE-previous"; do
    if [ -n "$aa_file" ]; then
      [ -r "$aa_file" ] || continue
      aa_pw=$(cat "$aa_file")
    else
      aa_pw=${REDISCLI_AUTH:-}
    fi
    [ -n "$aa_pw" ] || continue
    if [ "$(export REDISCLI_AUTH="$aa_pw"; { cli -p "$1" PING || true; } | tr -d "\r")" = PONG ]; then
      REDISCLI_AUTH=$aa_pw
      export REDISCLI_AUTH
      return 0
    fi
  done
  return 1
}

# Prints a checksum of every password file of the users file $1 and of the default user's.
acl_files_sum() {
  [ -n "$ACL_DIR" ] || return 0
  acl_user_files "$1" | while read -r _ file _; do
    for f in "$file" "$file-next" "$file-previous"; do
      [ -r "$f" ] && { echo "$f"; cat "$f"; echo; }
    done
  done | sha1sum | cut -d ' ' -f 1
}

# Server on port $1: sets user $2's accepted passwords to those its files ($3, -next, -previous) hold
# now (ACL SETUSER $2 resetpass #<sha256>...; the rights stay). False, and logged, when refused.
acl_set_user() {
  acl_read "$3"
  # A user whose files are all gone keeps the passwords it has: never lock it out by mistake.
  [ -n "$acl_read_hashes" ] || { log "ACL: no password file of $2 ($3) can be read: it keeps the passwords it has"; return 0; }
  # shellcheck disable=SC2086
  reply=$({ cli -p "$1" ACL SETUSER "$2" resetpass $acl_read_hashes || true; } | tr -d "\r")
  [ "$reply" = OK ] || { log "ACL: could not set the passwords of $2 (${reply:-no answer}); trying again"; return 1; }
}

# Server on port $1, users file $2: acl_set_user for each user, the default user's last (the scripts
# log in as it to set the others). False when the server refuses one. The default user then takes
# exactly the passwords just read: the scripts send the first of them (<key>, unless it was gone),
# as the one they sent may be no longer among them (a kubelet sync that skipped a rotation step).
acl_set_users() {
  while read -r name file _; do
    [ -n "$name" ] || continue
    acl_set_user "$1" "$name" "$file" || return 1
  done <<EOF
$(acl_user_files "$2")
EOF
  [ -z "$acl_read_first" ] || { REDISCLI_AUTH=$acl_read_first; export REDISCLI_AUTH; }
}

# Server on port $1 (users file $2, state directory $3): when the password files changed since it
# loaded them, sets each user's accepted passwords (acl_set_users). The kubelet can swap the Secret's
# files between two reads of one user's (at a rotation's step 2: <key> read before the swap, still the
# old password, and <key>-next after it, gone: the user would take the old password only, for a whole
# round), so a reading during which the files' checksum changed is done again at once, up to 3 times.
# The scripts send the default user's main password from now on (acl_set_users). A failure is logged,
# and tried again at the next call.
acl_reload() {
  [ -n "$ACL_DIR" ] || return 0
  acl_now=$(acl_files_sum "$2")
  [ "$acl_now" != "$(cat "$3/loaded" 2>/dev/null)" ] || return 0
  acl_use_accepted_auth "$1" || { log "ACL: the server answers none of the default user's passwords (in use, <key>, -next, -previous): not up yet, or it takes none of them; trying again"; return 0; }
  acl_reads=1
  while :; do
    acl_set_users "$1" "$2" || return 0
    acl_after=$(acl_files_sum "$2")
    [ "$acl_after" != "$acl_now" ] || break
    [ "$acl_reads" -lt 3 ] || { log "ACL: the password files kept changing while they were read ($acl_reads times): trying again at the next round"; return 0; }
    log "ACL: the password files changed while they were read (a Secret update): reading them again"
    acl_reads=$((acl_reads + 1))
    acl_now=$acl_after
  done
  printf '%s\n' "$acl_now" > "$3/loaded"
  log "ACL: the password files changed: every user now accepts the passwords they hold (<key>, <key>-next, <key>-previous)"
}

# Whether every server in $2 (hosts) on port $3 accepts user $1 with the password in file $4.
acl_accepted_everywhere() {
  for ae_host in $2; do
    # --askpass: the password from stdin (REDISCLI_AUTH, the default user's, is then ignored).
    [ "$(printf '%s' "$(cat "$4")" | tcli "$CLI_TIMEOUT" --user "$1" --askpass -h "$ae_host" -p "$3" PING 2>/dev/null | tr -d "\r")" = PONG ] || {
      echo "$ae_host"
      return 0
    }
  done
}

# Prints the first server in $2 (hosts) on port $3 that answers the default user (the scripts' password)
# but refuses user $1 with every password of its files ($4, $4-next, $4-previous): a pod of the release
# from before `acl` was turned on, which has no such user yet (its pods roll one by one). A server that
# does not answer at all says nothing and is passed over. Nothing when there is none.
acl_unknown_somewhere() {
  for au_host in $2; do
    [ "$({ cli -h "$au_host" -p "$3" PING || true; } | tr -d "\r")" = PONG ] || continue
    au_known=''
    for au_file in "$4" "$4-next" "$4-previous"; do
      [ -r "$au_file" ] || continue
      if [ "$(printf '%s' "$(cat "$au_file")" | tcli "$CLI_TIMEOUT" --user "$1" --askpass -h "$au_host" -p "$3" PING 2>/dev/null | tr -d "\r")" = PONG ]; then
        au_known=1
        break
      fi
    done
    [ -n "$au_known" ] || { echo "$au_host"; return 0; }
  done
}

# For the config a process starts with: prints "default" (and logs why) when a server it logs in to
# as user $1 (hosts $2, port $3) does not have that user yet (acl_unknown_somewhere): it logs in as the
# default user until every one does (acl_send_when_accepted switches). Else prints nothing.
acl_start_as() {
  as_host=$(acl_unknown_somewhere "$1" "$2" "$3" "$ACL_DIR/$1")
  [ -n "$as_host" ] || return 0
  log "ACL: $as_host has no user $1 yet (a release turning acl on: its pods roll one by one): logging in as the default user until every server has it"
  echo default
}

# Prints its arguments as one command in the Redis protocol (RESP), for redis-cli --pipe: the
# arguments travel on stdin, never on a command line (printf is the shell's own).
resp() {
  printf '*%d\r\n' $#
  for resp_arg in "$@"; do
    printf '$%d\r\n%s\r\n' "$(printf '%s' "$resp_arg" | wc -c)" "$resp_arg"
  done
}

# acl_send_when_accepted <user> <hosts> <their port> <local port> <state file> <user command> <command...>:
# when the main password of <user> is not the one this process sends (its checksum in <state file>,
# or "default": it logs in as the default user, see acl_start_as) and every host accepts it, runs
# <command...> with the password as last argument (CONFIG SET masterauth, SENTINEL SET <master>
# auth-pass, SENTINEL CONFIG SET sentinel-pass) on the local server, right after <user command> (one
# string: CONFIG SET masteruser <user>, ...) when it logged in as the default user. Until then it logs,
# every SENTINEL_WAIT seconds, which host does not accept it yet, and sends what it sent.
acl_send_when_accepted() {
  sw_user=$1 sw_hosts=$2 sw_port=$3 sw_local=$4 sw_state=$5 sw_as_user=$6
  shift 6
  sw_file="$ACL_DIR/$sw_user"
  sw_want=$(sha1sum < "$sw_file" 2>/dev/null | cut -d ' ' -f 1)
  sw_sent=$(cat "$sw_state" 2>/dev/null)
  [ -n "$sw_want" ] && [ "$sw_want" != "$sw_sent" ] || return 0
  sw_missing=$(acl_accepted_everywhere "$sw_user" "$sw_hosts" "$sw_port" "$sw_file")
  if [ -n "$sw_missing" ]; then
    sw_last="$sw_state.waiting"
    if [ $(( $(date +%s) - $(cat "$sw_last" 2>/dev/null || echo 0) )) -ge "$SENTINEL_WAIT" ]; then
      date +%s > "$sw_last"
      if [ "$sw_sent" = default ]; then
        log "ACL: $sw_user is not accepted by $sw_missing yet: still logging in as the default user"
      else
        log "ACL: the new password of $sw_user is not accepted by $sw_missing yet: still sending the previous one"
      fi
    fi
    return 0
  fi
  if [ "$sw_sent" = default ]; then
    # The user and its password in one write on one connection, so that the server reads and applies
    # both before its next reconnect (two calls, or two writes, would let it log in once with the user
    # and the old password). --pipe prints error replies and "errors: E, replies: R" on stderr; it
    # ends with an ECHO, which Sentinel refuses (so no reply to wait for: --pipe-timeout). Both
    # commands succeeded when there are 2 replies or more and no error but that ECHO's.
    # shellcheck disable=SC2086
    sw_payload=$(resp $sw_as_user; resp "$@" "$(cat "$sw_file")")
    sw_out=$({ printf '%s\n' "$sw_payload" | tcli "$CLI_TIMEOUT" -p "$sw_local" --pipe --pipe-timeout 1 2>&1 || true; } | tr -d "\r")
    sw_replies=$(printf '%s\n' "$sw_out" | sed -n 's/^errors: [0-9]*, replies: \([0-9]*\)$/\1/p' | tail -n 1)
    sw_reply=$(printf '%s\n' "$sw_out" | grep -v -e '^All data transferred' -e '^errors: ' -e '^No replies for' -e '^Last reply received' \
      -e "unknown command 'ECHO'" -e '^$' | head -n 1 || true)
    [ "${sw_replies:-0}" -ge 2 ] && [ -z "$sw_reply" ] && sw_reply=OK
  else
    # -x: the password is the last argument, read from stdin (never on a command line).
    sw_reply=$({ printf '%s' "$(cat "$sw_file")" | cli -p "$sw_local" -x "$@" || true; } | tr -d "\r")
  fi
  if [ "$sw_reply" = OK ]; then
    printf '%s\n' "$sw_want" > "$sw_state"
    rm -f "$sw_state.waiting"
    if [ "$sw_sent" = default ]; then
      log "ACL: every server accepts $sw_user: logging in as $sw_user from now on (was the default user)"
    else
      log "ACL: every server accepts the new password of $sw_user: sending it from now on"
    fi
  elif [ "$sw_sent" = default ]; then
    log "ACL: could not switch from the default user to $sw_user (${sw_reply:-no answer}); trying again"
  else
    log "ACL: could not switch to the new password of $sw_user (${sw_reply:-no answer}); trying again"
  fi
}

# Records (in <state file> $2) that this process starts sending the main password of <user> $1, or,
# with $3 = default, that it logs in as the default user (acl_start_as).
acl_record_sent() {
  [ -n "$ACL_DIR" ] || return 0
  if [ "${3:-}" = default ]; then
    echo default > "$2"
  else
    sha1sum < "$ACL_DIR/$1" | cut -d ' ' -f 1 > "$2"
  fi
}
