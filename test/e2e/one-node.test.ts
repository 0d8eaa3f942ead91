/**
 * End-to-end "try it on one node": the one-node example (examples/one-node/redis-sentinel.k8s.yaml,
 * ONE_NODE_OVERRIDES in src/example.ts), as a newcomer applies it to a laptop cluster without
 * prometheus-operator (the core file and the password Secret, nothing else), runs in the harness:
 * every pod becomes Ready, a forced failover (`SENTINEL FAILOVER`) ends with a new master that every
 * Sentinel names, and a backup Job from the CronJob succeeds beside them.
 *
 * The harness has one node and no scheduler (test/e2e/README.md: it runs every pod whatever its
 * affinity), so it cannot itself refuse what one node cannot place: the test first checks the
 * objects for such constraints (test/support/scheduling.ts), and that the same check refuses the
 * production example. Needs root, like the other suites; kept short (about a minute when the machine
 * is free).
 */
import { join } from 'path';
import { ONE_NODE_OVERRIDES } from '../../src/example';
import { oneNodeProblems, totalRequests } from '../support/scheduling';
import { synthExample } from '../support/synth';
import { Deployment } from './deployment';
import { Cluster } from './harness/cluster';
import { requireHarness } from './harness/preflight';
import { waitFor, withTimeout } from './harness/sys';

jest.setTimeout(120_000);

const PASSWORD = 'e2e one-node "pass" \\ word';
const RESULTS = join(__dirname, 'results');
const example = synthExample(ONE_NODE_OVERRIDES);
const s = example.settings;
const NS = s.namespace;
const cluster = new Cluster({ prefix: 'rse2e-o-', logDir: join(RESULTS, 'one-node-logs') });
const d = new Deployment(cluster, s, PASSWORD);
const figures: Record<string, number> = {};

beforeAll(async () => {
  requireHarness('test/e2e/one-node.test.ts', { extra: ['redis-check-rdb'] });
  // Another suite may hold the machine: waiting for it is not part of this test's time.
  await cluster.start({ waitForOtherRunMs: 30 * 60_000 });
}, 31 * 60_000);

afterAll(async () => {
  await cluster.shutdown();
  // eslint-disable-next-line no-console
  console.log(`[e2e one-node] ${JSON.stringify(figures)}`);
});

describe('the one-node example, end to end', () => {
  test('asks nothing one node cannot give (the harness does not schedule, so this is checked first)', () => {
    expect(oneNodeProblems(example.all)).toEqual([]);
    expect(oneNodeProblems(synthExample().all)).not.toEqual([]);
    const r = totalRequests(example.all);
    expect(r.cpuMillis).toBeLessThanOrEqual(2000);
    expect(r.memoryBytes).toBeLessThanOrEqual(4 * 2 ** 30);
  });

  test('the core file alone (no CRDs) brings every pod to Ready: one master, two replicas, three Sentinels agreeing', async () => {
    const t0 = Date.now();
    await cluster.apply([...example.core, d.authSecret()]);
    const h = await d.waitHealthy({ timeoutMs: 90_000 });
    figures.healthyMs = Date.now() - t0;
    expect(d.redisPods()).toHaveLength(3);
    expect(d.sentinelPods()).toHaveLength(3);
    for (const p of [...d.redisPods(), ...d.sentinelPods()]) expect(cluster.pod(NS, p)?.ready).toBe(true);
    expect(h.master).toBe(`${s.names.master}-0`);
  });

  test('a forced failover (SENTINEL FAILOVER) ends with a new master every Sentinel names', async () => {
    const before = await d.waitHealthy();
    const t0 = Date.now();
    expect(await d.cli(d.sentinelPods()[0], ['SENTINEL', 'FAILOVER', s.masterName])).toBe('OK');
    const master = await waitFor('every Sentinel to name a new master', async () => {
      const t = await d.topology({ redis: [] });
      const m = Deployment.agreedMaster(t);
      return m && m !== d.fqdn(before.master) ? d.podOf(m) : undefined;
    }, 30_000, { intervalMs: 100 });
    figures.failoverMs = Date.now() - t0;
    // Settled: the new master is the only one, the old master its replica, every Sentinel at the new epoch.
    const after = await d.waitHealthy({ timeoutMs: 30_000 });
    figures.settledMs = Date.now() - t0;
    expect(after.master).toBe(master);
    expect(after.master).not.toBe(before.master);
    expect(after.epoch).toBeGreaterThan(before.epoch);
    expect(await d.masters()).toEqual([master]);
    expect((await d.redisState(before.master)).masterHost).toBe(d.fqdn(master));
  });

  test('a backup Job from the CronJob succeeds beside them', async () => {
    const t0 = Date.now();
    const pod = await cluster.runJobFromCronJob(NS, s.names.backup, 'redis-backup-now');
    await withTimeout(pod.finished, 60_000, 'the backup Job did not finish');
    figures.backupMs = Date.now() - t0;
    expect(pod.phase).toBe('Succeeded');
  });
});
