/**
 * redis-restore.sh run for real (busybox sh, the redis image's PATH, the chart's redis.conf as
 * template) with the env the restore init container gets (restoreEnv, expanded as the kubelet
 * does): it turns a real RDB into the AOF Redis then starts from, once.
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'fs';
import { join } from 'path';
import { restoreEnv } from '../../src/config/scripts';
import { settingsOf } from '../support/synth';
import { renderFiles } from '../../src/shared-config';
import { expand } from '../e2e/harness/env';
import { Sandbox, cli, freePort, waitFor } from '../support/shell';

const IP = '127.0.0.1';
const SELF = 'redis-master-0.redis-master-headless.redis.svc.cluster.local';
let box: Sandbox;
let restoreDir: string;

/** The restore container's env as the kubelet builds it. */
function containerEnv(dataDir: string, file = 'latest'): Record<string, string> {
  const vars = restoreEnv({ sourceDir: restoreDir, file, filePrefix: 'redis', dataDir, workDir: box.dir('work') });
  return { SELF_FQDN: SELF, ...Object.fromEntries(vars.map((v) => [v.name, expand(v.value!, () => undefined)])) };
}

/** A pod's scripts with the chart's redis.conf as template; its data directory. */
function pod(name: string, constants: Record<string, unknown> = {}): { scripts: string; data: string } {
  const data = box.dir(join(name, 'data'));
  const scripts = box.scripts(name, { redisPort: 6379, ...constants });
  const conf = renderFiles(settingsOf({})).redisConf.replace(/^dir .*$/m, `dir ${data}`);
  writeFileSync(join(box.root, name, 'redis.conf.template'), conf);
  return { scripts, data };
}

/** An RDB of `keys` keys written by a real redis-server. */
async function makeRdb(name: string, keys: number): Promise<string> {
  const port = await freePort([IP]);
  box.redisServer(name, IP, port);
  await waitFor(`${name} to answer`, () => cli(IP, port, 'PING') === 'PONG');
  for (let i = 0; i < keys; i++) cli(IP, port, 'SET', `k${i}`, `${name}-${i}`);
  expect(cli(IP, port, 'SAVE')).toBe('OK');
  cli(IP, port, 'SHUTDOWN', 'NOSAVE');
  return join(box.root, name, 'dump.rdb');
}

beforeAll(async () => {
  box = new Sandbox();
  restoreDir = box.dir('restore');
  copyFileSync(await makeRdb('old', 10), join(restoreDir, 'redis-20250101T020000Z.rdb'));
  copyFileSync(await makeRdb('new', 50), join(restoreDir, 'redis-20260101T020000Z.rdb'));
  // Newer by name, but not a backup of this release.
  writeFileSync(join(restoreDir, 'redis-latest.rdb'), 'not an rdb');
});

afterAll(() => box?.stopAll());

it('restores the newest backup into AOF once, and never again', async () => {
  const p = pod('first');
  const r = box.run(p.scripts, 'redis-restore.sh', [], box.env(containerEnv(p.data)));
  expect({ status: r.status, output: r.output }).toEqual({ status: 0, output: expect.any(String) });
  expect(r.stderr).toContain('restore: 50 keys from redis-20260101T020000Z.rdb; Redis starts from them');
  expect(readFileSync(join(p.data, 'restored-from'), 'utf8')).toMatch(/^redis-20260101T020000Z\.rdb restored \S+Z keys=50\n$/);
  expect(readdirSync(p.data).sort()).toEqual(['appendonlydir', 'restored-from']);

  // Redis started on that volume (AOF on) has the data.
  const port = await freePort([IP]);
  const conf = join(box.root, 'first', 'redis.conf.template');
  box.spawn('redis-server', [conf, '--port', String(port), '--bind', IP], box.env(), join(box.root, 'first', 'server.log'));
  await waitFor('Redis on the restored volume', () => cli(IP, port, 'PING') === 'PONG');
  expect(cli(IP, port, 'DBSIZE')).toBe('50');
  expect(cli(IP, port, 'GET', 'k49')).toBe('new-49');
  cli(IP, port, 'SHUTDOWN', 'NOSAVE');

  const again = box.run(p.scripts, 'redis-restore.sh', [], box.env(containerEnv(p.data)));
  expect(again.status).toBe(0);
  expect(again.stderr).toMatch(/restore: done before \(redis-20260101T020000Z\.rdb restored .+ keys=50\); never again/);
});

it.each([
  ['a dump.rdb', (d: string) => writeFileSync(join(d, 'dump.rdb'), 'REDIS0010'), 'dump.rdb'],
  ['an appendonlydir with a manifest', (d: string) => {
    mkdirSync(join(d, 'appendonlydir'));
    writeFileSync(join(d, 'appendonlydir', 'appendonly.aof.manifest'), 'file appendonly.aof.1.base.rdb seq 1 type b\n');
  }, 'appendonlydir/appendonly.aof.manifest'],
])('does not restore over Redis data (%s)', (_what, make, named) => {
  const p = pod(`existing-${named.replace(/\W/g, '')}`);
  make(p.data);
  const before = readdirSync(p.data).sort();
  const r = box.run(p.scripts, 'redis-restore.sh', [], box.env(containerEnv(p.data)));
  expect(r.status).toBe(0);
  expect(r.stderr).toContain(`already holds Redis data (${named} ); not restoring over it`);
  expect(readdirSync(p.data).sort()).toEqual(before);
});

