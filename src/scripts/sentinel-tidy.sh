#!/bin/sh
# Sentinel tidy loop, the `tidy` sidecar of every Sentinel pod. Sentinels never forget a replica or
# a peer Sentinel they have seen; after a scale-down every Sentinel keeps the removed pods, which
# raises the majority a failover needs and lists dead replicas. This loop makes its own Sentinel
# forget them with SENTINEL RESET <master> (the only way: it forgets every replica and peer and
# rediscovers the live ones, replicas from the master's INFO within 10 s, peers from their hello
# messages within 2 s), and only when that cannot hurt:
# - an entry counts as gone when its pod DNS name has not resolved for TIDY_GRACE seconds (the
#   headless Services publish not-ready pods, so a restarting pod still resolves), while this
#   pod's own name resolves (DNS works);
# - the deployment is otherwise whole: no TILT; the master flagged exactly `master` (no sdown,
#   odown or failover in progress, which a reset would abort) and reporting role master; every
#   replica that still exists flagged exactly `slave`, link ok, replicating that master (so it is
#   rediscovered, never forgotten while down: a cut-off old master must stay known to be demoted);
#   every Sentinel that still exists answering, flagged `sentinel`, naming the same master at the
#   same config epoch, at least `quorum` of them;
# - one Sentinel at a time: every peer must know every live replica and Sentinel (none is
#   rediscovering after its own reset), and peers before this one in pod order must have no gone
#   entry left (they go first).
# Env: SELF_FQDN (this pod's DNS name), TIDY_INTERVAL, TIDY_GRACE (seconds). Per-release values:
# constants.sh (see lib.sh).
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SELF_FQDN:?SELF_FQDN must be set to the DNS name of this pod}"
: "${TIDY_INTERVAL:?must be set in the env of the tidy container}"
: "${TIDY_GRACE:?must be set in the env of the tidy container}"

load_auth
nl='
'

# True when the name resolves: its pod exists.
resolves() {
  getent hosts "$1" >/dev/null 2>&1 || nslookup "$1" >/dev/null 2>&1
}

# Reply lines of a command sent to the Sentinel at $1 ("" when it does not answer).
ask() {
  h=$1
  shift
  { cli -h "$h" -p "$SENTINEL_PORT" --raw "$@" || true; } | tr -d "\r"
}

# The value of key $1 in a map reply on stdin.
field() {
  awk -v want="$1" 'NR % 2 == 1 { k = $0; next } k == want { print; exit }'
}

# One line per instance of a SENTINEL REPLICAS / SENTINELS reply on stdin:
# "<host> <port> <flags> <master-link-status> <master-host> <master-port>" ("-" when absent).
instances() {
  awk '
    NR % 2 == 1 { k = $0; next }
    k == "name" { if (n++) print ip, port, flags, link, mh, mp; ip = port = flags = link = mh = mp = "-" }
    k == "ip" { ip = $0 }
    k == "port" { port = $0 }
    k == "flags" { flags = $0 }
    k == "master-link-status" { link = $0 }
    k == "master-host" { mh = $0 }
    k == "master-port" { mp = $0 }
    END { if (n) print ip, port, flags, link, mh, mp }'
}

# True when pod name $1 comes before $2: by StatefulSet ordinal, then by name.
before() {
  awk -v a="$1" -v b="$2" '
    function ord(x, l) { l = x; sub(/\..*/, "", l); if (l !~ /-[0-9]+$/) return -1; sub(/.*-/, "", l); return l + 0 }
    BEGIN { oa = ord(a); ob = ord(b); exit !(oa < ob || (oa == ob && a < b)) }'
}

# True when every word of $2 is a line of $1.
covers() {
  for w in $2; do
    printf '%s\n' "$1" | grep -qxF "$w" || return 1
  done
}

# Logs $* unless it is what was logged last (a wait is reported once, not every round).
last_note=''
note() {
  [ "$*" = "$last_note" ] && return 0
  last_note=$*
  log "$*"
}

