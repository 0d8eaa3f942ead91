#!/bin/sh
# preStop hook of every Redis pod: when this pod is the master, pause writes, ask the Sentinels for
# a failover and wait until they name another master, so a planned restart neither waits for
# down-after nor loses acknowledged writes.
# Env: SELF_FQDN, this pod's stable DNS name. Per-release values: constants.sh (see lib.sh).
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SELF_FQDN:?SELF_FQDN must be set to the DNS name of this pod}"
: "${FAILOVER_WAIT:?missing from constants.sh (scripts ConfigMap)}"
: "${REDIS_HOSTS?missing from constants.sh (scripts ConfigMap)}"
: "${ROLL_WAIT:?missing from constants.sh (scripts ConfigMap)}"
: "${ROLL_DOWN_WAIT:?missing from constants.sh (scripts ConfigMap)}"

# --- rolling updates -----------------------------------------------------------------------------
# The StatefulSet controller rolls both Redis StatefulSets (and the Sentinels') at once, each from its
# highest ordinal, one pod at a time. A master that handed over at once could promote a replica that
# is itself about to restart, and a replica restarting mid-hand-over could attach to this pod just as
# it is demoted. So a departing master first waits, still serving writes, until every Redis pod that
# rolls before it (all of the other StatefulSet's, and the higher ordinals of its own) runs another
# revision than its own and replicates it in sync, and makes the pods that roll after it (the lower
# ordinals of its own StatefulSet) less preferred for promotion: then the one hand-over of the roll
# goes to an updated replica.

