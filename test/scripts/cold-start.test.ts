/**
 * Roles at start (redis-start.sh, sentinel-start.sh, lib.sh), run for real on loopback: busybox sh,
 * the redis image's PATH, real redis-server and redis-sentinel, auth on, AOF on as the chart
 * renders it. Each "pod" is a loopback address; all share one Redis port (as pods do), and a
 * redis-cli shim gives each pod its own "localhost" (a call without -h goes to the pod's address).
 *
 * What users rely on: a Redis pod that no Sentinel answers never becomes master by itself (it runs
 * fenced: read-only, never promoted), and a Sentinel without state monitors the pod that holds the
 * newest data, waiting while a pod that may hold it does not answer.
 */
import { existsSync, readFileSync, writeFileSync } from 'fs';
import { Socket } from 'net';
import { join } from 'path';
import { renderSentinelConf } from '../../src/config/sentinel-conf';
import { Sandbox, cli, freePort, holdClientName, redisTemplate, safeRead, waitFor } from '../support/shell';

const P = ['127.0.5.1', '127.0.5.2', '127.0.5.3'];
const S = ['127.0.5.9', '127.0.5.10'];
let box: Sandbox;
let port: number;
let sentinelPort: number;

beforeAll(async () => {
  box = new Sandbox();
  port = await freePort(P);
  sentinelPort = await freePort(S);
});

afterAll(() => box?.stopAll());

const constants = (extra: Record<string, unknown> = {}) => ({
  redisPort: port, bootstrapMasterHost: P[0], redisHosts: P, sentinelHosts: S, sentinelPort, sentinelWaitSeconds: 2, ...extra,
});

/** PATH with a redis-cli that talks to `ip` when no -h is given (the pod's own localhost). */
function shim(name: string, ip: string): string {
  return box.stubs(`${name}-shim`, {
    'redis-cli': `for a in "$@"; do [ "$a" = -h ] && exec "${box.bin}/redis-cli" "$@"; done\nexec "${box.bin}/redis-cli" -h ${ip} "$@"`,
  });
}

/** Starts redis-start.sh as Redis pod `name` on `ip`, its data in <root>/<name>/data (kept across starts). */
function startRedisPod(name: string, ip: string, extra: Record<string, unknown> = {}): string {
  const d = box.scripts(name, constants(extra));
  const data = box.dir(join(name, 'data'));
  writeFileSync(join(box.root, name, 'redis.conf.template'),
    [...redisTemplate(ip, port, data).filter((l) => !l.startsWith('appendonly')), 'appendonly yes', 'appendfsync always', ''].join('\n'));
  const log = join(box.root, name, `out-${Date.now()}.log`);
  box.start(d, 'redis-start.sh', box.env({ SELF_FQDN: ip }, shim(name, ip)), log);
  return log;
}

/** Starts sentinel-start.sh as Sentinel `name` on `ip`; `saved` is its saved config, if any. */
function startSentinelPod(name: string, ip: string, saved?: string): string {
  const d = box.scripts(name, constants());
  const conf = renderSentinelConf({
    port: sentinelPort, dataDir: box.dir(join(name, 'data')), masterName: 'mymaster', masterHost: P[0], masterPort: port, quorum: 1,
    downAfterMilliseconds: 60_000, failoverTimeoutMilliseconds: 10_000, parallelSyncs: 1,
  });
  writeFileSync(join(box.root, name, 'sentinel.conf.template'), conf.replace(/^bind .*$/m, `bind ${ip}`));
  if (saved !== undefined) writeFileSync(join(box.root, name, 'sentinel.conf'), saved);
  const log = join(box.root, name, `out-${Date.now()}.log`);
  box.start(d, 'sentinel-start.sh', box.env({ SELF_FQDN: ip }, shim(name, ip)), log);
  return log;
}

const info = (ip: string) => cli(ip, port, 'INFO', 'replication');
const field = (ip: string, key: string) => (info(ip).match(new RegExp(`^${key}:(.*)$`, 'm')) ?? [])[1]?.trim();
/** `SENTINEL REPLICAS` (redis-cli's raw output: one line per field name and value) as one record per replica. */
function sentinelReplicas(raw: string): Array<Record<string, string>> {
  const lines = raw.split('\n');
  const out: Array<Record<string, string>> = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    if (lines[i] === 'name') out.push({});
    if (out.length) out[out.length - 1][lines[i]] = lines[i + 1];
  }
  return out;
}
const fenced = (ip: string) => field(ip, 'master_host') === '127.0.0.1' && field(ip, 'master_port') === '1';
const facts = (name: string) => safeRead(join(box.root, name, 'data', 'role.facts')).trim();
const stop = (ip: string) => cli(ip, port, 'SHUTDOWN', 'NOSAVE');
const stopSentinel = (ip: string) => cli(ip, sentinelPort, 'SHUTDOWN');
const named = (ip: string) => cli(ip, port, 'CLIENT', 'LIST').match(/name=(rs-facts:\S+)/)?.[1];

