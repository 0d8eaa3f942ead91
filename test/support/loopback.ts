/**
 * Config-level integration harness with real binaries: Debian's redis-server, redis-sentinel and
 * redis-cli run on loopback from the RENDERED configs and scripts of a chart, with only addresses
 * (pod DNS names -> 127.0.0.x) and container paths (-> a temp dir) substituted. The entrypoint
 * scripts run under busybox sh, as on the alpine image. With `tls`, certificates made by openssl
 * (test/support/certs.ts) stand in for the mounted Secret.
 *
 * Each suite gets its own loopback addresses (`ipBase`), so suites in parallel Jest workers never meet
 * (in use: loopback 110-122, master-endpoint 160-180, exporter-metrics 141-144, loopback-tls 200-212,
 * loopback-acl 220-232).
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Duration } from 'cdk8s';
import { CertificateSource, RedisSentinelChartProps } from '../../src';
import { DeploymentSettings, PATHS, SCRIPT } from '../../src/settings';
import { RenderedFiles, renderFiles } from '../../src/shared-config';
import { TLS_DIR } from '../../src/tls';
import { ACL_DIR, SECRET_USERS } from '../../src/acl';
import { Certs, makeCerts } from './certs';
import { settingsOf } from './synth';
import { replyFields } from './shell';

export const PASSWORD = 'loopback "test" \\ pass';

/** With `acl`: the password of ACL user `user` in the loopback's Secret files (quotes and a backslash too). */
export const aclPassword = (user: string) => `${user} 'pw' "\\" ${user.length}`;

export interface LoopbackOptions {
  /** First octet of the Redis pods' 127.0.0.x addresses; the Sentinels get ipBase + 10.. */
  readonly ipBase: number;
  /** TLS (mutual or not) on every connection, with certificates made here. */
  readonly tls?: { readonly mutual: boolean };
  readonly props?: RedisSentinelChartProps;
}

export interface Instance { name: string; ip: string; port: number; dir: string; proc?: ChildProcess; log: string }

export interface Loopback {
  readonly s: DeploymentSettings;
  readonly files: RenderedFiles;
  readonly redisIps: string[];
  readonly sentinelIps: string[];
  /** The certificates (with `tls`), in the directory the configs point at. */
  certs(): Certs;
  redis(i: number): Instance;
  sentinel(i: number): Instance;
  instances(): Instance[];
  start(inst: Instance, script: string): void;
  stop(inst: Instance, signal?: NodeJS.Signals): void;
  /** redis-cli with the password (and, with TLS, the CA and client certificate); '' on any error. */
  cli(inst: Instance, ...args: string[]): string;
  /** redis-cli with exactly `extra` as connection options (no password, no TLS unless given); stdout+stderr. */
  rawCli(inst: Instance, extra: string[], ...args: string[]): string;
  waitFor<T>(what: string, probe: () => T | undefined | false, seconds?: number): Promise<T>;
  masterAddr(sentinel: Instance): string;
  role(inst: Instance): string;
  /** Field map of a Sentinel reply made of alternating field/value lines. */
  fields(lines: string[]): Record<string, string>;
  /** Runs one of the instance's scripts to the end as its container would (a probe); exit status and output. */
  runScript(inst: Instance, script: string, args: string[], env?: Record<string, string>): { status: number; output: string };
  /**
   * A pod of another kind (the backup Job) with its own copy of the scripts whose password file is
   * `authFile` (what that pod mounts at the auth path), running on `ip`.
   */
  otherPod(name: string, ip: string, authFile: string): Instance;
  /** The loopback's root directory (the Secrets' files are under it: auth/, acl/, tls/). */
  root(): string;
  /** Starts everything (call in beforeAll) and stops it (afterAll). */
  setUp(): void;
  tearDown(): void;
}

