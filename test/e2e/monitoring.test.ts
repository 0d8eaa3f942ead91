/**
 * End-to-end monitoring: the example app (the deployment and its monitoring Chart) runs in the harness; a scraper in a pod
 * labelled as Prometheus (so the chart's NetworkPolicy is what lets it in) scrapes every exporter
 * sidecar's /metrics once a second, before and after a forced failover (`SENTINEL FAILOVER`).
 * The exporters must report the new roles and the Sentinels the new master; the recorded samples
 * then become Prometheus series, and a real `promtool test rules` runs the chart's RENDERED
 * PrometheusRule groups over them: RedisSentinelFailover fires, RedisMultipleMasters (and every
 * other alert) does not.
 *
 * Two differences from a cluster, said plainly (see test/e2e/README.md, "Monitoring"):
 * - The exporter is Debian's prometheus-redis-exporter 1.45, not the pinned v1.91.1, and 1.45 has no
 *   `redis_sentinel_master_config_epoch` (added upstream in the v1.80.x line). The failover alert
 *   reads that metric, so this test takes the epoch from `SENTINEL MASTER <name>` (field
 *   `config-epoch`, the value v1.91.1 exports) on each Sentinel in the same round as its scrape,
 *   and adds it as that series with the labels v1.91.1 gives it (the target's, `master_name`,
 *   `master_address` = ip:port of the reply). If the exporter does export it, its own value is used.
 * - RedisSentinelFailover compares the highest epoch with the one 10 minutes earlier, so the series
 *   are given 11 minutes of history before the first scrape: each series' first recorded value,
 *   held constant (a deployment that ran unchanged before the test). Timestamps in values
 *   (`*_timestamp_seconds`) are moved onto promtool's timeline, which starts at 0.
 * Needs root, like failover.test.ts; figures and samples go to test/e2e/results/monitoring-<time>/.
 */
