/**
 * Cold restarts after a failover whose new master took writes the old master never saw, in the
 * orders that used to lose them (issue 15, items 1 and 2): the whole deployment stops (every
 * StatefulSet scaled to 0) and comes back with the Sentinels 60 s late, with the Redis pods one at
 * a time (the bootstrap pod first, or last), or with every Sentinel's volume lost. Sentinel clients
 * (ioredis, python3-redis) write throughout. Each scenario ends with 0 acknowledged writes lost,
 * one master, every Sentinel naming it, every pod ready. Needs root; see test/e2e/README.md.
 */
import { mkdirSync, rmSync } from 'fs';
import { join } from 'path';
import { Duration } from 'cdk8s';
import { settingsOf, synthChart } from '../support/synth';
import { Deployment, WriterResult, saveResults } from './deployment';
import { Cluster } from './harness/cluster';
import { requireHarness } from './harness/preflight';
import { sleep, waitFor } from './harness/sys';

jest.setTimeout(300_000);

const PASSWORD = 'e2e cold "start"';
// createNamespace: the harness, like an empty cluster, has no namespace 'redis' until one is applied.
const PROPS = { downAfter: Duration.millis(2000), failoverTimeout: Duration.seconds(10), createNamespace: true };
const s = settingsOf(PROPS, 'redis');
const NS = s.namespace;
const RESULTS = join(__dirname, 'results');
const BOOT = `${s.names.master}-0`;

const chartObjects = synthChart(PROPS);
const cluster = new Cluster({ prefix: 'rse2e-c-', logDir: join(RESULTS, 'cold-start-logs') });
const d = new Deployment(cluster, s, PASSWORD);

interface Figures { scenario: string; healthyAfterMs: number; writers: WriterResult[]; notes: Record<string, unknown> }
const results: Figures[] = [];

beforeAll(async () => {
  requireHarness('test/e2e/cold-start.test.ts', { python: true });
  rmSync(join(RESULTS, 'cold-start-logs'), { recursive: true, force: true });
  mkdirSync(join(RESULTS, 'cold-start-logs'), { recursive: true });
  await cluster.start({ waitForOtherRunMs: 15 * 60_000 });
  await cluster.apply([...chartObjects, d.authSecret()]);
  await Promise.all([d.clientPod('client-node', 'node'), d.clientPod('client-py', 'python')]);
}, 20 * 60_000);

afterEach(() => d.killWriters());

afterAll(async () => {
  await cluster.shutdown();
  saveResults(RESULTS, 'cold-start', results);
});

const sets = () => [s.names.master, s.names.replica, s.names.sentinel].map((n) => [n, cluster.get('StatefulSet', NS, n)!.spec.replicas as number] as const);

/** Makes the bootstrap pod the master (the others at replica-priority 0 for one requested failover), so it is the stale one. */
async function bootstrapAsMaster(): Promise<void> {
  const h = await d.waitHealthy({ timeoutMs: 120_000 });
  if (h.master === BOOT) return;
  const others = d.redisPods().filter((p) => p !== BOOT);
  for (const p of others) await d.cli(p, ['CONFIG', 'SET', 'replica-priority', '0']);
  expect(await d.cli(d.sentinelPods()[0], ['SENTINEL', 'FAILOVER', s.masterName])).toBe('OK');
  await waitFor('the bootstrap pod promoted', async () => (await d.waitHealthy({ timeoutMs: 5000, failoverReady: false }).catch(() => undefined))?.master === BOOT, 60_000);
  for (const p of others) await d.cli(p, ['CONFIG', 'SET', 'replica-priority', '100']);
}

/**
 * The common part: writers on; the bootstrap master SIGKILLed and held down; a replica promoted
 * takes writes the old master never sees; everything stopped; `bringBack` restarts it in its order.
 */