ME=${SELF_FQDN%%.*}
MY_SET=${ME%-*}
MY_ORD=${ME##*-}

# Prints "<host> <port>" of the other Redis pods (REDIS_HOSTS, and the replicas attached now) that roll
# before ($1 = before) or after ($1 = after) this one.
roll_peers() {
  {
    for h in $REDIS_HOSTS; do echo "$h $REDIS_PORT"; done
    cli -p "$REDIS_PORT" INFO replication | tr -d "\r" | sed -n "s/^slave[0-9]*:ip=\([^,]*\),port=\([0-9]*\),.*/\1 \2/p" || true
  } | awk '!seen[$1]++' | while read -r h port; do
    [ "$h" = "$SELF_FQDN" ] && continue
    p=${h%%.*}
    later=no
    if [ "${p%-*}" = "$MY_SET" ] && [ "${p##*-}" -lt "$MY_ORD" ] 2>/dev/null; then later=yes; fi
    if { [ "$1" = before ] && [ $later = no ]; } || { [ "$1" = after ] && [ $later = yes ]; }; then echo "$h $port"; fi
  done
}

# Prints the process title of the Redis pod at $1:$2: "... rev=<revision>" (see redis-start.sh),
# with " leaving" once its preStop has started (mark_leaving); nothing when it does not answer.
title_of() {
  { cli -h "$1" -p "$2" --raw CONFIG GET proc-title-template </dev/null || true; } | tr -d "\r" | sed -n 2p
}

# Prints the revision in process title $1, or nothing.
revision_in() {
  echo "$1" | sed -n 's/.* rev=\([0-9a-f]*\).*/\1/p' | head -n 1
}

# Marks this pod as leaving in its process title, for its peers: a departing master takes a peer
# that is leaving as a sign of a rolling update (wait_for_roll), and departing replicas see each
# other (stay_for_min_replicas). Fails without a revision (nothing to mark).
mark_leaving() {
  [ -n "${REDIS_REVISION:-}" ] || return 1
  cli -p "$REDIS_PORT" CONFIG SET proc-title-template "{title} {listen-addr} {server-mode} rev=$REDIS_REVISION leaving" >/dev/null
}

# Counts, in SENTINELS_SILENT, the checks in a row at which no Sentinel answered a PING (any reply
# counts, a refused password too: the question is whether one is there). Two in a row mean the
# Sentinels are stopping too (the whole deployment is being deleted or scaled to 0) or unreachable:
# nobody can carry out a hand-over, so waiting for one only delays this pod's stop.
SENTINELS_SILENT=0
sentinels_silent() {
  for s in $SENTINEL_HOSTS; do
    if [ -n "$({ cli -h "$s" -p "$SENTINEL_PORT" PING </dev/null || true; } | tr -d "\r")" ]; then
      SENTINELS_SILENT=0
      return 1
    fi
  done
  SENTINELS_SILENT=$(( SENTINELS_SILENT + 1 ))
  [ "$SENTINELS_SILENT" -ge 2 ]
}

# True when the Redis pod at $1:$2 replicates this pod, link up, no sync running.
in_sync_with_me() {
  info=$({ cli -h "$1" -p "$2" INFO replication </dev/null || true; } | tr -d "\r")
  [ "$(echo "$info" | sed -n "s/^master_host://p")" = "$SELF_FQDN" ] &&
    [ "$(echo "$info" | sed -n "s/^master_link_status://p")" = "up" ] &&
    [ "$(echo "$info" | sed -n "s/^master_sync_in_progress://p")" = "0" ]
}

# Raises replica-priority (less preferred) on the pods that roll after this one, once.
DEPRIORITIZED=''
deprioritize_later() {
  [ -z "$DEPRIORITIZED" ] || return 0
  DEPRIORITIZED=' '
  later=$(roll_peers after)
  while read -r h port; do
    [ -n "$h" ] || continue
    prio=$({ cli -h "$h" -p "$port" --raw CONFIG GET replica-priority </dev/null || true; } | tr -d "\r" | sed -n 2p)
    case $prio in ''|0|*[!0-9]*) continue ;; esac
    if cli -h "$h" -p "$port" CONFIG SET replica-priority "$(( prio + 100 ))" </dev/null >/dev/null; then
      DEPRIORITIZED="$DEPRIORITIZED$h:$(( prio + 100 )) "
      log "preStop: $h rolls after this pod: replica-priority $(( prio + 100 )), so the Sentinels promote an updated replica"
    fi
  done <<PEERS
$later
PEERS
}

# Prints what some answering Sentinel does not know yet (it reads replicas from the master's INFO,
# and each replica's priority from its INFO, every 10 s): an updated pod in $1 it does not list as a
# healthy replica (a Sentinel promotes only replicas it knows), or a deprioritized pod it still sees
# at its old priority.
sentinel_view_pending() {
  for s in $SENTINEL_HOSTS; do
    known=$({ cli -h "$s" -p "$SENTINEL_PORT" --raw SENTINEL REPLICAS "$MASTER_NAME" </dev/null || true; } | tr -d "\r" | awk '
      NR % 2 == 1 { k = $0; next }
      k == "name" && ip != "" { print ip, flags, link, prio; ip = "" }
      k == "ip" { ip = $0 }
      k == "flags" { flags = $0 }
      k == "master-link-status" { link = $0 }
      k == "slave-priority" { prio = $0 }
      END { if (ip != "") print ip, flags, link, prio }')
    [ -n "$known" ] || continue
    for h in $1; do
      echo "$known" | grep -q "^$h slave ok " || echo "$h@${s%%.*}"
    done
    for hp in $DEPRIORITIZED; do
      echo "$known" | awk -v h="${hp%:*}" -v p="${hp##*:}" '$1 == h && $4 != p { bad = 1 } END { exit bad ? 0 : 1 }' && echo "${hp%:*}@${s%%.*}"
    done
  done
}

# Waits (bounded by ROLL_WAIT; writes go on) while a rolling update is replacing the pods that roll
# before this one. With no sign of a rolling update within 2 s (every such pod answers, at this
# pod's revision, not leaving), it returns at once: a plain pod deletion or a node drain.
wait_for_roll() {
  [ -n "${REDIS_REVISION:-}" ] || return 0
  start=$(date +%s)
  rolling=''
  said=''
  down_since=''
  while :; do
    now=$(date +%s)
    pending=''
    down=''
    updated=''
    peers=$(roll_peers before)
    while read -r h port; do
      [ -n "$h" ] || continue
      title=$(title_of "$h" "$port")
      rev=$(revision_in "$title")
      if [ -z "$rev" ]; then
        rolling=yes
        down="$down $h"
      elif [ "$rev" = "$REDIS_REVISION" ]; then
        # At this pod's revision and leaving: the controller is replacing it too (it rolls at the
        # same time as this pod, e.g. the first pod of the other Redis StatefulSet); wait for it.
        case $title in *" leaving") rolling=yes ;; esac
        pending="$pending $h"
      else
        rolling=yes
        if in_sync_with_me "$h" "$port"; then updated="$updated $h"; else pending="$pending $h"; fi
      fi
    done <<PEERS
$peers
PEERS
    if [ -z "$rolling" ]; then
      [ "$now" -lt $(( start + 2 )) ] || return 0
      sleep 0.3
      continue
    fi
    deprioritize_later
    # A pod that stays unreachable is gone (scaled down, its node lost), not restarting.
    if [ -n "$down" ]; then
      down_since=${down_since:-$now}
      if [ "$now" -lt $(( down_since + ROLL_DOWN_WAIT )) ]; then pending="$pending$down"; fi
    else
      down_since=''
    fi
    if [ -z "$pending" ]; then pending=$(sentinel_view_pending "$updated" | tr '\n' ' ' | sed 's/^/ /; s/ $//'); fi
    if [ -z "$pending" ]; then
      log "preStop: rolling update: every pod that rolls before this one runs a new revision, in sync, known to the Sentinels (waited $(( now - start ))s)"
      return 0
    fi
    if [ "$now" -ge $(( start + ROLL_WAIT )) ]; then
      log "preStop: rolling update: still waiting for$pending after ${ROLL_WAIT}s; handing over now"
      return 0
    fi
    if sentinels_silent; then
      log "preStop: rolling update: no Sentinel answers (stopping too?): not waiting for$pending"
      return 0
    fi
    if [ -z "$said" ]; then
      log "preStop: rolling update under way: waiting for$pending before handing over"
      said=yes
    fi
    sleep 0.5
  done
}

# Prints SENTINEL_HOSTS last pod first. The Sentinel that runs a failover reports the old master in
# SENTINEL MASTER(S) until the failover ends (its replicas reconfigured), while the others switch as
# soon as it announces the promotion (sentinel.c: sentinelGetCurrentMasterAddress,
# sentinelForceHelloUpdateForMaster). Clients list the Sentinels in pod order and ask the first one
# first (redis-py discover_master): let the last one run the failover.
sentinels_last_first() {
  for s in $SENTINEL_HOSTS; do echo "$s"; done | awk '{ l[NR] = $0 } END { for (i = NR; i > 0; i--) print l[i] }'
}

# A departing replica stays (bounded by ROLL_WAIT) while its leaving would drop its master below
# min-replicas-to-write: a rolling update restarts the first pod of each Redis StatefulSet at once,
# and with the master on the lowest replica ordinal both its replicas would go together (seen: every
# write refused, NOREPLICAS, for 4 s). Marked leaving already (mark_leaving), it waits a moment for
# a peer leaving at the same time to mark itself too, then counts the
# master's online replicas but itself and any leaving one whose name sorts first (that one goes first).
stay_for_min_replicas() {
  [ -n "${REDIS_REVISION:-}" ] || return 0
  need=$({ cli -p "$REDIS_PORT" --raw CONFIG GET min-replicas-to-write || true; } | tr -d "\r" | sed -n 2p)
  case $need in ''|0|*[!0-9]*) return 0 ;; esac
  info=$({ cli -p "$REDIS_PORT" INFO replication || true; } | tr -d "\r")
  mh=$(echo "$info" | sed -n "s/^master_host://p")
  mp=$(echo "$info" | sed -n "s/^master_port://p")
  [ "$(echo "$info" | sed -n "s/^master_link_status://p")" = up ] || return 0
  # This pod is marked leaving (mark_leaving); a moment for a peer leaving at the same time to mark itself too.
  sleep 1
  until=$(( $(date +%s) + ROLL_WAIT ))
  said=''
  while [ "$(date +%s)" -lt "$until" ]; do
    others=$({ cli -h "$mh" -p "$mp" INFO replication || true; } | tr -d "\r" | sed -n "s/^slave[0-9]*:ip=\([^,]*\),port=\([0-9]*\),state=online,.*/\1 \2/p")
    good=0
    while read -r h port; do
      if [ -z "$h" ] || [ "$h" = "$SELF_FQDN" ]; then continue; fi
      title=$(title_of "$h" "$port")
      case $title in
        '') continue ;;
        *" leaving") [ "$(printf '%s\n%s\n' "$h" "$SELF_FQDN" | sort | head -n 1)" = "$h" ] && continue ;;
      esac
      good=$(( good + 1 ))
    done <<OTHERS
$others
OTHERS
    if [ "$good" -ge "$need" ]; then
      [ -z "$said" ] || log "preStop: $mh has $good other replica(s) online: leaving"
      return 0
    fi
    # Staying keeps $mh writable for the clients the Sentinels send there; with no Sentinel left to
    # send any (the deployment is stopping), it only delays the stop.
    if sentinels_silent; then
      log "preStop: no Sentinel answers (stopping too?): leaving"
      return 0
    fi
    if [ -z "$said" ]; then
      log "preStop: leaving now would leave $mh with $good of the $need replica(s) min-replicas-to-write needs: waiting"
      said=yes
    fi
    sleep 0.5
  done
  log "preStop: still too few replicas on $mh after ${ROLL_WAIT}s: leaving"
}

load_auth
role=$(cli -p "$REDIS_PORT" --raw ROLE | head -n 1 | tr -d "\r" || true)
if [ "$role" = "slave" ]; then
  if mark_leaving; then stay_for_min_replicas; fi
fi
if [ "$role" != "master" ]; then
  log "preStop: role is '${role:-unknown}', nothing to hand over"
  exit 0
fi
wait_for_roll
replicas=$(cli -p "$REDIS_PORT" --raw INFO replication | tr -d "\r" | sed -n "s/^connected_slaves://p" || true)
if [ "${replicas:-0}" -lt 1 ]; then
  log "preStop: master without connected replicas, no failover possible"
  exit 0
fi

deadline=$(( $(date +%s) + FAILOVER_WAIT ))
# No replication PING from here on: one sent after the promoted replica has left would put the
# other replicas ahead of it, and they could then only resync in full (seen: writes refused for
# 5 s by min-replicas-to-write). This pod is going away; the setting goes with it.
cli -p "$REDIS_PORT" CONFIG SET repl-ping-replica-period 3600 >/dev/null || true

# Asks the Sentinels, in turn, to fail this master over; writes wait (clients block, they are
# not refused) while one does. Sets "asked" to the Sentinel that took it, or "" when none did.
ask_failover() {
  asked=''
  left=$(( deadline - $(date +%s) ))
  [ "$left" -gt 0 ] || return 0
  cli -p "$REDIS_PORT" CLIENT PAUSE "$(( left * 1000 ))" WRITE >/dev/null || true
  for s in $(sentinels_last_first); do
    reply=$(cli -h "$s" -p "$SENTINEL_PORT" SENTINEL FAILOVER "$MASTER_NAME" || true)
    case $reply in
      OK*|*INPROG*) asked=$s; break ;;
    esac
  done
  if [ -n "$asked" ]; then
    log "preStop: $asked is failing $MASTER_NAME over"
  else
    # Paused writes would only make the Sentinels think this master is down.
    cli -p "$REDIS_PORT" CLIENT UNPAUSE >/dev/null || true
  fi
}

