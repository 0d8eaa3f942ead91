/**
 * Prometheus alerting rules for one Redis + Sentinel deployment, built only from metrics that
 * redis_exporter really exports. One exporter sidecar runs beside every Redis pod (scraping
 * `localhost:<redisPort>`) and one beside every Sentinel pod (scraping `localhost:<sentinelPort>`);
 * the two headless metrics Services are scraped through one ServiceMonitor, so prometheus-operator
 * gives every series `namespace`, `service`, `pod`, `job` and `instance`.
 *
 * The Sentinel's exporter also reports `redis_up`, `redis_instance_info` etc. for the Sentinel
 * process itself: every expression therefore filters by `namespace` AND by the `service` it
 * means, never by the metric name alone.
 *
 * @see https://github.com/oliver006/redis_exporter
 * @see https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/
 */
import { LABEL } from '../names';

export interface AlertRuleOptions {
  /** Namespace of the deployment (the `namespace` label of every series). */
  readonly namespace: string;
  /** Sentinel's name for the monitored master (`master_name` label of the Sentinel metrics). */
  readonly masterName: string;
  /** Metrics Service of the Redis pods (the `service` label of their series). */
  readonly redisMetricsService: string;
  /** Metrics Service of the Sentinel pods (the `service` label of their series). */
  readonly sentinelMetricsService: string;
  /** Redis pods: master + replicas, >= 1. */
  readonly redisPods: number;
  /** Sentinel pods. */
  readonly sentinels: number;
  /** Sentinel quorum. */
  readonly quorum: number;
  /** `min-replicas-to-write`; 0 means the check is off (no write-refusal alert). */
  readonly minReplicasToWrite: number;
  /** `min-replicas-max-lag` in seconds: the replication ACK age above which a replica is not "good". */
  readonly minReplicasMaxLagSeconds: number;
  /** Alert when the last successful RDB save is older than this while writes are pending; 0 turns it off. */
  readonly rdbMaxAgeSeconds: number;
  /** Extra labels on every alert (e.g. `team`); may not set `severity`, `namespace` or `service`. */
  readonly alertLabels?: Record<string, string>;
  /**
   * Alert when a replica is this many bytes of replication stream behind the master.
   * @default - no byte-lag alert (the ACK-age alert from `minReplicasMaxLagSeconds` always exists)
   */
  readonly replicationLagBytes?: number;
  /** Port Redis listens on, for the redis-cli commands in the descriptions. @default 6379 */
  readonly redisPort?: number;
  /** Port Sentinel listens on, for the redis-cli commands in the descriptions. @default 26379 */
  readonly sentinelPort?: number;
  /**
   * Password file inside the Redis and Sentinel containers, read into REDISCLI_AUTH by the commands
   * in the descriptions; `false` when auth is off.
   * @default DEFAULT_AUTH_FILE
   */
  readonly authFile?: string | false;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string; runbook?: string };
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: AlertRule[];
}

/** Series Prometheus itself writes for every scrape target (not exported by redis_exporter). */
export const PROMETHEUS_TARGET_METRICS: readonly string[] = ['up'];

/**
 * The redis_exporter metric names the rules and the dashboard may read. Every one is checked
 * against a real exporter's /metrics in test/integration/exporter-metrics.test.ts (or listed there
 * as newer than the exporter version the test runs, with the version that added it).
 * Names tutorials use that do NOT exist: `redis_replication_lag_seconds`, `redis_sentinel_failovers_total`.
 */
export const REDIS_EXPORTER_METRICS: readonly string[] = [
  // Redis (exporter pointed at redis://localhost:<redisPort>)
  'redis_up',
  'redis_instance_info',
  'redis_connected_slaves',
  'redis_connected_slave_lag_seconds',
  'redis_connected_slave_offset_bytes',
  'redis_master_repl_offset',
  'redis_slave_repl_offset',
  'redis_master_link_up',
  'redis_master_last_io_seconds_ago',
  'redis_master_sync_in_progress',
  'redis_memory_used_bytes',
  'redis_memory_max_bytes',
  'redis_rdb_last_bgsave_status',
  'redis_rdb_last_save_timestamp_seconds',
  'redis_rdb_changes_since_last_save',
  'redis_commands_processed_total',
  'redis_connected_clients',
  'redis_db_keys',
  // Sentinel (exporter pointed at redis://localhost:<sentinelPort>)
  'redis_sentinel_masters',
  'redis_sentinel_tilt',
  'redis_sentinel_master_status',
  'redis_sentinel_master_slaves',
  'redis_sentinel_master_sentinels',
  'redis_sentinel_master_ok_slaves',
  'redis_sentinel_master_ok_sentinels',
  'redis_sentinel_master_ckquorum_status',
  'redis_sentinel_master_config_epoch',
];

/** Where the pods mount the password file (settings.ts `PATHS.authFile`; a test keeps them equal). */
export const DEFAULT_AUTH_FILE = '/etc/redis-auth/password';

