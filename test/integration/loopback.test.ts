/**
 * Config-level integration test with real binaries: Debian's redis-server, redis-sentinel and
 * redis-cli run on loopback from the RENDERED configs and scripts of a chart, with only addresses
 * (pod DNS names -> 127.0.0.x) and container paths (-> a temp dir) substituted. The entrypoint
 * scripts run under busybox sh, as on the alpine image.
 *
 * The pod-level failover suite (network namespaces, NetworkPolicies, preStop) is in test/e2e.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Duration } from 'cdk8s';
import { renderFiles } from '../../src/shared-config';
import { settingsOf } from '../support/synth';
import { PATHS, SCRIPT } from '../../src/settings';

const PASSWORD = 'loopback "test" \\ pass';
const s = settingsOf({ downAfter: Duration.seconds(2), failoverTimeout: Duration.seconds(10) });
const files = renderFiles(s);

const redisFqdns = [s.bootstrapMasterFqdn, ...Array.from({ length: s.replicas }, (_, i) => `${s.names.replica}-${i}.${s.names.replicaHeadless}.${s.namespace}.svc.${s.clusterDomain}`)];
const redisIps = redisFqdns.map((_, i) => `127.0.0.${110 + i}`);
const sentinelIps = s.sentinelFqdns.map((_, i) => `127.0.0.${120 + i}`);
const ipOf = new Map<string, string>([...redisFqdns.map((f, i) => [f, redisIps[i]] as [string, string]), ...s.sentinelFqdns.map((f, i) => [f, sentinelIps[i]] as [string, string])]);

function requireBinaries() {
  for (const bin of ['redis-server', 'redis-sentinel', 'redis-cli', 'busybox', 'timeout', 'sha1sum']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'pipe' });
    } catch {
      throw new Error(`${bin} is not installed: run scripts/install-test-deps.sh (Debian packages redis-server redis-sentinel redis-tools busybox)`);
    }
  }
}

interface Instance { name: string; ip: string; port: number; dir: string; proc?: ChildProcess; log: string }

let root: string;
const instances = new Map<string, Instance>();

/** Replaces pod DNS names by loopback IPs and container paths by the instance's directories. */
function substitute(text: string, inst: Instance): string {
  let out = text;
  for (const [fqdn, ip] of ipOf) out = out.split(fqdn).join(ip);
  const paths: Array<[string, string]> = [
    [PATHS.authFile, join(root, 'auth', 'password')],
    [PATHS.redisTemplate, join(inst.dir, 'template', 'redis.conf')],
    [PATHS.sentinelTemplate, join(inst.dir, 'template', 'sentinel.conf')],
    [PATHS.runDir, join(inst.dir, 'run')],
    [PATHS.scriptsDir, join(inst.dir, 'scripts')],
    [PATHS.data, join(inst.dir, 'data')],
  ];
  for (const [from, to] of paths) out = out.split(from).join(to);
  return out.replace(/^bind .*$/m, `bind ${inst.ip}`);
}

function prepare(name: string, ip: string, port: number): Instance {
  const dir = join(root, name);
  for (const d of ['template', 'run', 'scripts', 'data']) mkdirSync(join(dir, d), { recursive: true });
  const inst: Instance = { name, ip, port, dir, log: join(dir, 'out.log') };
  writeFileSync(join(dir, 'template', 'redis.conf'), substitute(files.redisConf, inst));
  writeFileSync(join(dir, 'template', 'sentinel.conf'), substitute(files.sentinelConf, inst));
  for (const [file, text] of Object.entries(files.scripts)) writeFileSync(join(dir, 'scripts', file), substitute(text, inst));
  instances.set(name, inst);
  return inst;
}

/**
 * A directory holding a redis-cli that talks to the instance's own address when no -h is given:
 * each pod has its own localhost (the Redis start script watches its local Redis that way).
 */
function localhostShim(inst: Instance): string {
  const real = execFileSync('sh', ['-c', 'command -v redis-cli']).toString().trim();
  const d = join(inst.dir, 'shim');
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'redis-cli'), `#!/bin/sh\nfor a in "$@"; do [ "$a" = -h ] && exec ${real} "$@"; done\nexec ${real} -h ${inst.ip} "$@"\n`, { mode: 0o755 });
  return d;
}

