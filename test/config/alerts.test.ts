/**
 * Alert rules: unit tests of the renderer, `promtool check rules` on the rendered groups, and
 * `promtool test rules` proving that EACH alert fires on series describing its condition and stays
 * silent on a healthy deployment (with noise from another deployment in the same namespace and
 * from the same Service names in another namespace, which the rules must ignore).
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as fc from 'fast-check';
import { stringify } from 'yaml';
import {
  AlertRule, AlertRuleOptions, DEFAULT_AUTH_FILE, PROMETHEUS_TARGET_METRICS, REDIS_EXPORTER_METRICS, RuleGroup, renderAlertRules,
} from '../../src/config/alerts';
import { metricNamesIn } from '../support/promql';
import { PATHS } from '../../src/settings';

const O: AlertRuleOptions = {
  namespace: 'cache',
  masterName: 'mymaster',
  redisMetricsService: 'cache-metrics',
  sentinelMetricsService: 'cache-sentinel-metrics',
  redisPods: 3,
  sentinels: 3,
  quorum: 2,
  minReplicasToWrite: 1,
  minReplicasMaxLagSeconds: 10,
  rdbMaxAgeSeconds: 600,
  replicationLagBytes: 1_000_000,
  alertLabels: { team: 'storage' },
};

const allRules = (groups: RuleGroup[]): AlertRule[] => groups.flatMap((g) => g.rules);
const ruleOf = (groups: RuleGroup[], alert: string): AlertRule => {
  const r = allRules(groups).find((x) => x.alert === alert);
  if (!r) throw new Error(`no rule ${alert}`);
  return r;
};
const rulesYaml = (groups: RuleGroup[]) => stringify({ groups }, { lineWidth: 0 });

function requirePromtool(): void {
  const r = spawnSync('sh', ['-c', 'command -v promtool'], { stdio: 'pipe' });
  if (r.status !== 0) {
    throw new Error('promtool is not installed: install the Debian package `prometheus` (apt-get install prometheus), which ships /usr/bin/promtool');
  }
}

/** Runs promtool; returns its combined output, throwing with that output when it fails. */
function promtool(...args: string[]): string {
  const r = spawnSync('promtool', args, { stdio: 'pipe', encoding: 'utf8', timeout: 60_000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`promtool ${args.join(' ')} failed (exit ${r.status}):\n${out}`);
  return out;
}

// --- every vector selector of an expression ---------------------------------------------------------

interface Selector { metric: string; matchers: Record<string, string> }

/** Vector selectors `name{...}` of an expression (all of ours name the metric and have matchers). */
function selectorsIn(expr: string): Selector[] {
  const out: Selector[] = [];
  for (const m of expr.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\{([^}]*)\}/g)) {
    const matchers: Record<string, string> = {};
    for (const mm of m[2].matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g)) matchers[mm[1]] = mm[2];
    out.push({ metric: m[1], matchers });
  }
  return out;
}

describe('metricNamesIn', () => {
  it.each([
    ['redis_up{namespace="a",service="b"} == 0', ['redis_up']],
    ['(count(redis_instance_info{role="master"}) or vector(0)) < 1', ['redis_instance_info']],
    ['count by (namespace, pod) (x{a="b"} <= 10) or max by (namespace, pod) (y) * 0 < 1 and on(namespace, pod) z', ['x', 'y', 'z']],
    ['a - on(namespace, pod) group_right b > 1e6', ['a', 'b']],
    ['a / ignoring(x) group_left(y, z) b', ['a', 'b']],
    ['sum without (instance) (rate(c_total{job="j"}[5m]))', ['c_total']],
    ['sum(rate(c_total[$__rate_interval])) by (pod)', ['c_total']],
    ['max(e{m="x"}) > max(e{m="x"} offset 10m)', ['e']],
    ['max(e{m="x"}) > min_over_time(max(e{m="x"})[10m:1m])', ['e']],
    ['time() - t > 3600 and u > 0', ['t', 'u']],
    ['a > bool 0.9 unless b', ['a', 'b']],
    ['absent(up{namespace="ns"})', ['up']],
    ['m{label="value with by (x) and or and metric_name{}"}', ['m']],
    ['histogram_quantile(0.99, sum by (le) (rate(h_bucket[1h30m])))', ['h_bucket']],
    ['x @ 1609746000 + .5 + 0x1f + Inf - NaN', ['x']],
    ['k:recorded:rate5m', ['k:recorded:rate5m']],
  ])('%s -> %j', (expr, names) => {
    expect(metricNamesIn(expr)).toEqual(names);
  });
});

