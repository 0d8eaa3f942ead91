/**
 * Shell scripts run inside the Redis and Sentinel containers: POSIX sh (busybox ash on the
 * alpine image), built from arrays of lines so no indentation leaks into the files.
 *
 * Every script takes its constants from the options (rendered in) and the pod's identity from
 * the environment: `SELF_FQDN`, the pod's stable DNS name.
 */

/** What every script needs to know about the deployment. */
export interface ScriptCommonOptions {
  /** The monitored master's name. */
  readonly masterName: string;
  /** DNS names of every Sentinel pod. */
  readonly sentinelHosts: readonly string[];
  readonly sentinelPort: number;
  readonly redisPort: number;
  /** Path of the file holding the password (a mounted Secret key); undefined when auth is off. */
  readonly authFile?: string;
  /** Seconds one redis-cli call may take before it is abandoned. */
  readonly cliTimeoutSeconds: number;
}

export interface RedisStartScriptOptions extends ScriptCommonOptions {
  /** FQDN of the bootstrap master pod: the master when no Sentinel answers. */
  readonly bootstrapMasterHost: string;
  /** The rendered redis.conf (read-only ConfigMap file). */
  readonly templateFile: string;
  /** Where the runtime config is written (writable volume, private to the pod). */
  readonly configFile: string;
  /** How long to keep asking when no Sentinel answers at all, before falling back to the bootstrap master. */
  readonly sentinelWaitSeconds: number;
}

export interface SentinelStartScriptOptions extends ScriptCommonOptions {
  /** FQDN of the bootstrap master pod: monitored when neither live Sentinels nor saved state know better. */
  readonly bootstrapMasterHost: string;
  /** The rendered sentinel.conf (read-only ConfigMap file). */
  readonly templateFile: string;
  /** The Sentinel's own config file, on its persistent volume (Sentinel rewrites it). */
  readonly configFile: string;
  /** How long to wait for the chosen master's name to resolve before starting anyway. */
  readonly resolveWaitSeconds: number;
}

export interface PreStopScriptOptions extends ScriptCommonOptions {
  /** How long to wait for the Sentinels to name another master (writes stay paused meanwhile). */
  readonly failoverWaitSeconds: number;
}

const q = (s: string) => `'${s.replace(/'/g, `'"'"'`)}'`;

function header(purpose: string[]): string[] {
  return ['#!/bin/sh', ...purpose.map((l) => `# ${l}`), '# Rendered by cdk8s-redis-sentinel.', 'set -eu', ''];
}

type Constant = 'MASTER_NAME' | 'SENTINEL_HOSTS' | 'SENTINEL_PORT' | 'REDIS_PORT' | 'AUTH_FILE' | 'CLI_TIMEOUT';

/** The shell constants a script uses (only those: shellcheck flags unused ones). */
function constants(o: ScriptCommonOptions, keys: readonly Constant[]): string[] {
  const values: Record<Constant, string> = {
    MASTER_NAME: q(o.masterName),
    SENTINEL_HOSTS: q(o.sentinelHosts.join(' ')),
    SENTINEL_PORT: String(o.sentinelPort),
    REDIS_PORT: String(o.redisPort),
    AUTH_FILE: q(o.authFile ?? ''),
    CLI_TIMEOUT: String(o.cliTimeoutSeconds),
  };
  return keys.map((k) => `${k}=${values[k]}`);
}

const ALL_CONSTANTS: readonly Constant[] = ['MASTER_NAME', 'SENTINEL_HOSTS', 'SENTINEL_PORT', 'REDIS_PORT', 'AUTH_FILE', 'CLI_TIMEOUT'];

/** Logging, the password, and bounded redis-cli calls: every script uses these. */
const BASE_FUNCTIONS: string[] = [
  'log() {',
  '  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $*" >&2',
  '}',
  '',
  '# Reads the password from the mounted Secret into REDISCLI_AUTH (used by redis-cli).',
  'load_auth() {',
  '  if [ -n "$AUTH_FILE" ]; then',
  '    if [ ! -r "$AUTH_FILE" ]; then',
  '      log "cannot read the password file $AUTH_FILE: is the Secret there and mounted?"',
  '      exit 1',
  '    fi',
  '    REDISCLI_AUTH=$(cat "$AUTH_FILE")',
  '    export REDISCLI_AUTH',
  '  fi',
  '}',
  '',
  '# redis-cli with a bounded run time; errors go nowhere.',
  'cli() {',
  '  timeout "$CLI_TIMEOUT" redis-cli "$@" 2>/dev/null',
  '}',
  '',
];