/** Runs the instance's entrypoint script under busybox sh, as the container would. */
function start(inst: Instance, script: string) {
  const out = openSync(inst.log, 'a');
  inst.proc = spawn('busybox', ['sh', join(inst.dir, 'scripts', script)], {
    env: { ...process.env, SELF_FQDN: inst.ip, PATH: `${localhostShim(inst)}:${process.env.PATH}` },
    stdio: ['ignore', out, out],
    detached: true,
  });
}

function stop(inst: Instance, signal: NodeJS.Signals = 'SIGKILL') {
  if (inst.proc?.pid && inst.proc.exitCode === null) {
    try {
      process.kill(-inst.proc.pid, signal);
    } catch { /* already gone */ }
  }
}

function cli(inst: Instance, ...args: string[]): string {
  try {
    return execFileSync('redis-cli', ['-h', inst.ip, '-p', String(inst.port), '--raw', ...args], {
      env: { ...process.env, REDISCLI_AUTH: PASSWORD },
      timeout: 3000,
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString().trim();
  } catch {
    return '';
  }
}

async function waitFor<T>(what: string, probe: () => T | undefined | false, seconds = 30): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) {
      const logs = [...instances.values()].map((i) => `--- ${i.name}\n${safeRead(i.log).split('\n').slice(-15).join('\n')}`).join('\n');
      throw new Error(`timed out after ${seconds}s waiting for ${what}\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Field map of a Sentinel reply made of alternating field/value lines. */
function fields(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]] = lines[i + 1];
  return out;
}

const masterAddr = (sentinel: Instance) => cli(sentinel, 'SENTINEL', 'get-master-addr-by-name', s.masterName).split('\n')[0];
const role = (inst: Instance) => cli(inst, 'ROLE').split('\n')[0];
const redis = (i: number) => instances.get(`redis-${i}`)!;
const sentinel = (i: number) => instances.get(`sentinel-${i}`)!;

beforeAll(async () => {
  requireBinaries();
  root = mkdtempSync(join(tmpdir(), 'redis-loopback-'));
  mkdirSync(join(root, 'auth'));
  writeFileSync(join(root, 'auth', 'password'), `${PASSWORD}\n`, { mode: 0o600 });
  redisIps.forEach((ip, i) => prepare(`redis-${i}`, ip, s.redisPort));
  sentinelIps.forEach((ip, i) => prepare(`sentinel-${i}`, ip, s.sentinelPort));
  // Sentinels first, then every Redis pod: the Sentinels (no state) wait until every Redis pod
  // answers (fenced, empty), then monitor the bootstrap pod, which the pods then follow.
  for (let i = 0; i < sentinelIps.length; i++) start(sentinel(i), SCRIPT.sentinelStart);
  for (let i = 0; i < redisIps.length; i++) start(redis(i), SCRIPT.redisStart);
});

afterAll(() => {
  for (const inst of instances.values()) stop(inst);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('rendered configs and scripts with real redis-server and redis-sentinel', () => {
  test('every Sentinel accepts its config and names the bootstrap master by address', async () => {
    for (let i = 0; i < sentinelIps.length; i++) {
      await waitFor(`sentinel-${i} to name the bootstrap master`, () => masterAddr(sentinel(i)) === redisIps[0]);
    }
  });

  test('the bootstrap pod starts as master and the others as its replicas, with the password from the file', async () => {
    await waitFor('redis-0 to be master', () => role(redis(0)) === 'master');
    for (let i = 1; i < redisIps.length; i++) {
      await waitFor(`redis-${i} to replicate redis-0`, () => {
        const info = cli(redis(i), 'INFO', 'replication');
        return info.includes('role:slave') && info.includes(`master_host:${redisIps[0]}`) && info.includes('master_link_status:up');
      });
    }
    // Without the password nothing is served.
    const noAuth = execFileSync('redis-cli', ['-h', redisIps[0], '-p', String(s.redisPort), 'PING'], { env: { PATH: process.env.PATH } }).toString();
    expect(noAuth).toMatch(/NOAUTH/);
    const noAuthSentinel = execFileSync('redis-cli', ['-h', sentinelIps[0], '-p', String(s.sentinelPort), 'PING'], { env: { PATH: process.env.PATH } }).toString();
    expect(noAuthSentinel).toMatch(/NOAUTH/);
  });

  test('Sentinel sees 2 replicas and 3 Sentinels, and the quorum is reachable', async () => {
    for (let i = 0; i < sentinelIps.length; i++) {
      await waitFor(`sentinel-${i} to see every replica and Sentinel`, () => {
        const m = fields(cli(sentinel(i), 'SENTINEL', 'MASTER', s.masterName).split('\n'));
        return m['num-slaves'] === String(s.replicas) && m['num-other-sentinels'] === String(s.sentinels - 1);
      }, 40);
      expect(cli(sentinel(i), 'SENTINEL', 'CKQUORUM', s.masterName)).toMatch(/^OK 3 usable Sentinels/);
    }
    const replicas = cli(sentinel(0), 'SENTINEL', 'REPLICAS', s.masterName);
    for (const ip of redisIps.slice(1)) expect(replicas).toContain(ip);
  });

  test('each Sentinel keeps the stable myid derived from its name', () => {
    for (let i = 0; i < sentinelIps.length; i++) {
      const expected = execFileSync('sh', ['-c', `printf %s '${sentinelIps[i]}' | sha1sum | cut -c1-40`]).toString().trim();
      expect(cli(sentinel(i), 'SENTINEL', 'MYID')).toBe(expected);
    }
  });

  test('min-replicas-to-write is in force and writes replicate', async () => {
    expect(cli(redis(0), 'CONFIG', 'GET', 'min-replicas-to-write')).toBe('min-replicas-to-write\n1');
    expect(cli(redis(0), 'SET', 'k', 'v1')).toBe('OK');
    await waitFor('the write to reach the replicas', () => redisIps.slice(1).every((_, i) => cli(redis(i + 1), 'GET', 'k') === 'v1'));
  });

  test('after the master is killed and a replica promoted, the old master restarts as a replica (roles are runtime state)', async () => {
    stop(redis(0));
    const promoted = await waitFor('a failover to a replica', () => {
      const addr = masterAddr(sentinel(0));
      return addr && addr !== redisIps[0] ? addr : undefined;
    }, 40);
    const newMaster = [...instances.values()].find((x) => x.ip === promoted)!;
    await waitFor('the promoted replica to be master', () => role(newMaster) === 'master');
    expect(cli(newMaster, 'SET', 'k', 'v2')).toBe('OK');

    // The container restarts in place: the same entrypoint, no init container.
    start(redis(0), SCRIPT.redisStart);
    await waitFor('the old master to come back as a replica of the new one', () => {
      const info = cli(redis(0), 'INFO', 'replication');
      return info.includes('role:slave') && info.includes(`master_host:${promoted}`) && info.includes('master_link_status:up');
    }, 40);
    expect(cli(redis(0), 'GET', 'k')).toBe('v2');
    expect(cli(redis(0), 'SET', 'k', 'stale')).toMatch(/READONLY/);
    for (let i = 0; i < sentinelIps.length; i++) expect(masterAddr(sentinel(i))).toBe(promoted);
  });

  test('a restarted Sentinel follows the current master, not the bootstrap master of its template', async () => {
    const current = masterAddr(sentinel(0));
    expect(current).not.toBe(redisIps[0]);
    stop(sentinel(2));
    // Wipe its saved state: only the live peers can tell it the current master.
    rmSync(join(sentinel(2).dir, 'data', 'sentinel.conf'), { force: true });
    start(sentinel(2), SCRIPT.sentinelStart);
    await waitFor('the restarted Sentinel to answer', () => cli(sentinel(2), 'PING') === 'PONG');
    expect(masterAddr(sentinel(2))).toBe(current);
    await waitFor('the restarted Sentinel to rejoin its peers', () => {
      const m = fields(cli(sentinel(2), 'SENTINEL', 'MASTER', s.masterName).split('\n'));
      return m['num-other-sentinels'] === String(s.sentinels - 1) && m['num-slaves'] === String(s.replicas);
    }, 40);
    const saved = readFileSync(join(sentinel(2).dir, 'data', 'sentinel.conf'), 'utf8');
    expect(saved).not.toContain(`sentinel monitor ${s.masterName} ${redisIps[0]} `);
  });
});