const PROM_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED_LABELS = new Set(['severity', 'namespace', 'service', 'alertname']);

function check(o: AlertRuleOptions): void {
  const problems: string[] = [];
  const need = (ok: boolean, message: string) => {
    if (!ok) problems.push(message);
  };
  const int = (n: number) => Number.isInteger(n);
  for (const key of ['namespace', 'masterName', 'redisMetricsService', 'sentinelMetricsService'] as const) {
    need(typeof o[key] === 'string' && o[key].length > 0, `${key} ('${o[key]}') must be a non-empty string`);
  }
  need(int(o.redisPods) && o.redisPods >= 1, `redisPods (${o.redisPods}) must be a whole number >= 1: master + replicas`);
  need(int(o.sentinels) && o.sentinels >= 1, `sentinels (${o.sentinels}) must be a whole number >= 1`);
  need(int(o.quorum) && o.quorum >= 1 && o.quorum <= o.sentinels,
    `quorum (${o.quorum}) must be between 1 and the number of sentinels (${o.sentinels})`);
  need(int(o.minReplicasToWrite) && o.minReplicasToWrite >= 0 && o.minReplicasToWrite <= o.redisPods - 1,
    `minReplicasToWrite (${o.minReplicasToWrite}) must be a whole number between 0 and the number of replicas (${o.redisPods - 1})`);
  need(Number.isFinite(o.minReplicasMaxLagSeconds) && o.minReplicasMaxLagSeconds >= 0,
    `minReplicasMaxLagSeconds (${o.minReplicasMaxLagSeconds}) must be a number of seconds >= 0`);
  need(Number.isFinite(o.rdbMaxAgeSeconds) && o.rdbMaxAgeSeconds >= 0,
    `rdbMaxAgeSeconds (${o.rdbMaxAgeSeconds}) must be a number of seconds >= 0 (0 turns the RDB age alert off)`);
  if (o.replicationLagBytes !== undefined) {
    need(Number.isFinite(o.replicationLagBytes) && o.replicationLagBytes > 0,
      `replicationLagBytes (${o.replicationLagBytes}) must be a number of bytes > 0, or undefined for no byte-lag alert`);
  }
  for (const key of ['redisPort', 'sentinelPort'] as const) {
    const p = o[key];
    if (p !== undefined) need(int(p) && p >= 1 && p <= 65535, `${key} (${p}) must be a TCP port 1-65535`);
  }
  for (const key of Object.keys(o.alertLabels ?? {})) {
    need(PROM_LABEL.test(key) && !key.startsWith('__'),
      `alertLabels key '${key}' is not a Prometheus label name: use [a-zA-Z_][a-zA-Z0-9_]*, not starting with '__'`);
    need(!RESERVED_LABELS.has(key),
      `alertLabels key '${key}' is set by the rules themselves: remove it (severity is per rule; namespace and service name the deployment)`);
  }
  if (problems.length > 0) throw new Error(`renderAlertRules: invalid options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}

/** A PromQL string literal. */
function str(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A PromQL number literal. */
function num(n: number): string {
  return String(n);
}

/** What every rule builder shares: selectors, labels, the on-call commands. */
function alertContext(o: AlertRuleOptions) {
  const ns = o.namespace;
  const redisPort = o.redisPort ?? 6379;
  const sentinelPort = o.sentinelPort ?? 26379;
  const authFile = o.authFile === undefined ? DEFAULT_AUTH_FILE : o.authFile;
  const replicas = o.redisPods - 1;
  const lag = o.minReplicasMaxLagSeconds;

  // Selectors: always namespace + the right Service.
  const R = `namespace=${str(ns)},service=${str(o.redisMetricsService)}`;
  const S = `namespace=${str(ns)},service=${str(o.sentinelMetricsService)}`;
  const SM = `${S},master_name=${str(o.masterName)}`;
  const master = `redis_instance_info{${R},role="master"}`;

  // What the on-call person types. The password is read from the mounted file into REDISCLI_AUTH
  // (never on the command line).
  const kubectl = `kubectl -n ${ns}`;
  const auth = authFile === false ? '' : `REDISCLI_AUTH="$(cat ${authFile})" `;
  const redisCli = (pod: string, cmd: string) => `${kubectl} exec ${pod} -c redis -- sh -c '${auth}redis-cli -p ${redisPort} ${cmd}'`;
  const sentinelCli = (pod: string, cmd: string) => `${kubectl} exec ${pod} -c sentinel -- sh -c '${auth}redis-cli -p ${sentinelPort} ${cmd}'`;
  const listRedis = `${kubectl} get pods -l ${LABEL.component}=redis -o wide`;
  const listSentinels = `${kubectl} get pods -l ${LABEL.component}=sentinel -o wide`;
  const anySentinel = '<sentinel-pod>';
  const set = `${ns}/${o.masterName}`;

  const labels = (severity: 'critical' | 'warning' | 'info', service: string): Record<string, string> => ({
    severity,
    namespace: ns,
    service,
    ...(o.alertLabels ?? {}),
  });
  const rule = (r: { alert: string; expr: string; for?: string; severity: 'critical' | 'warning' | 'info'; service: string; summary: string; description: string }): AlertRule => ({
    alert: r.alert,
    expr: r.expr,
    ...(r.for ? { for: r.for } : {}),
    labels: labels(r.severity, r.service),
    annotations: { summary: r.summary, description: r.description },
  });
  const redisRule = (r: Omit<Parameters<typeof rule>[0], 'service'>) => rule({ ...r, service: o.redisMetricsService });
  const sentinelRule = (r: Omit<Parameters<typeof rule>[0], 'service'>) => rule({ ...r, service: o.sentinelMetricsService });

  const healthySentinels = `(count(redis_up{${S}} == 1) or vector(0))`;
  const okSentinels = `max(redis_sentinel_master_ok_sentinels{${SM}})`;
  const sentinelHealth = (threshold: number) => `${healthySentinels} < ${threshold} or ${okSentinels} < ${threshold}`;
  const epoch = `redis_sentinel_master_config_epoch{${SM}}`;
  return {
    o, ns, kubectl, redisPort, sentinelPort, authFile, auth, R, S, SM, master, redisCli, sentinelCli, listRedis, listSentinels, anySentinel, set, redisRule, sentinelRule, replicas, lag,
    healthySentinels, okSentinels, sentinelHealth, epoch,
  };
}

type AlertContext = ReturnType<typeof alertContext>;

/** Redis pods up, scraped, exactly one master. */
function redisAvailabilityRules(c: AlertContext): AlertRule[] {
  const { o, ns, kubectl, redisPort, R, master, redisCli, sentinelCli, listRedis, listSentinels, anySentinel, set, redisRule, lag } = c;
  return [
    redisRule({
      alert: 'RedisDown',
      expr: `redis_up{${R}} == 0`,
      for: '1m',
      severity: 'critical',
      summary: 'Redis in {{ $labels.pod }} does not answer its exporter',
      description: [
        `The redis_exporter sidecar in pod {{ $labels.pod }} (namespace ${ns}) has not reached Redis on localhost:${redisPort} for 1 minute (redis_up == 0).`,
        'If this pod was the master, Sentinel should fail over within down-after-milliseconds; if it was a replica, one fewer copy and failover candidate exists.',
        `Check: ${kubectl} describe pod {{ $labels.pod }} (restarts, OOMKilled, probe failures); ${kubectl} logs {{ $labels.pod }} -c redis --previous;`,
        `${redisCli('{{ $labels.pod }}', 'PING')}.`,
        'A wrong password in the exporter also shows as redis_up 0 (its log says NOAUTH or WRONGPASS).',
      ].join(' '),
    }),
    redisRule({
      alert: 'RedisMetricsTargetDown',
      expr: `up{${R}} == 0`,
      for: '5m',
      severity: 'warning',
      summary: 'Prometheus cannot scrape the Redis exporter in {{ $labels.pod }}',
      description: [
        `Prometheus has failed to scrape {{ $labels.instance }} (Service ${o.redisMetricsService}, pod {{ $labels.pod }}) for 5 minutes: every Redis alert is blind for this pod.`,
        `Check: ${kubectl} get pod {{ $labels.pod }}; ${kubectl} logs {{ $labels.pod }} --all-containers --tail=50;`,
        'and that the NetworkPolicy admits Prometheus to the exporter\'s `metrics` port.',
      ].join(' '),
    }),
    redisRule({
      alert: 'RedisMetricsAbsent',
      expr: `absent(up{${R}})`,
      for: '10m',
      severity: 'warning',
      summary: `No Redis metrics target for ${ns}/${o.redisMetricsService}`,
      description: [
        `Prometheus has had no scrape target for Service ${o.redisMetricsService} in namespace ${ns} for 10 minutes, so no Redis alert can fire.`,
        'Either no Redis pod exists, or the ServiceMonitor does not select the Service (its labels, the port name `metrics`),',
        'or Prometheus does not watch this namespace (serviceMonitorSelector / serviceMonitorNamespaceSelector).',
        `Check: ${listRedis}; ${kubectl} get endpoints ${o.redisMetricsService}; ${kubectl} get servicemonitors; Prometheus' /targets page.`,
      ].join(' '),
    }),
    redisRule({
      alert: 'RedisNoMaster',
      // count() of nothing is empty, not 0: `or vector(0)` makes "no master series at all" fire.
      expr: `(count(${master}) or vector(0)) < 1`,
      for: '1m',
      severity: 'critical',
      summary: `No Redis master in ${set}: writes fail`,
      description: [
        `No pod behind ${o.redisMetricsService} has reported role master for 1 minute, so writes fail.`,
        'Either a failover has not completed (the Sentinels cannot agree, or no replica is eligible), or every Redis pod is down,',
        'or the metrics are missing (then RedisMetricsAbsent fires too).',
        `Ask the Sentinels: ${sentinelCli(anySentinel, `SENTINEL MASTER ${o.masterName}`)} (flags, num-slaves, num-other-sentinels)`,
        `and SENTINEL CKQUORUM ${o.masterName}; pods: ${listSentinels}; ${listRedis}; the role of each Redis pod: ${redisCli('<redis-pod>', 'ROLE')}.`,
        `Sentinel's log tells why no failover happened: ${kubectl} logs ${anySentinel} -c sentinel | grep -e odown -e failover.`,
      ].join(' '),
    }),
    redisRule({
      alert: 'RedisWaitingForRole',
      // redis-start.sh runs a pod that does not know its role as a replica of 127.0.0.1:1 (fenced).
      expr: `redis_master_link_up{${R},master_host="127.0.0.1",master_port="1"}`,
      for: '2m',
      severity: 'critical',
      summary: 'Redis in {{ $labels.pod }} has waited 2 minutes for the Sentinels to name the master',
      description: [
        'Pod {{ $labels.pod }} runs fenced (read-only, never promoted): no Sentinel answered when it started, so it waits rather than take the master role,',
        'as it may hold older data than a pod promoted while it was down. It leaves the fence as soon as one Sentinel names the master.',
        `Its log says what is missing: ${kubectl} logs {{ $labels.pod }} -c redis | grep waiting.`,
        `Bring the Sentinels back (${listSentinels}); a Sentinel that lost its state waits for every Redis pod to answer (its log:`,
        `${kubectl} logs ${anySentinel} -c sentinel | grep waiting), then monitors the pod whose facts (role.facts on its volume) name the newest master.`,
        `Never start one as master by hand without checking which pod holds the newest data: ${redisCli('<redis-pod>', 'CLIENT LIST')} shows each pod's facts (name=rs-facts:<epoch>:<master>).`,
      ].join(' '),
    }),
    redisRule({
      alert: 'RedisMultipleMasters',
      expr: `count(${master}) > 1`,
      for: '1m',
      severity: 'critical',
      summary: `{{ $value }} Redis pods report role master in ${set} (split brain)`,
      description: [
        `More than one pod behind ${o.redisMetricsService} has reported role master for 1 minute.`,
        'Writes that clients send to the master the Sentinels do not name are lost when Sentinel turns it back into a replica.',
        o.minReplicasToWrite > 0
          ? `(An isolated old master refuses writes once it has fewer than ${o.minReplicasToWrite} replicas with an ACK at most ${lag} s old.)`
          : '(min-replicas-to-write is 0: an isolated old master keeps accepting writes.)',
        `Which pods: the Prometheus query ${master}. Which one is current: ${sentinelCli(anySentinel, `SENTINEL GET-MASTER-ADDR-BY-NAME ${o.masterName}`)}.`,
        'Sentinel reconfigures the other one as a replica once it reaches it; if that has not happened within a few minutes,',
        `restart that pod (its entrypoint asks the Sentinels for the master): ${kubectl} delete pod <stale-master-pod>.`,
      ].join(' '),
    }),
  ];
}