# Prints why this Sentinel must not reset now, or nothing when it may. Reads $mhost $mport $epoch
# $quorum, $live_replicas and $live_sentinels (hosts that resolve) of this round.
blocker() {
  tilt=$(cli -h "$SELF_FQDN" -p "$SENTINEL_PORT" INFO sentinel | tr -d "\r" | sed -n 's/^sentinel_tilt://p' || true)
  [ "${tilt:-0}" = 0 ] || { echo "this Sentinel is in TILT"; return; }
  [ "$mflags" = master ] || { echo "the master $mhost is flagged $mflags"; return; }
  role=$(cli -h "$mhost" -p "$mport" ROLE | head -n 1 | tr -d "\r" || true)
  [ "$role" = master ] || { echo "the master $mhost reports role '${role:-none}'"; return; }
  bad=$(printf '%s\n' "$replicas" | while read -r h _ f l rh rp; do
    [ -n "$h" ] || continue
    printf '%s\n' "$live_replicas" | grep -qxF "$h" || continue
    if [ "$f" != slave ] || [ "$l" != ok ] || [ "$rh" != "$mhost" ] || [ "$rp" != "$mport" ]; then
      echo "replica $h is flagged $f, link $l, master $rh"
    fi
  done | head -n 1)
  [ -z "$bad" ] || { echo "$bad"; return; }
  count=1
  for p in $live_sentinels; do
    f=$(printf '%s\n' "$sentinels" | awk -v h="$p" '$1 == h { print $3; exit }')
    [ "$f" = sentinel ] || { echo "Sentinel $p is flagged $f"; return; }
    pm=$(ask "$p" SENTINEL MASTER "$MASTER_NAME")
    pf=$(printf '%s\n' "$pm" | field flags)
    pe=$(printf '%s\n' "$pm" | field config-epoch)
    ph=$(printf '%s\n' "$pm" | field ip)
    if [ "$pf" != master ] || [ "$ph" != "$mhost" ] || [ "$pe" != "$epoch" ]; then
      echo "Sentinel $p names ${ph:-nothing} (flags ${pf:-none}, epoch ${pe:-none}), this one $mhost (epoch $epoch)"
      return
    fi
    pr=$(ask "$p" SENTINEL REPLICAS "$MASTER_NAME" | instances | awk '{ print $1 }')
    ps=$(ask "$p" SENTINEL SENTINELS "$MASTER_NAME" | instances | awk '{ print $1 }')
    # shellcheck disable=SC2086 # host names: one word each, no glob characters
    others=$(printf '%s\n' $live_sentinels "$SELF_FQDN" | grep -vxF "$p")
    if ! covers "$pr" "$live_replicas" || ! covers "$ps" "$others"; then
      echo "Sentinel $p does not know every live replica and Sentinel yet"
      return
    fi
    if before "$p" "$SELF_FQDN"; then
      for h in $pr $ps; do
        resolves "$h" || { echo "Sentinel $p still lists $h, gone (it goes first)"; return; }
      done
    fi
    count=$(( count + 1 ))
  done
  [ "$count" -ge "$quorum" ] || echo "only $count Sentinels exist, fewer than the quorum ($quorum)"
}

gone_since=''
expect_back=''
reset_at=0

