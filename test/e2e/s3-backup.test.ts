/**
 * Backups to S3-compatible storage, end to end: the chart with `backup.s3` runs in the harness
 * (test/e2e/harness) against a local S3 server in the harness network (s3rver in a pod of namespace
 * `s3`, behind test/support/s3-server.js's fault-injecting proxy), so the backup pods' and the
 * restoring master's NetworkPolicy egress is what lets them reach it. Debian's rclone stands in for
 * the pinned rclone image. Needs root; see test/e2e/README.md. Figures go to test/e2e/results/.
 *
 * 1. 10,000 keys of five types; a backup Job uploads its verified snapshot: the object has the
 *    file's name and SHA-256 (content and metadata).
 * 2. Two more runs with `s3.retention: 2` leave the newest two objects, and an object the chart did
 *    not write.
 * 3. With the store failing the server-side rename (after the partial object was uploaded and read
 *    back), the Job fails with one "upload FAILED:" line and the bucket is unchanged.
 * 4. A fresh deployment with `restore: { file: 'latest', s3 }` restores from the bucket. Its first
 *    attempts are broken on purpose (issue 15, item 3): the temporary restore server is SIGKILLed
 *    (one "restore FAILED:" line), then the whole restore container is SIGKILLed mid-way; Redis
 *    never starts before the retry that succeeds, and then every key, type and value is equal on
 *    every pod (the same SHA-1 as backup.test.ts).
 */
import { createHash } from 'crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Duration } from 'cdk8s';
import { RedisSentinelChartProps, S3Options } from '../../src';
import { settingsOf, synthChart } from '../support/synth';
import { KEYS, dataSet, digest } from './backup-data';
import { Deployment } from './deployment';
import { Cluster } from './harness/cluster';
import { Pod } from './harness/kubelet';
import { requireHarness } from './harness/preflight';
import { withTimeout } from './harness/sys';
import { KubeObject } from './harness/types';

jest.setTimeout(240_000);

const PASSWORD = 'e2e s3 "pass" \\ word';
const RESULTS = join(__dirname, 'results');
const BUCKET = 'redis-backups';
const PREFIX = 'e2e/redis';
const S3_NS = 's3';
const S3_PORT = 4568;
const S3_IMAGE = 'rclone/rclone:1.68.2';
const S3: S3Options = {
  bucket: BUCKET, prefix: PREFIX, endpoint: `http://s3.${S3_NS}.svc.cluster.local:${S3_PORT}`, forcePathStyle: true,
  credentialsSecret: 's3-credentials', retention: 2, image: S3_IMAGE,
};
const BASE: RedisSentinelChartProps = {
  createNamespace: true,
  downAfter: Duration.seconds(2), failoverTimeout: Duration.seconds(10),
  backup: { retention: 3, s3: S3 },
};
const s = settingsOf(BASE, 'redis');
const NS = s.namespace;
const FILE_RE = new RegExp(`^${s.name}-[0-9]{8}T[0-9]{6}Z\\.rdb$`);
const FOREIGN = `${PREFIX}/notes.txt`;

const chartObjects = synthChart(BASE);
const cluster = new Cluster({ prefix: 'rse2e-s-', logDir: join(RESULTS, 's3-logs') });
const d = new Deployment(cluster, s, PASSWORD);
const figures: Record<string, unknown> = {};

/** s3rver (node) and an rclone "tools" container to look into the bucket, in namespace `s3`. */
function s3Objects(): KubeObject[] {
  const sc = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, readOnlyRootFilesystem: true };
  const server = join(__dirname, '..', 'support', 's3-server.js');
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: S3_NS } },
    {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 's3', namespace: S3_NS, labels: { app: 's3' } },
      spec: {
        securityContext: { runAsNonRoot: true, runAsUser: 1001, runAsGroup: 1001, fsGroup: 1001, seccompProfile: { type: 'RuntimeDefault' } },
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 's3', image: 'rse2e/node-client', securityContext: sc, volumeMounts: [{ name: 'data', mountPath: '/s3data' }],
            command: ['node', server, '/s3data/objects', '0.0.0.0', String(S3_PORT + 1), String(S3_PORT), BUCKET, '/s3data/fail', require.resolve('s3rver')],
          },
          {
            name: 'tools', image: S3_IMAGE, securityContext: sc, volumeMounts: [{ name: 'data', mountPath: '/s3data' }],
            command: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'],
          },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 's3', namespace: S3_NS }, spec: { selector: { app: 's3' }, ports: [{ name: 'http', port: S3_PORT }] } },
  ];
}

