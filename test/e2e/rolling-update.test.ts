/**
 * Rolling updates and planned hand-overs, end to end: the synthesized chart runs in the harness, a
 * changed chart is applied as `kubectl apply` would (the StatefulSet controller rolls the master,
 * replica and Sentinel StatefulSets at once, each one pod at a time from its highest ordinal), and
 * Sentinel clients write throughout: ioredis and python3-redis through the Sentinel Service, and
 * python3-redis listing the Sentinel pods in pod order (the common way). Each case counts the
 * failovers, the `+odown` events (none allowed), each writer's longest gap and the acknowledged
 * writes lost (none allowed). Needs root; see test/e2e/README.md. Figures go to test/e2e/results/.
 */
import { mkdirSync, rmSync } from 'fs';
import { join } from 'path';
import { Duration } from 'cdk8s';
import { settingsOf, synthChart } from '../support/synth';
import { Deployment, Writer, WriterResult, saveResults } from './deployment';
import { Cluster } from './harness/cluster';
import { requireHarness } from './harness/preflight';
import { sleep, waitFor } from './harness/sys';

jest.setTimeout(240_000);

const PASSWORD = 'e2e-rolling';
// createNamespace: the harness, like an empty cluster, has no namespace 'redis' until one is applied.
const PROPS = { downAfter: Duration.millis(2000), failoverTimeout: Duration.seconds(10), createNamespace: true };
const s = settingsOf(PROPS, 'redis');
const NS = s.namespace;
const RESULTS = join(__dirname, 'results');
const SETS = [s.names.master, s.names.replica, s.names.sentinel];

const cluster = new Cluster({ prefix: 'rse2e-u-', logDir: join(RESULTS, 'rolling-logs') });
const d = new Deployment(cluster, s, PASSWORD);

interface CaseResult {
  scenario: string;
  failovers: number;
  odown: number;
  writers: WriterResult[];
  notes: Record<string, unknown>;
}
const results: CaseResult[] = [];

type Writers = Writer[];

async function startWriters(tag: string): Promise<Writers> {
  return Promise.all([
    d.startWriter({ kind: 'ioredis', pod: 'client-node', key: `e2e:${tag}:ioredis` }),
    d.startWriter({ kind: 'python', pod: 'client-py', key: `e2e:${tag}:python` }),
    d.startWriter({ kind: 'python', pod: 'client-py', key: `e2e:${tag}:python-pod-order`, sentinelHosts: d.sentinelPods().map((p) => d.fqdn(p)) }),
  ]);
}

function sentinelLogMark(): Map<string, number> {
  return new Map(d.sentinelPods().map((p) => [p, d.logSize(p)]));
}

/** Failovers since `mark` (the most +switch-master lines one Sentinel logged) and every +odown line. */
function sentinelEventsSince(mark: Map<string, number>): { failovers: number; odown: number; log: string } {
  const logs = [...mark].map(([p, from]) => d.logSince(p, from));
  return {
    failovers: Math.max(...logs.map((l) => (l.match(/\+switch-master /g) ?? []).length)),
    odown: logs.reduce((n, l) => n + (l.match(/\+odown /g) ?? []).length, 0),
    log: logs.join('\n'),
  };
}

function record(r: CaseResult): void {
  results.push({ ...r, writers: r.writers.map((x) => ({ ...x, lostSeqs: x.lostSeqs.slice(0, 20) })) });
  const w = r.writers.map((x) => `${x.writer}: gap ${x.outageMs} ms, acked ${x.acked}, lost ${x.lost}, confirmed lost ${x.lostConfirmed}`).join('; ');
  // eslint-disable-next-line no-console
  console.log(`[e2e] ${r.scenario} | failovers ${r.failovers}, +odown ${r.odown} | ${w} | ${JSON.stringify(r.notes)}`);
}

/** Every pod Ready, one master, every Sentinel agreeing, and every acknowledged write there. */
async function expectHealthyAndComplete(ws: Writers): Promise<{ master: string; writers: WriterResult[] }> {
  const h = await d.waitHealthy({ timeoutMs: 90_000 });
  expect(await d.masters()).toEqual([h.master]);
  const writers = await d.stopAndAccount(ws, h.master);
  for (const x of writers) expect(`${x.writer}: lost ${x.lost}`).toBe(`${x.writer}: lost 0`);
  return { master: h.master, writers };
}