import { ChildProcess, spawnSync } from 'child_process';
import { mkdirSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import * as readline from 'readline';
import { stringify } from 'yaml';
import { REDIS_EXPORTER_METRICS } from '../../src/config/alerts';
import { EXAMPLE_CHART_ID, EXAMPLE_PROPS } from '../../src/example';
import { settingsOf, synthExample } from '../support/synth';
import { Deployment, fields } from './deployment';
import { Cluster, clientPod } from './harness/cluster';
import { requireHarness } from './harness/preflight';
import { matches, matchesServiceSelector } from './harness/selectors';
import { killGroup, sleep, waitFor, withTimeout } from './harness/sys';
import { Labels } from './harness/types';

jest.setTimeout(240_000);

const PREFIX = 'rse2e-m-';
const PASSWORD = 'e2e-monitoring "quoted" \\ pass';
const s = settingsOf(EXAMPLE_PROPS, EXAMPLE_CHART_ID);
const NS = s.namespace;
const RESULTS = join(__dirname, 'results');
const STAMP = new Date().toISOString().replace(/[:.]/g, '-');
const OUT = join(RESULTS, `monitoring-${STAMP}`);
/** Where the scraper runs: a pod with the chart's Prometheus labels, in a namespace of its own. */
const PROM_NS = 'monitoring';
const PROM_POD = 'prometheus';
/** One scrape round per second: sample i is at i s on promtool's timeline (after the history). */
const STEP_S = 1;
/** Seconds of history (each series' first value) before the first sample: RedisSentinelFailover looks 10 minutes back. */
const HISTORY_S = 660;
/** Rounds recorded before the failover. */
const PRE_ROUNDS = 3;
const SCRAPE_TIMEOUT_MS = 5000;
/** The series the rules and the dashboard read (the exporter's own go_/process_ series are left out), and `up`. */
const KEPT = new Set([...REDIS_EXPORTER_METRICS, 'up']);
const EPOCH = 'redis_sentinel_master_config_epoch';

/** The whole example app: the deployment and, from its second Chart, its monitoring. */
const chartObjects = synthExample().all;
const LOGS = join(RESULTS, 'monitoring-logs');
const cluster = new Cluster({ prefix: PREFIX, logDir: LOGS });
const d = new Deployment(cluster, s, PASSWORD);

const one = (kind: string) => {
  const found = chartObjects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`the chart has ${found.length} ${kind} objects, expected 1`);
  return found[0];
};
const serviceMonitor = one('ServiceMonitor');
const prometheusRule = one('PrometheusRule');
interface RenderedRule { alert: string; expr: string; for?: string; labels: Labels; annotations: Record<string, string> }
const ruleGroups = prometheusRule.spec.groups as Array<{ name: string; rules: RenderedRule[] }>;
const rules = ruleGroups.flatMap((g) => g.rules);
const ruleOf = (alert: string) => {
  const r = rules.find((x) => x.alert === alert);
  if (!r) throw new Error(`the chart's PrometheusRule has no ${alert}`);
  return r;
};
const seconds = (duration: string | undefined) => {
  const m = /^(\d+)([smh])$/.exec(duration ?? '0s');
  if (!m) throw new Error(`unexpected duration ${duration}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
};



// --- targets, as prometheus-operator and Prometheus' Kubernetes service discovery make them ---------

interface Target { id: string; namespace: string; service: string; pod: string; container: string; endpoint: string; ip: string; port: number }

/** Every endpoint the chart's ServiceMonitor selects: Services by label and port name, then their pods. */
function discover(): Target[] {
  const out: Target[] = [];
  const namespaces: string[] = serviceMonitor.spec.namespaceSelector?.matchNames ?? [serviceMonitor.metadata.namespace];
  for (const ns of namespaces) {
    for (const svc of cluster.list('Service', ns)) {
      if (!matches(serviceMonitor.spec.selector, svc.metadata.labels ?? {})) continue;
      for (const ep of serviceMonitor.spec.endpoints as Array<{ port: string }>) {
        const sp = (svc.spec.ports ?? []).find((p: { name?: string }) => p.name === ep.port);
        if (!sp) continue;
        const targetPort: string | number = sp.targetPort ?? sp.port;
        for (const pod of cluster.allPods()) {
          if (pod.namespace !== ns || pod.terminating || !pod.ip || !matchesServiceSelector(svc.spec.selector, pod.labels)) continue;
          if (!svc.spec.publishNotReadyAddresses && !pod.ready) continue;
          for (const c of pod.spec.containers) {
            const port = (c.ports ?? []).find((p) => (typeof targetPort === 'string' ? p.name === targetPort : p.containerPort === targetPort));
            if (port) {
              out.push({ id: `${ns}/${pod.name}`, namespace: ns, service: svc.metadata.name, pod: pod.name, container: c.name, endpoint: ep.port, ip: pod.ip, port: port.containerPort });
            }
          }
        }
      }
    }
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** The labels prometheus-operator's scrape config gives every series of a target. */
const targetLabels = (t: Target): Labels => ({
  namespace: t.namespace, service: t.service, pod: t.pod, container: t.container, endpoint: t.endpoint, job: t.service, instance: `${t.ip}:${t.port}`,
});
const isSentinelTarget = (t: Target) => t.service === s.names.sentinelMetrics;

// --- the exposition format ---------------------------------------------------------------------

interface Sample { name: string; labels: Labels; value: number }

/** Parses Prometheus' text exposition format (what redis_exporter serves). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (!name) throw new Error(`not an exposition line: ${line}`);
    let i = name.length;
    const labels: Labels = {};
    if (line[i] === '{') {
      i++;
      for (;;) {
        while (line[i] === ' ' || line[i] === ',') i++;
        if (line[i] === '}') {
          i++;
          break;
        }
        const key = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i))?.[0];
        if (!key || line[i + key.length] !== '=' || line[i + key.length + 1] !== '"') throw new Error(`bad labels in: ${line}`);
        i += key.length + 2;
        let v = '';
        while (i < line.length && line[i] !== '"') {
          if (line[i] === '\\') {
            v += line[i + 1] === 'n' ? '\n' : line[i + 1];
            i += 2;
          } else {
            v += line[i++];
          }
        }
        if (line[i] !== '"') throw new Error(`unterminated label value in: ${line}`);
        i++;
        labels[key] = v;
      }
    }
    const raw = line.slice(i).trim().split(/\s+/)[0];
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    out.push({ name, labels, value });
  }
  return out;
}

// --- the scraper and the rounds --------------------------------------------------------------------

interface Scrape { target: Target; ok: boolean; status?: number; ms: number; error?: string; body?: string; samples: Sample[] }
interface Round {
  /** Second since the first recorded round (its index on the timeline). */
  slot: number;
  wallMs: number;
  durationMs: number;
  scrapes: Scrape[];
  /** `SENTINEL MASTER <name>` of every Sentinel, asked in the same round ({} when it did not answer). */
  sentinelMaster: Record<string, Record<string, string>>;
}

/** The scraper process (clients/scraper.js) in the Prometheus pod. */
class Scraper {
  private readonly pending = new Map<number, (results: any[]) => void>();
  private stderr = '';
  private seq = 0;

  constructor(readonly proc: ChildProcess) {
    readline.createInterface({ input: proc.stdout! }).on('line', (l) => {
      const m = JSON.parse(l);
      this.pending.get(m.round)?.(m.results);
      this.pending.delete(m.round);
    });
    proc.stderr!.on('data', (b: Buffer) => { this.stderr += b.toString(); });
  }

  async scrape(targets: Target[]): Promise<Scrape[]> {
    const round = ++this.seq;
    const answer = new Promise<any[]>((resolve) => this.pending.set(round, resolve));
    this.proc.stdin!.write(`${JSON.stringify({ round, timeoutMs: SCRAPE_TIMEOUT_MS, targets: targets.map((t) => ({ id: t.id, url: `http://${t.ip}:${t.port}/metrics` })) })}\n`);
    const results = await withTimeout(answer, SCRAPE_TIMEOUT_MS + 5000, `the scraper did not answer (exit ${this.proc.exitCode}); stderr: ${this.stderr.slice(-2000)}`);
    return targets.map((target) => {
      const r = results.find((x) => x.id === target.id);
      const samples = r.ok ? parseExposition(r.body).filter((x) => KEPT.has(x.name)) : [];
      return { target, ok: r.ok, status: r.status, ms: r.ms, error: r.error, body: r.body, samples };
    });
  }
}

let scraper: Scraper | undefined;
const rounds: Round[] = [];
let t0 = 0;

async function sampleRound(slot: number): Promise<Round> {
  const start = Date.now();
  const [scrapes, masters] = await Promise.all([
    scraper!.scrape(discover()),
    Promise.all(d.sentinelPods().map(async (p) => [p, fields(await d.cli(p, ['SENTINEL', 'MASTER', s.masterName]))] as const)),
  ]);
  return { slot, wallMs: start, durationMs: Date.now() - start, scrapes, sentinelMaster: Object.fromEntries(masters) };
}

/** Records the next round at the next whole second after the last one (a slot missed by a slow round stays empty). */
async function recordRound(): Promise<Round> {
  const last = rounds[rounds.length - 1];
  const slot = last ? Math.max(last.slot + 1, Math.ceil((Date.now() - t0) / 1000 / STEP_S)) : 0;
  if (!last) t0 = Date.now();
  await sleep(Math.max(0, t0 + slot * STEP_S * 1000 - Date.now()));
  const r = await sampleRound(slot);
  rounds.push(r);
  return r;
}

// --- what the exporters say --------------------------------------------------------------------

const samplesOf = (r: Round, name: string, where: (x: Sample, t: Target) => boolean = () => true) =>
  r.scrapes.flatMap((sc) => sc.samples.filter((x) => x.name === name && where(x, sc.target)).map((x) => ({ ...x, pod: sc.target.pod })));
/** Pods whose exporter reports role=master (redis_instance_info of the Redis metrics Service). */
const exporterMasters = (r: Round) => samplesOf(r, 'redis_instance_info', (x, t) => t.service === s.names.redisMetrics && x.labels.role === 'master' && x.value === 1).map((x) => x.pod).sort();
const exporterRole = (r: Round, pod: string) => samplesOf(r, 'redis_instance_info', (_, t) => t.pod === pod && t.service === s.names.redisMetrics).map((x) => x.labels.role);
/** The master address every Sentinel's exporter reports with status ok, by Sentinel pod. */
const sentinelAddresses = (r: Round) => Object.fromEntries(d.sentinelPods().map((p) => [p,
  samplesOf(r, 'redis_sentinel_master_status', (x, t) => t.pod === p && x.labels.master_name === s.masterName).map((x) => `${x.labels.master_address} ${x.labels.master_status} ${x.value}`).sort().join(', ')]));
const epochs = (r: Round) => d.sentinelPods().map((p) => Number(r.sentinelMaster[p]['config-epoch'] ?? NaN));
const address = (pod: string) => `${d.fqdn(pod)}:${s.redisPort}`;

// --- series for promtool -------------------------------------------------------------------------

interface Series { name: string; labels: Labels; target: string; values: Map<number, number> }
const keyOf = (name: string, labels: Labels) => `${name}{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`;

/** What Prometheus would have stored from the rounds: every kept series, `up`, and (when the exporter lacks it) the config epoch. */
function toSeries(rs: Round[]): { series: Series[]; epochSource: string } {
  const byKey = new Map<string, Series>();
  const exporterHasEpoch = rs.some((r) => r.scrapes.some((sc) => sc.samples.some((x) => x.name === EPOCH)));
  const add = (name: string, labels: Labels, target: string, slot: number, value: number) => {
    const k = keyOf(name, labels);
    let x = byKey.get(k);
    if (!x) byKey.set(k, x = { name, labels, target, values: new Map() });
    x.values.set(slot, value);
  };
  for (const r of rs) {
    for (const sc of r.scrapes) {
      const tl = targetLabels(sc.target);
      add('up', tl, sc.target.id, r.slot, sc.ok ? 1 : 0);
      if (!sc.ok) continue;
      for (const x of sc.samples) {
        // honor_labels false: an exported label that collides with a target label becomes exported_<name>.
        const labels: Labels = { ...tl };
        for (const [k, v] of Object.entries(x.labels)) labels[k in tl ? `exported_${k}` : k] = v;
        add(x.name, labels, sc.target.id, r.slot, x.value);
      }
      const m = r.sentinelMaster[sc.target.pod];
      if (!exporterHasEpoch && isSentinelTarget(sc.target) && m?.['config-epoch'] !== undefined) {
        add(EPOCH, { ...tl, master_name: m.name, master_address: `${m.ip}:${m.port}` }, sc.target.id, r.slot, Number(m['config-epoch']));
      }
    }
  }
  return {
    series: [...byKey.values()],
    epochSource: exporterHasEpoch ? 'the exporter' : 'SENTINEL MASTER config-epoch (exporter 1.45 has no redis_sentinel_master_config_epoch)',
  };
}

const promNumber = (v: number) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Inf' : v === -Infinity ? '-Inf' : String(v));

/**
 * promtool's values for a series: HISTORY_S samples of its first recorded value (if it has one),
 * then one per slot; `stale` where it disappears from a scrape that happened (as Prometheus marks
 * it), `_` where no scrape happened or it is still absent.
 */
function valuesText(x: Series, slots: number[], lastSlot: number): string {
  const sampled = new Set(slots);
  const first = x.values.get(slots[0]);
  const shift = x.name.endsWith('_timestamp_seconds') ? t0 / 1000 - HISTORY_S : 0;
  const fmt = (v: number) => promNumber(shift ? Math.round((v - shift) * 1000) / 1000 : v);
  const out: string[] = [first === undefined ? Array(HISTORY_S).fill('_').join(' ') : `${fmt(first)}x${HISTORY_S - 1}`];
  let present = first !== undefined;
  for (let slot = 0; slot <= lastSlot; slot++) {
    const v = x.values.get(slot);
    if (!sampled.has(slot)) {
      out.push('_');
    } else if (v !== undefined) {
      out.push(fmt(v));
      present = true;
    } else {
      out.push(present ? 'stale' : '_');
      present = false;
    }
  }
  return out.join(' ');
}

const seriesText = (x: Series) => `${x.name}{${Object.entries(x.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
/** The promtool time of a slot. */
const at = (slot: number) => `${HISTORY_S + slot * STEP_S}s`;

/** Go text/template as Prometheus runs it, for the forms the rules use. */
function expand(template: string, labels: Labels, value: number): string {
  return template.replace(/\{\{\s*(.*?)\s*\}\}/g, (_, inner: string) => {
    const label = /^\$labels\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(inner);
    if (label) return labels[label[1]] ?? '';
    if (inner === '$value') return String(value);
    if (inner === 'printf "%.0f" $value') return value.toFixed(0);
    throw new Error(`test cannot expand {{ ${inner} }}`);
  });
}

/** The alert as Prometheus emits it for an expression without labels (count/max): the rule's labels only. */
function expectedAlert(alert: string, value: number) {
  const r = ruleOf(alert);
  return {
    exp_labels: r.labels,
    exp_annotations: Object.fromEntries(Object.entries(r.annotations).map(([k, v]) => [k, expand(v, {}, value)])),
  };
}

interface Check { alert: string; slot: number; fires?: number }

function promtoolTest(name: string, series: Series[], slots: number[], checks: Check[]): { ok: boolean; output: string } {
  const lastSlot = slots[slots.length - 1];
  writeFileSync(join(OUT, 'rules.yaml'), stringify({ groups: ruleGroups }, { lineWidth: 0 }));
  const file = join(OUT, `${name}.test.yaml`);
  writeFileSync(file, stringify({
    rule_files: ['rules.yaml'],
    evaluation_interval: `${STEP_S}s`,
    tests: [{
      interval: `${STEP_S}s`,
      input_series: series.map((x) => ({ series: seriesText(x), values: valuesText(x, slots, lastSlot) })),
      alert_rule_test: checks.map((c) => ({ eval_time: at(c.slot), alertname: c.alert, exp_alerts: c.fires === undefined ? [] : [expectedAlert(c.alert, c.fires)] })),
    }],
  }, { lineWidth: 0 }));
  const r = spawnSync('promtool', ['test', 'rules', file], { cwd: OUT, encoding: 'utf8', timeout: 120_000 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  writeFileSync(join(OUT, `${name}.promtool.txt`), output);
  return { ok: r.status === 0, output };
}

// --- the run -------------------------------------------------------------------------------------

interface Findings {
  oldMaster: string;
  newMaster: string;
  epochBefore: number;
  epochAfter: number;
  /** Slot of the last round before SENTINEL FAILOVER was sent. */
  lastPreSlot: number;
  failoverSentMs: number;
  /** First slot where an exporter reported the promoted pod as master. */
  promotedSlot: number;
  /** First slot where some Sentinel reported a higher epoch, and where all did with the new master. */
  epochRoseSlot: number;
  settledSlot: number;
  clusterUpMs: number;
  roundsWithTwoMasters: number;
  /** First slot where every Sentinel named the new master, and where the old master's exporter reported role slave. */
  sentinelsNamedSlot?: number;
  oldDemotedSlot?: number;
}
let f: Partial<Findings> = {};
const summary: Record<string, unknown> = {};

beforeAll(async () => {
  requireHarness('test/e2e/monitoring.test.ts', { extra: ['prometheus-redis-exporter', 'promtool'] });
  mkdirSync(OUT, { recursive: true });
  rmSync(LOGS, { recursive: true, force: true });
  const start = Date.now();
  // A second run with this prefix waits for this one rather than destroying it.
  await cluster.start({ waitForOtherRunMs: 15 * 60_000 });
  await cluster.apply([...chartObjects, d.authSecret(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PROM_NS } }]);
  await cluster.apply([clientPod({ name: PROM_POD, namespace: PROM_NS, labels: { 'app.kubernetes.io/name': 'prometheus' }, image: 'rse2e/node-client' })]);
  await waitFor(`pod ${PROM_NS}/${PROM_POD} running`, () => cluster.pod(PROM_NS, PROM_POD)?.ready, 15_000);
  scraper = new Scraper(cluster.spawnExec(PROM_NS, PROM_POD, 'main', ['node', join(__dirname, 'clients', 'scraper.js')]));
  await d.waitHealthy({ timeoutMs: 90_000 });
  f.clusterUpMs = Date.now() - start;
}, 20 * 60_000);

afterAll(async () => {
  if (scraper?.proc.pid) killGroup(scraper.proc.pid, 'SIGKILL');
  await cluster.shutdown();
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'events.log'), `${cluster.events.join('\n')}\n`);
  if (rounds.length) {
    const { series } = toSeries(rounds);
    writeFileSync(join(OUT, 'samples.json'), `${JSON.stringify({
      note: 'one round per second; series as Prometheus would store them (target labels added, only the metrics the rules and dashboard read, and up); '
        + `${EPOCH} from SENTINEL MASTER when the exporter lacks it`,
      t0: new Date(t0).toISOString(),
      rounds: rounds.map((r) => ({
        slot: r.slot, wall: new Date(r.wallMs).toISOString(), durationMs: r.durationMs,
        scrapes: r.scrapes.map((sc) => ({ target: sc.target.id, ok: sc.ok, ms: sc.ms, error: sc.error })),
        sentinelMaster: Object.fromEntries(Object.entries(r.sentinelMaster).map(([p, m]) => [p, { ip: m.ip, 'config-epoch': m['config-epoch'], flags: m.flags }])),
      })),
      series: series.map((x) => ({ series: seriesText(x), values: Object.fromEntries(x.values) })),
    }, null, 1)}\n`);
    // The raw /metrics of every target, first and last round.
    for (const [tag, r] of [['first', rounds[0]], ['last', rounds[rounds.length - 1]]] as const) {
      for (const sc of r.scrapes) if (sc.body) writeFileSync(join(OUT, `metrics-${tag}-${sc.target.pod}.txt`), sc.body);
    }
  }
  writeFileSync(join(OUT, 'summary.json'), `${JSON.stringify({ ...f, ...summary }, null, 2)}\n`);
});

describe('monitoring, end to end: exporters and alert rules through a forced failover', () => {
  test('after SENTINEL FAILOVER the exporters report the new roles and the Sentinels the new master', async () => {
    const h = await d.waitHealthy();
    const old = h.master;
    expect(old).toBe(`${s.names.master}-0`);
    // Every exporter answers (and reaches its Redis or Sentinel) before the recording starts.
    await waitFor('every exporter scraped, redis_up 1', async () => {
      const r = await sampleRound(-1);
      return r.scrapes.length === d.redisPods().length + d.sentinelPods().length
        && r.scrapes.every((sc) => sc.ok && sc.samples.some((x) => x.name === 'redis_up' && x.value === 1));
    }, 30_000, { intervalMs: 500 });

    for (let i = 0; i < PRE_ROUNDS; i++) await recordRound();
    const pre = rounds[rounds.length - 1];
    // Before: the bootstrap pod is master in its exporter, the others replicas; every Sentinel's exporter names it.
    expect(exporterMasters(pre)).toEqual([old]);
    for (const p of d.redisPods().filter((x) => x !== old)) expect(exporterRole(pre, p)).toEqual(['slave']);
    for (const [p, a] of Object.entries(sentinelAddresses(pre))) expect(`${p}: ${a}`).toBe(`${p}: ${address(old)} ok 1`);
    const epochBefore = Math.max(...epochs(pre));
    expect(epochs(pre)).toEqual(d.sentinelPods().map(() => epochBefore));
    expect(pre.scrapes.map((sc) => sc.target.id)).toEqual([...d.redisPods(), ...d.sentinelPods()].map((p) => `${NS}/${p}`).sort());

    // The forced failover, between two rounds.
    f.lastPreSlot = pre.slot;
    f.failoverSentMs = Date.now() - t0;
    expect(await d.cli(d.sentinelPods()[0], ['SENTINEL', 'FAILOVER', s.masterName])).toBe('OK');

    // Record until the exporters and Sentinels all show the new master, and at least RedisMultipleMasters'
    // `for` (plus 1 s) past the first round in which the promoted pod reported master, so that two
    // masters for that long would have fired it (test 3 shows it would).
    const forS = seconds(ruleOf('RedisMultipleMasters').for);
    const limitSlot = pre.slot + 60 + forS;
    for (;;) {
      const r = await recordRound();
      const masters = exporterMasters(r);
      const promoted = masters.find((p) => p !== old);
      if (promoted && f.promotedSlot === undefined) f.promotedSlot = r.slot;
      if (f.epochRoseSlot === undefined && epochs(r).some((e) => e > epochBefore)) f.epochRoseSlot = r.slot;
      const named = new Set(d.sentinelPods().map((p) => r.sentinelMaster[p].ip));
      const settled = promoted !== undefined && masters.length === 1 && named.size === 1 && named.has(d.fqdn(promoted))
        && epochs(r).every((e) => e > epochBefore)
        && Object.values(sentinelAddresses(r)).every((a) => a === `${address(promoted)} ok 1`)
        && exporterRole(r, old).join() === 'slave';
      if (settled && f.settledSlot === undefined) f.settledSlot = r.slot;
      if (!settled) f.settledSlot = undefined;
      if (f.settledSlot !== undefined && f.promotedSlot !== undefined && r.slot >= f.promotedSlot + forS + 1) break;
      if (r.slot > limitSlot) {
        throw new Error(`no settled failover seen by slot ${r.slot} (failover sent at ${f.failoverSentMs} ms): exporter masters ${masters.join(', ')}; `
          + `Sentinels name ${[...named].join(', ')} at epochs ${epochs(r).join(', ')}; Sentinel exporters: ${JSON.stringify(sentinelAddresses(r))}`);
      }
    }
    const end = rounds[rounds.length - 1];
    const newMaster = exporterMasters(end)[0];
    f.oldMaster = old;
    f.newMaster = newMaster;
    f.epochBefore = epochBefore;
    f.epochAfter = Math.max(...epochs(end));
    f.roundsWithTwoMasters = rounds.filter((r) => exporterMasters(r).length > 1).length;
    const firstSlot = (ok: (r: Round) => boolean) => rounds.find((r) => r.slot > pre.slot && ok(r))?.slot;
    f.sentinelsNamedSlot = firstSlot((r) => d.sentinelPods().every((p) => r.sentinelMaster[p].ip === d.fqdn(newMaster)));
    f.oldDemotedSlot = firstSlot((r) => exporterRole(r, old).join() === 'slave');

    // After: the promoted replica is master, the old master and the other replica are its replicas
    // (link up), the new master counts both; every Sentinel's exporter names the new master, ok.
    expect(newMaster).not.toBe(old);
    expect(exporterMasters(end)).toEqual([newMaster]);
    for (const p of d.redisPods().filter((x) => x !== newMaster)) {
      expect(`${p}: ${exporterRole(end, p).join()}`).toBe(`${p}: slave`);
      const link = samplesOf(end, 'redis_master_link_up', (_, t) => t.pod === p);
      expect(link.map((x) => `${p}: ${x.labels.master_host} ${x.value}`)).toEqual([`${p}: ${d.fqdn(newMaster)} 1`]);
    }
    expect(samplesOf(end, 'redis_connected_slaves', (_, t) => t.pod === newMaster).map((x) => x.value)).toEqual([d.redisPods().length - 1]);
    for (const [p, a] of Object.entries(sentinelAddresses(end))) expect(`${p}: ${a}`).toBe(`${p}: ${address(newMaster)} ok 1`);
    // Every Sentinel moved to a higher config epoch (the value the failover alert reads).
    for (const e of epochs(end)) expect(e).toBeGreaterThan(epochBefore);
    // And the deployment as the other suites check it: one master, replicas linked, Sentinels agreeing.
    const healthy = await d.waitHealthy();
    expect(healthy.master).toBe(newMaster);
    expect(rounds.every((r) => r.scrapes.every((sc) => sc.ok))).toBe(true);
  });

  test('promtool test rules on the recorded samples: RedisSentinelFailover fires, RedisMultipleMasters and every other alert do not', () => {
    expect(f.settledSlot).toBeDefined();
    const { series, epochSource } = toSeries(rounds);
    const slots = rounds.map((r) => r.slot);
    const last = slots[slots.length - 1];
    // Evaluated at the last round before the failover, every 5 s after it, around the first round
    // with a higher epoch, and at the last round.
    const rose = f.epochRoseSlot!;
    const times = [f.lastPreSlot!, rose - 1, rose, ...slots.filter((x) => x > f.lastPreSlot! && (x - f.lastPreSlot!) % 5 === 0), last]
      .filter((x, i, a) => a.indexOf(x) === i && slots.includes(x)).sort((a, b) => a - b);
    const checks: Check[] = [];
    for (const slot of times) {
      for (const r of rules) {
        if (r.alert === 'RedisSentinelFailover' && slot >= rose) {
          // No `for`: it fires in the first evaluation that sees a Sentinel's higher epoch (the
          // highest epoch now above the one 10 minutes earlier); its value is that highest epoch.
          const e = epochs(rounds.find((x) => x.slot === slot)!).filter((x) => Number.isFinite(x));
          checks.push({ alert: r.alert, slot, fires: Math.max(...e) });
        } else {
          checks.push({ alert: r.alert, slot });
        }
      }
    }
    const r = promtoolTest('failover', series, slots, checks);
    if (!r.ok) throw new Error(`promtool test rules failed on the recorded samples:\n${r.output}`);
    expect(r.output).toMatch(/SUCCESS/);
    const fired = checks.filter((c) => c.fires !== undefined);
    expect(fired.length).toBeGreaterThan(0);
    expect(checks.filter((c) => c.alert === 'RedisMultipleMasters').map((c) => c.slot)).toContain(last);
    Object.assign(summary, {
      epochSource,
      series: series.length,
      samples: series.reduce((n, x) => n + x.values.size, 0),
      rounds: rounds.length,
      evalTimesAfterFailover: times.filter((x) => x > f.lastPreSlot!).map((x) => x - f.lastPreSlot!),
      firing: `RedisSentinelFailover (value ${f.epochAfter}) at ${fired.map((c) => `+${c.slot - f.lastPreSlot!}s`).join(' ')} after the last pre-failover round`,
      silent: `the other ${rules.length - 1} alerts (RedisMultipleMasters included) at every evaluation time; RedisSentinelFailover before the failover`,
    });
  });

  test('the recording covers RedisMultipleMasters\' `for`: with the old master\'s role left at master, the same samples fire it', () => {
    expect(f.settledSlot).toBeDefined();
    const { series } = toSeries(rounds);
    // The old master's redis_instance_info keeps role="master" after the failover (what a stale master would report).
    const info = (role: string) => series.find((x) => x.name === 'redis_instance_info' && x.labels.service === s.names.redisMetrics && x.labels.pod === f.oldMaster && x.labels.role === role);
    const asMaster = info('master')!;
    const asSlave = info('slave')!;
    expect(asMaster && asSlave).toBeTruthy();
    const merged: Series = { ...asMaster, values: new Map([...asMaster.values, ...asSlave.values]) };
    const stale = series.filter((x) => x !== asMaster && x !== asSlave).concat(merged);
    const slots = rounds.map((r) => r.slot);
    const last = slots[slots.length - 1];
    const r = promtoolTest('counterfactual-two-masters', stale, slots, [
      { alert: 'RedisMultipleMasters', slot: f.lastPreSlot! },
      { alert: 'RedisMultipleMasters', slot: last, fires: 2 },
    ]);
    if (!r.ok) throw new Error(`promtool: RedisMultipleMasters did not fire on two masters over the recorded window:\n${r.output}`);
    summary.counterfactual = `RedisMultipleMasters fires at +${last - f.lastPreSlot!}s when the old master keeps role master (for: ${ruleOf('RedisMultipleMasters').for})`;
    const fig = {
      clusterUpMs: f.clusterUpMs,
      failover: `${f.oldMaster} -> ${f.newMaster}, epoch ${f.epochBefore} -> ${f.epochAfter}`,
      promotedAfterS: f.promotedSlot! - f.lastPreSlot!,
      sentinelsNamedAfterS: f.sentinelsNamedSlot! - f.lastPreSlot!,
      oldDemotedAfterS: f.oldDemotedSlot! - f.lastPreSlot!,
      settledAfterS: f.settledSlot! - f.lastPreSlot!,
      roundsWithTwoMasters: f.roundsWithTwoMasters,
    };
    // eslint-disable-next-line no-console
    console.log(`[e2e] monitoring | cluster up ${fig.clusterUpMs} ms | failover ${fig.failover}: exporter reports the promoted master after `
      + `${fig.promotedAfterS} s, every Sentinel names it after ${fig.sentinelsNamedAfterS} s, the old master's exporter says slave after ${fig.oldDemotedAfterS} s, `
      + `all settled after ${fig.settledAfterS} s, rounds with two masters ${fig.roundsWithTwoMasters} `
      + `| ${summary.rounds} rounds x ${rounds[0].scrapes.length} targets, ${summary.series} series, ${summary.samples} samples (+${HISTORY_S} s history) `
      + `| promtool: ${summary.firing}; silent: ${summary.silent} | ${summary.counterfactual} | epoch from ${summary.epochSource} | ${OUT}`);
    Object.assign(summary, fig);
  });
});
