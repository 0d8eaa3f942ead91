/**
 * The metric names the alert rules and the dashboard read, checked against a REAL redis_exporter:
 * Debian's redis-server (a master and a replica) and redis-sentinel on loopback, with a password,
 * one Debian `prometheus-redis-exporter` (1.45) per process as the chart's sidecars do, and their
 * /metrics compared with the names the rendered rules and dashboard use.
 *
 * Then a real Prometheus (Debian, 2.42) scrapes the three exporters with the labels
 * prometheus-operator would add (namespace, service, pod) and loads the rendered rules: every
 * selector matches real series, every dashboard query returns data, no alert is pending on the
 * healthy set, and killing the replica makes the expected alerts pending.
 *
 * Addresses: 127.0.0.141-144 (test/integration/loopback.test.ts uses 127.0.0.110-129).
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { stringify } from 'yaml';
import {
  AlertRuleOptions, PROMETHEUS_TARGET_METRICS, REDIS_EXPORTER_METRICS, renderAlertRules,
} from '../../src/config/alerts';
import { metricNamesIn } from '../support/promql';
import { renderDashboard } from '../../src/config/dashboard';

/**
 * Names the rules or the dashboard use that are NEWER than the Debian exporter (1.45.0, Debian 12),
 * each with the exporter version that added it and where that is documented. The chart runs
 * oliver006/redis_exporter:v1.91.1, which has all of them. The test asserts that every name here
 * is really absent from 1.45's output (so this list cannot hide a typo or grow silently) and
 * that every other name is present.
 */
const NEWER_THAN_DEBIAN_EXPORTER: Record<string, string> = {
  // Added by upstream PR #1078 "Add Sentinel metrics to improve failover detection and monitoring
  // capabilities" (https://github.com/oliver006/redis_exporter/pull/1078, merged 2026-01-08, closes
  // issue #1077): extractSentinelMetrics() reads `config-epoch` from SENTINEL MASTERS and exports
  // sentinel_master_config_epoch{master_name,master_address} (exporter/sentinels.go). Released in
  // the v1.80.x line (v1.80.2's release notes: "No code changes - just rebuilding binaries";
  // v1.81.0's notes do not list it); ../shared/REFERENCE.md: "exporter >= v1.80.2".
  redis_sentinel_master_config_epoch: 'v1.80.x (PR #1078)',
};

const PASSWORD = 'exporter-test-Pw_1';
const MASTER_IP = '127.0.0.141';
const REPLICA_IP = '127.0.0.142';
const SENTINEL_IP = '127.0.0.143';
const PROMETHEUS_ADDR = '127.0.0.144:9090';
const EXPORTER_PORT = 9121;

// The live set as the rules see it: 2 Redis pods, 1 Sentinel (quorum 1), min-replicas-to-write 1.
const OPTIONS: AlertRuleOptions = {
  namespace: 'cache',
  masterName: 'mymaster',
  redisMetricsService: 'cache-metrics',
  sentinelMetricsService: 'cache-sentinel-metrics',
  redisPods: 2,
  sentinels: 1,
  quorum: 1,
  minReplicasToWrite: 1,
  minReplicasMaxLagSeconds: 10,
  rdbMaxAgeSeconds: 3600,
  replicationLagBytes: 10_000_000,
};
const PODS: Record<string, { ip: string; service: string }> = {
  'cache-master-0': { ip: MASTER_IP, service: OPTIONS.redisMetricsService },
  'cache-replica-0': { ip: REPLICA_IP, service: OPTIONS.redisMetricsService },
  'cache-sentinel-0': { ip: SENTINEL_IP, service: OPTIONS.sentinelMetricsService },
};

const ruleExprs = renderAlertRules(OPTIONS).flatMap((g) => g.rules.map((r) => ({ alert: r.alert, expr: r.expr })));
const dashboardExprs = (function collect(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => collect(x, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (k === 'expr' && typeof x === 'string' ? out.push(x) : collect(x, out));
  return out;
})(renderDashboard(OPTIONS));
/** Every exporter metric name the rules and the dashboard read. */
const USED = [...new Set([...ruleExprs.map((r) => r.expr), ...dashboardExprs].flatMap(metricNamesIn))]
  .filter((n) => !PROMETHEUS_TARGET_METRICS.includes(n)).sort();

function requireBinaries() {
  const packages: Record<string, string> = {
    'redis-server': 'redis-server', 'redis-sentinel': 'redis-sentinel', 'redis-cli': 'redis-tools',
    'prometheus-redis-exporter': 'prometheus-redis-exporter', 'prometheus': 'prometheus',
  };
  for (const [bin, pkg] of Object.entries(packages)) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'pipe' }).status !== 0) {
      throw new Error(`${bin} is not installed: apt-get install ${pkg} (Debian package), then run this test again`);
    }
  }
}

