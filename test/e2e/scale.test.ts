/**
 * End-to-end scaling: the synthesized chart (down-after 2 s, failover-timeout 10 s) in the harness,
 * `kubectl scale` of the replica StatefulSet 2 -> 4 -> 1 and of the Sentinel StatefulSet 3 -> 5 -> 3
 * while an ioredis and a python3-redis Sentinel client write throughout. After each step every
 * Sentinel must list exactly the Redis pods that exist (but the master) as replicas and exactly the
 * other Sentinels that exist as peers: scale-up by discovery, scale-down by the Sentinel pods'
 * `tidy` sidecar (src/scripts/sentinel-tidy.sh). Then the master is SIGKILLed and the Sentinels
 * must elect a leader and fail over with their tables as they are. At the end every acknowledged
 * write must be on the master. Needs root; see test/e2e/README.md. Figures: `[e2e scale]` lines and
 * test/e2e/results/scale-<time>.json.
 */
import { mkdirSync, readFileSync, existsSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Duration } from 'cdk8s';
import { settingsOf, synthChart } from '../support/synth';
import { Deployment, Writer, WriterResult, fields } from './deployment';
import { Cluster } from './harness/cluster';
import { requireHarness } from './harness/preflight';
import { sleep, waitFor } from './harness/sys';

jest.setTimeout(180_000);

const PASSWORD = 'e2e scale "pass" \\ word';
const PROPS = { downAfter: Duration.millis(2000), failoverTimeout: Duration.seconds(10), createNamespace: true };
const s = settingsOf(PROPS, 'redis');
const NS = s.namespace;
const RESULTS = join(__dirname, 'results');
const chartObjects = synthChart(PROPS);
const cluster = new Cluster({ prefix: 'rse2e-z-', logDir: join(RESULTS, 'scale-logs') });
const d = new Deployment(cluster, s, PASSWORD);

interface StepResult { step: string; exactMs: number; failoverMs: number; resets: number; from: string; to: string }
const steps: StepResult[] = [];
let writers: Writer[] = [];
let final: WriterResult[] = [];

/** The addresses (`ip` fields: names here) of a SENTINEL REPLICAS / SENTINELS reply, sorted. */
const addrs = (reply: string) => reply.split('\n').filter((_, i, a) => i > 0 && a[i - 1] === 'ip').sort();

/**
 * Whether every Sentinel lists exactly the Redis pods that exist but the master as replicas and the
 * other Sentinels that exist as peers; a description of the first difference otherwise.
 */
async function tablesExact(): Promise<true | string> {
  const sentinels = d.sentinelPods();
  for (const p of [...sentinels, ...d.redisPods()]) if (!cluster.pod(NS, p)?.ready) return `${p} not ready`;
  const master = Deployment.agreedMaster(await d.topology({ redis: [] }));
  if (!master) return 'the Sentinels name different masters';
  const replicas = d.redisPods().map((p) => d.fqdn(p)).filter((f) => f !== master).sort();
  for (const sp of sentinels) {
    const r = addrs(await d.cli(sp, ['SENTINEL', 'REPLICAS', s.masterName]));
    const o = addrs(await d.cli(sp, ['SENTINEL', 'SENTINELS', s.masterName]));
    const peers = sentinels.filter((x) => x !== sp).map((x) => d.fqdn(x)).sort();
    if (r.join() !== replicas.join()) return `${sp} lists replicas ${r.map((x) => d.podOf(x)).join(',')}`;
    if (o.join() !== peers.join()) return `${sp} lists Sentinels ${o.map((x) => d.podOf(x)).join(',')}`;
  }
  return true;
}

async function waitExact(timeoutMs: number): Promise<void> {
  let last: string = '';
  await waitFor('exact Sentinel tables', async () => {
    const r = await tablesExact();
    if (r === true) return true;
    last = r;
    return undefined;
  }, timeoutMs, { intervalMs: 250, context: () => `${last}\n${cluster.events.slice(-30).join('\n')}` });
}

/** The tidy sidecars' log lines (every incarnation) of the Sentinels that exist. */
function resetsLogged(): number {
  return d.sentinelPods().map((p) => cluster.logFile(NS, p, 'tidy'))
    .filter((f) => existsSync(f))
    .reduce((n, f) => n + (readFileSync(f, 'utf8').match(/SENTINEL RESET \S+ done/g) ?? []).length, 0);
}

/** SIGKILLs the master (restart held until the Sentinels name another), then waits until all is healthy again. */
async function failover(): Promise<{ ms: number; from: string; to: string }> {
  const before = await d.waitHealthy({ timeoutMs: 60_000 });
  const t0 = Date.now();
  const held = cluster.mustPod(NS, before.master).killContainer('redis', { hold: true });
  const to = await waitFor('every Sentinel to name a new master', async () => {
    const m = Deployment.agreedMaster(await d.topology({ redis: [] }));
    return m && m !== d.fqdn(before.master) ? d.podOf(m) : undefined;
  }, 40_000, { intervalMs: 100, context: () => cluster.events.slice(-30).join('\n') });
  const ms = Date.now() - t0;
  held.release();
  const after = await d.waitHealthy({ timeoutMs: 60_000 });
  expect(after.master).toBe(to);
  expect(after.epoch).toBeGreaterThan(before.epoch);
  expect(await d.masters()).toEqual([to]);
  return { ms, from: before.master, to };
}