ask_failover
if [ -z "$asked" ]; then
  log "preStop: no Sentinel takes SENTINEL FAILOVER yet (restarting, or no replica known); asking again"
fi

# The Sentinel running the failover names the promoted replica as soon as that replica has taken
# the role (SENTINEL get-master-addr-by-name), before the other Sentinels and replicas catch up:
# ask it every 0.1 s. A Sentinel that stops answering, or answers without a failover in progress
# (restarted under the same name), has dropped it: ask again. The highest config epoch among all
# Sentinels is checked once a second too (they may fail over by themselves).
new=''
n=0
stalled=0
while [ -z "$new" ] && [ "$(date +%s)" -lt "$deadline" ]; do
  n=$(( n + 1 ))
  if [ -n "$asked" ]; then
    addr=$(master_addr "$asked")
    # shellcheck disable=SC2086
    set -- $addr
    if [ $# -eq 2 ] && [ "$1" != "$SELF_FQDN" ]; then
      new="$1 $2"
      break
    fi
    flags=$({ cli -h "$asked" -p "$SENTINEL_PORT" --raw SENTINEL MASTER "$MASTER_NAME" || true; } | tr -d "\r" | awk 'NR % 2 == 1 { k = $0; next } k == "flags" { print; exit }')
    case $flags in
      *failover_in_progress*) stalled=0 ;;
      *) stalled=$(( stalled + 1 )) ;;
    esac
    if [ "$stalled" -ge 3 ]; then
      log "preStop: $asked is no longer failing $MASTER_NAME over"
      stalled=0
      ask_failover
    fi
  elif [ $(( n % 5 )) -eq 0 ]; then
    if sentinels_silent; then
      log "preStop: no Sentinel answers (stopping too?): no failover possible"
      cli -p "$REDIS_PORT" CLIENT UNPAUSE >/dev/null || true
      exit 0
    fi
    ask_failover
  fi
  if [ $(( n % 10 )) -eq 0 ]; then
    master=$(current_master "" "$SELF_FQDN")
    if [ -n "$master" ]; then
      # shellcheck disable=SC2086
      set -- $master
      if [ "$2" != "$SELF_FQDN" ]; then
        new="$2 $3"
        break
      fi
    fi
  fi
  sleep 0.1