/** Asking the Sentinels who the master is. */
const SENTINEL_FUNCTIONS: string[] = [
  '# Prints "<config-epoch> <host> <port>" of the master each answering Sentinel (but $1) monitors.',
  '# A Sentinel running a failover reports the new epoch with the OLD address in SENTINEL MASTER until',
  '# the failover ends; its get-master-addr-by-name names the promoted replica as soon as that has',
  '# taken the role: use that.',
  '# Prints "<host> <port>" of the master Sentinel $1 names to clients (get-master-addr-by-name),',
  '# or nothing when it does not answer or the answer is not an address.',
  'master_addr() {',
  '  # shellcheck disable=SC2046',
  '  set -- $({ cli -h "$1" -p "$SENTINEL_PORT" --raw SENTINEL get-master-addr-by-name "$MASTER_NAME" || true; } | tr -d "\\r")',
  '  [ $# -eq 2 ] || return 0',
  '  case "$1:$2" in',
  '    *[!A-Za-z0-9.:-]*|:*|*:) return 0 ;;',
  '  esac',
  '  echo "$1 $2"',
  '}',
  '',
  'sentinel_answers() {',
  '  skip=${1:-}',
  '  for s in $SENTINEL_HOSTS; do',
  '    [ "$s" = "$skip" ] && continue',
  '    answer=$({ cli -h "$s" -p "$SENTINEL_PORT" --raw SENTINEL MASTER "$MASTER_NAME" || true; } | tr -d "\\r" | awk \'',
  '      NR % 2 == 1 { k = $0; next }',
  '      k == "ip" { ip = $0 }',
  '      k == "port" { port = $0 }',
  '      k == "config-epoch" { e = $0 }',
  '      k == "flags" { f = $0 }',
  '      END {',
  '        if (e == "") e = 0',
  '        if (ip ~ /^[A-Za-z0-9.:-]+$/ && port ~ /^[0-9]+$/ && e ~ /^[0-9]+$/) print e, ip, port, (f ~ /failover_in_progress/ ? "failover" : "")',
  '      }\')',
  '    [ -n "$answer" ] || continue',
  '    # shellcheck disable=SC2086',
  '    set -- $answer',
  '    if [ "${4:-}" = failover ]; then',
  '      addr=$(master_addr "$s")',
  '      [ -n "$addr" ] || continue',
  '      # shellcheck disable=SC2086',
  '      set -- "$1" $addr',
  '    fi',
  '    echo "$1 $2 $3"',
  '  done',
  '}',
  '',
  '# Prints "<config-epoch> <host> <port>": the master known with the highest config epoch',
  '# (Sentinel\'s own rule: the highest epoch wins), or nothing when no Sentinel answers.',
  '# $1: a Sentinel not to ask (the caller itself), or "". $2: this pod\'s name, or "": when',
  '# Sentinels at the highest epoch disagree (a failover is spreading), another host is preferred to',
  '# $2, so a pod never takes the master role on ambiguous evidence.',
  'current_master() {',
  '  sentinel_answers "$1" | sort -n -r | awk -v self="${2:-}" \'',
  '    NR == 1 { top = $1 }',
  '    $1 == top && (best == "" || (bh == self && $2 != self)) { best = $0; bh = $2 }',
  '    END { if (best != "") print best }\'',
  '}',
  '',
];

/** Writing the password into a config file. */
const CONFIG_FUNCTIONS: string[] = [
  '# Prints $1 as a double-quoted Redis config string.',
  'conf_quote() {',
  '  printf \'"%s"\' "$(printf \'%s\' "$1" | sed -e \'s/\\\\/\\\\\\\\/g\' -e \'s/"/\\\\"/g\')"',
  '}',
  '',
  '# Refuses a password Redis cannot read from its config file.',
  'check_password() {',
  "  nl='",
  "'",
  '  case $REDISCLI_AUTH in',
  '    *"$nl"*|"")',
  '      log "the password in $AUTH_FILE is empty or spans lines: Redis cannot use it"',
  '      exit 1',
  '      ;;',
  '  esac',
  '}',
  '',
];

const REQUIRE_SELF = [': "${SELF_FQDN:?SELF_FQDN must be set to the DNS name of this pod}"', ''];

/**
 * The Redis container's entrypoint, run at EVERY start of the container (not only in an init
 * container, which a crash or liveness restart does not rerun). It asks the Sentinels for the
 * current master and starts as its replica, or as master when the Sentinels name this pod;
 * only when no Sentinel answers does the bootstrap master pod start as master.
 */
export function renderRedisStartScript(o: RedisStartScriptOptions): string {
  return [
    ...header([
      'Redis entrypoint: decides this pod\'s role at every start by asking the Sentinels,',
      'writes the runtime config to a private writable volume, then execs redis-server.',
    ]),
    ...constants(o, ALL_CONSTANTS),
    `BOOTSTRAP_MASTER_HOST=${q(o.bootstrapMasterHost)}`,
    `TEMPLATE=${q(o.templateFile)}`,
    `CONF_FILE=${q(o.configFile)}`,
    `SENTINEL_WAIT=${o.sentinelWaitSeconds}`,
    ...REQUIRE_SELF,
    ...BASE_FUNCTIONS,
    ...SENTINEL_FUNCTIONS,
    ...CONFIG_FUNCTIONS,
    'load_auth',
    '',
    '# Ask the Sentinels; keep asking (bounded) only while none of them answers at all.',
    'deadline=$(( $(date +%s) + SENTINEL_WAIT ))',
    'while :; do',
    '  master=$(current_master "" "$SELF_FQDN")',
    '  [ -n "$master" ] && break',
    '  if [ "$(date +%s)" -ge "$deadline" ]; then',
    '    break',
    '  fi',
    '  log "no Sentinel answered; asking again"',
    '  sleep 2',
    'done',
    '',
    'if [ -n "$master" ]; then',
    '  # shellcheck disable=SC2086',
    '  set -- $master',
    '  host=$2',
    '  port=$3',
    '  log "the Sentinels name $host:$port as master of $MASTER_NAME (config epoch $1)"',
    'else',
    '  host=$BOOTSTRAP_MASTER_HOST',
    '  port=$REDIS_PORT',
    '  log "no Sentinel answered within ${SENTINEL_WAIT}s: the bootstrap master is $host"',
    'fi',
    '',
    'umask 077',
    'tmp="$CONF_FILE.tmp"',
    'cp "$TEMPLATE" "$tmp"',
    '{',
    '  echo "replica-announce-ip $SELF_FQDN"',
    '  echo "replica-announce-port $REDIS_PORT"',
    '  if [ -n "$AUTH_FILE" ]; then',
    '    check_password',
    '    pw=$(conf_quote "$REDISCLI_AUTH")',
    '    echo "requirepass $pw"',
    '    echo "masterauth $pw"',
    '  fi',
    '  if [ "$host" != "$SELF_FQDN" ]; then',
    '    echo "replicaof $host $port"',
    '  fi',
    '} >> "$tmp"',
    'mv "$tmp" "$CONF_FILE"',
    '',
    'if [ "$host" = "$SELF_FQDN" ]; then',
    '  log "starting as master"',
    'else',
    '  log "starting as replica of $host:$port"',
    'fi',
    'exec redis-server "$CONF_FILE"',
  ].join('\n') + '\n';
}