function requireBinaries(tls: boolean) {
  for (const bin of ['redis-server', 'redis-sentinel', 'redis-cli', 'busybox', 'timeout', 'sha1sum', ...(tls ? ['openssl'] : [])]) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'pipe' });
    } catch {
      throw new Error(`${bin} is not installed: run scripts/install-test-deps.sh (Debian packages redis-server redis-sentinel redis-tools busybox openssl)`);
    }
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export function loopback(o: LoopbackOptions): Loopback {
  const s = settingsOf({
    downAfter: Duration.seconds(2), failoverTimeout: Duration.seconds(10),
    ...(o.tls ? { tls: { certificate: CertificateSource.fromSecret(), mutual: o.tls.mutual } } : {}),
    ...o.props,
  });
  const files = renderFiles(s);
  const redisFqdns = [...s.redisFqdns];
  const redisIps = redisFqdns.map((_, i) => `127.0.0.${o.ipBase + i}`);
  const sentinelIps = s.sentinelFqdns.map((_, i) => `127.0.0.${o.ipBase + 10 + i}`);
  const ipOf = new Map<string, string>([
    ...redisFqdns.map((f, i) => [f, redisIps[i]] as [string, string]),
    ...s.sentinelFqdns.map((f, i) => [f, sentinelIps[i]] as [string, string]),
  ]);
  let root = '';
  let certs: Certs | undefined;
  const instances = new Map<string, Instance>();

  /** Replaces pod DNS names by loopback IPs and container paths by the instance's directories. */
  function substitute(text: string, inst: Instance, authFile = join(root, 'auth', 'password')): string {
    let out = text;
    for (const [fqdn, ip] of ipOf) out = out.split(fqdn).join(ip);
    const paths: Array<[string, string]> = [
      [PATHS.authFile, authFile],
      [PATHS.redisAclUsers, join(inst.dir, 'template', 'acl-users')],
      [PATHS.sentinelAclUsers, join(inst.dir, 'template', 'sentinel-acl-users')],
      [ACL_DIR, join(root, 'acl')],
      [PATHS.exporterAuthDir, join(inst.dir, 'exporter')],
      [PATHS.redisTemplate, join(inst.dir, 'template', 'redis.conf')],
      [PATHS.sentinelTemplate, join(inst.dir, 'template', 'sentinel.conf')],
      [PATHS.runDir, join(inst.dir, 'run')],
      [PATHS.scriptsDir, join(inst.dir, 'scripts')],
      [PATHS.data, join(inst.dir, 'data')],
      [TLS_DIR, join(root, 'tls')],
    ];
    for (const [from, to] of paths) out = out.split(from).join(to);
    return out.replace(/^bind .*$/m, `bind ${inst.ip}`);
  }

  function prepare(name: string, ip: string, port: number, authFile?: string): Instance {
    const dir = join(root, name);
    for (const d of ['template', 'run', 'scripts', 'data', 'exporter']) mkdirSync(join(dir, d), { recursive: true });
    const inst: Instance = { name, ip, port, dir, log: join(dir, 'out.log') };
    writeFileSync(join(dir, 'template', 'redis.conf'), substitute(files.redisConf, inst));
    writeFileSync(join(dir, 'template', 'sentinel.conf'), substitute(files.sentinelConf, inst));
    if (files.acl) {
      writeFileSync(join(dir, 'template', 'acl-users'), substitute(files.acl.redis, inst));
      writeFileSync(join(dir, 'template', 'sentinel-acl-users'), substitute(files.acl.sentinel, inst));
    }
    for (const [file, text] of Object.entries(files.scripts)) writeFileSync(join(dir, 'scripts', file), substitute(text, inst, authFile));
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

  const tlsArgs = () => (o.tls ? ['--tls', '--cacert', certs!.ca, '--cert', certs!.cert, '--key', certs!.key] : []);

  const lb: Loopback = {
    s, files, redisIps, sentinelIps,
    certs: () => certs!,
    redis: (i) => instances.get(`redis-${i}`)!,
    sentinel: (i) => instances.get(`sentinel-${i}`)!,
    instances: () => [...instances.values()],
    start(inst, script) {
      const out = openSync(inst.log, 'a');
      inst.proc = spawn('busybox', ['sh', join(inst.dir, 'scripts', script)], {
        env: { ...process.env, SELF_FQDN: inst.ip, PATH: `${localhostShim(inst)}:${process.env.PATH}` },
        stdio: ['ignore', out, out],
        detached: true,
      });
    },
    stop(inst, signal = 'SIGKILL') {
      if (inst.proc?.pid && inst.proc.exitCode === null) {
        try {
          process.kill(-inst.proc.pid, signal);
        } catch { /* already gone */ }
      }
    },
    runScript(inst, script, args, env = {}) {
      const r = spawnSync('busybox', ['sh', join(inst.dir, 'scripts', script), ...args], {
        env: { ...process.env, SELF_FQDN: inst.ip, PATH: `${localhostShim(inst)}:${process.env.PATH}`, ...env }, timeout: 30_000,
      });
      return { status: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
    },
    cli(inst, ...args) {
      try {
        return execFileSync('redis-cli', [...tlsArgs(), '-h', inst.ip, '-p', String(inst.port), '--raw', ...args], {
          env: { ...process.env, REDISCLI_AUTH: PASSWORD },
          timeout: 3000,
          stdio: ['ignore', 'pipe', 'pipe'],
        }).toString().trim();
      } catch {
        return '';
      }
    },
    rawCli(inst, extra, ...args) {
      try {
        return execFileSync('sh', ['-c', 'redis-cli "$@" 2>&1', 'sh', ...extra, '-h', inst.ip, '-p', String(inst.port), ...args], {
          env: { PATH: process.env.PATH }, timeout: 3000,
        }).toString().trim();
      } catch (e: any) {
        return `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() || String(e.message);
      }
    },
    async waitFor(what, probe, seconds = 30) {
      const deadline = Date.now() + seconds * 1000;
      for (;;) {
        const v = probe();
        if (v) return v;
        if (Date.now() > deadline) {
          const logs = lb.instances().map((i) => `--- ${i.name}\n${safeRead(i.log).split('\n').slice(-15).join('\n')}`).join('\n');
          throw new Error(`timed out after ${seconds}s waiting for ${what}\n${logs}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    masterAddr: (sentinel) => lb.cli(sentinel, 'SENTINEL', 'get-master-addr-by-name', s.masterName).split('\n')[0],
    role: (inst) => lb.cli(inst, 'ROLE').split('\n')[0],
    fields: replyFields,
    otherPod: (name, ip, authFile) => prepare(name, ip, 0, authFile),
    root: () => root,
    setUp() {
      requireBinaries(o.tls !== undefined);
      root = mkdtempSync(join(tmpdir(), 'redis-loopback-'));
      mkdirSync(join(root, 'auth'));
      writeFileSync(join(root, 'auth', 'password'), `${PASSWORD}\n`, { mode: 0o600 });
      if (o.tls) certs = makeCerts(join(root, 'tls'), { ips: [...redisIps, ...sentinelIps] });
      if (s.acl) {
        // The Secrets' files: one password per user of the deployment, one per application user.
        mkdirSync(join(root, 'acl', 'internal'), { recursive: true });
        for (const user of SECRET_USERS) writeFileSync(join(root, 'acl', 'internal', user), aclPassword(user), { mode: 0o600 });
        for (const u of s.acl.users) {
          mkdirSync(join(root, 'acl', 'users', u.name), { recursive: true });
          writeFileSync(join(root, 'acl', 'users', u.name, u.secretKey), aclPassword(u.name), { mode: 0o600 });
        }
      }
      redisIps.forEach((ip, i) => prepare(`redis-${i}`, ip, s.redisPort));
      sentinelIps.forEach((ip, i) => prepare(`sentinel-${i}`, ip, s.sentinelPort));
      // With ACL users, each pod's init container makes its own exporter password first.
      if (s.acl) {
        for (const inst of lb.instances()) {
          const r = lb.runScript(inst, SCRIPT.exporterCredential, [String(inst.port)]);
          if (r.status !== 0) throw new Error(`exporter-credential.sh of ${inst.name}: ${r.output}`);
        }
      }
      // Sentinels first, then every Redis pod: the Sentinels (no state) wait until every Redis pod
      // answers (fenced, empty), then monitor the bootstrap pod, which the pods then follow.
      for (let i = 0; i < sentinelIps.length; i++) lb.start(lb.sentinel(i), SCRIPT.sentinelStart);
      for (let i = 0; i < redisIps.length; i++) lb.start(lb.redis(i), SCRIPT.redisStart);
    },
    tearDown() {
      for (const inst of instances.values()) lb.stop(inst);
      if (root) rmSync(root, { recursive: true, force: true });
    },
  };
  return lb;
}

/** The tests every variant passes: bootstrap, discovery, stable ids, replication, failover, a Sentinel without state. */
export function describeBasics(lb: Loopback): void {
  const { s, redisIps, sentinelIps } = lb;
  const { cli, masterAddr, role, fields, waitFor } = lb;
  const redis = lb.redis;
  const sentinel = lb.sentinel;

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
    // Without the password nothing is served (with TLS: over TLS, the client's certificate given).
    const tls = s.tls ? ['--tls', '--cacert', lb.certs().ca, '--cert', lb.certs().cert, '--key', lb.certs().key] : [];
    expect(lb.rawCli(redis(0), tls, 'PING')).toMatch(/NOAUTH/);
    expect(lb.rawCli(sentinel(0), tls, 'PING')).toMatch(/NOAUTH/);
  });

  test('Sentinel sees every replica and Sentinel, and the quorum is reachable', async () => {
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
    lb.stop(redis(0));
    const promoted = await waitFor('a failover to a replica', () => {
      const addr = masterAddr(sentinel(0));
      return addr && addr !== redisIps[0] ? addr : undefined;
    }, 40);
    const newMaster = lb.instances().find((x) => x.ip === promoted)!;
    // Writes resume once a replica has attached to it and acknowledged (min-replicas-to-write 1):
    // until then the master rightly answers NOREPLICAS.
    await waitFor('the promoted replica to be master with a good replica', () => role(newMaster) === 'master'
      && /^min_slaves_good_slaves:[1-9]/m.test(cli(newMaster, 'INFO', 'replication')));
    expect(cli(newMaster, 'SET', 'k', 'v2')).toBe('OK');

    // The container restarts in place: the same entrypoint, no init container.
    lb.start(redis(0), SCRIPT.redisStart);
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
    lb.stop(sentinel(2));
    // Wipe its saved state: only the live peers can tell it the current master.
    rmSync(join(sentinel(2).dir, 'data', 'sentinel.conf'), { force: true });
    lb.start(sentinel(2), SCRIPT.sentinelStart);
    await waitFor('the restarted Sentinel to answer', () => cli(sentinel(2), 'PING') === 'PONG');
    expect(masterAddr(sentinel(2))).toBe(current);
    await waitFor('the restarted Sentinel to rejoin its peers', () => {
      const m = fields(cli(sentinel(2), 'SENTINEL', 'MASTER', s.masterName).split('\n'));
      return m['num-other-sentinels'] === String(s.sentinels - 1) && m['num-slaves'] === String(s.replicas);
    }, 40);
    const saved = readFileSync(join(sentinel(2).dir, 'data', 'sentinel.conf'), 'utf8');
    expect(saved).not.toContain(`sentinel monitor ${s.masterName} ${redisIps[0]} `);
  });
}