describe('renderAlertRules', () => {
  const groups = renderAlertRules(O);
  const rules = allRules(groups);

  it('renders the required alerts, with unique names', () => {
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const required of [
      'RedisDown', 'RedisMetricsTargetDown', 'RedisNoMaster', 'RedisMultipleMasters', 'RedisSentinelFailover',
      'RedisSentinelMasterNotOk', 'RedisSentinelQuorumLost', 'RedisSentinelDegraded', 'RedisSentinelCkquorumFailing',
      'RedisSentinelTilt', 'RedisReplicaLinkDown', 'RedisReplicationLag', 'RedisReplicationLagBytes', 'RedisTooFewReplicas',
      'RedisMinReplicasNotMet', 'RedisMemoryNearLimit', 'RedisRdbSaveFailing', 'RedisRdbTooOld', 'RedisWaitingForRole',
    ]) expect(names).toContain(required);
  });

  it('gives every rule a severity, a summary and a description with commands for the namespace', () => {
    for (const r of rules) {
      expect(['critical', 'warning', 'info']).toContain(r.labels.severity);
      expect(r.labels).toMatchObject({ namespace: 'cache', team: 'storage' });
      expect(r.annotations.summary.length).toBeGreaterThan(10);
      expect(r.annotations.description.length).toBeGreaterThan(100);
      expect(r.annotations.description).toContain('kubectl -n cache ');
      expect(r.for === undefined || /^\d+[smh]$/.test(r.for)).toBe(true);
    }
  });

  it('reads the password from the mounted file into REDISCLI_AUTH in every redis-cli command', () => {
    expect(DEFAULT_AUTH_FILE).toBe(PATHS.authFile);
    const withCli = rules.filter((r) => r.annotations.description.includes('redis-cli'));
    expect(withCli.length).toBeGreaterThan(10);
    for (const r of withCli) {
      const commands = r.annotations.description.match(/sh -c '[^']*redis-cli[^']*'/g) ?? [];
      expect(commands.length).toBeGreaterThan(0);
      for (const c of commands) expect(c).toMatch(/^sh -c 'REDISCLI_AUTH="\$\(cat \/etc\/redis-auth\/password\)" redis-cli -p (6379|26379) /);
    }
    const noAuth = allRules(renderAlertRules({ ...O, authFile: false, redisPort: 7000, sentinelPort: 27000 }));
    for (const r of noAuth) {
      expect(r.annotations.description).not.toContain('REDISCLI_AUTH');
      expect(r.annotations.description).not.toMatch(/-p (6379|26379)\b/);
    }
    expect(noAuth.map((r) => r.annotations.description).join(' ')).toContain("redis-cli -p 27000 SENTINEL");
  });

  it('filters every vector selector by namespace and by the right Service (and Sentinel metrics by master name)', () => {
    const check = (o: AlertRuleOptions) => {
      for (const g of renderAlertRules(o)) {
        const sentinelGroup = g.name.endsWith('/sentinel');
        for (const r of g.rules) {
          const selectors = selectorsIn(r.expr);
          // No bare metric name: every metric the expression reads has a selector.
          expect(selectors.map((s) => s.metric).sort()).toEqual(expect.arrayContaining(metricNamesIn(r.expr)));
          expect(new Set(selectors.map((s) => s.metric))).toEqual(new Set(metricNamesIn(r.expr)));
          const bare = r.expr.replace(/\{[^}]*\}/g, '{}');
          for (const name of metricNamesIn(r.expr)) expect(bare).not.toMatch(new RegExp(`\\b${name}\\b(?!\\{)`));
          for (const s of selectors) {
            const service = sentinelGroup ? o.sentinelMetricsService : o.redisMetricsService;
            expect(s.matchers.namespace).toBe(o.namespace);
            expect(s.matchers.service).toBe(service);
            if (s.metric.startsWith('redis_sentinel_master_')) expect(s.matchers.master_name).toBe(o.masterName);
            if (s.metric.startsWith('redis_sentinel_')) expect(sentinelGroup).toBe(true);
          }
        }
      }
    };
    check(O);
    fc.assert(fc.property(
      fc.record({
        namespace: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
        name: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
        masterName: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/),
        redisPods: fc.integer({ min: 1, max: 9 }),
        sentinels: fc.integer({ min: 1, max: 9 }),
      }),
      ({ namespace, name, masterName, redisPods, sentinels }) => {
        check({
          ...O, namespace, masterName, redisMetricsService: `${name}-metrics`, sentinelMetricsService: `${name}-sentinel-metrics`,
          redisPods, sentinels, quorum: Math.floor(sentinels / 2) + 1, minReplicasToWrite: Math.min(1, redisPods - 1),
        });
      },
    ), { numRuns: 100 });
  });

  it('reads only metric names redis_exporter really exports (and Prometheus\' own `up`)', () => {
    const known = new Set([...REDIS_EXPORTER_METRICS, ...PROMETHEUS_TARGET_METRICS]);
    for (const r of rules) {
      for (const name of metricNamesIn(r.expr)) expect({ alert: r.alert, name, known: known.has(name) }).toEqual({ alert: r.alert, name, known: true });
    }
    const used = rules.flatMap((r) => metricNamesIn(r.expr));
    for (const fake of ['redis_replication_lag_seconds', 'redis_sentinel_failovers_total']) expect(used).not.toContain(fake);
  });

  it('takes every threshold from the options: quorum 3 of 5 Sentinels, lag, replicas, RDB age, bytes', () => {
    const g = renderAlertRules({
      ...O, sentinels: 5, quorum: 3, redisPods: 4, minReplicasToWrite: 2, minReplicasMaxLagSeconds: 7, rdbMaxAgeSeconds: 1234,
      replicationLagBytes: 5_000_000,
    });
    expect(ruleOf(g, 'RedisSentinelQuorumLost').expr).toBe(
      '(count(redis_up{namespace="cache",service="cache-sentinel-metrics"} == 1) or vector(0)) < 3'
      + ' or max(redis_sentinel_master_ok_sentinels{namespace="cache",service="cache-sentinel-metrics",master_name="mymaster"}) < 3');
    expect(ruleOf(g, 'RedisSentinelDegraded').expr).toMatch(/\) < 5 or max\(.*\) < 5$/);
    expect(ruleOf(g, 'RedisReplicationLag').expr).toMatch(/ > 7$/);
    expect(ruleOf(g, 'RedisMinReplicasNotMet').expr).toContain('<= 7)');
    expect(ruleOf(g, 'RedisMinReplicasNotMet').expr).toContain(') < 2 and on(namespace, pod)');
    expect(ruleOf(g, 'RedisTooFewReplicas').expr).toMatch(/ < 3 and on\(namespace, pod\) /);
    expect(ruleOf(g, 'RedisRdbTooOld').expr).toContain(' > 1234 and ');
    expect(ruleOf(g, 'RedisReplicationLagBytes').expr).toMatch(/ > 5000000$/);
    expect(ruleOf(g, 'RedisSentinelStaleEntries').expr).toMatch(/ > 5 or max\(.*\) > 3$/);
    // The descriptions state the same numbers.
    expect(ruleOf(g, 'RedisSentinelQuorumLost').annotations.description).toContain('quorum (3) of the 5 Sentinels');
    expect(ruleOf(g, 'RedisMinReplicasNotMet').annotations.description).toContain('min-replicas-to-write (2)');
  });

  it('leaves out rules whose condition cannot exist for the options', () => {
    const names = (o: Partial<AlertRuleOptions>) => allRules(renderAlertRules({ ...O, ...o })).map((r) => r.alert);
    expect(names({ minReplicasToWrite: 0 })).not.toContain('RedisMinReplicasNotMet');
    expect(names({ redisPods: 1, minReplicasToWrite: 0 })).not.toContain('RedisTooFewReplicas');
    expect(names({ rdbMaxAgeSeconds: 0 })).not.toContain('RedisRdbTooOld');
    expect(names({ replicationLagBytes: undefined })).not.toContain('RedisReplicationLagBytes');
    expect(names({ sentinels: 3, quorum: 3 })).not.toContain('RedisSentinelDegraded');
    expect(names({ sentinels: 3, quorum: 3 })).toContain('RedisSentinelQuorumLost');
  });

  it('is deterministic', () => {
    expect(rulesYaml(renderAlertRules(O))).toBe(rulesYaml(renderAlertRules({ ...O })));
  });

  it.each([
    [{ quorum: 4 }, /quorum \(4\) must be between 1 and the number of sentinels \(3\)/],
    [{ redisPods: 0 }, /redisPods \(0\) must be a whole number >= 1/],
    [{ minReplicasToWrite: 3 }, /minReplicasToWrite \(3\) must be a whole number between 0 and the number of replicas \(2\)/],
    [{ rdbMaxAgeSeconds: -1 }, /rdbMaxAgeSeconds \(-1\)/],
    [{ alertLabels: { severity: 'page' } }, /alertLabels key 'severity' is set by the rules themselves/],
    [{ alertLabels: { 'team-name': 'x' } }, /alertLabels key 'team-name' is not a Prometheus label name/],
    [{ replicationLagBytes: 0 }, /replicationLagBytes \(0\) must be a number of bytes > 0/],
    [{ namespace: '' }, /namespace \(''\) must be a non-empty string/],
  ])('fails when %j', (change, message) => {
    expect(() => renderAlertRules({ ...O, ...change } as AlertRuleOptions)).toThrow(message);
  });
});