it('counts only Redis\' own files as data: leftovers of a failed attempt are cleaned and the restore runs', () => {
  const p = pod('leftovers');
  // What a release before this one left when its temporary server failed after the copy (issue 15,
  // item 3: the retry took it for data and Redis started empty), a staging directory of a killed
  // attempt, an appendonlydir without manifest, an empty appendonly.aof, lost+found.
  writeFileSync(join(p.data, 'restore.rdb'), readFileSync(join(restoreDir, 'redis-20250101T020000Z.rdb')));
  mkdirSync(join(p.data, '.restore-staging', 'appendonlydir'), { recursive: true });
  writeFileSync(join(p.data, '.restore-staging', 'restore.rdb'), 'half');
  mkdirSync(join(p.data, 'appendonlydir'));
  writeFileSync(join(p.data, 'appendonly.aof'), '');
  mkdirSync(join(p.data, 'lost+found'));
  const r = box.run(p.scripts, 'redis-restore.sh', [], box.env(containerEnv(p.data)));
  expect({ status: r.status, output: r.output }).toEqual({ status: 0, output: expect.stringContaining('restore: 50 keys from redis-20260101T020000Z.rdb') });
  expect(readdirSync(p.data).sort()).toEqual(['appendonly.aof', 'appendonlydir', 'lost+found', 'restored-from']);
  expect(readdirSync(join(p.data, 'appendonlydir')).some((f) => f.endsWith('.manifest'))).toBe(true);
});

describe('a restore that fails', () => {
  /** A redis-server before the image's that fails as `body` says. */
  function failing(name: string, body: string): string {
    return box.stubs(`${name}-stub`, { 'redis-server': body });
  }

  it('keeps failing, with one "restore FAILED:" line per attempt, and leaves no Redis data', () => {
    const p = pod('fails');
    // The temporary server dies after the copy (out of memory, a node problem...).
    const stub = failing('fails', 'exit 1');
    for (let attempt = 1; attempt <= 3; attempt++) {
      const r = box.run(p.scripts, 'redis-restore.sh', [], box.env(containerEnv(p.data), stub));
      const failed = r.output.split('\n').filter((l) => l.includes('FAILED'));
      expect({ attempt, status: r.status, failed }).toEqual({
        attempt, status: 1, failed: [expect.stringMatching(/restore FAILED: the temporary redis-server exited while loading .*redis-20260101T020000Z\.rdb/)],
      });
      expect(readdirSync(p.data).filter((f) => f !== '.restore-staging')).toEqual([]);
    }
  });

  it('killed mid-way, then retried: the retry restores everything', () => {
    const p = pod('killed');
    // The container is SIGKILLed while its temporary server loads (the kubelet then reruns it).
    const stub = failing('killed', 'kill -9 $PPID; exit 1');
    const r = box.run(p.scripts, 'redis-restore.sh', [], box.env(containerEnv(p.data), stub));
    expect(r.status).toBeNull();
    expect(readdirSync(p.data)).toEqual(['.restore-staging']);
    expect(readdirSync(join(p.data, '.restore-staging'))).toContain('restore.rdb');

    const retry = box.run(p.scripts, 'redis-restore.sh', [], box.env(containerEnv(p.data)));
    expect({ status: retry.status, output: retry.output }).toEqual({ status: 0, output: expect.stringContaining('restore: 50 keys from redis-20260101T020000Z.rdb') });
    expect(readdirSync(p.data).sort()).toEqual(['appendonlydir', 'restored-from']);
  });

  it('stopped between moving the AOF into place and writing the marker: the next start completes the marker', () => {
    const p = pod('marker');
    const done = box.run(p.scripts, 'redis-restore.sh', [], box.env(containerEnv(p.data)));
    expect(done.status).toBe(0);
    // As if the container had been killed right after the rename.
    mkdirSync(join(p.data, '.restore-staging'));
    renameSync(join(p.data, 'restored-from'), join(p.data, '.restore-staging', 'restored-from'));
    const r = box.run(p.scripts, 'redis-restore.sh', [], box.env(containerEnv(p.data)));
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/restore: done before \(redis-20260101T020000Z\.rdb restored .+ keys=50\); never again/);
    expect(readdirSync(p.data).sort()).toEqual(['appendonlydir', 'restored-from']);
  });
});

it('does not restore when the Sentinels name another master (this pod copies its data)', async () => {
  const sentinelPort = await freePort([IP]);
  box.sentinel('sentinel', IP, sentinelPort, { host: '127.0.5.5', port: 6379 });
  await waitFor('the Sentinel', () => cli(IP, sentinelPort, 'PING') === 'PONG');
  const p = pod('follower', { sentinelHosts: [IP], sentinelPort });
  const r = box.run(p.scripts, 'redis-restore.sh', [], box.env(containerEnv(p.data)));
  expect(r.status).toBe(0);
  expect(r.stderr).toContain('restore: the Sentinels name 127.0.5.5 as master; this pod starts as its replica and copies its data: not restoring');
  expect(readdirSync(p.data)).toEqual([]);
});

it('fails with one "restore FAILED:" line naming the backups when the file does not exist', () => {
  const p = pod('missing');
  const r = box.run(p.scripts, 'redis-restore.sh', [], box.env(containerEnv(p.data, 'redis-20240101T020000Z.rdb')));
  expect(r.status).toBe(1);
  const failed = r.output.split('\n').filter((l) => l.includes('FAILED'));
  expect(failed).toEqual([expect.stringMatching(
    /restore FAILED: .*\/restore\/redis-20240101T020000Z\.rdb does not exist; the newest backups there: redis-20260101T020000Z\.rdb redis-20250101T020000Z\.rdb $/)]);
  expect(readdirSync(p.data)).toEqual([]);
});