/** Scales `sts` to `n`, waits for exact tables, fails over once (after `beforeFailover`); records the step. */
async function step(name: string, sts: string, n: number, beforeFailover?: () => Promise<void>): Promise<void> {
  const resets = resetsLogged();
  const t0 = Date.now();
  await cluster.scale(NS, sts, n);
  await cluster.waitStatefulSetReady(NS, sts, 60_000);
  await waitExact(150_000);
  const exactMs = Date.now() - t0;
  await beforeFailover?.();
  const f = await failover();
  // The failover keeps them exact (the old master is listed as a replica again once it is back).
  await waitExact(30_000);
  const r: StepResult = { step: name, exactMs, failoverMs: f.ms, resets: resetsLogged() - resets, from: f.from, to: f.to };
  steps.push(r);
  // eslint-disable-next-line no-console
  console.log(`[e2e scale] ${JSON.stringify(r)}`);
}

beforeAll(async () => {
  requireHarness('test/e2e/scale.test.ts', { python: true });
  await cluster.start({ waitForOtherRunMs: 30 * 60_000 });
  await cluster.apply([...chartObjects, d.authSecret()]);
  await Promise.all([d.clientPod('client-node', 'node'), d.clientPod('client-py', 'python')]);
  await d.waitHealthy({ timeoutMs: 90_000 });
  writers = await Promise.all([
    d.startWriter({ kind: 'ioredis', pod: 'client-node', key: 'e2e:scale:ioredis' }),
    d.startWriter({ kind: 'python', pod: 'client-py', key: 'e2e:scale:python' }),
  ]);
}, 31 * 60_000);

afterAll(async () => {
  d.killWriters();
  await cluster.shutdown();
  mkdirSync(RESULTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(RESULTS, `scale-${stamp}.json`), `${JSON.stringify({ steps, writers: final.map((w) => ({ ...w, lostSeqs: w.lostSeqs.slice(0, 20) })) }, null, 2)}\n`);
});

describe('scaling replicas and Sentinels with clients writing', () => {
  test('replicas 2 -> 4: the new replicas join every Sentinel\'s table; a failover follows', async () => {
    // The failover after this step must not promote a replica the next step removes (removing the
    // master is a planned hand-over through replicas that may be going too: a case of its own).
    // replica-priority 0 keeps Sentinel from promoting them; it goes with the pods.
    await step('replicas 2 -> 4', s.names.replica, 4, async () => {
      const removed = [1, 2, 3].map((i) => `${s.names.replica}-${i}`);
      for (const p of removed) expect(await d.cli(p, ['CONFIG', 'SET', 'replica-priority', '0'])).toBe('OK');
      // Each Sentinel reads it from the replica's INFO (every 10 s).
      await waitFor('every Sentinel to see the priorities', async () => {
        for (const sp of d.sentinelPods()) {
          const reply = (await d.cli(sp, ['SENTINEL', 'REPLICAS', s.masterName])).split('\n');
          const zero = reply.filter((l, i) => l === 'slave-priority' && reply[i + 1] === '0').length;
          if (zero !== removed.length) return undefined;
        }
        return true;
      }, 30_000, { intervalMs: 500 });
      // The new replicas hold the master's data: the same keys (the writers' lists, which grow all the
      // while, and every earlier key; offsets never match while the writers run).
      const h = await d.waitHealthy({ timeoutMs: 60_000 });
      const added = [2, 3].map((i) => `${s.names.replica}-${i}`);
      let seen: Record<string, string> = {};
      await waitFor('the new replicas to hold the master\'s keys', async () => {
        seen = { [h.master]: await d.cli(h.master, ['DBSIZE']) };
        for (const p of added) seen[p] = await d.cli(p, ['DBSIZE']);
        return new Set(Object.values(seen)).size === 1 && Number(seen[h.master]) > 0;
      }, 20_000, { context: async () => JSON.stringify(seen) });
    });
    expect(steps[0].to).toBe(`${s.names.replica}-0`);
  });

  test('replicas 4 -> 1: every Sentinel forgets the three removed replicas; a failover follows', async () => {
    await step('replicas 4 -> 1', s.names.replica, 1);
  });

  test('Sentinels 3 -> 5: the new Sentinels join; a failover follows', async () => {
    await step('Sentinels 3 -> 5', s.names.sentinel, 5);
  });

  test('Sentinels 5 -> 3: every Sentinel forgets the two removed Sentinels; a failover follows', async () => {
    await step('Sentinels 5 -> 3', s.names.sentinel, 3);
    const sp = d.sentinelPods()[0];
    expect(await d.cli(sp, ['SENTINEL', 'CKQUORUM', s.masterName])).toMatch(/^OK 3 usable Sentinels/);
    expect(fields(await d.cli(sp, ['SENTINEL', 'MASTER', s.masterName]))['num-other-sentinels']).toBe('2');
  });

  test('no write a replica confirmed is lost through all of it (each failover follows a SIGKILL)', async () => {
    await sleep(500);
    const summaries = await Promise.all(writers.map((w) => w.stop()));
    const h = await d.waitHealthy();
    await d.waitReplicated(h.master);
    final = await Promise.all(writers.map((w, i) => d.account(h.master, w, summaries[i])));
    // eslint-disable-next-line no-console
    console.log(`[e2e scale] writers ${final.map((w) => `${w.writer}: acked ${w.acked}, lost ${w.lost}, confirmed lost ${w.lostConfirmed}, unconfirmed ${w.unconfirmed}, longest outage ${w.outageMs} ms`).join('; ')}`);
    for (const w of final) {
      expect(w.acked).toBeGreaterThan(0);
      expect({ writer: w.writer, lostConfirmed: w.lostConfirmed, lostSeqs: w.lostSeqs.slice(0, 20) }).toEqual({ writer: w.writer, lostConfirmed: 0, lostSeqs: expect.any(Array) });
    }
  });
});
