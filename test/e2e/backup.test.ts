/**
 * End-to-end backup and restore: the chart's backup CronJob runs as a Job pod in the harness
 * (test/e2e/harness) against the synthesized deployment with real Redis, and a fresh deployment
 * restores from what it wrote. Needs root; see test/e2e/README.md. Figures go to test/e2e/results/.
 *
 * 1. 10,000 keys of five types are written through the master; a backup Job streams a snapshot
 *    from a replica (the replica's own full-sync counter proves it; the master serves none), and
 *    the file is a valid RDB with exactly those keys.
 * 2. Two more runs with backupRetention 2 leave the newest two files.
 * 3. With Redis unreachable from the backup pod (its NetworkPolicy narrowed to Sentinel + DNS) the
 *    Job fails with a clear message and leaves no file behind.
 * 4. A fresh deployment (new namespace; its backup claim holds a copy of the backup volume, as a
 *    PVC restored from a VolumeSnapshot would) with `restore` starts with every key and value,
 *    replicas included; deleting the bootstrap master pod afterwards does not restore again.
 */
import { execFileSync } from 'child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Duration } from 'cdk8s';
import { RedisSentinelChartProps } from '../../src';
import { settingsOf } from '../support/synth';
import { synthChart } from '../support/synth';
import { Deployment } from './deployment';
import { Cluster } from './harness/cluster';
import { Pod } from './harness/kubelet';
import { requireHarness } from './harness/preflight';
import { withTimeout } from './harness/sys';
import { KEYS, dataSet, digest } from './backup-data';

jest.setTimeout(240_000);

const PASSWORD = 'e2e backup "pass" \\ word';
const RESULTS = join(__dirname, 'results');
const BASE: RedisSentinelChartProps = {
  createNamespace: true,
  downAfter: Duration.seconds(2), failoverTimeout: Duration.seconds(10),
  // No monitoring: the exporters play no part here.
  backup: { retention: 2 },
};
const s = settingsOf(BASE, 'redis');
const NS = s.namespace;
const FILE_RE = new RegExp(`^${s.name}-[0-9]{8}T[0-9]{6}Z\\.rdb$`);

const chartObjects = synthChart(BASE);
const cluster = new Cluster({ prefix: 'rse2e-b-', logDir: join(RESULTS, 'backup-logs') });
const d = new Deployment(cluster, s, PASSWORD);
const figures: Record<string, unknown> = {};


function backupDir(ns: string): string {
  return cluster.claimDir(ns, s.names.backupClaim);
}

function backupFiles(ns = NS): string[] {
  return readdirSync(backupDir(ns)).filter((f) => FILE_RE.test(f)).sort();
}

function leftovers(ns = NS): string[] {
  return readdirSync(backupDir(ns)).filter((f) => f.endsWith('.partial'));
}

/** Runs the backup CronJob once (kubectl create job --from=cronjob/...) and waits for its pod to end. */
async function runBackup(job: string): Promise<{ pod: Pod; phase: string; log: string; ms: number }> {
  const t0 = Date.now();
  const pod = await cluster.runJobFromCronJob(NS, s.names.backup, job);
  await withTimeout(pod.finished, 90_000, `backup Job ${job} did not finish`);
  const ms = Date.now() - t0;
  const phase = pod.phase;
  const logFile = cluster.logFile(NS, pod.name, 'backup');
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
  await pod.delete(0);
  return { pod, phase, log, ms };
}

async function syncFull(dep: Deployment, pod: string): Promise<number> {
  const m = /^sync_full:(\d+)/m.exec(await dep.cli(pod, ['INFO', 'stats']));
  return m ? Number(m[1]) : -1;
}

beforeAll(async () => {
  requireHarness('test/e2e/backup.test.ts', { extra: ['redis-check-rdb'] });
  await cluster.start({ waitForOtherRunMs: 15 * 60_000 });
  await cluster.apply([...chartObjects, d.authSecret()]);
}, 20 * 60_000);

afterAll(async () => {
  await cluster.shutdown();
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'backup-figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
  // eslint-disable-next-line no-console
  console.log(`[e2e backup] ${JSON.stringify(figures)}`);
});