/**
 * The Sentinel container's entrypoint, run at every start. It monitors the master known with the
 * highest config epoch among the live peer Sentinels and its own saved state (bootstrap master when
 * neither knows), with a stable `sentinel myid` derived from the pod's DNS name.
 */
export function renderSentinelStartScript(o: SentinelStartScriptOptions): string {
  return [
    ...header([
      'Sentinel entrypoint: writes this Sentinel\'s config from the template, monitoring the master',
      'that live Sentinels or its own saved state know with the highest config epoch.',
    ]),
    ...constants(o, ALL_CONSTANTS),
    `BOOTSTRAP_MASTER_HOST=${q(o.bootstrapMasterHost)}`,
    `TEMPLATE=${q(o.templateFile)}`,
    `CONF_FILE=${q(o.configFile)}`,
    `RESOLVE_WAIT=${o.resolveWaitSeconds}`,
    ...REQUIRE_SELF,
    ...BASE_FUNCTIONS,
    ...SENTINEL_FUNCTIONS,
    ...CONFIG_FUNCTIONS,
    '# True when $1 is an IP address or a name that resolves.',
    'resolvable() {',
    '  case $1 in',
    '    *[!0-9.]*) ;;',
    '    *) return 0 ;;',
    '  esac',
    '  getent hosts "$1" >/dev/null 2>&1 || nslookup "$1" >/dev/null 2>&1',
    '}',
    '',
    'load_auth',
    '# A stable id: a restarted Sentinel is the same voter, not a new one.',
    'MYID=$(printf \'%s\' "$SELF_FQDN" | sha1sum | cut -c1-40)',
    '',
    'peer=$(current_master "$SELF_FQDN" "")',
    'saved=\'\'',
    'saved_current=0',
    'if [ -f "$CONF_FILE" ]; then',
    '  saved=$(awk -v m="$MASTER_NAME" \'',
    '    $1 == "sentinel" && $2 == "monitor" && $3 == m { h = $4; p = $5 }',
    '    $1 == "sentinel" && $2 == "config-epoch" && $3 == m { e = $4 }',
    '    END {',
    '      if (e == "") e = 0',
    '      if (h ~ /^[A-Za-z0-9.:-]+$/ && p ~ /^[0-9]+$/ && e ~ /^[0-9]+$/) print e, h, p',
    '    }\' "$CONF_FILE")',
    '  saved_current=$(awk \'$1 == "sentinel" && $2 == "current-epoch" && $3 ~ /^[0-9]+$/ { c = $3 } END { print c + 0 }\' "$CONF_FILE")',
    'fi',
    '',
    'if [ -n "$saved" ] && { [ -z "$peer" ] || [ "${saved%% *}" -gt "${peer%% *}" ]; }; then',
    '  chosen=$saved',
    '  source="its own saved state"',
    'elif [ -n "$peer" ]; then',
    '  chosen=$peer',
    '  source="the live Sentinels"',
    'else',
    '  chosen="0 $BOOTSTRAP_MASTER_HOST $REDIS_PORT"',
    '  source="the bootstrap config"',
    'fi',
    '# shellcheck disable=SC2086',
    'set -- $chosen',
    'epoch=$1',
    'host=$2',
    'port=$3',
    'current=$epoch',
    'if [ "$saved_current" -gt "$current" ]; then',
    '  current=$saved_current',
    'fi',
    'log "monitoring $MASTER_NAME at $host:$port (config epoch $epoch), from $source"',
    '',
    '# Sentinel refuses a monitor line whose name does not resolve yet (pod not yet scheduled).',
    'deadline=$(( $(date +%s) + RESOLVE_WAIT ))',
    'until resolvable "$host"; do',
    '  if [ "$(date +%s)" -ge "$deadline" ]; then',
    '    log "$host does not resolve yet; starting anyway"',
    '    break',
    '  fi',
    '  sleep 1',
    'done',
    '',
    'umask 077',
    'tmp="$CONF_FILE.tmp"',
    'sed "s|^sentinel monitor $MASTER_NAME [^ ]* [0-9]* |sentinel monitor $MASTER_NAME $host $port |" "$TEMPLATE" > "$tmp"',
    '{',
    '  echo "sentinel myid $MYID"',
    '  echo "sentinel announce-ip $SELF_FQDN"',
    '  if [ -n "$AUTH_FILE" ]; then',
    '    check_password',
    '    pw=$(conf_quote "$REDISCLI_AUTH")',
    '    echo "requirepass $pw"',
    '    echo "sentinel auth-pass $MASTER_NAME $pw"',
    '  fi',
    '  echo "sentinel config-epoch $MASTER_NAME $epoch"',
    '  echo "sentinel current-epoch $current"',
    '} >> "$tmp"',
    'mv "$tmp" "$CONF_FILE"',
    'exec redis-sentinel "$CONF_FILE"',
  ].join('\n') + '\n';
}

