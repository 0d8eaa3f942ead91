/**
 * Runs the chart's shell scripts as a container would, on loopback, without root: each "pod" is a
 * directory holding the shipped scripts (the embedded texts) and a constants.sh rendered for it;
 * scripts run under busybox `sh` with PATH set to the e2e harness's redis image (busybox applets
 * plus Debian's redis-server, redis-sentinel, redis-cli, redis-check-rdb), and the real servers
 * listen on 127.0.x.y at free ports. Every process started here is killed by `stopAll`.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { Socket, connect, createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { ScriptConstantsOptions, renderScriptConstants } from '../../src/config/scripts';
import { SHELL_FILES } from '../../src/scripts/embedded.generated';
import { Images } from '../e2e/harness/images';

export const PASSWORD = 'p"a ss\\w\'rd';

/** Fails naming the missing binaries (never skips). */
export function requireBinaries() {
  const missing = ['busybox', 'redis-server', 'redis-sentinel', 'redis-cli', 'redis-check-rdb'].filter(
    (b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
  if (missing.length) throw new Error(`${missing.join(', ')} not installed: run scripts/install-test-deps.sh (Debian: busybox redis-server redis-sentinel redis-tools)`);
}

/** A temp root for one test file: the image's bin dir, a password file, one directory per pod. */
export class Sandbox {
  readonly root = mkdtempSync(join(tmpdir(), 'rs-scripts-'));
  /** The redis image's PATH (busybox applets and the redis binaries). */
  readonly bin: string;
  readonly authFile: string;
  private readonly procs: ChildProcess[] = [];

  constructor() {
    requireBinaries();
    this.bin = new Images(join(this.root, 'images')).resolve('redis:7.2.11-alpine').binDir;
    this.authFile = join(this.root, 'password');
    writeFileSync(this.authFile, `${PASSWORD}\n`, { mode: 0o600 });
  }

  /** A fresh directory under the root. */
  dir(name: string): string {
    const d = join(this.root, name);
    mkdirSync(d, { recursive: true });
    return d;
  }

  /**
   * A pod's scripts directory: every shipped file and a constants.sh from `constants` (defaults:
   * auth on, the given Redis port, Sentinels that nobody answers for, short waits).
   */
  scripts(name: string, constants: Partial<ScriptConstantsOptions> & { redisPort: number }): string {
    const d = this.dir(join(name, 'scripts'));
    for (const [file, text] of Object.entries(SHELL_FILES)) writeFileSync(join(d, file), text);
    writeFileSync(join(d, 'constants.sh'), renderScriptConstants({
      masterName: 'mymaster',
      sentinelHosts: ['127.0.0.1'],
      sentinelPort: 1, // nothing listens there: no Sentinel answers
      redisHosts: ['127.0.0.1'],
      authFile: this.authFile,
      cliTimeoutSeconds: 3, // as the chart (CLI_TIMEOUT_SECONDS)
      bootstrapMasterHost: '127.0.0.1',
      redisTemplateFile: join(this.root, name, 'redis.conf.template'),
      redisConfigFile: join(this.root, name, 'redis.conf'),
      sentinelTemplateFile: join(this.root, name, 'sentinel.conf.template'),
      sentinelConfigFile: join(this.root, name, 'sentinel.conf'),
      sentinelWaitSeconds: 0,
      resolveWaitSeconds: 0,
      failoverWaitSeconds: 5,
      rollWaitSeconds: 0,
      rollDownWaitSeconds: 0,
      ...constants,
    }));
    return d;
  }

  /** A directory of stub commands put before the image on PATH. */
  stubs(name: string, commands: Record<string, string>): string {
    const d = this.dir(name);
    for (const [cmd, body] of Object.entries(commands)) {
      writeFileSync(join(d, cmd), `#!/bin/sh\n${body}\n`);
      chmodSync(join(d, cmd), 0o755);
    }
    return d;
  }

  /** The container env: exactly PATH plus `env` (as `env -i` in the harness). */
  env(extra: Record<string, string> = {}, stubDir?: string): Record<string, string> {
    return { PATH: stubDir ? `${stubDir}:${this.bin}` : this.bin, ...extra };
  }

  /** Runs `sh <dir>/<script> args` to its end (busybox sh, as on alpine). */
  run(scriptsDir: string, script: string, args: string[] = [], env: Record<string, string> = this.env(), timeoutMs = 15_000): ScriptRun {
    const r = spawnSync('busybox', ['sh', join(scriptsDir, script), ...args], { env, encoding: 'utf8', timeout: timeoutMs });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, output: r.stdout + r.stderr };
  }

  /** Starts `sh <dir>/<script>` in the background (an entrypoint that execs a server). */
  start(scriptsDir: string, script: string, env: Record<string, string>, log: string): ChildProcess {
    return this.spawn('busybox', ['sh', join(scriptsDir, script)], env, log);
  }

  /** Starts a server process in its own process group, output to `log`. */
  spawn(cmd: string, args: string[], env: Record<string, string>, log: string): ChildProcess {
    writeFileSync(log, '');
    const fd = openSync(log, 'a');
    const p = spawn(cmd, args, { env, stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    this.procs.push(p);
    return p;
  }

  /** Starts a real redis-server (auth on) on ip:port from a minimal config; returns its config path. */
  redisServer(name: string, ip: string, port: number, extra: string[] = []): string {
    const d = this.dir(name);
    const conf = join(d, 'server.conf');
    writeFileSync(conf, [...redisTemplate(ip, port, d), `requirepass "${confEscape(PASSWORD)}"`, `masterauth "${confEscape(PASSWORD)}"`, ...extra, ''].join('\n'));
    this.spawn('redis-server', [conf], this.env(), join(d, 'server.log'));
    return conf;
  }

  /** Starts a real redis-sentinel (auth on) monitoring `master`. */
  sentinel(name: string, ip: string, port: number, master: { host: string; port: number }, extra: string[] = []): void {
    const d = this.dir(name);
    const conf = join(d, 'sentinel.conf');
    const pw = `"${confEscape(PASSWORD)}"`;
    writeFileSync(conf, [
      `port ${port}`, `bind ${ip}`, `dir ${d}`, 'protected-mode no', `sentinel announce-ip ${ip}`,
      `requirepass ${pw}`, `sentinel monitor mymaster ${master.host} ${master.port} 1`, `sentinel auth-pass mymaster ${pw}`,
      // Long enough that an unreachable test master is never failed over during a test.
      'sentinel down-after-milliseconds mymaster 60000', ...extra, '',
    ].join('\n'));
    this.spawn('redis-sentinel', [conf], this.env(), join(d, 'sentinel.log'));
  }

  /** Kills every process started here (their whole process groups) and removes the root. */
  stopAll() {
    for (const p of this.procs) {
      if (p.pid && p.exitCode === null && p.signalCode === null) {
        try {
          process.kill(-p.pid, 'SIGKILL');
        } catch { /* gone */ }
      }
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

export interface ScriptRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly output: string;
}

/** A Redis config string body (inside double quotes). */
export function confEscape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/** The lines of a minimal redis.conf for a test server on ip:port with its data in `dir`. */
export function redisTemplate(ip: string, port: number, dir: string): string[] {
  return [`port ${port}`, `bind ${ip}`, `dir ${dir}`, 'protected-mode no', 'save ""', 'appendonly no', 'repl-diskless-sync-delay 0'];
}

/** redis-cli against ip:port with the test password; '' when it cannot connect. */
export function cli(ip: string, port: number, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-h', ip, '-p', String(port), '--raw', ...args], {
    env: { PATH: process.env.PATH, REDISCLI_AUTH: PASSWORD }, encoding: 'utf8', timeout: 3000,
  });
  return (r.stdout ?? '').trim();
}

/**
 * Waits until `probe` returns a truthy value; throws naming `what` (and the tails of `logs`) after
 * `seconds`: a bound for a loaded machine, not the expected time (a few hundred ms here).
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | '' | Promise<T | undefined | false | ''>, seconds = 20, logs: string[] = []): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    // Awaited: an async probe's Promise is not its answer.
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) {
      const tails = logs.map((l) => `--- ${l}\n${safeRead(l).split('\n').slice(-20).join('\n')}`).join('\n');
      throw new Error(`timed out after ${seconds}s waiting for ${what}\n${tails}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A flat field/value reply (redis-cli --raw, one line each: SENTINEL MASTER, one SENTINEL REPLICAS entry) as a record. */
export function replyFields(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]] = lines[i + 1];
  return out;
}

export function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** A TCP port free on every one of `ips` (loopback addresses). */
export async function freePort(ips: string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await listenOnce(ips[0], 0);
    let free = true;
    for (const ip of ips.slice(1)) {
      if (await listenOnce(ip, port).then(() => false, () => true)) free = false;
    }
    if (free) return port;
  }
  throw new Error(`no port free on every one of ${ips.join(', ')}`);
}

function listenOnce(ip: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, ip, () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
}

/** Sources a constants.sh text in busybox sh and returns every variable it sets. */
export function sourceConstants(text: string, names: readonly string[]): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'rs-constants-'));
  try {
    writeFileSync(join(dir, 'constants.sh'), text);
    const script = `set -eu; . "$1/constants.sh"; ${names.map((n) => `printf '%s\\0' "$${n}"`).join('; ')}`;
    const r = spawnSync('busybox', ['sh', '-c', script, 'sh', dir], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sourcing constants.sh failed (exit ${r.status}): ${r.stderr}\n${text}`);
    const values = r.stdout.split('\0').slice(0, names.length);
    return Object.fromEntries(names.map((n, i) => [n, values[i]]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Holds one authenticated connection to ip:port named `name` (CLIENT SETNAME), as the Redis start
 * script's watcher names a connection after the pod's facts; destroy the socket to drop it.
 */
export function holdClientName(ip: string, port: number, name: string): Socket {
  const resp = (...a: string[]) => `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;
  const sock = connect(port, ip, () => sock.write(resp('AUTH', PASSWORD) + resp('CLIENT', 'SETNAME', name)));
  sock.on('error', () => undefined);
  return sock;
}