describe('backup and restore, end to end', () => {
  let original = '';
  let firstFile = '';

  test('a backup Job streams a verified snapshot of 10,000 keys from a replica', async () => {
    const h = await d.waitHealthy({ timeoutMs: 120_000 });
    const r = await cluster.exec(NS, h.master, 'redis', ['redis-cli', '-p', String(s.redisPort), '--pipe'],
      { input: dataSet(), env: { REDISCLI_AUTH: PASSWORD }, timeoutMs: 60_000 });
    expect(r.stdout).toMatch(/errors: 0, replies: 10000/);
    await d.waitReplicated(h.master);
    original = await digest(d, h.master);
    expect(original).toMatch(new RegExp(`^${KEYS} [0-9a-f]{40}$`));
    const replicas = d.redisPods().filter((p) => p !== h.master);
    const before = new Map(await Promise.all([h.master, ...replicas].map(async (p) => [p, await syncFull(d, p)] as const)));

    const run = await runBackup('backup-1');
    expect({ phase: run.phase, log: run.log }).toEqual({ phase: 'Succeeded', log: expect.stringContaining('backup ok:') });
    const source = /from the replica ([a-z0-9-]+)\./.exec(run.log)?.[1];
    expect(replicas).toContain(source);
    // The replica served a full sync (to redis-cli); the master served none.
    expect(await syncFull(d, source!)).toBe(before.get(source!)! + 1);
    expect(await syncFull(d, h.master)).toBe(before.get(h.master));

    const files = backupFiles();
    expect(files).toHaveLength(1);
    firstFile = files[0];
    expect(leftovers()).toEqual([]);
    const path = join(backupDir(NS), firstFile);
    const check = execFileSync('redis-check-rdb', [path]).toString();
    expect(check).toContain('RDB looks OK');
    expect(check).toMatch(new RegExp(`\\[info\\] ${KEYS} keys read`));
    expect(run.log).toContain(`${KEYS} keys`);
    Object.assign(figures, {
      keysWritten: KEYS, snapshotBytes: statSync(path).size, firstJobMs: run.ms, source, file: firstFile,
    });
  });

  test('retention keeps the newest backupRetention (2) files', async () => {
    const runs = [];
    for (const job of ['backup-2', 'backup-3']) {
      // File names carry the second: keep runs apart.
      await new Promise((res) => setTimeout(res, 1100));
      const run = await runBackup(job);
      expect({ job, phase: run.phase }).toEqual({ job, phase: 'Succeeded' });
      runs.push(run);
    }
    const files = backupFiles();
    expect(files).toHaveLength(2);
    expect(files).not.toContain(firstFile);
    expect(files.every((f) => f > firstFile)).toBe(true);
    expect(runs[1].log).toContain(`retention: removed ${firstFile}`);
    expect(leftovers()).toEqual([]);
    figures.jobMs = runs.map((r) => r.ms);
  });

  test('with Redis unreachable the Job fails with a clear message and leaves no file behind', async () => {
    const policy = chartObjects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === s.names.backupNetworkPolicy)!;
    const narrowed = JSON.parse(JSON.stringify(policy));
    // Sentinel and DNS only: the backup pod can ask who the master is, but reach no Redis.
    narrowed.spec.egress = narrowed.spec.egress.filter((e: any) => !e.ports.some((p: any) => p.port === s.redisPort));
    expect(narrowed.spec.egress).toHaveLength(policy.spec.egress.length - 1);
    const filesBefore = backupFiles();
    await cluster.apply([narrowed]);
    try {
      const run = await runBackup('backup-unreachable');
      expect(run.phase).toBe('Failed');
      expect(run.log).toMatch(/backup FAILED: cannot reach the master [^ ]+ \(PING answered 'nothing'\)/);
      expect(run.log).toContain('no healthy replica');
      expect(backupFiles()).toEqual(filesBefore);
      expect(leftovers()).toEqual([]);
      figures.failureLog = run.log.split('\n').filter((l) => /FAILED|no healthy/.test(l));
    } finally {
      await cluster.apply([policy]);
    }
  });

  test('a fresh deployment with restoreFrom starts with every key; a later restart does not restore again', async () => {
    const restoreNs = 'restored';
    const file = backupFiles()[backupFiles().length - 1];
    const props: RedisSentinelChartProps = { ...BASE, namespace: restoreNs, restore: { file } };
    const s2 = settingsOf(props, 'redis');
    const d2 = new Deployment(cluster, s2, PASSWORD);
    // The old deployment is gone; its backup volume lives on (a PVC restored from a snapshot of it).
    await Promise.all([s.names.master, s.names.replica, s.names.sentinel].map((sts) => cluster.scale(NS, sts, 0)));
    copyFileSync(join(backupDir(NS), file), join(backupDir(restoreNs), file));

    const t0 = Date.now();
    await cluster.apply([...synthChart(props), d2.authSecret()]);
    const h = await d2.waitHealthy({ timeoutMs: 120_000 });
    const restoreMs = Date.now() - t0;
    expect(h.master).toBe(`${s2.names.master}-0`);
    const initLog = readFileSync(cluster.logFile(restoreNs, h.master, 'restore'), 'utf8');
    expect(initLog).toContain(`restore: ${KEYS} keys from ${file}`);
    // Every key and value, on the master and on every replica.
    for (const p of d2.redisPods()) expect({ pod: p, digest: await digest(d2, p) }).toEqual({ pod: p, digest: original });

    // Later starts never restore: a write after the restore survives the bootstrap master's re-creation.
    expect(await d2.cli(h.master, ['SET', 'bk:after-restore', 'kept'])).toBe('OK');
    await d2.waitReplicated(h.master);
    await cluster.deletePod(restoreNs, h.master);
    const h2 = await d2.waitHealthy({ timeoutMs: 120_000 });
    const initLog2 = readFileSync(cluster.logFile(restoreNs, `${s2.names.master}-0`, 'restore'), 'utf8');
    expect(initLog2).toMatch(/restore: done before \(.+\); never again/);
    expect(await d2.cli(h2.master, ['GET', 'bk:after-restore'])).toBe('kept');
    expect((await digest(d2, h2.master)).split(' ')[0]).toBe(String(KEYS + 1));
    Object.assign(figures, { restoredFrom: file, keysRestored: Number(original.split(' ')[0]), restoreToHealthyMs: restoreMs });
  });
});