/**
 * preStop hook of every Redis pod: when this pod is the master, pause writes, ask the Sentinels
 * for a failover, and wait until they name another master, so a planned restart neither waits
 * for down-after nor loses acknowledged writes.
 */
export function renderPreStopScript(o: PreStopScriptOptions): string {
  return [
    ...header([
      'preStop: when this pod is the master, hand the role over before it stops.',
    ]),
    ...constants(o, ALL_CONSTANTS),
    `WAIT=${o.failoverWaitSeconds}`,
    ...REQUIRE_SELF,
    ...BASE_FUNCTIONS,
    ...SENTINEL_FUNCTIONS,
    'load_auth',
    'role=$(cli -p "$REDIS_PORT" --raw ROLE | head -n 1 | tr -d "\\r" || true)',
    'if [ "$role" != "master" ]; then',
    '  log "preStop: role is \'${role:-unknown}\', nothing to hand over"',
    '  exit 0',
    'fi',
    'replicas=$(cli -p "$REDIS_PORT" --raw INFO replication | tr -d "\\r" | sed -n "s/^connected_slaves://p" || true)',
    'if [ "${replicas:-0}" -lt 1 ]; then',
    '  log "preStop: master without connected replicas, no failover possible"',
    '  exit 0',
    'fi',
    '',
    'deadline=$(( $(date +%s) + WAIT ))',
    '# No replication PING from here on: one sent after the promoted replica has left would put the',
    '# other replicas ahead of it, and they could then only resync in full (seen: writes refused for',
    '# 5 s by min-replicas-to-write). This pod is going away; the setting goes with it.',
    'cli -p "$REDIS_PORT" CONFIG SET repl-ping-replica-period 3600 >/dev/null || true',
    '',
    '# Asks the Sentinels, in turn, to fail this master over; writes wait (clients block, they are',
    '# not refused) while one does. Sets "asked" to the Sentinel that took it, or "" when none did.',
    'ask_failover() {',
    '  asked=\'\'',
    '  left=$(( deadline - $(date +%s) ))',
    '  [ "$left" -gt 0 ] || return 0',
    '  cli -p "$REDIS_PORT" CLIENT PAUSE "$(( left * 1000 ))" WRITE >/dev/null || true',
    '  for s in $SENTINEL_HOSTS; do',
    '    reply=$(cli -h "$s" -p "$SENTINEL_PORT" SENTINEL FAILOVER "$MASTER_NAME" || true)',
    '    case $reply in',
    '      OK*|*INPROG*) asked=$s; break ;;',
    '    esac',
    '  done',
    '  if [ -n "$asked" ]; then',
    '    log "preStop: $asked is failing $MASTER_NAME over"',
    '  else',
    '    # Paused writes would only make the Sentinels think this master is down.',
    '    cli -p "$REDIS_PORT" CLIENT UNPAUSE >/dev/null || true',
    '  fi',
    '}',
    '',
    'ask_failover',
    'if [ -z "$asked" ]; then',
    '  log "preStop: no Sentinel takes SENTINEL FAILOVER yet (restarting, or no replica known); asking again"',
    'fi',
    '',
    '# The Sentinel running the failover names the promoted replica as soon as that replica has taken',
    '# the role (SENTINEL get-master-addr-by-name), before the other Sentinels and replicas catch up:',
    '# ask it every 0.1 s. A Sentinel that stops answering, or answers without a failover in progress',
    '# (restarted under the same name), has dropped it: ask again. The highest config epoch among all',
    '# Sentinels is checked once a second too (they may fail over by themselves).',
    'new=\'\'',
    'n=0',
    'stalled=0',
    'while [ -z "$new" ] && [ "$(date +%s)" -lt "$deadline" ]; do',
    '  n=$(( n + 1 ))',
    '  if [ -n "$asked" ]; then',
    '    addr=$(master_addr "$asked")',
    '    # shellcheck disable=SC2086',
    '    set -- $addr',
    '    if [ $# -eq 2 ] && [ "$1" != "$SELF_FQDN" ]; then',
    '      new="$1 $2"',
    '      break',
    '    fi',
    '    flags=$({ cli -h "$asked" -p "$SENTINEL_PORT" --raw SENTINEL MASTER "$MASTER_NAME" || true; } | tr -d "\\r" | awk \'NR % 2 == 1 { k = $0; next } k == "flags" { print; exit }\')',
    '    case $flags in',
    '      *failover_in_progress*) stalled=0 ;;',
    '      *) stalled=$(( stalled + 1 )) ;;',
    '    esac',
    '    if [ "$stalled" -ge 3 ]; then',
    '      log "preStop: $asked is no longer failing $MASTER_NAME over"',
    '      stalled=0',
    '      ask_failover',
    '    fi',
    '  elif [ $(( n % 5 )) -eq 0 ]; then',
    '    ask_failover',
    '  fi',
    '  if [ $(( n % 10 )) -eq 0 ]; then',
    '    master=$(current_master "" "$SELF_FQDN")',
    '    if [ -n "$master" ]; then',
    '      # shellcheck disable=SC2086',
    '      set -- $master',
    '      if [ "$2" != "$SELF_FQDN" ]; then',
    '        new="$2 $3"',
    '        break',
    '      fi',
    '    fi',
    '  fi',
    '  sleep 0.1',
    'done',
    'if [ -z "$new" ]; then',
    '  log "preStop: no new master after ${WAIT}s"',
    '  cli -p "$REDIS_PORT" CLIENT UNPAUSE >/dev/null || true',
    '  exit 0',
    'fi',
    '# Both sources (master_addr, current_master) give only well-formed addresses.',
    '# shellcheck disable=SC2086',
    'set -- $new',
    'log "preStop: the Sentinels name $1:$2 as master"',
    '# Become a read-only replica of the new master before lifting the pause: writes sent here are',
    '# refused (READONLY) rather than lost, and the pause no longer blocks the Sentinels (CLIENT PAUSE',
    '# WRITE also holds their PUBLISH, which would mark this pod down and start another failover).',
    '# Replicas attached to this pod that the Sentinels have not seen yet (they find replicas only in',
    '# the master\'s INFO, every 10 s) would stay chained behind it: point every one at the new master.',
    'attached=$(cli -p "$REDIS_PORT" INFO replication | tr -d "\\r" | sed -n "s/^slave[0-9]*:ip=\\([^,]*\\),port=\\([0-9]*\\),.*/\\1 \\2/p" || true)',
    'cli -p "$REDIS_PORT" REPLICAOF "$1" "$2" >/dev/null || true',
    'new_host=$1',
    'new_port=$2',
    'echo "$attached" | while read -r rh rp; do',
    '  if [ -n "$rh" ] && [ "$rh" != "$new_host" ]; then',
    '    cli -h "$rh" -p "$rp" REPLICAOF "$new_host" "$new_port" >/dev/null || true',
    '  fi',
    'done',
    'set -- "$new_host" "$new_port"',
    '# Close the clients\' connections: the writes the pause held were never executed (so never',
    '# acknowledged), and clients that keep a connection (ioredis by default) ask the Sentinels again',
    '# at once instead of meeting READONLY until this pod stops.',
    'cli -p "$REDIS_PORT" CLIENT KILL TYPE normal >/dev/null || true',
    'cli -p "$REDIS_PORT" CLIENT UNPAUSE >/dev/null || true',
    '# Stop only once the Sentinels agree (the failover has ended): the pod that replaces this one asks',
    '# them who the master is.',
    'while [ "$(date +%s)" -lt "$deadline" ]; do',
    '  master=$(current_master "" "$SELF_FQDN")',
    '  # shellcheck disable=SC2086',
    '  [ -n "$master" ] && set -- $master && [ "$2" != "$SELF_FQDN" ] && break',
    '  sleep 0.2',
    'done',
    'log "preStop: done; the Sentinels name ${2:-?} as master"',
  ].join('\n') + '\n';
}

