/**
 * s3-upload.sh and s3-fetch.sh run for real (busybox sh and Debian's rclone: the e2e harness's
 * rclone image) against a local S3-compatible server (s3rver), with the env the chart gives their
 * containers (s3Env, expanded as the kubelet does). A small proxy in front of s3rver fails chosen
 * requests, so an upload can fail half-way.
 */
import { createHash } from 'crypto';
import { spawnSync } from 'child_process';
import { readFileSync, readdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { backupEnv, s3Env, s3UploadEnv } from '../../src/config/scripts';
import { Images } from '../e2e/harness/images';
import { expand } from '../e2e/harness/env';
import { Sandbox, cli, freePort, safeRead, waitFor } from '../support/shell';

const IP = '127.0.0.1';
const BUCKET = 'backups';
const PREFIX = 'redis/prod';
const OTHER = ['redis/prod/notes.txt', 'redis/prod/redis-manual.rdb', 'redis/prod/old/redis-20200101T000000Z.rdb', 'redis/redis-20200101T000000Z.rdb'];
let box: Sandbox;
let rcloneBin: string;
let failFile: string;
let proxyPort = 0;
let scripts: string;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The container's env: rclone's remote through the proxy, no credentials beyond s3rver's. */
function env(extra: Array<{ name: string; value?: string }>, work: string): Record<string, string> {
  const vars = [
    ...extra,
    ...s3Env({ bucket: BUCKET, prefix: PREFIX, region: 'us-east-1', endpoint: `http://${IP}:${proxyPort}`, forcePathStyle: true, workDir: work }),
    { name: 'AWS_ACCESS_KEY_ID', value: 'S3RVER' }, { name: 'AWS_SECRET_ACCESS_KEY', value: 'S3RVER' },
  ];
  return { PATH: rcloneBin, ...Object.fromEntries(vars.map((v) => [v.name, expand(v.value!, () => undefined)])) };
}

/** rclone run as the test (through the proxy, so injected failures apply to it too: clear them first). */
function rclone(args: string[], input?: Buffer): Buffer {
  const r = spawnSync('rclone', ['-q', ...args], { env: env([], box.dir('test-work')), input, timeout: 30_000 });
  if (r.status !== 0) throw new Error(`rclone ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Every key in the bucket. */
const keys = () => rclone(['lsf', '-R', '--files-only', `s3:${BUCKET}`]).toString().split('\n').filter(Boolean).sort();
const object = (key: string) => rclone(['cat', `s3:${BUCKET}/${key}`]);
const metadata = (key: string) => JSON.parse(rclone(['lsjson', '-M', `s3:${BUCKET}/${key}`]).toString())[0]?.Metadata ?? {};

/** An RDB of `keys` keys written by a real redis-server. */
async function makeRdb(name: string, n: number): Promise<Buffer> {
  const port = await freePort([IP]);
  box.redisServer(name, IP, port);
  await waitFor(`${name} to answer`, () => cli(IP, port, 'PING') === 'PONG');
  for (let i = 0; i < n; i++) cli(IP, port, 'SET', `k${i}`, `${name}-${i}`);
  expect(cli(IP, port, 'SAVE')).toBe('OK');
  cli(IP, port, 'SHUTDOWN', 'NOSAVE');
  return readFileSync(join(box.root, name, 'dump.rdb'));
}

/** Runs s3-upload.sh for the backup `file` (as the backup init container leaves it). */
function upload(dir: string, file: string, retain = 2) {
  const work = box.dir(join(dir, 'work'));
  writeFileSync(join(work, 'backup-name'), `${file}\n`);
  const e = env([...backupEnv({ backupDir: box.dir(join(dir, 'backup')), filePrefix: 'redis', retention: 7, staleMinutes: 61, workDir: work }), ...s3UploadEnv(retain)], work);
  return box.run(scripts, 's3-upload.sh', [], e, 60_000);
}

beforeAll(async () => {
  box = new Sandbox();
  rcloneBin = new Images(join(box.root, 'images')).resolve('rclone/rclone:1.68.2').binDir;
  scripts = box.scripts('pod', { redisPort: 6379 });
  failFile = join(box.root, 'fail');
  const s3Port = await freePort([IP]);
  proxyPort = await freePort([IP]);
  const log = join(box.root, 's3-server.log');
  box.spawn(process.execPath, [join(__dirname, '..', 'support', 's3-server.js'), box.dir('s3'), IP, String(s3Port), String(proxyPort), BUCKET, failFile, require.resolve('s3rver')], { PATH: process.env.PATH! }, log);
  await waitFor('s3-server.js', () => safeRead(log).includes('ready'), 20, [log]);
  // Objects the chart did not write: retention must leave them.
  for (const k of OTHER) rclone(['rcat', `s3:${BUCKET}/${k}`], Buffer.from('not ours'));
});

afterAll(() => box?.stopAll());

/** Makes the proxy fail server-side copies, every PUT, or nothing. */
const failNext = (mode: 'copy' | 'put' | 'none') => writeFileSync(failFile, mode);

describe('s3-upload.sh', () => {
  const files = ['redis-20260101T020000Z.rdb', 'redis-20260102T020000Z.rdb', 'redis-20260103T020000Z.rdb'];
  let rdb: Buffer;

  beforeAll(async () => {
    rdb = await makeRdb('source', 100);
    for (const f of files) writeFileSync(join(box.dir('up/backup'), f), rdb);
  });
  beforeEach(() => failNext('none'));

  test('uploads the verified snapshot under its backup name, SHA-256 checked and recorded', () => {
    const r = upload('up', files[0]);
    expect({ status: r.status, output: r.output }).toEqual({ status: 0, output: expect.stringContaining(`upload ok: s3:${BUCKET}/${PREFIX}/${files[0]}, ${rdb.length} bytes, sha256 ${sha256(rdb)}`) });
    expect(keys()).toEqual([...OTHER, `${PREFIX}/${files[0]}`].sort());
    expect(sha256(object(`${PREFIX}/${files[0]}`))).toBe(sha256(rdb));
    expect(metadata(`${PREFIX}/${files[0]}`).sha256).toBe(sha256(rdb));
  });

  test('retention keeps the newest N objects named like backups, and touches nothing else', () => {
    for (const f of files.slice(1)) {
      const r = upload('up', f);
      expect({ f, status: r.status }).toEqual({ f, status: 0 });
    }
    expect(keys()).toEqual([...OTHER, `${PREFIX}/${files[1]}`, `${PREFIX}/${files[2]}`].sort());
  });

  test('fails when the rename on the server fails half-way: one "upload FAILED:" line, no object left', () => {
    const before = keys();
    const file = 'redis-20260104T020000Z.rdb';
    writeFileSync(join(box.dir('up/backup'), file), rdb);
    // The partial object is uploaded and read back; the server-side copy to the backup name fails.
    failNext('copy');
    const r = upload('up', file);
    failNext('none');
    const failed = r.output.split('\n').filter((l) => l.includes('FAILED'));
    expect({ status: r.status, failed }).toEqual({
      status: 1, failed: [expect.stringMatching(new RegExp(`upload FAILED: renaming s3:${BUCKET}/${PREFIX}/\\.${file.replace(/\./g, '\\.')}\\.partial to ${file.replace(/\./g, '\\.')} on the server failed: .*InternalError`))],
    });
    expect(keys()).toEqual(before);
  });

  test('fails when the upload itself fails: one line, no object left', () => {
    const before = keys();
    const file = 'redis-20260105T020000Z.rdb';
    writeFileSync(join(box.dir('up/backup'), file), rdb);
    failNext('put');
    const r = upload('up', file);
    failNext('none');
    const failed = r.output.split('\n').filter((l) => l.includes('FAILED'));
    expect({ status: r.status, failed }).toEqual({ status: 1, failed: [expect.stringContaining(`upload FAILED: copying ${file} to s3:${BUCKET}/${PREFIX}/.${file}.partial failed:`)] });
    expect(keys()).toEqual(before);
  });
});

describe('s3-fetch.sh', () => {
  /** Runs s3-fetch.sh for a pod whose data volume is `data`. */
  function fetch(name: string, file = 'latest') {
    const data = box.dir(join(name, 'data'));
    const work = box.dir(join(name, 'work'));
    const e = env([
      { name: 'RESTORE_FROM', value: file }, { name: 'RESTORE_DIR', value: join(data, '.restore-source') },
      { name: 'BACKUP_PREFIX', value: 'redis' }, { name: 'DATA_DIR', value: data }, { name: 'WORK_DIR', value: work },
    ], work);
    return { data, run: () => box.run(scripts, 's3-fetch.sh', [], e, 60_000) };
  }

  test('downloads the newest backup object into the restore directory, SHA-256 as uploaded', () => {
    const f = fetch('fetch-latest');
    const r = f.run();
    expect({ status: r.status, output: r.output }).toEqual({ status: 0, output: expect.stringMatching(/restore-fetch: s3:backups\/redis\/prod\/redis-20260103T020000Z\.rdb, \d+ bytes, sha256 [0-9a-f]{64} \(as uploaded\)/) });
    expect(readdirSync(join(f.data, '.restore-source'))).toEqual(['redis-20260103T020000Z.rdb']);
  });

  test('fetches nothing for a volume that holds Redis data', () => {
    const f = fetch('fetch-data');
    writeFileSync(join(f.data, 'dump.rdb'), 'REDIS0010');
    const r = f.run();
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('nothing to fetch');
    expect(readdirSync(f.data)).toEqual(['dump.rdb']);
  });

  test('fails when the object does not exist, naming the newest backups', () => {
    const r = fetch('fetch-missing', 'redis-20240101T020000Z.rdb').run();
    const failed = r.output.split('\n').filter((l) => l.includes('FAILED'));
    expect({ status: r.status, failed }).toEqual({ status: 1, failed: [expect.stringContaining(
      'restore FAILED: s3:backups/redis/prod/redis-20240101T020000Z.rdb does not exist; the newest backups there: redis-20260103T020000Z.rdb redis-20260102T020000Z.rdb')] });
  });

  test('fails when the object does not match the SHA-256 recorded at upload', () => {
    const key = `${PREFIX}/redis-20260102T020000Z.rdb`;
    const recorded = metadata(key).sha256;
    rclone(['rcat', '-M', '--metadata-set', `sha256=${recorded}`, `s3:${BUCKET}/${key}`], Buffer.from('tampered'));
    const f = fetch('fetch-tampered', 'redis-20260102T020000Z.rdb');
    const r = f.run();
    const failed = r.output.split('\n').filter((l) => l.includes('FAILED'));
    expect({ status: r.status, failed }).toEqual({ status: 1, failed: [expect.stringContaining(`restore FAILED: s3:${BUCKET}/${key} has SHA-256 ${sha256(Buffer.from('tampered'))}, not ${recorded} as uploaded`)] });
  });
});