/** Applies a changed chart and waits until the three StatefulSets have rolled out. */
async function rollOut(scenario: string, props: Record<string, unknown>): Promise<void> {
  const h = await d.waitHealthy();
  const before = Object.fromEntries(SETS.map((n) => [n, cluster.revision(NS, n)!.update]));
  const mark = sentinelLogMark();
  const events = cluster.events.length;
  const ws = await startWriters(scenario.split(' ')[0]);
  await sleep(1000);
  const t0 = Date.now();
  await cluster.apply(synthChart({ ...PROPS, ...props }));
  for (const n of SETS) expect(cluster.revision(NS, n)!.update).not.toBe(before[n]);
  await Promise.all(SETS.map((n) => cluster.waitRolledOut(NS, n, 180_000)));
  const rolledMs = Date.now() - t0;
  const end = await expectHealthyAndComplete(ws);
  const ev = sentinelEventsSince(mark);
  // At most one planned hand-over for the whole roll, and never an unplanned failover.
  expect(ev.failovers).toBeLessThanOrEqual(1);
  expect(ev.odown).toBe(0);
  expect((ev.log.match(/\+try-failover/g) ?? []).length).toBe(ev.failovers);
  const preStop = cluster.events.slice(events).filter((e) => /redis: preStop/.test(e)).join('\n');
  record({
    scenario, failovers: ev.failovers, odown: ev.odown, writers: end.writers,
    notes: {
      rolledOutMs: rolledMs, masterBefore: h.master, masterAfter: end.master,
      waitedForRoll: (preStop.match(/rolling update: every pod that rolls before this one .*\(waited \d+s\)/) ?? [''])[0],
    },
  });
}

beforeAll(async () => {
  requireHarness('test/e2e/rolling-update.test.ts', { python: true });
  rmSync(join(RESULTS, 'rolling-logs'), { recursive: true, force: true });
  mkdirSync(join(RESULTS, 'rolling-logs'), { recursive: true });
  await cluster.start({ waitForOtherRunMs: 15 * 60_000 });
  await cluster.apply([...synthChart(PROPS), d.authSecret()]);
  await Promise.all([d.clientPod('client-node', 'node'), d.clientPod('client-py', 'python')]);
  await d.waitHealthy({ timeoutMs: 90_000 });
}, 20 * 60_000);

afterEach(() => d.killWriters());

afterAll(async () => {
  await cluster.shutdown();
  saveResults(RESULTS, 'rolling-update', results);
});

describe('rolling updates and planned hand-overs', () => {
  test('image change: the three StatefulSets roll at once with at most one hand-over, no +odown, no acknowledged write lost', async () => {
    await rollOut('image change rolled out', { image: 'redis:7.2.12-alpine' });
  });

  test('config change (failoverTimeout: sentinel.conf and the scripts\' constants): the same', async () => {
    await rollOut('config change rolled out', { image: 'redis:7.2.12-alpine', failoverTimeout: Duration.seconds(12) });
  });

  test('planned hand-over (master pod deleted) with redis-py listing the Sentinels in pod order', async () => {
    const h = await d.waitHealthy();
    const mark = sentinelLogMark();
    const ws = await startWriters('handover');
    await sleep(1000);
    const t0 = Date.now();
    await cluster.deletePod(NS, h.master);
    const goneMs = Date.now() - t0;
    await waitFor(`${h.master} back`, () => cluster.pod(NS, h.master)?.ready, 60_000);
    const end = await expectHealthyAndComplete(ws);
    const ev = sentinelEventsSince(mark);
    expect(ev.failovers).toBe(1);
    expect(ev.odown).toBe(0);
    expect(end.master).not.toBe(h.master);
    // The last Sentinel pod runs the failover: clients asking the first one first see the new master early.
    const leader = d.sentinelPods().find((p) => /Executing user requested FAILOVER/.test(d.logSince(p, mark.get(p)!)));
    expect(leader).toBe(d.sentinelPods()[d.sentinelPods().length - 1]);
    record({ scenario: 'planned hand-over (pod order)', failovers: ev.failovers, odown: ev.odown, writers: end.writers, notes: { from: h.master, to: end.master, leader, podGoneMs: goneMs } });
  });
});
