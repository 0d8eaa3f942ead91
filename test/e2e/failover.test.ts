/**
 * End-to-end failover suite: the synthesized chart runs in the harness (test/e2e/harness: network
 * namespaces, cluster DNS, NetworkPolicies as iptables, the kubelet's pod lifecycle) with Debian's
 * redis-server/redis-sentinel, and real Sentinel clients write through every failure.
 * Needs root; see test/e2e/README.md. Figures go to test/e2e/results/.
 */
import { mkdirSync, rmSync } from 'fs';
import { join } from 'path';
import { Duration } from 'cdk8s';
import { settingsOf } from '../support/synth';
import { synthChart } from '../support/synth';
import { Deployment, WriterResult, saveResults } from './deployment';
import { Cluster } from './harness/cluster';
import { requireHarness } from './harness/preflight';
import { sleep, waitFor } from './harness/sys';
import { KubeObject } from './harness/types';

jest.setTimeout(240_000);

const PASSWORD = 'e2e "quoted" \\ pass';
// createNamespace: the harness, like an empty cluster, has no namespace 'redis' until one is applied.
const PROPS = { downAfter: Duration.millis(2000), failoverTimeout: Duration.seconds(10), createNamespace: true };
const s = settingsOf(PROPS, 'redis');
const NS = s.namespace;
const RESULTS = join(__dirname, 'results');

const chartObjects = synthChart(PROPS);
const cluster = new Cluster({ prefix: 'rse2e-f-', logDir: join(RESULTS, 'logs') });
const d = new Deployment(cluster, s, PASSWORD);

interface ScenarioResult {
  scenario: string;
  /** Failure injected -> every Sentinel names the new master. */
  failoverMs?: number;
  writers: WriterResult[];
  notes: Record<string, unknown>;
}
const results: ScenarioResult[] = [];


/** Byte offsets of every Sentinel's log, to read what they logged during a scenario. */
function sentinelLogMark(): Map<string, number> {
  return new Map(d.sentinelPods().map((p) => [p, d.logSize(p)]));
}

function sentinelLogSince(mark: Map<string, number>): string {
  return [...mark].map(([p, from]) => d.logSince(p, from)).join('\n');
}

/** Asks the Sentinels for a failover (SENTINEL FAILOVER) and waits until they all name the new master. */
async function handOver(master: string): Promise<string> {
  const t0 = Date.now();
  expect(await d.cli(d.sentinelPods()[0], ['SENTINEL', 'FAILOVER', s.masterName])).toBe('OK');
  return (await d.waitFailover(master, t0)).master;
}

/** What a redis-cli PING from a pod to host:port gives: PONG, refused (reachable, nothing listens) or blocked (dropped). */
async function reach(ns: string, pod: string, container: string, host: string, port: number): Promise<'ok' | 'refused' | 'blocked'> {
  const r = await cluster.exec(ns, pod, container, ['timeout', '3', 'redis-cli', '-h', host, '-p', String(port), 'PING'], { env: { REDISCLI_AUTH: PASSWORD }, timeoutMs: 6000 });
  const out = r.stdout + r.stderr;
  if (out.includes('PONG')) return 'ok';
  if (/refused/i.test(out)) return 'refused';
  return 'blocked';
}

type Fingerprint = Record<string, number>;