/**
 * Redis probes, `sh redis-probe.sh liveness|readiness`. Liveness accepts PONG, LOADING and
 * MASTERDOWN (a replica whose master is down is alive), but not a replica chained behind another
 * replica (invisible to the Sentinels; a restart re-attaches it to the master they name). Readiness: a master answers PONG; a
 * replica has its master link up and no sync in progress.
 */
export function renderRedisProbeScript(o: ScriptCommonOptions): string {
  return [
    ...header(['Redis probes: sh redis-probe.sh liveness|readiness']),
    ...constants(o, ['REDIS_PORT', 'AUTH_FILE', 'CLI_TIMEOUT']),
    ...BASE_FUNCTIONS,
    'load_auth',
    'case ${1:-} in',
    '  liveness)',
    '    reply=$(cli -p "$REDIS_PORT" PING | tr -d "\\r" || true)',
    '    case $reply in',
    '      PONG|LOADING*|MASTERDOWN*) ;;',
    '      *)',
    '        echo "PING answered \'$reply\'"',
    '        exit 1',
    '        ;;',
    '    esac',
    '    # A replica of a replica is invisible to the Sentinels (they find replicas only in the',
    '    # master\'s INFO): it is never promoted nor reconfigured, and does not count for',
    '    # min-replicas-to-write. Failing liveness (failureThreshold x period: longer than Sentinel',
    '    # needs to reconfigure replicas after a failover) restarts it, and the start script asks the',
    '    # Sentinels for the master again.',
    '    info=$(timeout 1 redis-cli -p "$REDIS_PORT" INFO replication 2>/dev/null | tr -d "\\r" || true)',
    '    if [ "$(echo "$info" | sed -n "s/^master_link_status://p")" = "up" ]; then',
    '      mh=$(echo "$info" | sed -n "s/^master_host://p")',
    '      mp=$(echo "$info" | sed -n "s/^master_port://p")',
    '      upstream=$(timeout 1 redis-cli -h "$mh" -p "$mp" --raw ROLE 2>/dev/null | head -n 1 | tr -d "\\r" || true)',
    '      if [ "$upstream" = "slave" ]; then',
    '        echo "replica of $mh, itself a replica: the Sentinels cannot see this pod; restarting asks them again"',
    '        exit 1',
    '      fi',
    '    fi',
    '    exit 0',
    '    ;;',
    '  readiness)',
    '    info=$(cli -p "$REDIS_PORT" INFO replication | tr -d "\\r" || true)',
    '    role=$(echo "$info" | sed -n "s/^role://p")',
    '    case $role in',
    '      master)',
    '        [ "$(cli -p "$REDIS_PORT" PING | tr -d "\\r" || true)" = "PONG" ] && exit 0',
    '        echo "master does not answer PONG"',
    '        exit 1',
    '        ;;',
    '      slave)',
    '        link=$(echo "$info" | sed -n "s/^master_link_status://p")',
    '        syncing=$(echo "$info" | sed -n "s/^master_sync_in_progress://p")',
    '        if [ "$link" = "up" ] && [ "$syncing" = "0" ]; then',
    '          exit 0',
    '        fi',
    '        echo "replica not ready: master_link_status=$link master_sync_in_progress=$syncing"',
    '        exit 1',
    '        ;;',
    '    esac',
    '    echo "no role reported"',
    '    exit 1',
    '    ;;',
    'esac',
    'echo "usage: redis-probe.sh liveness|readiness" >&2',
    'exit 2',
  ].join('\n') + '\n';
}

