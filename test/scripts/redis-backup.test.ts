/**
 * redis-backup.sh run for real (busybox sh, the redis image's PATH) against a real master, its
 * replica and a real Sentinel on loopback, auth on, with the env the backup container gets
 * (backupEnv, expanded as the kubelet does).
 */
import { spawnSync } from 'child_process';
import { readdirSync, utimesSync, writeFileSync } from 'fs';
import { join } from 'path';
import { backupEnv } from '../../src/config/scripts';
import { expand } from '../e2e/harness/env';
import { Sandbox, cli, freePort, waitFor } from '../support/shell';

const IP = '127.0.0.1';
const KEYS = 100;
let box: Sandbox;
let ports: { master: number; replica: number; sentinel: number };
let backupDir: string;

/** The backup container's env as the kubelet builds it from the chart's EnvVars. */
function containerEnv(o: Partial<Parameters<typeof backupEnv>[0]> = {}): Record<string, string> {
  const vars = backupEnv({ backupDir, filePrefix: 'redis', retention: 2, staleMinutes: 61, workDir: box.dir('work'), ...o });
  return Object.fromEntries(vars.map((v) => [v.name, expand(v.value!, () => undefined)]));
}

beforeAll(async () => {
  box = new Sandbox();
  ports = { master: await freePort([IP]), replica: await freePort([IP]), sentinel: await freePort([IP]) };
  backupDir = box.dir('backup');
  box.redisServer('master', IP, ports.master);
  box.redisServer('replica', IP, ports.replica, [`replicaof ${IP} ${ports.master}`]);
  await waitFor('the master', () => cli(IP, ports.master, 'PING') === 'PONG');
  for (let i = 0; i < KEYS; i++) cli(IP, ports.master, 'SET', `k${i}`, `v${i}`);
  await waitFor('the replica to hold every key', () => cli(IP, ports.replica, 'DBSIZE') === String(KEYS));
  box.sentinel('sentinel', IP, ports.sentinel, { host: IP, port: ports.master }, [`sentinel announce-ip ${IP}`]);
  // The backup picks a replica the Sentinels see healthy.
  await waitFor('the Sentinel to see the replica healthy', () => {
    const r = cli(IP, ports.sentinel, 'SENTINEL', 'REPLICAS', 'mymaster');
    return r.includes('master-link-status\nok') && /flags\nslave\n/.test(r);
  });
});

afterAll(() => box?.stopAll());

const listing = () => readdirSync(backupDir).sort();

it('streams a checked snapshot from the replica and keeps the newest BACKUP_RETAIN backups', () => {
  const old = ['redis-20200101T000000Z.rdb', 'redis-20200102T000000Z.rdb', 'redis-20200103T000000Z.rdb'];
  // Not backups of this release: retention never touches them.
  const foreign = ['other-20200101T000000Z.rdb', 'redis-latest.rdb', 'redis-20200101T000000Z.rdb.bak', 'redis-2020010T000000Z.rdb'];
  for (const f of [...old, ...foreign]) writeFileSync(join(backupDir, f), 'not an rdb');
  // A leftover of a killed run (older than BACKUP_STALE_MINUTES) and one of a run that may still be going.
  writeFileSync(join(backupDir, '.redis-20200101T000000Z.rdb.partial'), '');
  const twoHoursAgo = Date.now() / 1000 - 7200;
  utimesSync(join(backupDir, '.redis-20200101T000000Z.rdb.partial'), twoHoursAgo, twoHoursAgo);
  writeFileSync(join(backupDir, '.redis-20200104T000000Z.rdb.partial'), '');

  const r = box.run(box.scripts('job', { redisPort: ports.master, sentinelHosts: [IP], sentinelPort: ports.sentinel }), 'redis-backup.sh', [],
    box.env(containerEnv()));
  expect({ status: r.status, output: r.output }).toEqual({ status: 0, output: expect.any(String) });
  const made = listing().filter((f) => /^redis-\d{8}T\d{6}Z\.rdb$/.test(f) && !old.includes(f));
  expect(made).toHaveLength(1);
  expect(r.stderr).toMatch(new RegExp(`backup ok: ${made[0]}, \\d+ bytes, ${KEYS} keys, from the replica ${IP}, in \\d+s\n`));
  expect(r.stderr).toContain(`streaming a snapshot from the replica ${IP}:${ports.replica}`);
  // Checked once more here: a complete RDB with every key.
  const check = spawnSync('redis-check-rdb', [join(backupDir, made[0])], { encoding: 'utf8' });
  expect(check.status).toBe(0);
  expect(check.stdout).toContain(`${KEYS} keys read`);

  expect(listing()).toEqual([
    '.redis-20200104T000000Z.rdb.partial', ...foreign, made[0], 'redis-20200103T000000Z.rdb',
  ].sort());
  expect(r.stderr).toContain('retention: removed redis-20200102T000000Z.rdb');
  expect(r.stderr).toContain('retention: removed redis-20200101T000000Z.rdb');
  expect(r.stderr).toContain(`kept: ${made[0]} redis-20200103T000000Z.rdb`);
  expect(r.output).not.toMatch(/FAILED/);
});

it('fails with one "backup FAILED:" line and writes nothing when no Sentinel answers', async () => {
  const before = listing();
  const closed = await freePort([IP]);
  const r = box.run(box.scripts('no-sentinel', { redisPort: ports.master, sentinelHosts: [IP], sentinelPort: closed }), 'redis-backup.sh', [],
    box.env(containerEnv()));
  expect(r.status).toBe(1);
  const failed = r.output.split('\n').filter((l) => l.includes('backup FAILED:'));
  expect(failed).toHaveLength(1);
  expect(failed[0]).toMatch(new RegExp(`^\\S+Z backup FAILED: no Sentinel answered \\(${IP}\\): cannot tell the master from the replicas$`));
  expect(listing()).toEqual(before);
});

it('fails clearly when its env lacks a value', () => {
  const before = listing();
  const env = containerEnv();
  delete env.BACKUP_RETAIN;
  const r = box.run(box.scripts('no-env', { redisPort: ports.master }), 'redis-backup.sh', [], box.env(env));
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/BACKUP_RETAIN: must be set in the env of the backup container/);
  expect(listing()).toEqual(before);
});