describe('a new install, no Sentinel up yet', () => {
  const logs: string[] = [];

  it('every Redis pod starts fenced: read-only, replica-priority 0, unready, saying why', async () => {
    P.forEach((ip, i) => logs.push(startRedisPod(`r${i}`, ip)));
    for (const ip of P) await waitFor(`${ip} fenced`, () => fenced(ip) && cli(ip, port, 'PING') === 'PONG', 20, logs);
    for (const ip of P) {
      expect(field(ip, 'slave_priority')).toBe('0');
      expect(cli(ip, port, 'SET', 'k', 'v')).toMatch(/^READONLY/);
    }
    expect(safeRead(logs[0])).toContain('no Sentinel answered: starting fenced (read-only replica of nothing, never promoted) until one names the master (this pod\'s facts: none)');
    await waitFor('the waiting line', () => safeRead(logs[0]).includes(`waiting: no Sentinel answers (${S.join(' ')}); this pod stays fenced`), 10, logs);
  });

  it('a Sentinel without state monitors the bootstrap pod when no pod holds a key; the pods take their roles from it', async () => {
    const slog = startSentinelPod('s0', S[0]);
    await waitFor('the Sentinel', () => cli(S[0], sentinelPort, 'PING') === 'PONG', 20, [slog]);
    expect(safeRead(slog)).toContain(`monitoring mymaster at ${P[0]}:${port} (config epoch 0), from what the Redis pods hold (no Sentinel had state)`);
    await waitFor('the bootstrap pod to serve as master', () => field(P[0], 'role') === 'master', 20, logs);
    for (const ip of P.slice(1)) await waitFor(`${ip} synced, priority back`, () => field(ip, 'master_link_status') === 'up' && field(ip, 'slave_priority') === '100', 20, logs);
    expect(safeRead(logs[0])).toContain(`the Sentinels name this pod as master of mymaster (config epoch 0): serving as master`);
    expect(cli(P[0], port, 'SET', 'k', 'v')).toBe('OK');
    // The facts: on each volume, and on one named connection a Sentinel can read.
    for (let i = 0; i < P.length; i++) {
      await waitFor(`r${i} facts`, () => facts(`r${i}`) === `0 ${P[0]}` && named(P[i]) === `rs-facts:0:${P[0]}`, 20, logs);
    }
  });

  it('a replica records the new master after a failover, once the Sentinels name it', async () => {
    // Sentinel reads a replica's priority from its INFO every 10 s: wait until it has seen both synced.
    // A replica entry it has only just discovered shows the default priority (100) before any INFO, with
    // flags 'slave,disconnected' and no runid, and is not promotable (seen: NOGOODSLAVE): require an
    // INFO-refreshed, connected entry.
    await waitFor('the Sentinel to know both replicas, connected, synced, at priority 100', () => {
      const replicas = sentinelReplicas(cli(S[0], sentinelPort, 'SENTINEL', 'REPLICAS', 'mymaster'));
      return P.slice(1).every((ip) => replicas.some((r) => r.ip === ip && r.flags === 'slave' && r.runid !== ''
        && r['master-link-status'] === 'ok' && r['slave-priority'] === '100'));
    }, 40);
    expect(cli(S[0], sentinelPort, 'SENTINEL', 'FAILOVER', 'mymaster')).toBe('OK');
    const now = () => cli(S[0], sentinelPort, 'SENTINEL', 'get-master-addr-by-name', 'mymaster').split('\n')[0];
    const promoted = await waitFor('a promoted replica', () => (now() !== P[0] ? now() : ''), 30);
    const name = `r${P.indexOf(promoted)}`;
    await waitFor('the promoted pod to record epoch 1', () => facts(name) === `1 ${promoted}` && named(promoted) === `rs-facts:1:${promoted}`, 30, logs)
      .catch((e) => { throw new Error(`${facts(name)} ${named(promoted)} ${promoted} ${cli(S[0], sentinelPort, 'SENTINEL', 'MASTER', 'mymaster')}` + e.message); });
    await waitFor('the old master to follow it and record it', () => facts('r0') === `1 ${promoted}`, 40, logs);
    for (const ip of P.filter((p) => p !== promoted)) {
      await waitFor(`${ip} to replicate ${promoted}`, () => field(ip, 'master_host') === promoted && field(ip, 'master_link_status') === 'up', 40, logs)
        .catch((e) => { throw new Error(`${info(ip)}\n${e.message}`); });
    }
    expect(cli(promoted, port, 'SET', 'newer', 'x')).toBe('OK');
  });

  it('cold restart, Sentinel state lost: the pods wait fenced; a new Sentinel monitors the pod the newest facts name, never the bootstrap pod', async () => {
    const promoted = cli(S[0], sentinelPort, 'SENTINEL', 'get-master-addr-by-name', 'mymaster').split('\n')[0];
    await waitFor('the write on every replica', () => P.every((ip) => cli(ip, port, 'GET', 'newer') === 'x'), 20);
    stopSentinel(S[0]);
    for (const ip of P) stop(ip);
    await waitFor('every pod down', () => P.every((ip) => cli(ip, port, 'PING') === ''), 20);
    // Only the bootstrap pod and one other come back first: the Sentinel must wait for the third.
    const missing = P.find((ip) => ip !== P[0] && ip !== promoted) === P[1] ? P[2] : P[1];
    const back = P.filter((ip) => ip !== missing);
    const logs2 = back.map((ip) => startRedisPod(`r${P.indexOf(ip)}`, ip));
    for (const ip of back) await waitFor(`${ip} fenced`, () => fenced(ip) && named(ip)?.startsWith('rs-facts:1:'), 20, logs2);
    const slog = startSentinelPod('s1', S[1]);
    await waitFor('the waiting line', () => safeRead(slog).includes(`waiting: no Sentinel has state for mymaster and the Redis pods cannot tell which holds the newest data yet: no answer (or still loading) from Redis pod(s) ${missing}`), 20, [slog]);
    expect(cli(S[1], sentinelPort, 'PING')).toBe('');
    for (const ip of back) expect(fenced(ip)).toBe(true);
    startRedisPod(`r${P.indexOf(missing)}`, missing);
    await waitFor('the Sentinel', () => cli(S[1], sentinelPort, 'PING') === 'PONG', 30, [slog]);
    expect(safeRead(slog)).toContain(`monitoring mymaster at ${promoted}:${port} (config epoch 1), from what the Redis pods hold`);
    await waitFor('the newest pod to serve as master', () => field(promoted, 'role') === 'master', 20);
    for (const ip of P.filter((p) => p !== promoted)) await waitFor(`${ip} to replicate it`, () => field(ip, 'master_host') === promoted && field(ip, 'master_link_status') === 'up', 20);
    expect(P.map((ip) => cli(ip, port, 'GET', 'newer'))).toEqual(['x', 'x', 'x']);
  });

  it('a Sentinel whose saved state is older than the facts the pods keep follows the facts', async () => {
    const promoted = cli(S[1], sentinelPort, 'SENTINEL', 'get-master-addr-by-name', 'mymaster').split('\n')[0];
    stopSentinel(S[1]);
    await waitFor('the Sentinel down', () => cli(S[1], sentinelPort, 'PING') === '', 10);
    const stale = [`sentinel monitor mymaster ${P[0]} ${port} 1`, 'sentinel config-epoch mymaster 0', 'sentinel current-epoch 0', ''].join('\n');
    const slog = startSentinelPod('s0', S[0], stale);
    await waitFor('the Sentinel', () => cli(S[0], sentinelPort, 'PING') === 'PONG', 30, [slog]);
    expect(safeRead(slog)).toContain(`monitoring mymaster at ${promoted}:${port} (config epoch 1), from the facts the Redis pods keep`);
  });
});