/** Replicas linked, in sync, enough of them for min-replicas-to-write. */
function redisReplicationRules(c: AlertContext): AlertRule[] {
  const { o, kubectl, R, master, redisCli, sentinelCli, listRedis, anySentinel, redisRule, replicas, lag } = c;
  return [
    redisRule({
      alert: 'RedisReplicaLinkDown',
      expr: `redis_master_link_up{${R}} == 0`,
      for: '2m',
      severity: 'warning',
      summary: 'Replica {{ $labels.pod }} has lost its link to the master',
      description: [
        'Replica {{ $labels.pod }} has reported master_link_status down towards {{ $labels.master_host }}:{{ $labels.master_port }} for 2 minutes:',
        'it serves stale reads and is a poor failover candidate.',
        `Check: ${redisCli('{{ $labels.pod }}', 'INFO replication')} (master_link_down_since_seconds, master_sync_in_progress);`,
        `${kubectl} logs {{ $labels.pod }} -c redis --tail=100 (authentication errors, failed full syncs);`,
        `whether that host is still the master: ${sentinelCli(anySentinel, `SENTINEL GET-MASTER-ADDR-BY-NAME ${o.masterName}`)}.`,
        'A full resync of a large data set also shows as link down until it completes.',
      ].join(' '),
    }),
    redisRule({
      alert: 'RedisReplicationLag',
      // The ACK age that min-replicas-max-lag is compared with (INFO replication `lag=`).
      expr: `redis_connected_slave_lag_seconds{${R}} > ${num(lag)}`,
      for: '1m',
      severity: 'warning',
      summary: 'Replica {{ $labels.slave_ip }} has not acknowledged the master for {{ printf "%.0f" $value }} s',
      description: [
        'The master {{ $labels.pod }} last received a replication ACK from {{ $labels.slave_ip }}:{{ $labels.slave_port }} {{ printf "%.0f" $value }} s ago,',
        `more than min-replicas-max-lag (${lag} s), for 1 minute: the master does not count it as a good replica`,
        o.minReplicasToWrite > 0 ? `for min-replicas-to-write (${o.minReplicasToWrite}),` : '',
        'and a failover to it would lose the writes it has not received.',
        `Check the master: ${redisCli('{{ $labels.pod }}', 'INFO replication')}; the replica's CPU, memory and network, and its log (${kubectl} logs <replica-pod> -c redis).`,
      ].filter((s) => s).join(' '),
    }),
    ...(o.replicationLagBytes === undefined ? [] : [redisRule({
      alert: 'RedisReplicationLagBytes',
      // Both series come from the master's exporter: its offset minus each replica's acknowledged offset.
      expr: `(redis_master_repl_offset{${R}} - on(namespace, pod) group_right redis_connected_slave_offset_bytes{${R}}) > ${num(o.replicationLagBytes)}`,
      for: '5m',
      severity: 'warning',
      summary: 'Replica {{ $labels.slave_ip }} is {{ printf "%.0f" $value }} bytes behind the master',
      description: [
        'The replica {{ $labels.slave_ip }}:{{ $labels.slave_port }} of master {{ $labels.pod }} has been more than',
        `${o.replicationLagBytes} bytes of replication stream behind for 5 minutes: a failover to it would lose those writes.`,
        `Check: ${redisCli('{{ $labels.pod }}', 'INFO replication')} (master_repl_offset vs. the replica's offset); the replica's network and CPU.`,
      ].join(' '),
    })]),
    ...(replicas < 1 ? [] : [redisRule({
      alert: 'RedisTooFewReplicas',
      expr: `redis_connected_slaves{${R}} < ${replicas} and on(namespace, pod) ${master}`,
      for: '5m',
      severity: 'warning',
      summary: `Master {{ $labels.pod }} has {{ $value }} of ${replicas} replicas connected`,
      description: [
        `The master {{ $labels.pod }} has had {{ $value }} connected replicas for 5 minutes; the deployment has ${o.redisPods} Redis pods, so ${replicas} are expected.`,
        'Fewer replicas mean fewer copies and fewer failover candidates.',
        `Find the missing one: ${listRedis}; ${redisCli('{{ $labels.pod }}', 'INFO replication')}; the replica's log (${kubectl} logs <replica-pod> -c redis).`,
      ].join(' '),
    })]),
    ...(o.minReplicasToWrite < 1 ? [] : [redisRule({
      alert: 'RedisMinReplicasNotMet',
      // Good replicas as Redis counts them for min-replicas-to-write: online, ACK at most max-lag
      // seconds old. A master with none has no lag series at all: `or` supplies 0 for it.
      expr: [
        `(count by (namespace, pod) (redis_connected_slave_lag_seconds{${R},slave_state="online"} <= ${num(lag)})`,
        ` or max by (namespace, pod) (redis_connected_slaves{${R}}) * 0) < ${o.minReplicasToWrite}`,
        ` and on(namespace, pod) ${master}`,
      ].join(''),
      for: '1m',
      severity: 'critical',
      summary: 'Master {{ $labels.pod }} refuses writes (NOREPLICAS)',
      description: [
        `The master {{ $labels.pod }} has had {{ $value }} replicas online with an ACK at most ${lag} s old for 1 minute,`,
        `fewer than min-replicas-to-write (${o.minReplicasToWrite}): it answers every write with NOREPLICAS.`,
        'Bring a replica back (see RedisTooFewReplicas, RedisReplicaLinkDown, RedisReplicationLag):',
        `${redisCli('{{ $labels.pod }}', 'INFO replication')}; ${listRedis}.`,
        'Lowering min-replicas-to-write ends this outage but allows losing acknowledged writes on failover.',
      ].join(' '),
    })]),
  ];
}