/** Sentinel probe, `sh sentinel-probe.sh`: the Sentinel answers PING with PONG. */
export function renderSentinelProbeScript(o: ScriptCommonOptions): string {
  return [
    ...header(['Sentinel probe: PING must answer PONG.']),
    ...constants(o, ['SENTINEL_PORT', 'AUTH_FILE', 'CLI_TIMEOUT']),
    ...BASE_FUNCTIONS,
    'load_auth',
    'reply=$(cli -p "$SENTINEL_PORT" PING | tr -d "\\r" || true)',
    '[ "$reply" = "PONG" ] && exit 0',
    'echo "PING answered \'$reply\'"',
    'exit 1',
  ].join('\n') + '\n';
}

export interface BackupScriptOptions extends ScriptCommonOptions {
  /** Mount path of the backup volume. */
  readonly backupDir: string;
  /** Backup files are `<prefix>-<UTC time>.rdb`; retention only touches files of that form. */
  readonly filePrefix: string;
  /** How many backups to keep (the newest). */
  readonly retention: number;
  /** Partial files older than this many minutes are leftovers of killed runs, removed at start. */
  readonly staleMinutes: number;
  /** A writable scratch directory (logs of redis-cli and redis-check-rdb). */
  readonly workDir: string;
}

export interface RestoreScriptOptions extends ScriptCommonOptions {
  /** Mount path of the volume holding the backups. */
  readonly sourceDir: string;
  /** File to restore, or `latest` for the newest `<prefix>-<UTC time>.rdb`. */
  readonly file: string;
  /** Prefix of backup file names (for `latest`). */
  readonly filePrefix: string;
  /** Redis' data directory (the pod's persistent volume). */
  readonly dataDir: string;
  /** The rendered redis.conf (read-only ConfigMap file). */
  readonly templateFile: string;
  /** A writable scratch directory (the temporary server's socket). */
  readonly workDir: string;
}

/** Listing the backup files of a directory, by name. */
const BACKUP_LIST_FUNCTIONS: string[] = [
  '# Prints the names of the backup files in $1 (<prefix>-<UTC time>.rdb), oldest first.',
  'backups_in() {',
  '  for f in "$1"/*.rdb; do',
  '    [ -f "$f" ] || continue',
  '    b=${f##*/}',
  '    if printf \'%s\\n\' "$b" | grep -Eq "$FILE_RE"; then',
  '      printf \'%s\\n\' "$b"',
  '    fi',
  '  done | sort',
  '}',
  '',
];

/** Shell ERE matching the backup files of `prefix`: `<prefix>-YYYYMMDDTHHMMSSZ.rdb`. */
function backupFileRegex(prefix: string): string {
  return `^${prefix.replace(/[.[\]()*+?^$|\\{}]/g, '\\$&')}-[0-9]{8}T[0-9]{6}Z\\.rdb$`;
}

/**
 * The backup CronJob's script: asks the Sentinels for the master and a healthy replica of it,
 * streams a snapshot from the replica (the master only when no replica is healthy, and says so)
 * with `redis-cli --rdb`, checks it with `redis-check-rdb`, moves it into place under a
 * timestamped name, and keeps the newest `retention` backups. Exits non-zero on any failure and
 * leaves no partial file behind.
 */