// --- promtool ---------------------------------------------------------------------------------------

let dir: string;
beforeAll(() => {
  requirePromtool();
  dir = mkdtempSync(join(tmpdir(), 'redis-alerts-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('promtool check rules', () => {
  it.each([
    ['the test options', O],
    ['a single Redis pod and Sentinel, no min-replicas, no RDB age', {
      ...O, redisPods: 1, sentinels: 1, quorum: 1, minReplicasToWrite: 0, rdbMaxAgeSeconds: 0, replicationLagBytes: undefined, alertLabels: undefined,
    }],
    ['5 Sentinels, quorum 3, auth off, other ports', { ...O, sentinels: 5, quorum: 3, authFile: false as const, redisPort: 7000, sentinelPort: 27000 }],
  ])('accepts the groups rendered for %s', (title, o) => {
    const file = join(dir, `check-${title.replace(/[^a-z0-9]+/gi, '-')}.yaml`);
    writeFileSync(file, rulesYaml(renderAlertRules(o as AlertRuleOptions)));
    const out = promtool('check', 'rules', file);
    expect(out).toMatch(new RegExp(`SUCCESS: ${allRules(renderAlertRules(o as AlertRuleOptions)).length} rules found`));
  });
});

// --- series for promtool test rules -----------------------------------------------------------------

type Labels = Record<string, string>;
type Sample = number | '_' | 'stale';
interface Series { name: string; labels: Labels; values: (i: number) => Sample }

const INTERVAL_S = 30;
const SAMPLES = 241; // 0 .. 120 minutes
const idx = (minute: number) => Math.round((minute * 60) / INTERVAL_S);

const flat = (v: number) => () => v;
/** `before` until `minute`, then `after`. */
const switchAt = (minute: number, before: (i: number) => Sample, after: (i: number) => Sample) => (i: number) => (i < idx(minute) ? before(i) : after(i));
/** The series ends at `minute` (a staleness marker, as Prometheus writes when a series disappears). */
const endsAt = (minute: number, before: (i: number) => Sample) => (i: number): Sample => (i < idx(minute) ? before(i) : i === idx(minute) ? 'stale' : '_');
/** The series starts at `minute`. */
const startsAt = (minute: number, after: (i: number) => Sample) => (i: number): Sample => (i < idx(minute) ? '_' : after(i));

const fqdn = (pod: string) => `${pod}.${pod.replace(/-\d+$/, '')}-headless.cache.svc.cluster.local`;
const MASTER = 'cache-master-0';
const REPLICAS = ['cache-replica-0', 'cache-replica-1'];
const SENTINELS = ['cache-sentinel-0', 'cache-sentinel-1', 'cache-sentinel-2'];
const IP: Record<string, string> = {
  [MASTER]: '10.1.0.10', 'cache-replica-0': '10.1.0.11', 'cache-replica-1': '10.1.0.12',
  'cache-sentinel-0': '10.1.0.20', 'cache-sentinel-1': '10.1.0.21', 'cache-sentinel-2': '10.1.0.22',
};
/** The labels prometheus-operator puts on every series of a target. */
const target = (namespace: string, service: string, pod: string, ip = IP[pod] ?? '10.9.9.9'): Labels => ({
  namespace, service, pod, job: service, instance: `${ip}:9121`, container: 'metrics', endpoint: 'metrics',
});
const R = (pod: string) => target('cache', 'cache-metrics', pod);
const S = (pod: string) => target('cache', 'cache-sentinel-metrics', pod);
const MASTER_ADDR = `${fqdn(MASTER)}:6379`;
const SM = (pod: string, address = MASTER_ADDR) => ({ ...S(pod), master_name: 'mymaster', master_address: address });
const CKQUORUM_OK = 'OK 3 usable Sentinels. Quorum and failover authorization can be reached';
const offset = (i: number) => 1000 + 100_000 * i;

/** One Redis pod's series, as redis_exporter 1.45+ reports them. */
function redisPod(t: Labels, role: 'master' | 'slave', replicas: string[], masterHost: string): Series[] {
  const s: Series[] = [
    { name: 'up', labels: t, values: flat(1) },
    { name: 'redis_up', labels: t, values: flat(1) },
    { name: 'redis_instance_info', labels: { ...t, role, redis_mode: 'standalone', redis_version: '7.2.11' }, values: flat(1) },
    { name: 'redis_connected_slaves', labels: t, values: flat(role === 'master' ? replicas.length : 0) },
    { name: 'redis_master_repl_offset', labels: t, values: offset },
    { name: 'redis_memory_used_bytes', labels: t, values: flat(50_000_000) },
    { name: 'redis_memory_max_bytes', labels: t, values: flat(100_000_000) },
    { name: 'redis_rdb_last_bgsave_status', labels: t, values: flat(1) },
    // Saved at every scrape: never old.
    { name: 'redis_rdb_last_save_timestamp_seconds', labels: t, values: (i) => i * INTERVAL_S },
    { name: 'redis_rdb_changes_since_last_save', labels: t, values: flat(3) },
  ];
  if (role === 'master') {
    for (const r of replicas) {
      const l = { ...t, slave_ip: fqdn(r), slave_port: '6379', slave_state: 'online' };
      s.push({ name: 'redis_connected_slave_lag_seconds', labels: l, values: (i) => i % 2 });
      s.push({ name: 'redis_connected_slave_offset_bytes', labels: l, values: offset });
    }
  } else {
    const l = { ...t, master_host: masterHost, master_port: '6379' };
    s.push({ name: 'redis_master_link_up', labels: l, values: flat(1) });
    s.push({ name: 'redis_slave_repl_offset', labels: l, values: offset });
  }
  return s;
}

/** One Sentinel pod's series: the exporter reports redis_up and redis_instance_info for Sentinel too. */
function sentinelPod(t: Labels, masterAddress: string, seen: number, epoch: number): Series[] {
  const m = { ...t, master_name: 'mymaster', master_address: masterAddress };
  return [
    { name: 'up', labels: t, values: flat(1) },
    { name: 'redis_up', labels: t, values: flat(1) },
    { name: 'redis_instance_info', labels: { ...t, role: '', redis_mode: 'sentinel', redis_version: '7.2.11' }, values: flat(1) },
    { name: 'redis_sentinel_masters', labels: t, values: flat(1) },
    { name: 'redis_sentinel_tilt', labels: t, values: flat(0) },
    { name: 'redis_sentinel_master_status', labels: { ...m, master_status: 'ok' }, values: flat(1) },
    { name: 'redis_sentinel_master_ok_sentinels', labels: m, values: flat(seen) },
    { name: 'redis_sentinel_master_sentinels', labels: m, values: flat(seen) },
    { name: 'redis_sentinel_master_slaves', labels: m, values: flat(2) },
    { name: 'redis_sentinel_master_ok_slaves', labels: m, values: flat(2) },
    { name: 'redis_sentinel_master_ckquorum_status', labels: { ...t, master_name: 'mymaster', message: seen >= 2 ? CKQUORUM_OK : 'NOQUORUM' }, values: flat(seen >= 2 ? 1 : 0) },
    { name: 'redis_sentinel_master_config_epoch', labels: m, values: flat(epoch) },
  ];
}

/** A broken deployment whose series the rules must ignore (other Service, or other namespace). */
function noise(namespace: string, service: string, sentinelService: string): Series[] {
  const s: Series[] = [];
  for (const pod of ['x-0', 'x-1']) {
    const t = target(namespace, service, pod);
    // Two masters, Redis down, scrape failing, link down, lagging, full, failed and stale saves.
    s.push(...redisPod(t, 'master', ['x-9'], ''));
    s.push({ name: 'redis_master_link_up', labels: { ...t, master_host: 'x', master_port: '6379' }, values: flat(0) });
  }
  const bad: Record<string, (i: number) => Sample> = {
    up: flat(0), redis_up: flat(0), redis_connected_slaves: flat(0), redis_connected_slave_lag_seconds: flat(100),
    redis_memory_used_bytes: flat(99_000_000), redis_rdb_last_bgsave_status: flat(0), redis_rdb_last_save_timestamp_seconds: flat(0),
    redis_connected_slave_offset_bytes: flat(0),
  };
  for (const x of s) if (bad[x.name]) x.values = bad[x.name];
  for (const pod of ['y-0']) {
    const t = target(namespace, sentinelService, pod);
    const y = sentinelPod(t, 'x-0:6379', 1, 0);
    const worse: Record<string, (i: number) => Sample> = {
      up: flat(0), redis_up: flat(0), redis_sentinel_tilt: flat(1), redis_sentinel_master_status: flat(0),
      redis_sentinel_master_config_epoch: (i) => Math.floor(i / 4), redis_sentinel_master_sentinels: flat(9),
    };
    for (const x of y) if (worse[x.name]) x.values = worse[x.name];
    y.push({ name: 'redis_sentinel_master_status', labels: { ...t, master_name: 'mymaster', master_address: 'x-1:6379', master_status: 'odown' }, values: flat(0) });
    s.push(...y);
  }
  return s;
}

/** A healthy deployment: master + 2 replicas + 3 Sentinels, plus noise the rules must ignore. */
function healthy(): Series[] {
  return [
    ...redisPod(R(MASTER), 'master', REPLICAS, ''),
    ...REPLICAS.flatMap((p) => redisPod(R(p), 'slave', [], fqdn(MASTER))),
    ...SENTINELS.flatMap((p) => sentinelPod(S(p), MASTER_ADDR, 3, 0)),
    // Another deployment in the same namespace, the same Service names in another namespace.
    ...noise('cache', 'other-metrics', 'other-sentinel-metrics'),
    ...noise('staging', 'cache-metrics', 'cache-sentinel-metrics'),
  ];
}

const matches = (s: Series, name: string, labels: Labels) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v);
/** Replaces the values of the series matching name and labels (at least one must match). */
function change(series: Series[], name: string, labels: Labels, values: (i: number) => Sample): Series[] {
  let n = 0;
  const out = series.map((s) => (matches(s, name, labels) ? (n++, { ...s, values }) : s));
  if (n === 0) throw new Error(`test bug: no series ${name}${JSON.stringify(labels)}`);
  return out;
}
/** Every series of these target labels ends at `minute` (the pod or its scrape disappears). */
function endAll(series: Series[], labels: Labels, minute: number): Series[] {
  return series.map((s) => (Object.entries(labels).every(([k, v]) => s.labels[k] === v) ? { ...s, values: endsAt(minute, s.values) } : s));
}

const seriesText = (s: Series) => `${s.name}{${Object.entries(s.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
const valuesText = (s: Series) => Array.from({ length: SAMPLES }, (_, i) => String(s.values(i))).join(' ');

/** Go text/template as Prometheus runs it, for the few forms the rules use. */
function expand(template: string, labels: Labels, value: number): string {
  return template.replace(/\{\{\s*(.*?)\s*\}\}/g, (_, inner: string) => {
    const label = /^\$labels\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(inner);
    if (label) {
      if (!(label[1] in labels)) throw new Error(`template uses $labels.${label[1]}, which the alert does not have: ${template}`);
      return labels[label[1]];
    }
    if (inner === '$value') return String(value);
    if (inner === 'printf "%.0f" $value') return value.toFixed(0);
    if (inner === '$value | humanizePercentage') return `${Number((value * 100).toPrecision(4))}%`;
    throw new Error(`test cannot expand {{ ${inner} }}`);
  });
}

const groups = renderAlertRules(O);
const ALERTS = allRules(groups).map((r) => r.alert);

interface Expected { labels: Labels; value: number }
/** The alert as Prometheus emits it: expression labels (metric name dropped) plus the rule's labels. */
function expectedAlert(alert: string, e: Expected) {
  const rule = ruleOf(groups, alert);
  const labels = { ...e.labels, ...rule.labels };
  return {
    exp_labels: labels,
    exp_annotations: {
      summary: expand(rule.annotations.summary, e.labels, e.value),
      description: expand(rule.annotations.description, e.labels, e.value),
    },
  };
}

interface Check { alert: string; at: string; fires: Expected[] }
interface Case { title: string; series: Series[]; checks: Check[] }

const fire = (alert: string, at: string, ...fires: Expected[]): Check => ({ alert, at, fires });
const silent = (alert: string, ...at: string[]): Check[] => at.map((t) => ({ alert, at: t, fires: [] }));
const noLabels = (value: number): Expected => ({ labels: {}, value });
const rLag = (replica: string) => ({ ...R(MASTER), slave_ip: fqdn(replica), slave_port: '6379', slave_state: 'online' });

const h = healthy;
/** At 10m every Sentinel moves to epoch 1 and the new master's address: the epoch series is a new series. */
const failover = (series: Series[]): Series[] => SENTINELS.reduce((s, p) => [
  ...change(s, 'redis_sentinel_master_config_epoch', SM(p), endsAt(10, flat(0))),
  { name: 'redis_sentinel_master_config_epoch', labels: SM(p, `${fqdn('cache-replica-0')}:6379`), values: startsAt(10, flat(1)) },
], series);
const CASES: Case[] = [
  {
    title: 'a healthy deployment (with broken neighbours in other Services and namespaces): every alert is silent',
    series: h(),
    checks: ALERTS.flatMap((a) => silent(a, '30s', '5m', '15m', '60m', '119m')),
  },
  {
    title: 'Redis in a replica stops answering: RedisDown',
    series: change(h(), 'redis_up', R('cache-replica-1'), switchAt(10, flat(1), flat(0))),
    checks: [...silent('RedisDown', '9m'), fire('RedisDown', '12m', { labels: R('cache-replica-1'), value: 0 })],
  },
  {
    title: 'a Redis pod\'s exporter cannot be scraped: RedisMetricsTargetDown',
    series: change(h(), 'up', R('cache-replica-1'), switchAt(10, flat(1), flat(0))),
    checks: [...silent('RedisMetricsTargetDown', '14m'), fire('RedisMetricsTargetDown', '16m', { labels: R('cache-replica-1'), value: 0 })],
  },
  {
    title: 'every Redis target disappears: RedisMetricsAbsent, and RedisNoMaster (count of nothing is 0, not empty)',
    series: endAll(h(), { namespace: 'cache', service: 'cache-metrics' }, 10),
    checks: [
      ...silent('RedisMetricsAbsent', '19m'),
      fire('RedisMetricsAbsent', '21m', { labels: { namespace: 'cache', service: 'cache-metrics' }, value: 1 }),
      ...silent('RedisNoMaster', '9m'),
      fire('RedisNoMaster', '12m', noLabels(0)),
    ],
  },
  {
    title: 'the master pod disappears and nothing is promoted: RedisNoMaster',
    series: endAll(h(), R(MASTER), 10),
    checks: [...silent('RedisNoMaster', '9m'), fire('RedisNoMaster', '12m', noLabels(0)), fire('RedisNoMaster', '60m', noLabels(0))],
  },
  {
    title: 'a replica reports role master while the master still does: RedisMultipleMasters',
    series: [
      ...change(h(), 'redis_instance_info', { ...R('cache-replica-0'), role: 'slave' }, endsAt(10, flat(1))),
      { name: 'redis_instance_info', labels: { ...R('cache-replica-0'), role: 'master', redis_mode: 'standalone', redis_version: '7.2.11' }, values: startsAt(10, flat(1)) },
    ],
    checks: [...silent('RedisMultipleMasters', '9m'), fire('RedisMultipleMasters', '12m', noLabels(2))],
  },
  {
    title: 'a clean failover (roles swap, the epoch rises): RedisSentinelFailover, but no RedisMultipleMasters or RedisNoMaster',
    series: (() => {
      let s = failover(h());
      s = change(s, 'redis_instance_info', { ...R(MASTER), role: 'master' }, endsAt(10, flat(1)));
      s = change(s, 'redis_instance_info', { ...R('cache-replica-0'), role: 'slave' }, endsAt(10, flat(1)));
      s.push({ name: 'redis_instance_info', labels: { ...R(MASTER), role: 'slave', redis_mode: 'standalone', redis_version: '7.2.11' }, values: startsAt(10, flat(1)) });
      s.push({ name: 'redis_instance_info', labels: { ...R('cache-replica-0'), role: 'master', redis_mode: 'standalone', redis_version: '7.2.11' }, values: startsAt(10, flat(1)) });
      return s;
    })(),
    checks: [
      ...silent('RedisMultipleMasters', '10m', '11m', '12m', '20m'),
      ...silent('RedisNoMaster', '10m', '11m', '12m', '20m'),
      fire('RedisSentinelFailover', '12m', noLabels(1)),
    ],
  },
  {
    title: 'a replica loses its master link: RedisReplicaLinkDown',
    series: change(h(), 'redis_master_link_up', R('cache-replica-1'), switchAt(10, flat(1), flat(0))),
    checks: [
      ...silent('RedisReplicaLinkDown', '11m'),
      fire('RedisReplicaLinkDown', '13m', { labels: { ...R('cache-replica-1'), master_host: fqdn(MASTER), master_port: '6379' }, value: 0 }),
    ],
  },
  {
    title: 'a pod runs fenced (replica of 127.0.0.1:1, waiting for the Sentinels) for 2 minutes: RedisWaitingForRole',
    series: [
      ...change(h(), 'redis_master_link_up', R('cache-replica-1'), endsAt(10, flat(1))),
      { name: 'redis_master_link_up', labels: { ...R('cache-replica-1'), master_host: '127.0.0.1', master_port: '1' }, values: startsAt(10, flat(0)) },
    ],
    checks: [
      ...silent('RedisWaitingForRole', '11m'),
      fire('RedisWaitingForRole', '13m', { labels: { ...R('cache-replica-1'), master_host: '127.0.0.1', master_port: '1' }, value: 0 }),
    ],
  },
  {
    title: 'one replica\'s ACK is 15 s old, the other exactly at the limit (10 s): RedisReplicationLag for the first only; still 1 good replica',
    series: change(
      change(h(), 'redis_connected_slave_lag_seconds', rLag('cache-replica-1'), switchAt(10, (i) => i % 2, flat(15))),
      'redis_connected_slave_lag_seconds', rLag('cache-replica-0'), switchAt(10, (i) => i % 2, flat(10))),
    checks: [
      ...silent('RedisReplicationLag', '9m'),
      fire('RedisReplicationLag', '12m', { labels: rLag('cache-replica-1'), value: 15 }),
      ...silent('RedisMinReplicasNotMet', '12m', '30m'),
    ],
  },
  {
    title: 'a replica\'s acknowledged offset stops while the master\'s grows: RedisReplicationLagBytes',
    series: change(h(), 'redis_connected_slave_offset_bytes', rLag('cache-replica-1'), (i) => offset(Math.min(i, idx(10)))),
    checks: [
      ...silent('RedisReplicationLagBytes', '14m'),
      fire('RedisReplicationLagBytes', '25m', { labels: rLag('cache-replica-1'), value: offset(idx(25)) - offset(idx(10)) }),
    ],
  },
  {
    title: 'one replica disconnects: RedisTooFewReplicas (1 of 2), but min-replicas-to-write 1 is still met',
    series: endAll(
      change(h(), 'redis_connected_slaves', R(MASTER), switchAt(10, flat(2), flat(1))),
      { ...R(MASTER), slave_ip: fqdn('cache-replica-1') }, 10),
    checks: [
      ...silent('RedisTooFewReplicas', '14m'),
      fire('RedisTooFewReplicas', '16m', { labels: R(MASTER), value: 1 }),
      ...silent('RedisMinReplicasNotMet', '12m', '30m'),
    ],
  },
  {
    title: 'both replicas\' ACKs are older than min-replicas-max-lag: RedisMinReplicasNotMet (the master refuses writes)',
    series: REPLICAS.reduce((s, r) => change(s, 'redis_connected_slave_lag_seconds', rLag(r), switchAt(10, (i) => i % 2, flat(20))), h()),
    checks: [
      ...silent('RedisMinReplicasNotMet', '9m'),
      fire('RedisMinReplicasNotMet', '12m', { labels: { namespace: 'cache', pod: MASTER }, value: 0 }),
    ],
  },
  {
    title: 'no replica connected at all (no lag series): RedisMinReplicasNotMet and RedisTooFewReplicas',
    series: endAll(
      change(h(), 'redis_connected_slaves', R(MASTER), switchAt(10, flat(2), flat(0))),
      { ...R(MASTER), slave_port: '6379' }, 10),
    checks: [
      ...silent('RedisMinReplicasNotMet', '9m'),
      fire('RedisMinReplicasNotMet', '12m', { labels: { namespace: 'cache', pod: MASTER }, value: 0 }),
      fire('RedisTooFewReplicas', '16m', { labels: R(MASTER), value: 0 }),
    ],
  },
  {
    title: 'the master uses 95% of maxmemory; a replica without maxmemory (0) uses more: RedisMemoryNearLimit for the master only',
    series: change(
      change(
        change(h(), 'redis_memory_used_bytes', R(MASTER), switchAt(10, flat(50_000_000), flat(95_000_000))),
        'redis_memory_max_bytes', R('cache-replica-0'), flat(0)),
      'redis_memory_used_bytes', R('cache-replica-0'), flat(500_000_000)),
    checks: [...silent('RedisMemoryNearLimit', '14m'), fire('RedisMemoryNearLimit', '16m', { labels: R(MASTER), value: 0.95 })],
  },
  {
    title: 'the master\'s last BGSAVE failed: RedisRdbSaveFailing',
    series: change(h(), 'redis_rdb_last_bgsave_status', R(MASTER), switchAt(10, flat(1), flat(0))),
    checks: [...silent('RedisRdbSaveFailing', '9m'), fire('RedisRdbSaveFailing', '12m', { labels: R(MASTER), value: 0 })],
  },
  {
    title: 'no RDB save for longer than rdbMaxAgeSeconds with writes pending: RedisRdbTooOld; an idle replica (no changes) stays silent',
    series: change(
      change(
        change(h(), 'redis_rdb_last_save_timestamp_seconds', R(MASTER), flat(0)),
        'redis_rdb_last_save_timestamp_seconds', R('cache-replica-0'), flat(0)),
      'redis_rdb_changes_since_last_save', R('cache-replica-0'), flat(0)),
    checks: [...silent('RedisRdbTooOld', '15m'), fire('RedisRdbTooOld', '20m', { labels: R(MASTER), value: 1200 })],
  },
  {
    title: 'one Sentinel stops answering and the others see it down: RedisSentinelDown, RedisSentinelDegraded, not RedisSentinelQuorumLost',
    series: (() => {
      let s = change(h(), 'redis_up', S('cache-sentinel-2'), switchAt(10, flat(1), flat(0)));
      s = endAll(s, { ...S('cache-sentinel-2'), master_name: 'mymaster' }, 10);
      for (const p of SENTINELS.slice(0, 2)) s = change(s, 'redis_sentinel_master_ok_sentinels', SM(p), switchAt(10, flat(3), flat(2)));
      return s;
    })(),
    checks: [
      ...silent('RedisSentinelDown', '9m'),
      fire('RedisSentinelDown', '12m', { labels: S('cache-sentinel-2'), value: 0 }),
      ...silent('RedisSentinelDegraded', '14m'),
      fire('RedisSentinelDegraded', '16m', noLabels(2)),
      ...silent('RedisSentinelQuorumLost', '12m', '30m'),
    ],
  },
  {
    title: 'a Sentinel\'s exporter cannot be scraped: RedisSentinelMetricsTargetDown',
    series: change(h(), 'up', S('cache-sentinel-2'), switchAt(10, flat(1), flat(0))),
    checks: [
      ...silent('RedisSentinelMetricsTargetDown', '14m'),
      fire('RedisSentinelMetricsTargetDown', '16m', { labels: S('cache-sentinel-2'), value: 0 }),
    ],
  },
  {
    title: 'every Sentinel target disappears: RedisSentinelMetricsAbsent and RedisSentinelQuorumLost (0 Sentinels)',
    series: endAll(h(), { namespace: 'cache', service: 'cache-sentinel-metrics' }, 10),
    checks: [
      ...silent('RedisSentinelMetricsAbsent', '19m'),
      fire('RedisSentinelMetricsAbsent', '21m', { labels: { namespace: 'cache', service: 'cache-sentinel-metrics' }, value: 1 }),
      ...silent('RedisSentinelQuorumLost', '9m'),
      fire('RedisSentinelQuorumLost', '12m', noLabels(0)),
    ],
  },
  {
    title: 'two of three Sentinels down (1 < quorum 2): RedisSentinelQuorumLost',
    series: (() => {
      let s = h();
      for (const p of SENTINELS.slice(1)) {
        s = change(s, 'redis_up', S(p), switchAt(10, flat(1), flat(0)));
        s = endAll(s, { ...S(p), master_name: 'mymaster' }, 10);
      }
      return change(s, 'redis_sentinel_master_ok_sentinels', SM('cache-sentinel-0'), switchAt(10, flat(3), flat(1)));
    })(),
    checks: [...silent('RedisSentinelQuorumLost', '9m'), fire('RedisSentinelQuorumLost', '12m', noLabels(1))],
  },
  {
    title: 'all Sentinels run but cannot see each other (each sees only itself): RedisSentinelQuorumLost',
    series: SENTINELS.reduce((s, p) => change(s, 'redis_sentinel_master_ok_sentinels', SM(p), switchAt(10, flat(3), flat(1))), h()),
    checks: [...silent('RedisSentinelQuorumLost', '9m'), fire('RedisSentinelQuorumLost', '12m', noLabels(1))],
  },
  {
    title: 'a Sentinel sees the master subjectively down: RedisSentinelMasterNotOk',
    series: [
      ...change(h(), 'redis_sentinel_master_status', SM('cache-sentinel-0'), endsAt(10, flat(1))),
      { name: 'redis_sentinel_master_status', labels: { ...SM('cache-sentinel-0'), master_status: 'sdown' }, values: startsAt(10, flat(0)) },
    ],
    checks: [
      ...silent('RedisSentinelMasterNotOk', '9m'),
      fire('RedisSentinelMasterNotOk', '12m', { labels: { ...SM('cache-sentinel-0'), master_status: 'sdown' }, value: 0 }),
    ],
  },
  {
    title: 'SENTINEL CKQUORUM fails on one Sentinel: RedisSentinelCkquorumFailing',
    series: [
      ...change(h(), 'redis_sentinel_master_ckquorum_status', { ...S('cache-sentinel-1'), message: CKQUORUM_OK }, endsAt(10, flat(1))),
      {
        name: 'redis_sentinel_master_ckquorum_status',
        labels: { ...S('cache-sentinel-1'), master_name: 'mymaster', message: 'NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master' },
        values: startsAt(10, flat(0)),
      },
    ],
    checks: [
      ...silent('RedisSentinelCkquorumFailing', '11m'),
      fire('RedisSentinelCkquorumFailing', '13m', {
        labels: { ...S('cache-sentinel-1'), master_name: 'mymaster', message: 'NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master' },
        value: 0,
      }),
    ],
  },
  {
    title: 'a Sentinel is in TILT for a minute: RedisSentinelTilt while it lasts',
    series: change(h(), 'redis_sentinel_tilt', S('cache-sentinel-1'), (i) => (i >= idx(10) && i < idx(11) ? 1 : 0)),
    checks: [...silent('RedisSentinelTilt', '9m', '13m'), fire('RedisSentinelTilt', '10m30s', { labels: S('cache-sentinel-1'), value: 1 })],
  },
  {
    title: 'a failover: the config epoch goes 0 -> 1 and master_address changes with it: RedisSentinelFailover for 10 minutes',
    series: failover(h()),
    checks: [
      ...silent('RedisSentinelFailover', '9m'),
      fire('RedisSentinelFailover', '11m', noLabels(1)),
      fire('RedisSentinelFailover', '19m', noLabels(1)),
      ...silent('RedisSentinelFailover', '21m', '60m'),
    ],
  },
  {
    title: 'a failover 3 minutes after the first scrape (no data from 10 minutes ago): RedisSentinelFailover',
    series: failover(h()).map((x) => (x.name === 'redis_sentinel_master_config_epoch' ? { ...x, values: startsAt(7, x.values) } : x)),
    checks: [
      ...silent('RedisSentinelFailover', '8m', '9m'),
      fire('RedisSentinelFailover', '11m', noLabels(1)),
      ...silent('RedisSentinelFailover', '21m'),
    ],
  },
  {
    title: 'a Sentinel restarts with a new pod IP (new series, same epoch): no RedisSentinelFailover',
    series: [
      ...endAll(h(), S('cache-sentinel-2'), 10),
      ...sentinelPod(target('cache', 'cache-sentinel-metrics', 'cache-sentinel-2', '10.1.0.23'), MASTER_ADDR, 3, 0).map((s) => ({ ...s, values: startsAt(11, s.values) })),
    ],
    checks: silent('RedisSentinelFailover', '9m', '11m', '12m', '20m'),
  },
  {
    title: 'one Sentinel names another master for 5 minutes: RedisSentinelMasterMismatch',
    series: [
      ...change(h(), 'redis_sentinel_master_status', SM('cache-sentinel-2'), endsAt(10, flat(1))),
      { name: 'redis_sentinel_master_status', labels: { ...SM('cache-sentinel-2', `${fqdn('cache-replica-0')}:6379`), master_status: 'ok' }, values: startsAt(10, flat(1)) },
    ],
    checks: [...silent('RedisSentinelMasterMismatch', '14m'), fire('RedisSentinelMasterMismatch', '16m', noLabels(2))],
  },
  {
    title: 'the Sentinels know 4 Sentinels (one stale entry): RedisSentinelStaleEntries after 30 minutes',
    series: SENTINELS.reduce((s, p) => change(s, 'redis_sentinel_master_sentinels', SM(p), switchAt(10, flat(3), flat(4))), h()),
    checks: [...silent('RedisSentinelStaleEntries', '39m'), fire('RedisSentinelStaleEntries', '41m', noLabels(4))],
  },
];

function promtoolTest(name: string, series: Series[], checks: Check[], rules = 'rules.yaml'): string {
  const file = join(dir, `${name}.test.yaml`);
  const byTime = checks.map((c) => ({
    eval_time: c.at,
    alertname: c.alert,
    exp_alerts: c.fires.map((e) => expectedAlert(c.alert, e)),
  }));
  writeFileSync(file, stringify({
    rule_files: [rules],
    evaluation_interval: `${INTERVAL_S}s`,
    tests: [{
      interval: `${INTERVAL_S}s`,
      input_series: series.map((s) => ({ series: seriesText(s), values: valuesText(s) })),
      alert_rule_test: byTime,
    }],
  }, { lineWidth: 0 }));
  return promtool('test', 'rules', file);
}

describe('promtool test rules: each alert fires on its condition and stays silent when healthy', () => {
  beforeAll(() => {
    writeFileSync(join(dir, 'rules.yaml'), rulesYaml(groups));
  });

  it('has a case where each rendered alert fires, and the healthy case checks every alert', () => {
    const firing = new Set(CASES.flatMap((c) => c.checks.filter((k) => k.fires.length > 0).map((k) => k.alert)));
    expect([...firing].sort()).toEqual([...ALERTS].sort());
    expect(new Set(CASES[0].checks.map((k) => k.alert))).toEqual(new Set(ALERTS));
  });

  it.each(CASES.map((c, i) => [c.title, i] as const))('%s', (_, i) => {
    const c = CASES[i];
    expect(promtoolTest(`case-${i}`, c.series, c.checks)).toContain('SUCCESS');
  });

  it('a per-series changes() of the config epoch would miss that failover (why the rule compares max() with offset 10m)', () => {
    const epoch = 'redis_sentinel_master_config_epoch{namespace="cache",service="cache-sentinel-metrics",master_name="mymaster"}';
    writeFileSync(join(dir, 'naive.yaml'), rulesYaml([{
      name: 'naive',
      rules: [{ alert: 'NaiveFailover', expr: `max(changes(${epoch}[10m])) > 0`, labels: {}, annotations: { summary: 's', description: 'd' } }],
    }]));
    const failover = CASES.find((c) => c.title.startsWith('a failover:'))!;
    expect(promtoolTest('naive', failover.series, silent('NaiveFailover', '11m', '15m', '19m'), 'naive.yaml')).toContain('SUCCESS');
  });

  it('the test itself fails when an alert does not fire as expected (promtool is really checking)', () => {
    const wrong = [fire('RedisDown', '12m', { labels: R('cache-replica-1'), value: 0 })];
    expect(() => promtoolTest('negative', healthy(), wrong)).toThrow(/FAILED[\s\S]*RedisDown/);
  });
});