async function scenario(name: string, bringBack: (sizes: ReadonlyArray<readonly [string, number]>) => Promise<void>): Promise<void> {
  await bootstrapAsMaster();
  const w = await Promise.all([
    d.startWriter({ kind: 'ioredis', pod: 'client-node', key: `e2e:${name}:ioredis` }),
    d.startWriter({ kind: 'python', pod: 'client-py', key: `e2e:${name}:python` }),
  ]);
  await sleep(1000);
  const held = cluster.mustPod(NS, BOOT).killContainer('redis', { hold: true });
  const promoted = await waitFor('a replica promoted', async () => {
    const h = await d.waitHealthy({ timeoutMs: 3000, redis: d.redisPods().filter((p) => p !== BOOT) }).catch(() => undefined);
    return h && h.master !== BOOT ? h.master : undefined;
  }, 60_000);
  const tPromoted = Date.now();
  // Writes the old master never sees.
  await sleep(2000);
  // The outage: the other replica's container dies first (so the master's preStop has no replica
  // to hand over to and does not wait for a failover that cannot happen), then every pod stops.
  const other = d.redisPods().find((p) => p !== BOOT && p !== promoted)!;
  const heldOther = cluster.mustPod(NS, other).killContainer('redis', { hold: true });
  const sizes = sets();
  const tStop = Date.now();
  await Promise.all(sizes.map(([n]) => cluster.scale(NS, n, 0)));
  held.release();
  heldOther.release();
  expect(cluster.allPods().filter((p) => p.owner)).toEqual([]);
  const t0 = Date.now();
  await bringBack(sizes);
  const h = await d.waitHealthy({ timeoutMs: 180_000 });
  const healthyAfterMs = Date.now() - t0;
  expect(await d.masters()).toEqual([h.master]);
  await sleep(1000);
  const summaries = await Promise.all(w.map((x) => x.stop()));
  await d.waitReplicated(h.master);
  const writers = await Promise.all(w.map((x, i) => d.account(h.master, x, summaries[i])));
  // The new master did take writes the old one never saw.
  for (const x of summaries) expect(x.acked.filter(([, t]) => t > tPromoted && t < tStop).length).toBeGreaterThan(0);
  // The bootstrap pod's SIGKILL may take the newest writes only it had (asynchronous replication).
  for (const x of writers) expect(`${x.writer}: lost confirmed ${x.lostConfirmed}`).toBe(`${x.writer}: lost confirmed 0`);
  const f = { scenario: name, healthyAfterMs, writers, notes: { promoted, masterAfter: h.master, epoch: h.epoch } };
  results.push(f);
  // eslint-disable-next-line no-console
  console.log(`[e2e] cold start ${name} | healthy after ${healthyAfterMs} ms | ${writers.map((x) => `${x.writer}: acked ${x.acked}, lost ${x.lost}, confirmed lost ${x.lostConfirmed}`).join('; ')} | ${JSON.stringify(f.notes)}`);
}

/** Scales `set` back to `size` one pod at a time, each once its Redis container runs. */
async function oneAtATime(set: string, size: number): Promise<void> {
  for (let i = 1; i <= size; i++) {
    await cluster.scale(NS, set, i);
    await waitFor(`${set}-${i - 1} running`, () => cluster.pod(NS, `${set}-${i - 1}`)?.phase === 'Running', 60_000);
    await sleep(2000);
  }
}

const ofSet = (sizes: ReadonlyArray<readonly [string, number]>, n: string) => sizes.find(([x]) => x === n)![1];

describe('cold restart after a failover the bootstrap pod never saw', () => {
  test('new install: every pod fenced at first, the Sentinels adopt the bootstrap pod', async () => {
    const h = await d.waitHealthy({ timeoutMs: 90_000 });
    expect(h.master).toBe(BOOT);
    expect(h.epoch).toBe(0);
  });

  test('Sentinels back 60 s after the Redis pods', async () => {
    await scenario('sentinels-late', async (sizes) => {
      await cluster.scale(NS, s.names.master, 1);
      await cluster.scale(NS, s.names.replica, ofSet(sizes, s.names.replica));
      await sleep(60_000);
      // Waiting, not serving: no Redis pod took the master role meanwhile.
      expect(await d.masters()).toEqual([]);
      await cluster.scale(NS, s.names.sentinel, ofSet(sizes, s.names.sentinel));
    });
  });

  test('Redis pods back one at a time, the bootstrap pod first', async () => {
    await scenario('bootstrap-first', async (sizes) => {
      await cluster.scale(NS, s.names.sentinel, ofSet(sizes, s.names.sentinel));
      await oneAtATime(s.names.master, 1);
      await oneAtATime(s.names.replica, ofSet(sizes, s.names.replica));
    });
  });

  test('Redis pods back one at a time, the bootstrap pod last', async () => {
    await scenario('bootstrap-last', async (sizes) => {
      await cluster.scale(NS, s.names.sentinel, ofSet(sizes, s.names.sentinel));
      await oneAtATime(s.names.replica, ofSet(sizes, s.names.replica));
      await oneAtATime(s.names.master, 1);
    });
  });

  test('every Sentinel volume lost', async () => {
    await scenario('sentinel-volumes-lost', async (sizes) => {
      for (let i = 0; i < ofSet(sizes, s.names.sentinel); i++) rmSync(cluster.claimDir(NS, `data-${s.names.sentinel}-${i}`), { recursive: true, force: true });
      await Promise.all(sizes.map(([n, size]) => cluster.scale(NS, n, size)));
    });
  });
});