done
if [ -z "$new" ]; then
  log "preStop: no new master after ${FAILOVER_WAIT}s"
  cli -p "$REDIS_PORT" CLIENT UNPAUSE >/dev/null || true
  exit 0
fi
# Both sources (master_addr, current_master) give only well-formed addresses.
# shellcheck disable=SC2086
set -- $new
log "preStop: the Sentinels name $1:$2 as master"
# Become a read-only replica of the new master before lifting the pause: writes sent here are
# refused (READONLY) rather than lost, and the pause no longer blocks the Sentinels (CLIENT PAUSE
# WRITE also holds their PUBLISH, which would mark this pod down and start another failover).
# Replicas attached to this pod that the Sentinels have not seen yet (they find replicas only in
# the master's INFO, every 10 s) would stay chained behind it: point every one at the new master.
attached=$(cli -p "$REDIS_PORT" INFO replication | tr -d "\r" | sed -n "s/^slave[0-9]*:ip=\([^,]*\),port=\([0-9]*\),.*/\1 \2/p" || true)
cli -p "$REDIS_PORT" REPLICAOF "$1" "$2" >/dev/null || true
new_host=$1
new_port=$2
echo "$attached" | while read -r rh rp; do
  if [ -n "$rh" ] && [ "$rh" != "$new_host" ]; then
    cli -h "$rh" -p "$rp" REPLICAOF "$new_host" "$new_port" >/dev/null || true
  fi
done
set -- "$new_host" "$new_port"
# Close the clients' connections: the writes the pause held were never executed (so never
# acknowledged), and clients that keep a connection (ioredis by default) ask the Sentinels again
# at once instead of meeting READONLY until this pod stops.
cli -p "$REDIS_PORT" CLIENT KILL TYPE normal >/dev/null || true
cli -p "$REDIS_PORT" CLIENT UNPAUSE >/dev/null || true
# Stop only once the Sentinels agree (the failover has ended): the pod that replaces this one asks
# them who the master is.
while [ "$(date +%s)" -lt "$deadline" ]; do
  master=$(current_master "" "$SELF_FQDN")
  # shellcheck disable=SC2086
  [ -n "$master" ] && set -- $master && [ "$2" != "$SELF_FQDN" ] && break
  sleep 0.2
done
log "preStop: done; the Sentinels name ${2:-?} as master"