export function renderBackupScript(o: BackupScriptOptions): string {
  return [
    ...header([
      'Backup: streams an RDB snapshot from a healthy replica (the master only when none is),',
      'verifies it, stores it as <prefix>-<UTC time>.rdb and keeps the newest RETAIN files.',
    ]),
    ...constants(o, ['MASTER_NAME', 'SENTINEL_HOSTS', 'SENTINEL_PORT', 'AUTH_FILE', 'CLI_TIMEOUT']),
    `BACKUP_DIR=${q(o.backupDir)}`,
    `PREFIX=${q(o.filePrefix)}`,
    `FILE_RE=${q(backupFileRegex(o.filePrefix))}`,
    `RETAIN=${o.retention}`,
    `STALE_MINUTES=${o.staleMinutes}`,
    `WORK=${q(o.workDir)}`,
    '',
    ...BASE_FUNCTIONS,
    ...SENTINEL_FUNCTIONS,
    ...BACKUP_LIST_FUNCTIONS,
    'fail() {',
    '  log "backup FAILED: $*"',
    '  exit 1',
    '}',
    '',
    '# Prints "<offset> <host> <port>" of every replica Sentinel $1 sees healthy (flags exactly',
    '# "slave", master link ok) and replicating from $2:$3.',
    'healthy_replicas() {',
    '  { cli -h "$1" -p "$SENTINEL_PORT" --raw SENTINEL REPLICAS "$MASTER_NAME" || true; } | tr -d "\\r" | awk -v mh="$2" -v mp="$3" \'',
    '    function flush() {',
    '      if (name != "" && flags == "slave" && link == "ok" && host == mh && port == mp && ip ~ /^[A-Za-z0-9.:-]+$/ && rport ~ /^[0-9]+$/)',
    '        print (off ~ /^[0-9]+$/ ? off : 0), ip, rport',
    '    }',
    '    NR % 2 == 1 { k = $0; next }',
    '    k == "name" { flush(); name = $0; ip = ""; rport = ""; flags = ""; link = ""; host = ""; port = ""; off = "" }',
    '    k == "ip" { ip = $0 }',
    '    k == "port" { rport = $0 }',
    '    k == "flags" { flags = $0 }',
    '    k == "master-link-status" { link = $0 }',
    '    k == "master-host" { host = $0 }',
    '    k == "master-port" { port = $0 }',
    '    k == "slave-repl-offset" { off = $0 }',
    '    END { flush() }\'',
    '}',
    '',
    'load_auth',
    'if [ ! -d "$BACKUP_DIR" ] || [ ! -w "$BACKUP_DIR" ]; then',
    '  fail "cannot write to $BACKUP_DIR: is the backup volume mounted and writable by this user?"',
    'fi',
    '# Leftovers of runs killed before their cleanup (activeDeadlineSeconds, node loss).',
    'find "$BACKUP_DIR" -maxdepth 1 -name ".$PREFIX-*.partial" -mmin "+$STALE_MINUTES" -exec rm -f {} \\;',
    '',
    'master=$(current_master "" "")',
    'if [ -z "$master" ]; then',
    '  fail "no Sentinel answered ($SENTINEL_HOSTS): cannot tell the master from the replicas"',
    'fi',
    '# shellcheck disable=SC2086',
    'set -- $master',
    'mhost=$2',
    'mport=$3',
    'log "the Sentinels name $mhost:$mport as master of $MASTER_NAME (config epoch $1)"',
    '',
    'candidate=\'\'',
    'for s in $SENTINEL_HOSTS; do',
    '  candidate=$(healthy_replicas "$s" "$mhost" "$mport" | sort -n -r | head -n 1)',
    '  [ -n "$candidate" ] && break',
    'done',
    'role=\'\'',
    'if [ -n "$candidate" ]; then',
    '  # shellcheck disable=SC2086',
    '  set -- $candidate',
    '  # The Sentinels\' view can be a second old: the replica itself must confirm its link.',
    '  if cli -h "$2" -p "$3" INFO replication | tr -d "\\r" | grep -q "^master_link_status:up$"; then',
    '    host=$2',
    '    port=$3',
    '    role=replica',
    '  else',
    '    log "replica $2:$3 does not confirm its link to the master"',
    '  fi',
    'fi',
    'if [ -z "$role" ]; then',
    '  host=$mhost',
    '  port=$mport',
    '  role=master',
    '  log "no healthy replica of $MASTER_NAME: taking the snapshot from the MASTER $host (it forks to write it)"',
    'fi',
    '',
    'stamp=$(date -u +%Y%m%dT%H%M%SZ)',
    'name="$PREFIX-$stamp.rdb"',
    'final="$BACKUP_DIR/$name"',
    'partial="$BACKUP_DIR/.$name.partial"',
    'if [ -e "$final" ]; then',
    '  fail "$final exists already (two backups in the same second?)"',
    'fi',
    'pid=\'\'',
    '# Whatever happens, no partial file stays behind.',
    'trap \'[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -f "$partial"\' EXIT',
    'trap \'log "backup FAILED: terminated (activeDeadlineSeconds?)"; exit 143\' TERM INT',
    '# redis-cli has no connect timeout here: find out first, within CLI_TIMEOUT, whether it answers.',
    'pong=$(cli -h "$host" -p "$port" PING | tr -d "\\r" || true)',
    'if [ "$pong" != "PONG" ]; then',
    '  fail "cannot reach the $role $host:$port (PING answered \'${pong:-nothing}\'): is Redis up, and does the NetworkPolicy admit this pod?"',
    'fi',
    'start=$(date +%s)',
    'log "streaming a snapshot from the $role $host:$port"',
    'redis-cli -h "$host" -p "$port" --rdb "$partial" >"$WORK/rdb.log" 2>&1 &',
    'pid=$!',
    'if ! wait "$pid"; then',
    '  pid=\'\'',
    '  fail "redis-cli --rdb from the $role $host:$port failed: $(tail -n 3 "$WORK/rdb.log" | tr "\\n" " ")"',
    'fi',
    'pid=\'\'',
    'if [ ! -s "$partial" ]; then',
    '  fail "the snapshot from $host:$port is empty"',
    'fi',
    'if ! redis-check-rdb "$partial" >"$WORK/check.log" 2>&1; then',
    '  fail "redis-check-rdb rejects the snapshot from $host:$port: $(grep -v "^\\[offset" "$WORK/check.log" | head -n 3 | tr "\\n" " ")"',
    'fi',
    'keys=$(sed -n "s/^\\[info\\] \\([0-9]*\\) keys read$/\\1/p" "$WORK/check.log" | head -n 1)',
    'sync',
    'mv "$partial" "$final"',
    'sync',
    'bytes=$(wc -c < "$final" | tr -d " ")',
    'log "backup ok: $name, $bytes bytes, ${keys:-?} keys, from the $role $host, in $(( $(date +%s) - start ))s"',
    '',
    '# Retention: the newest RETAIN backups stay (names sort by time).',
    'backups_in "$BACKUP_DIR" | sort -r | tail -n "+$(( RETAIN + 1 ))" | while read -r old; do',
    '  rm -f "$BACKUP_DIR/$old"',
    '  log "retention: removed $old"',
    'done',
    'log "kept: $(backups_in "$BACKUP_DIR" | sort -r | tr "\\n" " ")"',
  ].join('\n') + '\n';
}

/**
 * Init container of the bootstrap master when restoring: on the FIRST start only (empty data
 * volume, no restore marker) and only when no Sentinel names another master, it checks the
 * chosen RDB with `redis-check-rdb`, loads it into a temporary Redis without AOF (Redis with
 * `appendonly yes` ignores an RDB file), turns AOF on so Redis writes the AOF from the loaded data,
 * and leaves a marker so that later starts never restore again.
 */