describe('a Sentinel without state, pods holding data but no facts (an older release)', () => {
  const Q = ['127.0.5.21', '127.0.5.22'];
  const run = (name: string, hosts: string[]) => {
    const d = box.scripts(name, { ...constants(), redisHosts: hosts, sentinelHosts: ['127.0.5.29'] });
    writeFileSync(join(box.root, name, 'sentinel.conf.template'), `sentinel monitor mymaster ${Q[0]} ${port} 1\n`);
    const stub = box.stubs(`${name}-stub`, { 'redis-sentinel': 'exit 0' });
    return box.run(d, 'sentinel-start.sh', [], box.env({ SELF_FQDN: '127.0.5.29' }, stub));
  };

  const held: Socket[] = [];
  /** What the start script's watcher does: one connection named after the (missing) facts. */
  const publishNoFacts = (ip: string) => held.push(holdClientName(ip, port, 'rs-facts:none'));

  beforeAll(async () => {
    box.redisServer('q0', Q[0], port, ['replicaof 127.0.0.1 1']);
    box.redisServer('q1', Q[1], port, ['replicaof 127.0.0.1 1']);
    for (const ip of Q) await waitFor(ip, () => cli(ip, port, 'PING') === 'PONG');
  });

  afterAll(() => held.forEach((x) => x.destroy()));

  it('counts a pod that answers but has not published its facts yet as missing (still starting)', async () => {
    const d = box.scripts('nofacts-unpublished', { ...constants(), redisHosts: Q, sentinelHosts: ['127.0.5.29'] });
    writeFileSync(join(box.root, 'nofacts-unpublished', 'sentinel.conf.template'), `sentinel monitor mymaster ${Q[0]} ${port} 1\n`);
    const log = join(box.root, 'nofacts-unpublished', 'out.log');
    const p = box.start(d, 'sentinel-start.sh', box.env({ SELF_FQDN: '127.0.5.29' }, box.stubs('nofacts-unpublished-stub', { 'redis-sentinel': 'exit 0' })), log);
    await waitFor('the waiting line', () => safeRead(log).includes(`no answer (or still loading) from Redis pod(s) ${Q[0]} ${Q[1]}, which may hold newer data`), 20, [log]);
    process.kill(-p.pid!, 'SIGKILL');
    for (const ip of Q) publishNoFacts(ip);
    await waitFor('both named', () => Q.every((ip) => cli(ip, port, 'CLIENT', 'LIST').includes('name=rs-facts:none')), 10);
  });

  it('monitors the only pod holding keys', () => {
    expect(cli(Q[1], port, 'REPLICAOF', 'NO', 'ONE')).toBe('OK');
    expect(cli(Q[1], port, 'SET', 'a', '1')).toBe('OK');
    expect(cli(Q[1], port, 'REPLICAOF', '127.0.0.1', '1')).toBe('OK');
    expect(run('nofacts-one', Q).stderr).toContain(`monitoring mymaster at ${Q[1]}:${port} (config epoch 0), from what the Redis pods hold`);
  });

  it('waits when two pods hold keys and none recorded which was master last', async () => {
    expect(cli(Q[0], port, 'REPLICAOF', 'NO', 'ONE')).toBe('OK');
    expect(cli(Q[0], port, 'SET', 'b', '1')).toBe('OK');
    expect(cli(Q[0], port, 'REPLICAOF', '127.0.0.1', '1')).toBe('OK');
    const d = box.scripts('nofacts-wait', { ...constants(), redisHosts: Q, sentinelHosts: ['127.0.5.29'] });
    writeFileSync(join(box.root, 'nofacts-wait', 'sentinel.conf.template'), `sentinel monitor mymaster ${Q[0]} ${port} 1\n`);
    const log = join(box.root, 'nofacts-wait', 'out.log');
    const p = box.start(d, 'sentinel-start.sh', box.env({ SELF_FQDN: '127.0.5.29' }, box.stubs('nofacts-wait-stub', { 'redis-sentinel': 'exit 0' })), log);
    await waitFor('the waiting line', () => safeRead(log).includes(
      'waiting: no Sentinel has state for mymaster and the Redis pods cannot tell which holds the newest data yet: 2 Redis pods hold data and none recorded which was master last'), 20, [log]);
    expect(p.exitCode).toBeNull();
    expect(existsSync(join(box.root, 'nofacts-wait', 'sentinel.conf'))).toBe(false);
    process.kill(-p.pid!, 'SIGKILL');
  });

  it('monitors the only pod serving as master when several hold keys', () => {
    expect(cli(Q[0], port, 'REPLICAOF', 'NO', 'ONE')).toBe('OK');
    expect(run('nofacts-master', Q).stderr).toContain(`monitoring mymaster at ${Q[0]}:${port} (config epoch 0), from what the Redis pods hold`);
    expect(readFileSync(join(box.root, 'nofacts-master', 'sentinel.conf'), 'utf8')).toContain(`sentinel monitor mymaster ${Q[0]} ${port} 1`);
  });
});