/** Memory and snapshots. */
function redisResourceRules(c: AlertContext): AlertRule[] {
  const { o, kubectl, R, redisCli, redisRule } = c;
  return [
    redisRule({
      alert: 'RedisMemoryNearLimit',
      // Only where maxmemory is set: a 0 divisor is filtered out, not divided by.
      expr: `redis_memory_used_bytes{${R}} / (redis_memory_max_bytes{${R}} > 0) > 0.9`,
      for: '5m',
      severity: 'warning',
      summary: 'Redis {{ $labels.pod }} uses {{ $value | humanizePercentage }} of maxmemory',
      description: [
        'Redis in {{ $labels.pod }} has used more than 90% of its maxmemory for 5 minutes.',
        'With maxmemory-policy noeviction (the chart\'s default) writes fail with OOM at 100%; with an eviction policy, keys are being evicted.',
        `Check: ${redisCli('{{ $labels.pod }}', 'INFO memory')} (used_memory, mem_fragmentation_ratio); ${redisCli('{{ $labels.pod }}', '--bigkeys')}.`,
        'Then delete or expire data, or raise the memory limit (maxmemory follows it); keep room for the fork of RDB saves.',
      ].join(' '),
    }),
    redisRule({
      alert: 'RedisRdbSaveFailing',
      expr: `redis_rdb_last_bgsave_status{${R}} == 0`,
      for: '1m',
      severity: 'critical',
      summary: 'The last RDB snapshot of {{ $labels.pod }} failed',
      description: [
        'The last background save (BGSAVE) of {{ $labels.pod }} failed.',
        'With stop-writes-on-bgsave-error yes (Redis\' default) a master refuses writes with MISCONF until a save succeeds.',
        `Check: ${redisCli('{{ $labels.pod }}', 'INFO persistence')} (rdb_last_bgsave_status);`,
        `${kubectl} logs {{ $labels.pod }} -c redis | grep -i save (disk full, or fork failed for lack of memory);`,
        `${kubectl} exec {{ $labels.pod }} -c redis -- df -h. After the fix: ${redisCli('{{ $labels.pod }}', 'BGSAVE')}.`,
      ].join(' '),
    }),
    ...(o.rdbMaxAgeSeconds <= 0 ? [] : [redisRule({
      alert: 'RedisRdbTooOld',
      // Only with writes pending: an idle Redis takes no snapshot and loses nothing.
      expr: `time() - redis_rdb_last_save_timestamp_seconds{${R}} > ${num(o.rdbMaxAgeSeconds)} and redis_rdb_changes_since_last_save{${R}} > 0`,
      for: '5m',
      severity: 'warning',
      summary: 'No RDB snapshot of {{ $labels.pod }} for {{ printf "%.0f" $value }} s',
      description: [
        'The last successful RDB save of {{ $labels.pod }} was {{ printf "%.0f" $value }} s ago,',
        `more than ${o.rdbMaxAgeSeconds} s, while writes are pending (rdb_changes_since_last_save > 0).`,
        'A restore from the RDB file would lose everything since.',
        `Check: ${redisCli('{{ $labels.pod }}', 'INFO persistence')} (rdb_bgsave_in_progress, rdb_last_bgsave_status);`,
        `the save points: ${redisCli('{{ $labels.pod }}', 'CONFIG GET save')}; the volume: ${kubectl} exec {{ $labels.pod }} -c redis -- df -h.`,
      ].join(' '),
    })]),
  ];
}