let root: string;
const procs = new Map<string, ChildProcess>();
const logs = new Map<string, string>();

function start(name: string, cmd: string, args: string[], env: Record<string, string> = {}) {
  const log = join(root, `${name}.log`);
  const out = openSync(log, 'a');
  const p = spawn(cmd, args, { stdio: ['ignore', out, out], detached: true, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
  procs.set(name, p);
  logs.set(name, log);
}

function stop(name: string) {
  const p = procs.get(name);
  if (p?.pid && p.exitCode === null && p.signalCode === null) {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch { /* already gone */ }
  }
}

function tail(): string {
  return [...logs].map(([n, f]) => {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch { /* none */ }
    return `--- ${n}\n${text.split('\n').slice(-12).join('\n')}`;
  }).join('\n');
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, seconds = 30): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    let v: T | undefined | false;
    try {
      v = await probe();
    } catch {
      v = undefined;
    }
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds}s waiting for ${what}\n${tail()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function cli(ip: string, port: number, ...args: string[]): string {
  try {
    return execFileSync('redis-cli', ['-h', ip, '-p', String(port), '--raw', ...args], {
      env: { PATH: process.env.PATH, REDISCLI_AUTH: PASSWORD }, timeout: 3000, stdio: ['ignore', 'pipe', 'pipe'],
    }).toString().trim();
  } catch {
    return '';
  }
}

async function metricsOf(ip: string): Promise<string> {
  const res = await fetch(`http://${ip}:${EXPORTER_PORT}/metrics`);
  if (!res.ok) throw new Error(`exporter on ${ip}: HTTP ${res.status}`);
  return res.text();
}

/** Metric names in a Prometheus text exposition. */
function namesIn(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/.exec(line);
    if (m) names.add(m[1]);
  }
  return names;
}

interface PromResult { metric: Record<string, string>; value: [number, string] }
async function query(q: string): Promise<PromResult[]> {
  const res = await fetch(`http://${PROMETHEUS_ADDR}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = await res.json() as { status: string; error?: string; data: { result: PromResult[] } };
  if (body.status !== 'success') throw new Error(`query failed: ${q}: ${body.error}`);
  return body.data.result;
}

const exposition: Record<'master' | 'replica' | 'sentinel', string> = { master: '', replica: '', sentinel: '' };

beforeAll(async () => {
  requireBinaries();
  root = mkdtempSync(join(tmpdir(), 'redis-exporter-metrics-'));
  for (const d of ['master', 'replica', 'sentinel', 'prometheus']) mkdirSync(join(root, d));
  const common = ['daemonize no', 'protected-mode no', `requirepass "${PASSWORD}"`, `masterauth "${PASSWORD}"`, 'appendonly no', 'save 3600 1', 'logfile ""'];
  writeFileSync(join(root, 'master', 'redis.conf'), [
    'port 6379', `bind ${MASTER_IP}`, `dir ${join(root, 'master')}`, ...common,
    'maxmemory 104857600', 'min-replicas-to-write 1', 'min-replicas-max-lag 10',
  ].join('\n') + '\n');
  writeFileSync(join(root, 'replica', 'redis.conf'), [
    'port 6379', `bind ${REPLICA_IP}`, `dir ${join(root, 'replica')}`, ...common,
    `replicaof ${MASTER_IP} 6379`, `replica-announce-ip ${REPLICA_IP}`,
  ].join('\n') + '\n');
  writeFileSync(join(root, 'sentinel', 'sentinel.conf'), [
    'port 26379', `bind ${SENTINEL_IP}`, `dir ${join(root, 'sentinel')}`, 'daemonize no', 'logfile ""', `requirepass "${PASSWORD}"`,
    `sentinel monitor ${OPTIONS.masterName} ${MASTER_IP} 6379 1`, `sentinel auth-pass ${OPTIONS.masterName} "${PASSWORD}"`,
    `sentinel down-after-milliseconds ${OPTIONS.masterName} 2000`, `sentinel failover-timeout ${OPTIONS.masterName} 60000`,
  ].join('\n') + '\n');

  start('master', 'redis-server', [join(root, 'master', 'redis.conf')]);
  start('replica', 'redis-server', [join(root, 'replica', 'redis.conf')]);
  start('sentinel', 'redis-sentinel', [join(root, 'sentinel', 'sentinel.conf')]);
  // One exporter per process, as the sidecars. The password comes from the environment
  // (REDIS_PASSWORD, as -redis.password), kept off the command line.
  for (const [name, ip, port] of [['master', MASTER_IP, 6379], ['replica', REPLICA_IP, 6379], ['sentinel', SENTINEL_IP, 26379]] as const) {
    start(`exporter-${name}`, 'prometheus-redis-exporter', [
      '-redis.addr', `redis://${ip}:${port}`, '-web.listen-address', `${ip}:${EXPORTER_PORT}`, '-log-format', 'txt',
    ], { REDIS_PASSWORD: PASSWORD });
  }

  await waitFor('the replica to sync with the master', () => {
    const info = cli(REPLICA_IP, 6379, 'INFO', 'replication');
    return info.includes('role:slave') && info.includes('master_link_status:up');
  });
  // min-replicas-to-write 1 is met now: write some keys, take a snapshot.
  await waitFor('a write on the master', () => cli(MASTER_IP, 6379, 'SET', 'k', 'v') === 'OK');
  cli(MASTER_IP, 6379, 'BGSAVE');
  await waitFor('the Sentinel to see the replica', () => {
    const m = cli(SENTINEL_IP, 26379, 'SENTINEL', 'MASTER', OPTIONS.masterName).split('\n');
    return m[m.indexOf('num-slaves') + 1] === '1' && m[m.indexOf('flags') + 1] === 'master';
  });
  await waitFor('the master to report its replica online to its exporter', async () => {
    exposition.master = await metricsOf(MASTER_IP);
    return /^redis_connected_slave_lag_seconds\{[^}]*slave_state="online"/m.test(exposition.master);
  });
  await waitFor('the replica exporter to report the link up', async () => {
    exposition.replica = await metricsOf(REPLICA_IP);
    return /^redis_master_link_up\{[^}]*\} 1$/m.test(exposition.replica);
  });
  await waitFor('the Sentinel exporter to report the master ok', async () => {
    exposition.sentinel = await metricsOf(SENTINEL_IP);
    return /^redis_sentinel_master_status\{[^}]*master_status="ok"\} 1$/m.test(exposition.sentinel);
  });
}, 90_000);