export function renderRestoreScript(o: RestoreScriptOptions): string {
  return [
    ...header([
      'Restore (init container of the bootstrap master): on the first start only, turns the chosen',
      'backup into this pod\'s data, which the Redis container then starts from.',
    ]),
    ...constants(o, ['MASTER_NAME', 'SENTINEL_HOSTS', 'SENTINEL_PORT', 'AUTH_FILE', 'CLI_TIMEOUT']),
    `SOURCE_DIR=${q(o.sourceDir)}`,
    `FILE=${q(o.file)}`,
    `FILE_RE=${q(backupFileRegex(o.filePrefix))}`,
    `DATA_DIR=${q(o.dataDir)}`,
    `TEMPLATE=${q(o.templateFile)}`,
    `WORK=${q(o.workDir)}`,
    'MARKER="$DATA_DIR/restored-from"',
    ...REQUIRE_SELF,
    ...BASE_FUNCTIONS,
    ...SENTINEL_FUNCTIONS,
    ...BACKUP_LIST_FUNCTIONS,
    'fail() {',
    '  log "restore FAILED: $*"',
    '  exit 1',
    '}',
    '',
    'if [ -e "$MARKER" ]; then',
    '  log "restore: done before ($(cat "$MARKER")); never again"',
    '  exit 0',
    'fi',
    'existing=$(find "$DATA_DIR" -mindepth 1 -maxdepth 1 ! -name lost+found | head -n 5)',
    'if [ -n "$existing" ]; then',
    '  log "restore: $DATA_DIR already holds data ($(echo "$existing" | tr "\\n" " ")); not restoring over it"',
    '  exit 0',
    'fi',
    'load_auth',
    'master=$(current_master "" "$SELF_FQDN")',
    'if [ -n "$master" ]; then',
    '  # shellcheck disable=SC2086',
    '  set -- $master',
    '  if [ "$2" != "$SELF_FQDN" ]; then',
    '    log "restore: the Sentinels name $2 as master; this pod starts as its replica and copies its data: not restoring"',
    '    exit 0',
    '  fi',
    'fi',
    '',
    'if [ "$FILE" = latest ]; then',
    '  file=$(backups_in "$SOURCE_DIR" | tail -n 1)',
    '  if [ -z "$file" ]; then',
    '    fail "no backup file in $SOURCE_DIR matches $FILE_RE"',
    '  fi',
    'else',
    '  file=$FILE',
    'fi',
    'src="$SOURCE_DIR/$file"',
    'if [ ! -f "$src" ]; then',
    '  fail "$src does not exist; the newest backups there: $(backups_in "$SOURCE_DIR" | sort -r | head -n 5 | tr "\\n" " ")"',
    'fi',
    'if ! redis-check-rdb "$src" >"$WORK/check.log" 2>&1; then',
    '  fail "redis-check-rdb rejects $src: $(grep -v "^\\[offset" "$WORK/check.log" | head -n 3 | tr "\\n" " ")"',
    'fi',
    'log "restore: $src is a valid RDB file; loading it"',
    '',
    'rdb=restore.rdb',
    'cp "$src" "$DATA_DIR/$rdb.partial"',
    'mv "$DATA_DIR/$rdb.partial" "$DATA_DIR/$rdb"',
    '# A private server: no TCP port, a socket in the scratch directory, no auth needed.',
    'sock="$WORK/restore.sock"',
    'local_cli() {',
    '  env -u REDISCLI_AUTH redis-cli -s "$sock" "$@" 2>/dev/null | tr -d "\\r"',
    '}',
    'redis-server "$TEMPLATE" --port 0 --unixsocket "$sock" --unixsocketperm 700 --appendonly no --save "" --dbfilename "$rdb" --dir "$DATA_DIR" &',
    'pid=$!',
    'trap \'kill "$pid" 2>/dev/null || true\' EXIT',
    'until [ "$(local_cli PING || true)" = "PONG" ]; do',
    '  kill -0 "$pid" 2>/dev/null || fail "redis-server exited while loading $src (see its log above)"',
    '  sleep 1',
    'done',
    'keys=$(local_cli DBSIZE)',
    '# Redis with AOF on ignores RDB files: turning AOF on writes the AOF from the loaded data.',
    'if [ "$(local_cli CONFIG SET appendonly yes || true)" != "OK" ]; then',
    '  fail "could not turn AOF on in the temporary server"',
    'fi',
    'while :; do',
    '  info=$(local_cli INFO persistence || true)',
    '  if echo "$info" | grep -q "^aof_last_bgrewrite_status:err"; then',
    '    fail "writing the AOF failed (volume full?)"',
    '  fi',
    '  if echo "$info" | grep -q "^aof_enabled:1" && echo "$info" | grep -q "^aof_rewrite_in_progress:0" \\',
    '    && echo "$info" | grep -q "^aof_rewrite_scheduled:0"; then',
    '    break',
    '  fi',
    '  kill -0 "$pid" 2>/dev/null || fail "redis-server exited while writing the AOF"',
    '  sleep 1',
    'done',
    'local_cli SHUTDOWN NOSAVE >/dev/null || true',
    'wait "$pid" || true',
    'trap - EXIT',
    'rm -f "$DATA_DIR/$rdb"',
    'echo "$file restored $(date -u +%Y-%m-%dT%H:%M:%SZ) keys=$keys" > "$MARKER"',
    'log "restore: $keys keys from $file; Redis starts from them (this never happens again for this volume)"',
  ].join('\n') + '\n';
}