/** Sentinels up, scraped, able to reach quorum. */
function sentinelHealthRules(c: AlertContext): AlertRule[] {
  const { o, ns, kubectl, sentinelPort, S, SM, sentinelCli, listRedis, listSentinels, anySentinel, set, sentinelRule, sentinelHealth } = c;
  return [
    sentinelRule({
      alert: 'RedisSentinelDown',
      expr: `redis_up{${S}} == 0`,
      for: '1m',
      severity: 'warning',
      summary: 'Sentinel in {{ $labels.pod }} does not answer its exporter',
      description: [
        `The redis_exporter sidecar in pod {{ $labels.pod }} has not reached Sentinel on localhost:${sentinelPort} for 1 minute:`,
        `one fewer Sentinel to detect a failure and vote (quorum ${o.quorum} of ${o.sentinels}).`,
        `Check: ${kubectl} describe pod {{ $labels.pod }}; ${kubectl} logs {{ $labels.pod }} -c sentinel --previous; ${sentinelCli('{{ $labels.pod }}', 'PING')}.`,
      ].join(' '),
    }),
    sentinelRule({
      alert: 'RedisSentinelMetricsTargetDown',
      expr: `up{${S}} == 0`,
      for: '5m',
      severity: 'warning',
      summary: 'Prometheus cannot scrape the Sentinel exporter in {{ $labels.pod }}',
      description: [
        `Prometheus has failed to scrape {{ $labels.instance }} (Service ${o.sentinelMetricsService}, pod {{ $labels.pod }}) for 5 minutes: the Sentinel alerts are blind for this pod.`,
        `Check: ${kubectl} get pod {{ $labels.pod }}; ${kubectl} logs {{ $labels.pod }} --all-containers --tail=50;`,
        'and that the NetworkPolicy admits Prometheus to the exporter\'s `metrics` port.',
      ].join(' '),
    }),
    sentinelRule({
      alert: 'RedisSentinelMetricsAbsent',
      expr: `absent(up{${S}})`,
      for: '10m',
      severity: 'warning',
      summary: `No Sentinel metrics target for ${ns}/${o.sentinelMetricsService}`,
      description: [
        `Prometheus has had no scrape target for Service ${o.sentinelMetricsService} in namespace ${ns} for 10 minutes, so no Sentinel alert can fire`,
        '(and RedisSentinelQuorumLost fires, counting 0 Sentinels).',
        'Either no Sentinel pod exists, or the ServiceMonitor does not select the Service, or Prometheus does not watch this namespace.',
        `Check: ${listSentinels}; ${kubectl} get endpoints ${o.sentinelMetricsService}; ${kubectl} get servicemonitors; Prometheus' /targets page.`,
      ].join(' '),
    }),
    sentinelRule({
      alert: 'RedisSentinelQuorumLost',
      expr: sentinelHealth(o.quorum),
      for: '1m',
      severity: 'critical',
      summary: `Fewer than ${o.quorum} healthy Sentinels for ${set}: no automatic failover`,
      description: [
        `For 1 minute, fewer than quorum (${o.quorum}) of the ${o.sentinels} Sentinels have answered their exporters,`,
        `or no Sentinel has seen ${o.quorum} healthy Sentinels including itself (redis_sentinel_master_ok_sentinels):`,
        'a failed master would not be agreed ODOWN and no failover would happen.',
        `Check: ${listSentinels}; ${sentinelCli(anySentinel, `SENTINEL SENTINELS ${o.masterName}`)} (flags s_down) and SENTINEL CKQUORUM ${o.masterName}.`,
        'If every pod runs but they do not see each other: the NetworkPolicy (Sentinel to Sentinel on the Sentinel port) and DNS of the headless Service.',
      ].join(' '),
    }),
    ...(o.sentinels <= o.quorum ? [] : [sentinelRule({
      alert: 'RedisSentinelDegraded',
      expr: sentinelHealth(o.sentinels),
      for: '5m',
      severity: 'warning',
      summary: `Fewer than ${o.sentinels} healthy Sentinels for ${set}`,
      description: [
        `For 5 minutes, fewer than all ${o.sentinels} Sentinels have answered their exporters, or none sees all ${o.sentinels} healthy:`,
        `failover still works while ${o.quorum} remain, but ${o.sentinels - o.quorum} more failure(s) stop it.`,
        `Check: ${listSentinels}; ${sentinelCli(anySentinel, `SENTINEL SENTINELS ${o.masterName}`)} (flags s_down); ${kubectl} logs <sentinel-pod> -c sentinel.`,
      ].join(' '),
    })]),
    sentinelRule({
      alert: 'RedisSentinelMasterNotOk',
      expr: `redis_sentinel_master_status{${SM}} == 0`,
      for: '1m',
      severity: 'critical',
      summary: 'Sentinel {{ $labels.pod }} sees master {{ $labels.master_address }} as {{ $labels.master_status }}',
      description: [
        `For 1 minute, Sentinel {{ $labels.pod }} has reported status {{ $labels.master_status }} for master ${o.masterName} at {{ $labels.master_address }}`,
        '(sdown: this Sentinel cannot reach it; odown: the quorum agrees it is down and a failover should follow).',
        `Check: ${sentinelCli('{{ $labels.pod }}', `SENTINEL MASTER ${o.masterName}`)};`,
        `${kubectl} logs {{ $labels.pod }} -c sentinel --tail=100 (+sdown, +odown, +try-failover, -failover-abort-*); the master pod itself (${listRedis}).`,
      ].join(' '),
    }),
    sentinelRule({
      alert: 'RedisSentinelCkquorumFailing',
      expr: `redis_sentinel_master_ckquorum_status{${SM}} == 0`,
      for: '2m',
      severity: 'critical',
      summary: 'SENTINEL CKQUORUM fails on {{ $labels.pod }}',
      description: [
        `For 2 minutes, Sentinel {{ $labels.pod }} has answered SENTINEL CKQUORUM ${o.masterName} with "{{ $labels.message }}":`,
        'it could not reach the quorum or the majority needed to authorize a failover now.',
        `Check: ${sentinelCli('{{ $labels.pod }}', `SENTINEL SENTINELS ${o.masterName}`)}; ${listSentinels};`,
        'stale Sentinel entries (see RedisSentinelStaleEntries) also raise the majority needed.',
      ].join(' '),
    }),
  ];
}