afterAll(() => {
  for (const name of procs.keys()) stop(name);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('redis_exporter (Debian 1.45) against real redis-server, replica and redis-sentinel', () => {
  const union = () => new Set([...namesIn(exposition.master), ...namesIn(exposition.replica), ...namesIn(exposition.sentinel)]);

  it('reaches every process with the password (redis_up 1)', () => {
    for (const text of Object.values(exposition)) expect(text).toMatch(/^redis_up 1$/m);
  });

  it('exports every metric name the rules and the dashboard use, except the documented newer ones', () => {
    const real = union();
    const missing = USED.filter((n) => !real.has(n) && !(n in NEWER_THAN_DEBIAN_EXPORTER));
    expect(missing).toEqual([]);
    expect(USED.length).toBeGreaterThan(20);
  });

  it('does NOT export the names listed as newer: the exception list is exact', () => {
    const real = union();
    for (const name of Object.keys(NEWER_THAN_DEBIAN_EXPORTER)) {
      expect({ name, exportedBy145: real.has(name) }).toEqual({ name, exportedBy145: false });
      // Each exception is used, and is one of the documented exporter names.
      expect(USED).toContain(name);
      expect(REDIS_EXPORTER_METRICS).toContain(name);
    }
  });

  it('exports every name of REDIS_EXPORTER_METRICS (the vocabulary the unit tests allow), except the newer ones', () => {
    const real = union();
    expect(REDIS_EXPORTER_METRICS.filter((n) => !real.has(n) && !(n in NEWER_THAN_DEBIAN_EXPORTER))).toEqual([]);
  });

  it('the Sentinel exporter reports redis_up and redis_instance_info for Sentinel too (why every rule filters by service)', () => {
    const sentinel = namesIn(exposition.sentinel);
    expect(sentinel.has('redis_up')).toBe(true);
    expect(sentinel.has('redis_instance_info')).toBe(true);
    expect(sentinel.has('redis_connected_clients')).toBe(true);
    expect(exposition.sentinel).toMatch(/^redis_instance_info\{[^}]*redis_mode="sentinel"/m);
  });

  it('uses the label names and values the rules match on', () => {
    expect(exposition.master).toMatch(/^redis_instance_info\{[^}]*role="master"/m);
    expect(exposition.replica).toMatch(/^redis_instance_info\{[^}]*role="slave"/m);
    expect(exposition.master).toMatch(new RegExp(`^redis_connected_slave_lag_seconds\\{slave_ip="${REPLICA_IP}",slave_port="6379",slave_state="online"\\}`, 'm'));
    expect(exposition.replica).toMatch(new RegExp(`^redis_master_link_up\\{master_host="${MASTER_IP}",master_port="6379"\\} 1$`, 'm'));
    expect(exposition.sentinel).toMatch(new RegExp(`^redis_sentinel_master_ckquorum_status\\{master_name="${OPTIONS.masterName}",message="OK 1 usable Sentinels`, 'm'));
    expect(exposition.sentinel).toMatch(new RegExp(`^redis_sentinel_master_ok_sentinels\\{master_address="${MASTER_IP}:6379",master_name="${OPTIONS.masterName}"\\} 1$`, 'm'));
  });
});

describe('a real Prometheus scraping the exporters with the rendered rules', () => {
  beforeAll(async () => {
    const dir = join(root, 'prometheus');
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: renderAlertRules(OPTIONS) }, { lineWidth: 0 }));
    // The labels prometheus-operator adds from the ServiceMonitor: namespace, service, pod (and job = service).
    writeFileSync(join(dir, 'prometheus.yml'), stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [join(dir, 'rules.yaml')],
      scrape_configs: Object.entries(PODS).map(([pod, t]) => ({
        job_name: pod,
        static_configs: [{ targets: [`${t.ip}:${EXPORTER_PORT}`], labels: { namespace: OPTIONS.namespace, service: t.service, pod } }],
        relabel_configs: [{ target_label: 'job', replacement: t.service }],
      })),
    }));
    start('prometheus', 'prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=${PROMETHEUS_ADDR}`, '--log.level=warn',
    ]);
    await waitFor('Prometheus to be ready', async () => (await fetch(`http://${PROMETHEUS_ADDR}/-/ready`)).ok, 60);
    await waitFor('every target scraped', async () => {
      const up = await query(`up{namespace="${OPTIONS.namespace}"} == 1`);
      return up.length === 3;
    });
    // A few more scrapes and rule evaluations (rate() needs two samples).
    await new Promise((r) => setTimeout(r, 5000));
  }, 90_000);

  it('every selector of every rule matches real series (only the documented newer names match nothing)', async () => {
    const selectors = new Set(ruleExprs.flatMap((r) => [...r.expr.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*\{[^}]*\}/g)].map((m) => m[0])));
    expect(selectors.size).toBeGreaterThan(15);
    const empty: string[] = [];
    // Matchers that select a state a healthy deployment is never in: without them the selector must
    // match series that carry those labels.
    const STATE_MATCHERS = [',master_host="127.0.0.1",master_port="1"']; // a fenced pod (RedisWaitingForRole)
    for (const sel of selectors) {
      const state = STATE_MATCHERS.find((m) => sel.includes(m));
      const s = state ? sel.replace(state, '') : sel;
      if (state) {
        const series = await query(s);
        const labels = [...state.matchAll(/([a-z_]+)=/g)].map((m) => m[1]);
        if (!series.some((x) => labels.every((l) => l in x.metric))) empty.push(`${sel}: no series with ${labels.join(', ')}`);
        continue;
      }
      const newer = metricNamesIn(s).some((n) => n in NEWER_THAN_DEBIAN_EXPORTER);
      const found = (await query(s)).length > 0;
      if (found === newer) empty.push(`${s}: ${found ? 'matches series, but is listed as newer' : 'matches nothing'}`);
    }
    expect(empty).toEqual([]);
  });

  it('every dashboard query returns data (except those reading the documented newer metrics)', async () => {
    const bad: string[] = [];
    for (const e of dashboardExprs) {
      const newer = metricNamesIn(e).some((n) => n in NEWER_THAN_DEBIAN_EXPORTER);
      const result = await query(e.replace(/\$__rate_interval/g, '1m'));
      if ((result.length > 0) === newer) bad.push(`${e}: ${result.length} series`);
    }
    expect(bad).toEqual([]);
  });

  it('no alert is pending or firing on the healthy set', async () => {
    expect((await query('ALERTS')).map((a) => a.metric)).toEqual([]);
  });

  it('killing the replica makes RedisDown, RedisTooFewReplicas and RedisMinReplicasNotMet pending, and the master really refuses writes', async () => {
    stop('replica');
    await waitFor('the master to refuse writes', () => /NOREPLICAS/.test(execFileSync('redis-cli', ['-h', MASTER_IP, '-p', '6379', 'SET', 'k', 'v2'], {
      env: { PATH: process.env.PATH, REDISCLI_AUTH: PASSWORD },
    }).toString()), 30);
    const expected = [
      ['RedisDown', 'cache-replica-0'],
      ['RedisTooFewReplicas', 'cache-master-0'],
      ['RedisMinReplicasNotMet', 'cache-master-0'],
    ];
    const alerts = await waitFor('the alerts to be pending', async () => {
      const a = await query('ALERTS');
      return expected.every(([alert, pod]) => a.some((x) => x.metric.alertname === alert && x.metric.pod === pod)) && a;
    }, 30);
    for (const a of alerts) expect(a.metric).toMatchObject({ namespace: OPTIONS.namespace });
    // Only alerts about this failure: nothing about the Sentinels or the master itself.
    const names = new Set(alerts.map((a) => a.metric.alertname));
    for (const n of names) expect(['RedisDown', 'RedisTooFewReplicas', 'RedisMinReplicasNotMet', 'RedisReplicationLag', 'RedisReplicationLagBytes']).toContain(n);
  });
});