/** Length of every list the writers have filled so far, read on the master. */
async function fingerprint(master: string): Promise<Fingerprint> {
  const r = await cluster.exec(NS, master, 'redis', ['sh', '-c',
    'for k in $(redis-cli -p "$0" --raw KEYS "e2e:*"); do echo "$k $(redis-cli -p "$0" --raw LLEN "$k")"; done', String(s.redisPort)],
  { env: { REDISCLI_AUTH: PASSWORD }, timeoutMs: 20_000 });
  expect(r.code).toBe(0);
  return Object.fromEntries(r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ')).map(([k, n]) => [k, Number(n)]));
}

/** The state a scenario starts from (the deployment healthy), to compare its end with. */
interface Start {
  master: string;
  epoch: number;
  data: Fingerprint;
  /** Offsets in the Sentinels' logs. */
  mark: Map<string, number>;
}

async function begin(): Promise<Start> {
  const h = await d.waitHealthy();
  return { master: h.master, epoch: h.epoch, data: await fingerprint(h.master), mark: sentinelLogMark() };
}

/**
 * How many failovers happened since `mark`: the most +switch-master lines any one Sentinel logged.
 * (The config epoch is no count: each failed election round takes an epoch too.)
 */
function failoversSince(mark: Map<string, number>): number {
  return Math.max(...[...mark].map(([p, from]) => (d.logSince(p, from).match(/\+switch-master /g) ?? []).length));
}

/**
 * Every scenario ends here: every pod ready, exactly one master with every other Redis pod its
 * replica, every Sentinel naming it at the same epoch, exactly the expected number of failovers
 * since the start (so no second failover), and every list written before the scenario intact.
 */
async function expectSettled(start: Start, expected: { failovers: number | [number, number]; master?: string }): Promise<{ master: string; epoch: number }> {
  const h = await d.waitHealthy();
  expect(await d.masters()).toEqual([h.master]);
  if (expected.master) expect(h.master).toBe(expected.master);
  const [min, max] = typeof expected.failovers === 'number' ? [expected.failovers, expected.failovers] : expected.failovers;
  const failovers = failoversSince(start.mark);
  expect(failovers).toBeGreaterThanOrEqual(min);
  expect(failovers).toBeLessThanOrEqual(max);
  if (failovers === 0) expect(h.epoch).toBe(start.epoch);
  else expect(h.epoch).toBeGreaterThan(start.epoch);
  const now = await fingerprint(h.master);
  for (const [k, n] of Object.entries(start.data)) expect(`${k}: ${now[k]}`).toBe(`${k}: ${n}`);
  return { master: h.master, epoch: h.epoch };
}

function record(r: ScenarioResult): void {
  results.push({ ...r, writers: r.writers.map((x) => ({ ...x, lostSeqs: x.lostSeqs.slice(0, 20) })) });
  const w = r.writers.map((x) => `${x.writer}: outage ${x.outageMs} ms, acked ${x.acked}, lost ${x.lost}, confirmed lost ${x.lostConfirmed}`).join('; ');
  // eslint-disable-next-line no-console
  console.log(`[e2e] ${r.scenario}${r.failoverMs !== undefined ? ` | failover ${r.failoverMs} ms` : ''}${w ? ` | ${w}` : ''}${Object.keys(r.notes).length ? ` | ${JSON.stringify(r.notes)}` : ''}`);
}

beforeAll(async () => {
  requireHarness('test/e2e/failover.test.ts', { python: true });
  rmSync(join(RESULTS, 'logs'), { recursive: true, force: true });
  mkdirSync(join(RESULTS, 'logs'), { recursive: true });
  // A second run on the machine (another `npm test`) waits for this one rather than destroying it.
  await cluster.start({ waitForOtherRunMs: 15 * 60_000 });
  await cluster.apply([...chartObjects, d.authSecret()]);
  await Promise.all([d.clientPod('client-node', 'node'), d.clientPod('client-py', 'python')]);
}, 20 * 60_000);

// A failed scenario must not leave its damage to the next one: writers, held restarts, partitions,
// dead pods and changed policies are undone; if the deployment still does not heal, Redis pods that
// replicate anything but the master the Sentinels name are restarted (what an operator would do).
afterEach(async () => {
  const repaired = await d.repairAfterScenario();
  const policies = chartObjects.filter((o) => o.kind === 'NetworkPolicy');
  if (policies.some((p) => JSON.stringify(cluster.get('NetworkPolicy', NS, p.metadata.name)) !== JSON.stringify(p))) {
    repaired.push('restored the NetworkPolicies');
    cluster.event(undefined, 'after the test: restored the NetworkPolicies');
    await cluster.apply(policies);
  }
  if (await d.waitHealthy({ timeoutMs: repaired.length ? 90_000 : 30_000 }).then(() => true, () => false)) return;
  const t = await d.topology();
  const master = Deployment.agreedMaster(t);
  const strays = t.redis.filter((r) => !(r.role === 'master' ? d.fqdn(r.pod) === master : r.masterHost === master)).map((r) => r.pod);
  cluster.event(undefined, `after the test: unhealthy, restarting ${strays.join(', ') || 'nothing'}\n${Deployment.describe(t)}`);
  await Promise.all(strays.map((p) => cluster.deletePod(NS, p)));
  await d.waitHealthy({ timeoutMs: 90_000 }).catch((e) => cluster.event(undefined, `still unhealthy: ${(e as Error).message.split('\n')[0]}`));
}, 300_000);

afterAll(async () => {
  await cluster.shutdown();
  saveResults(RESULTS, 'results', results, { cluster, events: 'events.log' });
});

describe('Redis + Sentinel chart, end to end', () => {
  test('1 bootstrap: one master (the bootstrap pod), replicas and Sentinels found by DNS name', async () => {
    const h = await d.waitHealthy({ timeoutMs: 90_000 });
    expect(h.master).toBe(`${s.names.master}-0`);
    expect(h.epoch).toBe(0);
    for (const sp of d.sentinelPods()) {
      expect((await d.cli(sp, ['SENTINEL', 'get-master-addr-by-name', s.masterName])).split('\n')).toEqual([d.fqdn(h.master), String(s.redisPort)]);
      const replicas = await d.cli(sp, ['SENTINEL', 'REPLICAS', s.masterName]);
      for (const rp of d.redisPods().filter((p) => p !== h.master)) expect(replicas).toContain(d.fqdn(rp));
      const peers = await d.cli(sp, ['SENTINEL', 'SENTINELS', s.masterName]);
      for (const other of d.sentinelPods().filter((p) => p !== sp)) expect(peers).toContain(d.fqdn(other));
      expect(await d.cli(sp, ['SENTINEL', 'CKQUORUM', s.masterName])).toMatch(/^OK 3 usable Sentinels/);
    }
    // Passwords are required everywhere.
    const noAuth = await cluster.exec(NS, h.master, 'redis', ['redis-cli', '-p', String(s.redisPort), 'PING']);
    expect(noAuth.stdout).toMatch(/NOAUTH/);
    const noAuthSentinel = await cluster.exec(NS, d.sentinelPods()[0], 'sentinel', ['redis-cli', '-p', String(s.sentinelPort), 'PING']);
    expect(noAuthSentinel.stdout).toMatch(/NOAUTH/);
    const start = await begin();
    const w = await d.startWriterPair('s1');
    await sleep(1000);
    const writers = await d.stopAndAccount(w, h.master);
    for (const x of writers) expect(x.lost).toBe(0);
    await expectSettled(start, { failovers: 0, master: h.master });
    record({ scenario: '1 bootstrap', writers, notes: { master: h.master } });
  });

  test('2 master SIGKILLed: a replica is promoted, Sentinel clients resume, no write a replica confirmed is lost', async () => {
    const start = await begin();
    const w = await d.startWriterPair('s2');
    await sleep(1000);
    // The process dies and stays down (restart held) until the failover is over.
    const f = await d.killMasterUntilFailover(start.master);
    const end = await expectSettled(start, { failovers: 1, master: f.master });
    const writers = await d.stopAndAccount(w, end.master);
    // Replication is asynchronous: the newest writes only the dead master had may be gone (README).
    for (const x of writers) expect({ writer: x.writer, lostConfirmed: x.lostConfirmed }).toEqual({ writer: x.writer, lostConfirmed: 0 });
    record({ scenario: '2 master SIGKILLed', failoverMs: f.ms, writers, notes: { from: start.master, to: end.master } });
  });

  test('3 master pod deleted (planned): the preStop hook hands over without waiting for down-after', async () => {
    const start = await begin();
    const events = cluster.events.length;
    const w = await d.startWriterPair('s3');
    await sleep(1000);
    const f = await d.deleteMasterUntilFailover(start.master);
    const goneMs = f.podGoneMs;
    const end = await expectSettled(start, { failovers: 1, master: f.master });
    const writers = await d.stopAndAccount(w, end.master);
    for (const x of writers) expect(x.lost).toBe(0);
    // The failover was asked for (no detection, no down-after wait), and it is the only one.
    const log = sentinelLogSince(start.mark);
    expect(log).toMatch(/Executing user requested FAILOVER/);
    expect(log.match(/\+try-failover/g)).toHaveLength(1);
    expect(log).not.toMatch(/\+odown/);
    // CLIENT PAUSE WRITE also blocks the Sentinels' hello PUBLISH, and their PINGs queue behind it:
    // a Sentinel still monitoring the paused master marks it down after down-after (see README).
    const sdownWhilePaused = (log.match(/\+sdown master /g) ?? []).length;
    const preStop = cluster.events.slice(events).filter((e) => e.includes(`${start.master}: redis: preStop`)).join('\n');
    expect(preStop).toMatch(/preStop exited 0/);
    expect(preStop).toMatch(/the Sentinels name .* as master/);
    record({ scenario: '3 master pod deleted (preStop)', failoverMs: f.ms, writers, notes: { from: start.master, to: end.master, podGoneMs: goneMs, sdownWhilePaused } });
  });

  test('4 the old master returns as a recreated pod and as a restarted container: a replica, accepting no write', async () => {
    // 4a: the node of the master dies; after the failover the pod is force-deleted and recreated.
    const startA = await begin();
    const old = startA.master;
    const t0 = Date.now();
    await cluster.crashPod(NS, old);
    const f = await d.waitFailover(old, t0);
    const direct = await d.startWriter({ kind: 'direct', pod: 'client-node', key: 'e2e:s4:direct-recreated', host: d.fqdn(old) });
    const oldIp = cluster.mustPod(NS, old).ip;
    await cluster.deletePod(NS, old, { gracePeriodSeconds: 0 });
    await waitFor('the pod to be recreated', () => cluster.pod(NS, old)?.ready, 60_000);
    const newIp = cluster.mustPod(NS, old).ip;
    expect(newIp).not.toBe(oldIp);
    const endA = await expectSettled(startA, { failovers: 1, master: f.master });
    const directA = await direct.stop();
    expect(directA.acked.length).toBe(0);

    // 4b: the (new) master's container is killed and restarted in place after the failover.
    const startB = await begin();
    const t1 = Date.now();
    const held = cluster.mustPod(NS, startB.master).killContainer('redis', { hold: true });
    const f2 = await d.waitFailover(startB.master, t1);
    const direct2 = await d.startWriter({ kind: 'direct', pod: 'client-node', key: 'e2e:s4:direct-restarted', host: d.fqdn(startB.master) });
    const restarts = cluster.mustPod(NS, startB.master).container('redis').restartCount;
    const ip = cluster.mustPod(NS, startB.master).ip;
    held.release();
    const endB = await expectSettled(startB, { failovers: 1, master: f2.master });
    expect(cluster.mustPod(NS, startB.master).container('redis').restartCount).toBe(restarts + 1);
    expect(cluster.mustPod(NS, startB.master).ip).toBe(ip);
    const directB = await direct2.stop();
    expect(directB.acked.length).toBe(0);
    record({
      scenario: '4 old master returns', failoverMs: f.ms, writers: [],
      notes: {
        recreated: { pod: old, oldIp, newIp, writesAccepted: directA.acked.length, failoverMs: f.ms, newMaster: endA.master },
        restartedInPlace: { pod: startB.master, writesAccepted: directB.acked.length, failoverMs: f2.ms, newMaster: endB.master },
      },
    });
  });

  test('5 one Sentinel lost: failover still works; two lost: no failover and no second master', async () => {
    const sentinels = d.sentinelPods();
    // 5a: one Sentinel's node dies, then the master's process.
    const startA = await begin();
    await cluster.crashPod(NS, sentinels[2]);
    const live = sentinels.slice(0, 2);
    const w = await d.startWriterPair('s5a');
    await sleep(500);
    const t0 = Date.now();
    const held = cluster.mustPod(NS, startA.master).killContainer('redis', { hold: true });
    const f = await d.waitFailover(startA.master, t0, live);
    await sleep(2000);
    held.release();
    const h = await d.waitHealthy({ sentinels: live });
    expect(h.master).toBe(f.master);
    expect(await d.masters()).toEqual([h.master]);
    const writersA = await d.stopAndAccount(w, h.master);
    for (const x of writersA) expect({ writer: x.writer, lostConfirmed: x.lostConfirmed }).toEqual({ writer: x.writer, lostConfirmed: 0 });
    // The lost Sentinel comes back (its pod replaced, with its volume) and follows.
    await cluster.deletePod(NS, sentinels[2], { gracePeriodSeconds: 0 });
    await expectSettled(startA, { failovers: 1, master: h.master });

    // 5b: two Sentinels lost: the remaining one can neither reach ODOWN nor be elected.
    const startB = await begin();
    await Promise.all([cluster.crashPod(NS, sentinels[1]), cluster.crashPod(NS, sentinels[2])]);
    const w2 = await d.startWriterPair('s5b');
    await sleep(500);
    const t1 = Date.now();
    const held2 = cluster.mustPod(NS, startB.master).killContainer('redis', { hold: true });
    const others = d.redisPods().filter((p) => p !== startB.master);
    const watchMs = s.downAfterMs * 3 + s.failoverTimeoutMs;
    while (Date.now() < t1 + watchMs) {
      const st = await d.sentinelState(sentinels[0]);
      expect(st.master).toBe(d.fqdn(startB.master));
      expect(st.epoch).toBe(startB.epoch);
      expect(await d.masters(others)).toEqual([]);
      await sleep(1000);
    }
    const log = sentinelLogSince(startB.mark);
    expect(log).toMatch(/\+sdown master /);
    expect(log).not.toMatch(/\+odown|\+try-failover|\+switch-master/);
    held2.release();
    const h2 = await d.waitHealthy({ sentinels: [sentinels[0]], timeoutMs: 60_000 });
    expect(h2.master).toBe(startB.master);
    const writersB = await d.stopAndAccount(w2, h2.master);
    for (const x of writersB) expect({ writer: x.writer, lostConfirmed: x.lostConfirmed }).toEqual({ writer: x.writer, lostConfirmed: 0 });
    const masterDownMs = Date.now() - t1;
    await Promise.all([sentinels[1], sentinels[2]].map((p) => cluster.deletePod(NS, p, { gracePeriodSeconds: 0 })));
    await expectSettled(startB, { failovers: 0, master: startB.master });
    record({ scenario: '5a one Sentinel lost', failoverMs: f.ms, writers: writersA, notes: {} });
    record({ scenario: '5b two Sentinels lost (no failover)', writers: writersB, notes: { masterDownMs, noFailoverWatchedMs: watchMs } });
  });

  test('6 master partitioned: the isolated master stops taking writes within min-replicas-max-lag; one master after healing', async () => {
    const start = await begin();
    const w = await d.startWriterPair('s6');
    // A writer on the master's side of the partition: inside the master pod (kubectl debug), on loopback.
    const iso = await d.startWriter({ kind: 'direct', pod: start.master, ephemeral: true, key: 'e2e:s6:isolated', host: '127.0.0.1' });
    await iso.ready(20_000);
    await sleep(1000);
    const t0 = Date.now();
    await cluster.setLink(NS, start.master, false);
    const tCut = Date.now();
    const f = await d.waitFailover(start.master, t0);
    const lagMs = s.minReplicasMaxLagSeconds * 1000;
    // Keep the partition until the isolated master must have stopped accepting writes.
    await sleep(Math.max(0, t0 + lagMs + 3000 - Date.now()));
    await cluster.setLink(NS, start.master, true);
    const healedAt = Date.now();
    const end = await expectSettled(start, { failovers: 1, master: f.master });
    const isoSummary = await iso.stop();
    const writers = await d.stopAndAccount(w, end.master);
    const acceptedIsolated = isoSummary.acked.filter(([, at]) => at > t0);
    const acceptWindowMs = acceptedIsolated.length ? acceptedIsolated[acceptedIsolated.length - 1][1] - t0 : 0;
    // The lag is counted in whole seconds and rechecked once a second: up to lag + 2 s.
    expect(acceptWindowMs).toBeLessThanOrEqual(lagMs + 2500);
    const isoResult = await d.account(end.master, iso, isoSummary);
    // What the isolated master took after the partition is what it loses when it rejoins. The writer is sequential and replication is an ordered
    // stream, so the lost writes are exactly the newest ones. A write acknowledged while the link
    // was being cut (t0..tCut, plus the writer's scheduling delay) may or may not have reached
    // the replicas; one acknowledged well after the cut was taken by the isolated master alone.
    const ackedSeqs = isoSummary.acked.map(([seq]) => seq);
    expect(isoResult.lostSeqs).toEqual(ackedSeqs.slice(ackedSeqs.length - isoResult.lost));
    // Nothing a replica had confirmed (WAIT 1) is lost, before or after the cut.
    expect(isoResult.lostConfirmed).toBe(0);
    const lost = new Set(isoResult.lostSeqs);
    expect(acceptedIsolated.filter(([seq, at]) => at > tCut + 1000 && !lost.has(seq))).toEqual([]);
    record({
      scenario: '6 master partitioned', failoverMs: f.ms, writers: [...writers, isoResult],
      notes: { isolatedAcceptedWrites: acceptedIsolated.length, isolatedAcceptWindowMs: acceptWindowMs, cutTookMs: tCut - t0, partitionMs: healedAt - t0, from: start.master, to: end.master },
    });
  });

  test('7 every Sentinel restarted after a failover keeps following the current master', async () => {
    const h = await d.waitHealthy();
    // The current master must not be the one of the Sentinels' template.
    if (h.master === `${s.names.master}-0`) await handOver(h.master);
    const start = await begin();
    expect(start.master).not.toBe(`${s.names.master}-0`);
    const w = await d.startWriterPair('s7');
    await sleep(500);
    const t0 = Date.now();
    await Promise.all(d.sentinelPods().map((p) => cluster.deletePod(NS, p)));
    const end = await expectSettled(start, { failovers: 0, master: start.master });
    const restartMs = Date.now() - t0;
    for (const sp of d.sentinelPods()) {
      expect((await d.cli(sp, ['SENTINEL', 'get-master-addr-by-name', s.masterName])).split('\n')[0]).toBe(d.fqdn(end.master));
    }
    const writers = await d.stopAndAccount(w, end.master);
    for (const x of writers) expect(x.lost).toBe(0);
    record({ scenario: '7 all Sentinels restarted', writers, notes: { master: end.master, sentinelsBackMs: restartMs } });
  });

  test('8 full cold restart of every pod: the data comes back (AOF on the volumes), one master', async () => {
    const h = await d.waitHealthy();
    // Whichever pod comes back as master must have everything.
    await d.waitReplicated(h.master);
    const start = await begin();
    expect(Object.keys(start.data).length).toBeGreaterThan(5);
    const dbsize = await d.cli(start.master, ['DBSIZE']);
    // Everything down (every StatefulSet scaled to 0, all pods at once), then everything up.
    const sets = [s.names.master, s.names.replica, s.names.sentinel].map((n) => [n, cluster.get('StatefulSet', NS, n)!.spec.replicas as number] as const);
    const t0 = Date.now();
    await Promise.all(sets.map(([n]) => cluster.scale(NS, n, 0)));
    expect(cluster.allPods().filter((p) => p.owner)).toEqual([]);
    const allGoneMs = Date.now() - t0;
    await Promise.all(sets.map(([n, size]) => cluster.scale(NS, n, size)));
    await d.waitHealthy({ timeoutMs: 120_000 });
    const backMs = Date.now() - t0;
    // At most the preStop's hand-over, if a Sentinel was still there to carry it out.
    const end = await expectSettled(start, { failovers: [0, 1] });
    expect(await d.cli(end.master, ['DBSIZE'])).toBe(dbsize);
    record({ scenario: '8 full cold restart', writers: [], notes: { keys: Object.keys(start.data).length, masterBefore: start.master, masterAfter: end.master, failovers: failoversSince(start.mark), allGoneMs, healthyAfterMs: backMs } });
  });

  test('9 NetworkPolicies: every needed flow works, others are dropped; without Sentinel-to-Sentinel there is no failover', async () => {
    const start = await begin();
    const master = start.master;
    const replica = d.redisPods().find((p) => p !== master)!;
    const [s0, s1] = d.sentinelPods();
    const sentinelSvc = `${s.names.sentinelService}.${NS}.svc.${s.clusterDomain}`;
    await cluster.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } }]);
    await Promise.all([
      d.clientPod('intruder', 'node', { labels: { app: 'intruder' } }),
      d.clientPod('client-other-ns', 'node', { namespace: 'other' }),
    ]);
    const intruderIp = cluster.mustPod(NS, 'intruder').ip!;
    const flows: Array<[string, string, string, string, number, 'ok' | 'blocked']> = [
      // The flows the deployment needs.
      ['client -> Sentinel Service', 'client-node', 'main', sentinelSvc, s.sentinelPort, 'ok'],
      ['client -> master', 'client-node', 'main', d.fqdn(master), s.redisPort, 'ok'],
      ['client -> replica', 'client-py', 'main', d.fqdn(replica), s.redisPort, 'ok'],
      ['Sentinel -> Sentinel', s0, 'sentinel', d.fqdn(s1), s.sentinelPort, 'ok'],
      ['Sentinel -> Redis', s0, 'sentinel', d.fqdn(replica), s.redisPort, 'ok'],
      ['Redis -> Redis', replica, 'redis', d.fqdn(master), s.redisPort, 'ok'],
      ['Redis -> Sentinel', replica, 'redis', d.fqdn(s1), s.sentinelPort, 'ok'],
      // Everything else is dropped.
      ['unlabelled pod -> Sentinel', 'intruder', 'main', sentinelSvc, s.sentinelPort, 'blocked'],
      ['unlabelled pod -> master', 'intruder', 'main', d.fqdn(master), s.redisPort, 'blocked'],
      ['unlabelled pod -> replica', 'intruder', 'main', d.fqdn(replica), s.redisPort, 'blocked'],
      ['Redis -> any other pod', master, 'redis', intruderIp, s.redisPort, 'blocked'],
      ['Sentinel -> any other pod', s0, 'sentinel', intruderIp, s.sentinelPort, 'blocked'],
    ];
    const seen: Record<string, string> = {};
    for (const [name, pod, container, host, port, want] of flows) {
      const got = await reach(NS, pod, container, host, port);
      seen[name] = got;
      expect(`${name}: ${got}`).toBe(`${name}: ${want}`);
    }
    // A client pod in another namespace is not a client (no clientNamespaceLabels).
    const other = await reach('other', 'client-other-ns', 'main', sentinelSvc, s.sentinelPort);
    expect(other).toBe('blocked');
    // Every pod resolves names (DNS egress allowed); a policy without DNS egress stops that.
    for (const [pod, c] of [[master, 'redis'], [s0, 'sentinel']]) {
      expect((await cluster.exec(NS, pod, c, ['nslookup', sentinelSvc], { timeoutMs: 8000 })).code).toBe(0);
    }
    await cluster.apply([{
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'no-dns', namespace: 'other' },
      spec: { podSelector: {}, policyTypes: ['Egress'], egress: [] },
    }]);
    expect((await cluster.exec('other', 'client-other-ns', 'main', ['timeout', '4', 'nslookup', sentinelSvc], { timeoutMs: 8000 })).code).not.toBe(0);
    await cluster.deleteObject('NetworkPolicy', 'other', 'no-dns');

    // The seed article's mistake: a Sentinel policy without Sentinel-to-Sentinel. Sentinels started
    // under it never reach ODOWN, so a dead master is never replaced.
    const good = cluster.get('NetworkPolicy', NS, s.names.sentinelNetworkPolicy)!;
    const broken = JSON.parse(JSON.stringify(good)) as KubeObject;
    const notSentinel = (peer: any) => peer.podSelector?.matchLabels?.['app.kubernetes.io/component'] !== 'sentinel';
    broken.spec.ingress = broken.spec.ingress.map((r: any) => ({ ...r, from: r.from.filter(notSentinel) }));
    broken.spec.egress = broken.spec.egress.map((r: any) => (r.to ? { ...r, to: r.to.filter(notSentinel) } : r)).filter((r: any) => !r.to || r.to.length);
    await cluster.apply([broken]);
    await Promise.all(d.sentinelPods().map((p) => cluster.deletePod(NS, p)));
    await cluster.waitStatefulSetReady(NS, s.names.sentinel, 60_000);
    expect(await reach(NS, s0, 'sentinel', d.fqdn(s1), s.sentinelPort)).toBe('blocked');
    const mark = sentinelLogMark();
    const t0 = Date.now();
    const held = cluster.mustPod(NS, master).killContainer('redis', { hold: true });
    const watchMs = s.downAfterMs * 3 + s.failoverTimeoutMs;
    while (Date.now() < t0 + watchMs) {
      for (const sp of d.sentinelPods()) expect((await d.sentinelState(sp)).master).toBe(d.fqdn(master));
      await sleep(1000);
    }
    const blockedLog = sentinelLogSince(mark);
    expect(blockedLog).toMatch(/\+sdown master /);
    expect(blockedLog).not.toMatch(/\+odown|\+switch-master/);
    // With the chart's policy back, the same Sentinels fail over.
    const t1 = Date.now();
    await cluster.apply([good]);
    const f = await d.waitFailover(master, t1);
    held.release();
    const end = await expectSettled(start, { failovers: 1, master: f.master });
    record({
      scenario: '9 NetworkPolicies', failoverMs: f.ms, writers: [],
      notes: { flows: seen, otherNamespaceClient: other, brokenPolicyNoFailoverForMs: t1 - t0, newMaster: end.master, epochs: `${start.epoch} -> ${end.epoch}` },
    });
  });
});
