/**
 * The loopback integration test (test/support/loopback.ts) with `tls: { mutual: true }`: every
 * connection (clients, replication, Sentinel to Redis and to Sentinel, the scripts' redis-cli) speaks
 * TLS with certificates made by openssl, the plaintext ports are closed, and a client without a
 * certificate of the CA is refused.
 */
import { readFileSync } from 'fs';
import { SCRIPT } from '../../src/settings';
import { issue, serialOf, servedSerial } from '../support/certs';
import { describeBasics, loopback } from '../support/loopback';

// A restarted Sentinel must be back this long before the next one restarts (15 s in pods): read by
// the scripts of every process this file starts.
process.env.TLS_RESTART_SETTLE = '3';
const lb = loopback({ ipBase: 200, tls: { mutual: true } });
beforeAll(() => lb.setUp());
afterAll(() => lb.tearDown());

describe('rendered configs and scripts with TLS (mutual) and real redis-server and redis-sentinel', () => {
  describeBasics(lb);

  test('plaintext is refused on every Redis and Sentinel port', () => {
    for (const inst of lb.instances()) {
      const reply = lb.rawCli(inst, [], 'PING');
      expect({ inst: inst.name, refused: !/PONG|NOAUTH/.test(reply) }).toEqual({ inst: inst.name, refused: true });
    }
  });

  test('a client with the CA but no certificate of its own is refused (mutual TLS)', () => {
    for (const inst of [lb.redis(1), lb.sentinel(0)]) {
      const reply = lb.rawCli(inst, ['--tls', '--cacert', lb.certs().ca], 'PING');
      expect(reply).not.toMatch(/PONG|NOAUTH/);
    }
  });

  test('a renewed certificate reaches every process: Redis reloads it in place, the Sentinels restart one at a time, no failover', async () => {
    const { s } = lb;
    const master = lb.masterAddr(lb.sentinel(0));
    const epoch = () => lb.fields(lb.cli(lb.sentinel(0), 'SENTINEL', 'MASTER', s.masterName).split('\n'))['config-epoch'];
    const epochBefore = epoch();
    const redisRunIds = [0, 1, 2].map((i) => lb.cli(lb.redis(i), 'INFO', 'server').match(/run_id:(\w+)/)![1]);
    const old = serialOf(lb.certs().cert);
    // What cert-manager does: a new key and certificate (new serial) in the Secret's files.
    issue(lb.certs().dir, { ips: [...lb.redisIps, ...lb.sentinelIps] });
    const renewed = serialOf(lb.certs().cert);
    expect(renewed).not.toBe(old);
    const t0 = Date.now();

    // Redis: the start script's watch loop loads the new files into the running server.
    for (const i of [0, 1, 2]) {
      await lb.waitFor(`redis-${i} to serve the renewed certificate`, () => servedSerial(lb.redis(i).ip, s.redisPort, lb.certs()) === renewed, 20);
    }
    const redisMs = Date.now() - t0;
    expect([0, 1, 2].map((i) => lb.cli(lb.redis(i), 'INFO', 'server').match(/run_id:(\w+)/)![1])).toEqual(redisRunIds);

    // Sentinel: each one's watcher stops it (SIGTERM) when its turn comes; the test plays the
    // kubelet and starts an exited Sentinel again at once. Polled every 100 ms: how many are away at once.
    const restarts: string[] = [];
    /** Per Sentinel: when the test saw its process gone (its watcher stopped it), and when it started it again. */
    const stoppedSeen: number[] = [];
    const restartedAt: number[] = [];
    let maxAway = 0;
    const deadline = Date.now() + 120_000;
    // '' while a Sentinel is away (nothing listens).
    const served = (i: number) => {
      try {
        return servedSerial(lb.sentinelIps[i], s.sentinelPort, lb.certs());
      } catch {
        return '';
      }
    };
    while ([0, 1, 2].some((i) => served(i) !== renewed)) {
      if (Date.now() > deadline) throw new Error(`Sentinels still serve the old certificate; restarts: ${restarts.join(', ')}`);
      for (const i of [0, 1, 2]) {
        const inst = lb.sentinel(i);
        if (inst.proc && inst.proc.exitCode === null && inst.proc.signalCode === null) continue;
        expect(inst.proc?.exitCode).toBe(0);
        restarts.push(`sentinel-${i}`);
        stoppedSeen[i] = Date.now();
        lb.start(inst, SCRIPT.sentinelStart);
        restartedAt[i] = Date.now();
      }
      maxAway = Math.max(maxAway, [0, 1, 2].filter((i) => lb.cli(lb.sentinel(i), 'PING') !== 'PONG').length);
      await new Promise((r) => setTimeout(r, 100));
    }
    const sentinelsMs = Date.now() - t0;
    // In SENTINEL_HOSTS order, each one once, each after the one before it was back and settled.
    expect(restarts).toEqual(['sentinel-0', 'sentinel-1', 'sentinel-2']);
    expect(maxAway).toBeLessThanOrEqual(1);
    for (const i of [0, 1, 2]) expect(readFileSync(lb.sentinel(i).log, 'utf8')).toMatch(/TLS: the certificate files changed and Sentinel cannot load them while it runs: restarting it now/);
    // ... and each stopped only after the one before it had been back TLS_RESTART_SETTLE s: its uptime (whole
    // seconds of the clock, so at least SETTLE - 1 s of real time), counted from after the test started it.
    const settleMs = (Number(process.env.TLS_RESTART_SETTLE) - 1) * 1000;
    for (const i of [1, 2]) expect({ i, gapMs: stoppedSeen[i] - restartedAt[i - 1] >= settleMs }).toEqual({ i, gapMs: true });
    // No failover, and the quorum whole again.
    for (const i of [0, 1, 2]) {
      await lb.waitFor(`sentinel-${i} to see its peers again`, () => lb.fields(lb.cli(lb.sentinel(i), 'SENTINEL', 'MASTER', s.masterName).split('\n'))['num-other-sentinels'] === '2', 40);
      expect(lb.masterAddr(lb.sentinel(i))).toBe(master);
    }
    expect(epoch()).toBe(epochBefore);
    // Nothing more to load: no Sentinel restarts again (two watcher rounds).
    await new Promise((r) => setTimeout(r, 21_000));
    expect([0, 1, 2].map((i) => lb.sentinel(i).proc?.exitCode)).toEqual([null, null, null]);
    console.log(`[loopback tls] renewal: every Redis serves it after ${redisMs} ms (same run ids); Sentinels restarted ${restarts.join(', ')}, at most ${maxAway} away at once, all serve it after ${sentinelsMs} ms (settle ${process.env.TLS_RESTART_SETTLE} s here, 15 s in pods); no failover`);
  }, 240_000);
});