/** Failovers, TILT, and Sentinels that disagree. */
function sentinelFailoverRules(c: AlertContext): AlertRule[] {
  const { o, kubectl, S, SM, master, sentinelCli, anySentinel, set, sentinelRule, replicas, epoch } = c;
  return [
    sentinelRule({
      alert: 'RedisSentinelTilt',
      expr: `redis_sentinel_tilt{${S}} > 0`,
      severity: 'warning',
      summary: 'Sentinel {{ $labels.pod }} is in TILT mode',
      description: [
        'Sentinel {{ $labels.pod }} is in TILT mode: its clock jumped or the process was stalled (CPU throttling, a paused node),',
        'so it stops acting for at least 30 s and neither votes nor fails over.',
        `Check: ${kubectl} logs {{ $labels.pod }} -c sentinel (+tilt, -tilt); CPU limits and throttling of the pod; the node's clock (NTP).`,
      ].join(' '),
    }),
    sentinelRule({
      alert: 'RedisSentinelFailover',
      // The epoch series carries master_address, which changes with the failover: the old and new
      // master are different series, so compare the set's highest epoch with 10 minutes ago
      // instead of changes() per series. The subquery (lowest per-minute maximum of the last
      // 10 minutes) also sees a failover when there is no data from 10 minutes ago yet (a new
      // install, a new Prometheus). Needs redis_exporter >= v1.80 (config_epoch metric).
      expr: `max(${epoch}) > max(${epoch} offset 10m) or max(${epoch}) > min_over_time(max(${epoch})[10m:1m])`,
      severity: 'info',
      summary: `Failover of ${set}: Sentinel config epoch rose to {{ $value }}`,
      description: [
        `The highest configuration epoch the Sentinels report for ${o.masterName} rose within the last 10 minutes: a failover promoted a new master.`,
        'Rolling updates cause planned ones (the preStop hook hands over first); otherwise find why the old master failed.',
        `Current master: ${sentinelCli(anySentinel, `SENTINEL GET-MASTER-ADDR-BY-NAME ${o.masterName}`)};`,
        `history: ${kubectl} logs ${anySentinel} -c sentinel | grep -e switch-master -e odown; roles: the Prometheus query ${master}.`,
        'Writes the old master accepted after it was cut off are lost.',
      ].join(' '),
    }),
    sentinelRule({
      alert: 'RedisSentinelMasterMismatch',
      expr: `count(count by (master_address) (redis_sentinel_master_status{${SM}})) > 1`,
      for: '5m',
      severity: 'warning',
      summary: `Sentinels name {{ $value }} different masters for ${set}`,
      description: [
        `For 5 minutes the Sentinels behind ${o.sentinelMetricsService} have named {{ $value }} different addresses as master of ${o.masterName}:`,
        'clients asking different Sentinels may write to different masters.',
        `Compare: the Prometheus query redis_sentinel_master_status{${SM}} (pod, master_address), and on each Sentinel`,
        `${sentinelCli(anySentinel, `SENTINEL GET-MASTER-ADDR-BY-NAME ${o.masterName}`)}.`,
        'A Sentinel cut off from its peers keeps the old master: restore connectivity; if it stays wrong, delete that Sentinel pod',
        '(its start script takes the master with the highest epoch from its peers).',
      ].join(' '),
    }),
    sentinelRule({
      alert: 'RedisSentinelStaleEntries',
      expr: `max(redis_sentinel_master_sentinels{${SM}}) > ${o.sentinels} or max(redis_sentinel_master_slaves{${SM}}) > ${replicas}`,
      for: '30m',
      severity: 'warning',
      summary: `Sentinels know more Sentinels or replicas than deployed for ${set}`,
      description: [
        `For 30 minutes a Sentinel has known more than ${o.sentinels} Sentinels or more than ${replicas} replicas of ${o.masterName}.`,
        'Sentinels never forget peers: stale entries raise the majority needed to authorize a failover and list dead replicas.',
        'The tidy sidecar of each Sentinel pod forgets replicas and Sentinels whose pod names have stopped resolving, one Sentinel at a time,',
        'but only while everything else is healthy (no failover, every remaining replica and Sentinel up and agreeing):',
        `its log says what it waits for: ${kubectl} logs <sentinel-pod> -c tidy.`,
        `Check: ${sentinelCli(anySentinel, `SENTINEL SENTINELS ${o.masterName}`)} and SENTINEL REPLICAS ${o.masterName};`,
        'more pods than these counts after a kubectl scale up is expected (set the replicas/sentinels props instead).',
        `If the tidy loop cannot act, fix what it waits for; as a last resort run SENTINEL RESET ${o.masterName} on each Sentinel, one at a time,`,
        'never during a failover, each only once the previous one lists every live replica and Sentinel again.',
      ].join(' '),
    }),
  ];
}

/**
 * Renders the alerting rules: one group for the Redis pods, one for the Sentinels.
 * Thresholds come from the options; `for` durations are fixed.
 */
export function renderAlertRules(o: AlertRuleOptions): RuleGroup[] {
  check(o);
  const c = alertContext(o);
  const redis = [...redisAvailabilityRules(c), ...redisReplicationRules(c), ...redisResourceRules(c)];
  const sentinel = [...sentinelHealthRules(c), ...sentinelFailoverRules(c)];
  const ns = o.namespace;
  const group = `${ns}/${o.redisMetricsService}`;
  return [
    { name: `${group}/redis`, rules: redis },
    { name: `${group}/sentinel`, rules: sentinel },
  ];
}