round() {
  m=$(ask "$SELF_FQDN" SENTINEL MASTER "$MASTER_NAME")
  [ -n "$m" ] || { note "this Sentinel does not answer yet"; return 0; }
  resolves "$SELF_FQDN" || { note "$SELF_FQDN does not resolve: not judging other names"; return 0; }
  mflags=$(printf '%s\n' "$m" | field flags)
  mhost=$(printf '%s\n' "$m" | field ip)
  mport=$(printf '%s\n' "$m" | field port)
  epoch=$(printf '%s\n' "$m" | field config-epoch)
  quorum=$(printf '%s\n' "$m" | field quorum)
  replicas=$(ask "$SELF_FQDN" SENTINEL REPLICAS "$MASTER_NAME" | instances)
  sentinels=$(ask "$SELF_FQDN" SENTINEL SENTINELS "$MASTER_NAME" | instances)
  now=$(date +%s)

  if [ -n "$expect_back" ]; then
    known=$(printf '%s\n%s\n' "$replicas" "$sentinels" | awk '{ print $1 }')
    if covers "$known" "$expect_back"; then
      log "every live replica and Sentinel known again $(( now - reset_at ))s after the reset"
      expect_back=''
    fi
  fi

  live_replicas=''
  live_sentinels=''
  next=''
  stale=''
  young=0
  for kind in replica sentinel; do
    if [ "$kind" = replica ]; then list=$replicas; else list=$sentinels; fi
    for h in $(printf '%s\n' "$list" | awk 'NF { print $1 }'); do
      if resolves "$h"; then
        if [ "$kind" = replica ]; then live_replicas="$live_replicas $h"; else live_sentinels="$live_sentinels $h"; fi
        continue
      fi
      since=$(printf '%s\n' "$gone_since" | awk -v h="$h" '$1 == h { print $2; exit }')
      since=${since:-$now}
      next="$next$h $since$nl"
      stale="$stale $h"
      [ $(( now - since )) -ge "$TIDY_GRACE" ] || young=1
    done
  done
  for h in $(printf '%s' "$next" | awk '{ print $1 }'); do
    printf '%s\n' "$gone_since" | awk -v h="$h" '$1 == h { f = 1 } END { exit !f }' || log "$h no longer resolves (forgotten after ${TIDY_GRACE}s gone)"
  done
  gone_since=$next
  # shellcheck disable=SC2086 # host names: one word each, no glob characters
  live_replicas=$(printf '%s\n' $live_replicas)
  # Every gone entry must be gone for the whole grace: a reset forgets them all at once.
  [ -n "$stale" ] && [ "$young" = 0 ] || return 0

  why=$(blocker)
  if [ -n "$why" ]; then
    note "gone:$stale; waiting: $why"
    return 0
  fi
  # Reset just before this Sentinel's next INFO of the master (every 10 s; `info-refresh` is the
  # time since the last one): it then lists the replicas again within about a second, not 10 s.
  # Meanwhile no peer resets (those before this one have no gone entry, those after wait for this
  # one); right before the reset, this Sentinel's own view of the master is checked once more.
  refresh=$(ask "$SELF_FQDN" SENTINEL MASTER "$MASTER_NAME" | field info-refresh)
  case $refresh in
    ''|*[!0-9]*) note "gone:$stale; SENTINEL MASTER gives no info-refresh ('$refresh')"; return 0 ;;
  esac
  if [ "$refresh" -lt 9000 ]; then
    sleep "$(awk -v r="$refresh" 'BEGIN { printf "%.1f", (9300 - r) / 1000 }')"
  fi
  m=$(ask "$SELF_FQDN" SENTINEL MASTER "$MASTER_NAME")
  now_view="$(printf '%s\n' "$m" | field flags) $(printf '%s\n' "$m" | field ip) $(printf '%s\n' "$m" | field config-epoch)"
  refresh=$(printf '%s\n' "$m" | field info-refresh)
  if [ "$now_view" != "master $mhost $epoch" ]; then
    note "gone:$stale; the master changed to: $now_view"
    return 0
  fi
  if ! [ "${refresh:-0}" -ge 8000 ] 2>/dev/null; then
    note "gone:$stale; missed the moment before the next INFO (info-refresh ${refresh:-none} ms), trying again"
    return 0
  fi
  reply=$(ask "$SELF_FQDN" SENTINEL RESET "$MASTER_NAME")
  if [ "$reply" != 1 ]; then
    note "SENTINEL RESET $MASTER_NAME answered '$reply'"
    return 0
  fi
  log "SENTINEL RESET $MASTER_NAME done (${refresh} ms after its last INFO of the master), forgetting$stale; every other Sentinel was whole, no failover in progress"
  last_note=''
  gone_since=''
  reset_at=$(date +%s)
  # shellcheck disable=SC2086 # host names: one word each, no glob characters
  expect_back=$(printf '%s\n' $live_replicas $live_sentinels)
}

log "tidy: forgets replicas and Sentinels whose pod names stay unresolvable for ${TIDY_GRACE}s"
while :; do
  # The password again each round: it may have been rotated (README, "Rotating a password").
  load_auth
  round || true
  sleep "$TIDY_INTERVAL"
done