/** The Secret `credentialsSecret` names (s3rver's fixed key). */
function credentials(namespace: string): KubeObject {
  const b64 = (v: string) => Buffer.from(v).toString('base64');
  return {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 's3-credentials', namespace },
    data: { AWS_ACCESS_KEY_ID: b64('S3RVER'), AWS_SECRET_ACCESS_KEY: b64('S3RVER') },
  };
}

/** A shell command in the tools container, rclone's remote `s3` pointing at s3rver itself (not the proxy). */
async function tools(cmd: string, input?: string): Promise<string> {
  const r = await cluster.exec(S3_NS, 's3', 'tools', ['sh', '-c', cmd], {
    input, timeoutMs: 30_000,
    env: {
      RCLONE_CONFIG: '/s3data/rclone.conf', RCLONE_CACHE_DIR: '/s3data/cache', RCLONE_CONFIG_S3_TYPE: 's3', RCLONE_CONFIG_S3_PROVIDER: 'Other',
      RCLONE_CONFIG_S3_ENV_AUTH: 'true', RCLONE_CONFIG_S3_ENDPOINT: `http://127.0.0.1:${S3_PORT + 1}`, RCLONE_CONFIG_S3_FORCE_PATH_STYLE: 'true',
      RCLONE_CONFIG_S3_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER',
    },
  });
  if (r.code !== 0) throw new Error(`tools: ${cmd}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Every key in the bucket. */
async function bucketKeys(): Promise<string[]> {
  return (await tools(`rclone lsf -R --files-only s3:${BUCKET}`)).split('\n').filter(Boolean).sort();
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const backupDir = () => cluster.claimDir(NS, s.names.backupClaim);
const logOf = (ns: string, pod: string, container: string) => {
  const f = cluster.logFile(ns, pod, container);
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
};

/** Runs the backup CronJob once and waits for its pod to end. */
async function runBackup(job: string): Promise<{ pod: Pod; phase: string; backupLog: string; uploadLog: string; ms: number }> {
  const t0 = Date.now();
  const pod = await cluster.runJobFromCronJob(NS, s.names.backup, job);
  await withTimeout(pod.finished, 120_000, `backup Job ${job} did not finish`);
  const ms = Date.now() - t0;
  const r = { pod, phase: pod.phase, backupLog: logOf(NS, pod.name, 'backup'), uploadLog: logOf(NS, pod.name, 'upload'), ms };
  await pod.delete(0);
  return r;
}

beforeAll(async () => {
  requireHarness('test/e2e/s3-backup.test.ts', { extra: ['redis-check-rdb', 'rclone'] });
  await cluster.start({ waitForOtherRunMs: 15 * 60_000 });
  await cluster.apply(s3Objects());
  await cluster.apply([...chartObjects, d.authSecret(), credentials(NS)]);
}, 20 * 60_000);

afterAll(async () => {
  await cluster.shutdown();
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 's3-figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
  // eslint-disable-next-line no-console
  console.log(`[e2e s3] ${JSON.stringify(figures)}`);
});

describe('backups to S3-compatible storage, end to end', () => {
  let original = '';

  test('a backup Job uploads its verified snapshot: the object has the backup\'s name and SHA-256', async () => {
    const h = await d.waitHealthy({ timeoutMs: 120_000 });
    const r = await cluster.exec(NS, h.master, 'redis', ['redis-cli', '-p', String(s.redisPort), '--pipe'],
      { input: dataSet(), env: { REDISCLI_AUTH: PASSWORD }, timeoutMs: 60_000 });
    expect(r.stdout).toMatch(/errors: 0, replies: 10000/);
    await d.waitReplicated(h.master);
    original = await digest(d, h.master);
    expect(original).toMatch(new RegExp(`^${KEYS} [0-9a-f]{40}$`));
    await tools(`rclone rcat s3:${BUCKET}/${FOREIGN}`, 'written by someone else\n');

    const run = await runBackup('backup-1');
    expect({ phase: run.phase, backup: run.backupLog, upload: run.uploadLog }).toEqual({
      phase: 'Succeeded', backup: expect.stringContaining('backup ok:'), upload: expect.stringContaining('upload ok:'),
    });
    const file = /backup ok: (\S+),/.exec(run.backupLog)![1];
    expect(file).toMatch(FILE_RE);
    const local = readFileSync(join(backupDir(), file));
    expect(run.uploadLog).toContain(`upload ok: s3:${BUCKET}/${PREFIX}/${file}, ${local.length} bytes, sha256 ${sha256(local)}`);
    expect(await bucketKeys()).toEqual([FOREIGN, `${PREFIX}/${file}`].sort());
    expect((await tools(`rclone cat s3:${BUCKET}/${PREFIX}/${file} | sha256sum`)).split(' ')[0]).toBe(sha256(local));
    const meta = JSON.parse(await tools(`rclone lsjson -M s3:${BUCKET}/${PREFIX}/${file}`))[0].Metadata;
    expect(meta.sha256).toBe(sha256(local));
    const uploadSeconds = Number(/, in (\d+)s$/m.exec(run.uploadLog)?.[1]);
    Object.assign(figures, { keysWritten: KEYS, snapshotBytes: local.length, firstJobMs: run.ms, uploadSeconds, file });
  });

  test('retention on the bucket keeps the newest s3.retention (2) backups and nothing the chart did not write is touched', async () => {
    const first = (await bucketKeys()).filter((k) => k !== FOREIGN);
    const runs = [];
    for (const job of ['backup-2', 'backup-3']) {
      await new Promise((res) => setTimeout(res, 1100));
      const run = await runBackup(job);
      expect({ job, phase: run.phase }).toEqual({ job, phase: 'Succeeded' });
      runs.push(run);
    }
    const keys = await bucketKeys();
    expect(keys).toContain(FOREIGN);
    const backups = keys.filter((k) => k !== FOREIGN);
    expect(backups).toHaveLength(2);
    expect(backups).not.toContain(first[0]);
    expect(runs[1].uploadLog).toContain(`retention: removed s3:${BUCKET}/${first[0]}`);
    figures.jobMs = runs.map((r) => r.ms);
  });

  test('fails when the store fails half-way: one "upload FAILED:" line, the bucket unchanged', async () => {
    const before = await bucketKeys();
    // The proxy now fails server-side copies: the partial object is uploaded and read back, its rename fails.
    await tools('echo copy > /s3data/fail');
    try {
      const run = await runBackup('backup-failing');
      expect(run.phase).toBe('Failed');
      const failed = run.uploadLog.split('\n').filter((l) => l.includes('FAILED'));
      expect(failed).toEqual([expect.stringMatching(/upload FAILED: renaming s3:\S+\.partial to \S+ on the server failed: .*InternalError/)]);
      figures.uploadFailure = failed[0].replace(/^\S+ /, '');
    } finally {
      await tools('echo none > /s3data/fail');
    }
    expect(await bucketKeys()).toEqual(before);
  });

  test('a fresh deployment restores from the bucket; killed restores never start Redis empty and the retry restores every key', async () => {
    const restoreNs = 'restored';
    const newest = (await bucketKeys()).filter((k) => k !== FOREIGN).sort().pop()!.split('/').pop()!;
    const props: RedisSentinelChartProps = { ...BASE, namespace: restoreNs, backup: undefined, restore: { file: 'latest', s3: S3 } };
    const s2 = settingsOf(props, 'redis');
    const d2 = new Deployment(cluster, s2, PASSWORD);
    // The old deployment is gone (the cluster with it); the bucket stays.
    await Promise.all([s.names.master, s.names.replica, s.names.sentinel].map((sts) => cluster.scale(NS, sts, 0)));
    const master = `${s2.names.master}-0`;
    // The temporary server of the restore container: a redis-server working in the staging
    // directory (Redis rewrites its process title, so its arguments cannot be matched). Found by
    // reading /proc in this process (no spawned pgrep: it lives for as little as tens of ms) and
    // stopped (SIGSTOP) before anything else, so that what the test does next lands on a server
    // that has not exited: a stopped process is alive (state T), and its SHUTDOWN cannot complete.
    const stopTempServers = (): number[] => {
      const stopped: number[] = [];
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        const pid = Number(entry);
        try {
          if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'redis-server') continue;
          if (readlinkSync(`/proc/${pid}/cwd`) !== '/data/.restore-staging') continue;
          process.kill(pid, 'SIGSTOP');
          stopped.push(pid);
        } catch {
          // gone meanwhile
        }
      }
      return stopped;
    };
    /** State T: stopped and alive (an exiting process cannot stop; a zombie is state Z). */
    const isStopped = (pid: number) => {
      try {
        return /^\d+ \(.*\) T /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    /** Waits for a temporary server, stops it; throws if it exited before it could be stopped. */
    const catchTempServer = async (what: string): Promise<number[]> => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const pids = stopTempServers();
        if (pids.length > 0) {
          await until(`${what} to stop`, () => pids.every((pid) => isStopped(pid) || !existsSync(`/proc/${pid}`)));
          const alive = pids.filter(isStopped);
          if (alive.length === 0) throw new Error(`${what} exited before the test could stop it`);
          return alive;
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${cluster.describe()}`);
        await new Promise((r) => setImmediate(r));
      }
    };
    const tempServersLeft = () => readdirSync('/proc').some((e) => {
      try {
        return /^\d+$/.test(e) && readFileSync(`/proc/${e}/comm`, 'utf8').trim() === 'redis-server' && readlinkSync(`/proc/${e}/cwd`) === '/data/.restore-staging';
      } catch {
        return false;
      }
    });
    const until = async (what: string, probe: () => boolean) => {
      const deadline = Date.now() + 60_000;
      while (!probe()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${cluster.describe()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // Log files keep every earlier run's incarnations too: read only what this run appends.
    const offsets = new Map(['redis', 'restore', 'restore-fetch'].map((c) => [c, logOf(restoreNs, master, c).length]));
    const log = (c: string) => logOf(restoreNs, master, c).slice(offsets.get(c));
    const redisStarted = () => log('redis') !== '';

    const t0 = Date.now();
    await cluster.apply([...synthChart(props), d2.authSecret(), credentials(restoreNs)]);
    // Attempt 1: the temporary server dies after the copy (the failure of issue 15, item 3).
    for (const pid of await catchTempServer('the first temporary restore server')) process.kill(pid, 'SIGKILL');
    await until('the first attempt to fail', () => /restore FAILED/.test(log('restore')));
    // Attempt 2: the whole container is killed while its temporary server runs.
    const second = await catchTempServer('the second temporary restore server');
    cluster.mustPod(restoreNs, master).killContainer('restore');
    for (const pid of second) process.kill(pid, 'SIGKILL');
    await until('the second attempt to end', () => !tempServersLeft());
    expect(redisStarted()).toBe(false);

    const h = await d2.waitHealthy({ timeoutMs: 120_000 });
    const restoreMs = Date.now() - t0;
    expect(h.master).toBe(master);
    const fetchLog = log('restore-fetch');
    expect(fetchLog).toContain(`restore-fetch: s3:${BUCKET}/${PREFIX}/${newest}`);
    expect(fetchLog).toContain('(as uploaded)');
    const restoreLog = log('restore');
    // Which step notices depends on when the kill lands (loading, turning AOF on, writing it); the line names the cause.
    expect(restoreLog.split('\n').filter((l) => l.includes('FAILED'))).toEqual([expect.stringMatching(/restore FAILED: the temporary redis-server exited (while loading|after loading|while writing the AOF|with status \d+ while shutting down)/)]);
    expect(restoreLog).toContain(`restore: ${KEYS} keys from ${newest}`);
    // Redis started once, after the restore.
    expect(log('redis').match(/Ready to accept connections/g)).toHaveLength(1);
    for (const p of d2.redisPods()) expect({ pod: p, digest: await digest(d2, p) }).toEqual({ pod: p, digest: original });
    Object.assign(figures, { restoredFrom: newest, keysRestored: KEYS, restoreToHealthyMs: restoreMs, restoreAttempts: 3 });
  });
});
