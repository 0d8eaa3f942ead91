/**
 * The master endpoint end to end (prefix rse2e-x-): the synthesized chart with `masterEndpoint` in
 * the harness, HAProxy run by Debian's haproxy 2.6 in two pods, and clients that do NOT speak Sentinel
 * writing through `<name>-master` (ioredis with default options, python3-redis with
 * socket_timeout=0.5, one redis-cli process per write) beside the Sentinel clients of the failover
 * suite, during: a SIGKILLed master, a planned hand-over (pod delete, preStop), a partitioned master,
 * and a rolling restart of the HAProxy pods. Per case: each writer's longest write gap, acknowledged
 * writes lost (0), writes the old master took after the Sentinels left it (0), and a reader on
 * `<name>-replicas` (roles answered, writes accepted). Figures go to test/e2e/results/.
 *
 * The harness has no Deployment controller: the test creates the HAProxy Deployment's pods from its
 * template and rolls them as the controller does with maxSurge 1 / maxUnavailable 0.
 */
import { mkdirSync } from 'fs';
import { join } from 'path';
import { Duration } from 'cdk8s';
import { find, settingsOf, synthChart } from '../support/synth';
import { Deployment, Writer, WriterResult, WriterSummary, saveResults } from './deployment';
import { Cluster } from './harness/cluster';
import { requireHarness } from './harness/preflight';
import { sleep, waitFor } from './harness/sys';
import { KubeObject } from './harness/types';

jest.setTimeout(180_000);

const PASSWORD = 'e2e "quoted" \\ pass';
const PROPS = { downAfter: Duration.millis(2000), failoverTimeout: Duration.seconds(10), masterEndpoint: {}, createNamespace: true };
const s = settingsOf(PROPS, 'redis');
const NS = s.namespace;
const RESULTS = join(__dirname, 'results');
const CLIENTS = join(__dirname, 'clients');
const DOMAIN = `${NS}.svc.${s.clusterDomain}`;
const MASTER_HOST = `${s.names.masterEndpoint}.${DOMAIN}`;
const REPLICAS_HOST = `${s.names.replicasEndpoint}.${DOMAIN}`;

const chartObjects = synthChart(PROPS);
const proxyTemplate = find(chartObjects, 'Deployment', s.names.proxy).spec.template;
const REPLICAS_TARGET_PORT: number = find(chartObjects, 'Deployment', s.names.proxy).spec.template.spec.containers[0].ports
  .find((p: { name: string }) => p.name === find(chartObjects, 'Service', s.names.replicasEndpoint).spec.ports[0].targetPort).containerPort;
const PROXY_REPLICAS: number = find(chartObjects, 'Deployment', s.names.proxy).spec.replicas;
const cluster = new Cluster({ prefix: 'rse2e-x-', logDir: join(RESULTS, 'logs-endpoint') });
const d = new Deployment(cluster, s, PASSWORD);

interface CaseResult {
  scenario: string;
  failoverMs?: number;
  writers: WriterResult[];
  /** Writes of the endpoint writers that the old master took after the scenario began and that the final master lacks. */
  acceptedByOldMaster?: number;
  reader: { roles: Record<string, number>; writesAccepted: number; errors: Record<string, number> };
  notes: Record<string, unknown>;
}
const results: CaseResult[] = [];

// --- the HAProxy pods (the Deployment's pods, created by the test) ---------------------------------

let proxySerial = 0;
const proxies: string[] = [];

async function addProxyPod(): Promise<string> {
  const name = `${s.names.proxy}-${(++proxySerial).toString(36).padStart(5, '0')}`;
  const pod: KubeObject = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: NS, labels: proxyTemplate.metadata.labels, annotations: proxyTemplate.metadata.annotations },
    spec: JSON.parse(JSON.stringify(proxyTemplate.spec)),
  };
  await cluster.apply([pod]);
  await waitFor(`HAProxy pod ${name} ready`, () => cluster.pod(NS, name)?.ready, 30_000, { context: () => cluster.events.slice(-20).join('\n') });
  proxies.push(name);
  return name;
}

/** kubectl rollout restart, as the Deployment controller does it: a new pod Ready, then an old one deleted. */
async function rolloutRestart(): Promise<void> {
  for (const old of [...proxies]) {
    await addProxyPod();
    await cluster.deletePod(NS, old);
    proxies.splice(proxies.indexOf(old), 1);
  }
}

// --- clients -------------------------------------------------------------------------------------

interface Clients { endpoint: Writer[]; sentinel: Writer[]; reader: Writer }

function endpointClient(kind: 'ioredis' | 'redis-cli' | 'python' | 'reader', key: string): Writer {
  const python = kind === 'python';
  const env: Record<string, string> = {
    KEY: key, MODE: kind, REDIS_PASSWORD: PASSWORD, PYTHONDONTWRITEBYTECODE: '1',
    // The harness has no Service VIP: the name resolves to the HAProxy pods, so a client dials the
    // Service's targetPort itself (the replicas listener); on a cluster both Services listen on redisPort.
    REDIS_PORT: String(kind === 'reader' ? REPLICAS_TARGET_PORT : s.redisPort),
    REDIS_HOST: kind === 'reader' ? REPLICAS_HOST : MASTER_HOST,
    INTERVAL_MS: kind === 'redis-cli' || kind === 'reader' ? '50' : '10',
  };
  const argv = python ? ['python3', join(CLIENTS, 'writer.py')] : ['node', join(CLIENTS, 'endpoint-writer.js')];
  const pod = python ? 'client-py' : 'client-node';
  return new Writer(`${kind}@${s.names.masterEndpoint}`, key, cluster.spawnExec(NS, pod, 'main', argv, { env }));
}

async function startClients(tag: string): Promise<Clients> {
  const endpoint = (['ioredis', 'python', 'redis-cli'] as const).map((k) => endpointClient(k, `e2e:${tag}:endpoint-${k}`));
  const reader = endpointClient('reader', `e2e:${tag}:reader`);
  const sentinel = await Promise.all([
    d.startWriter({ kind: 'ioredis', pod: 'client-node', key: `e2e:${tag}:sentinel-ioredis` }),
    d.startWriter({ kind: 'python', pod: 'client-py', key: `e2e:${tag}:sentinel-python` }),
  ]);
  await Promise.all([...endpoint, reader].map((w) => w.ready(20_000)));
  return { endpoint, sentinel, reader };
}

async function stopClients(c: Clients, master: string): Promise<{ writers: WriterResult[]; reader: CaseResult['reader']; endpointKeys: string[]; inFlightAt: (t: number) => Map<string, number> }> {
  const all = [...c.endpoint, ...c.sentinel];
  const [summaries, readerSummary] = await Promise.all([Promise.all(all.map((w) => w.stop())), c.reader.stop()]);
  await d.waitReplicated(master);
  const writers = await Promise.all(all.map((w, i) => d.account(master, w, summaries[i])));
  const r = readerSummary as WriterSummary & { roles: Record<string, number>; writesAccepted: number };
  // Each endpoint writer writes one at a time: the write it had sent when time `t` came is the one after its last ack before `t`.
  const inFlightAt = (t: number) => new Map(c.endpoint.map((w, i) => [w.key, Math.max(0, ...summaries[i].acked.filter(([, at]) => at < t).map(([seq]) => seq)) + 1]));
  return { writers, reader: { roles: r.roles, writesAccepted: r.writesAccepted, errors: r.errors }, endpointKeys: c.endpoint.map((w) => w.key), inFlightAt };
}

/**
 * Watches the old master from inside its pod until it reports role slave (or `untilMs`): every
 * element of the endpoint writers' lists it holds, to find writes it took after the Sentinels left it.
 */
function watchOldMaster(pod: string, keys: () => string[]): { stop: () => Promise<Map<string, Set<number>>> } {
  const seen = new Map<string, Set<number>>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const role = (await d.cli(pod, ['ROLE'], 2000)).split('\n')[0];
      if (role === 'slave') break;
      if (role === 'master') {
        for (const k of keys()) {
          const items = (await d.cli(pod, ['LRANGE', k, '0', '-1'], 5000)).split('\n').filter(Boolean).map(Number);
          const set = seen.get(k) ?? new Set<number>();
          items.forEach((x) => set.add(x));
          seen.set(k, set);
        }
      }
      await sleep(200);
    }
  })();
  return { stop: async () => { stopped = true; await loop; return seen; } };
}

/** Elements the old master held that the final master lacks: writes only the old master took. */
async function onlyOnOldMaster(seen: Map<string, Set<number>>, master: string, sentBefore = new Map<string, number>()): Promise<number> {
  let n = 0;
  for (const [k, set] of seen) {
    const final = new Set((await d.cli(master, ['LRANGE', k, '0', '-1'], 10_000)).split('\n').filter(Boolean).map(Number));
    for (const x of set) if (!final.has(x) && x !== sentBefore.get(k)) n++;
  }
  return n;
}

function record(r: CaseResult): void {
  results.push({ ...r, writers: r.writers.map((x) => ({ ...x, lostSeqs: x.lostSeqs.slice(0, 20) })) });
  const w = r.writers.map((x) => `${x.writer}: gap ${x.outageMs} ms, acked ${x.acked}, lost ${x.lost}, confirmed lost ${x.lostConfirmed}`).join('; ');
  // eslint-disable-next-line no-console
  console.log(`[e2e endpoint] ${r.scenario}${r.failoverMs !== undefined ? ` | failover ${r.failoverMs} ms` : ''} | ${w} | old master took ${r.acceptedByOldMaster ?? '-'} | reader ${JSON.stringify(r.reader)}${Object.keys(r.notes).length ? ` | ${JSON.stringify(r.notes)}` : ''}`);
}

/** Every Sentinel naming a master other than `old`. */
async function waitFailover(old: string, since: number): Promise<{ master: string; ms: number }> {
  return waitFor(`a failover away from ${old}`, async () => {
    const named = await Promise.all(d.sentinelPods().map((p) => d.cli(p, ['SENTINEL', 'get-master-addr-by-name', s.masterName])));
    const masters = new Set(named.map((x) => x.split('\n')[0]));
    if (masters.size !== 1 || masters.has('') || masters.has(d.fqdn(old))) return undefined;
    return { master: d.podOf([...masters][0]), ms: Date.now() - since };
  }, 40_000, { intervalMs: 100 });
}

/**
 * The endpoint's guarantees (the Sentinel clients run beside them for comparison only). After a crash
 * or a partition of the master, writes only it had acknowledged may be lost (replication is
 * asynchronous); none that a replica confirmed (WAIT 1). Otherwise no acknowledged write is lost.
 */
function expectClean(r: CaseResult, o: { masterCrashed?: boolean } = {}): void {
  for (const x of r.writers.filter((w) => w.writer.endsWith(`@${s.names.masterEndpoint}`))) {
    const lost = o.masterCrashed ? x.lostConfirmed : x.lost;
    expect({ writer: x.writer, lost }).toEqual({ writer: x.writer, lost: 0 });
  }
  if (r.acceptedByOldMaster !== undefined) expect(r.acceptedByOldMaster).toBe(0);
  expect(r.reader.writesAccepted).toBe(0);
}

beforeAll(async () => {
  requireHarness('test/e2e/master-endpoint.test.ts', { extra: ['haproxy'], python: true });
  mkdirSync(RESULTS, { recursive: true });
  await cluster.start({ waitForOtherRunMs: 15 * 60_000 });
  await cluster.apply([...chartObjects, d.authSecret()]);
  await Promise.all([d.clientPod('client-node', 'node'), d.clientPod('client-py', 'python')]);
  await d.waitHealthy({ timeoutMs: 90_000 });
  for (let i = 0; i < PROXY_REPLICAS; i++) await addProxyPod();
}, 20 * 60_000);

afterEach(async () => {
  await d.repairAfterScenario();
  await d.waitHealthy({ timeoutMs: 90_000 });
}, 120_000);

afterAll(async () => {
  await cluster.shutdown();
  saveResults(RESULTS, 'endpoint-results', results, { cluster, events: 'endpoint-events.log' });
});

describe('master endpoint (HAProxy) end to end', () => {
  test('1 plain clients write through <name>-master to the master; <name>-replicas serves replicas only', async () => {
    const h = await d.waitHealthy();
    expect(proxies).toHaveLength(2);
    const via = await cluster.exec(NS, 'client-node', 'main', ['redis-cli', '-h', MASTER_HOST, '-p', String(s.redisPort), '--no-auth-warning', 'ROLE'], { env: { REDISCLI_AUTH: PASSWORD } });
    expect(via.stdout.split('\n')[0]).toBe('master');
    const c = await startClients('x1');
    await sleep(1500);
    const r = await stopClients(c, h.master);
    const res: CaseResult = { scenario: '1 steady', writers: r.writers, reader: r.reader, notes: { master: h.master } };
    record(res);
    expectClean(res);
    expect(Object.keys(r.reader.roles)).toEqual(['slave']);
    // An unlabelled pod reaches neither endpoint (NetworkPolicy).
    await d.clientPod('stranger', 'node', { labels: { app: 'stranger' } });
    const blocked = await cluster.exec(NS, 'stranger', 'main', ['timeout', '3', 'redis-cli', '-h', MASTER_HOST, '-p', String(s.redisPort), 'PING'], { timeoutMs: 6000 });
    expect(blocked.stdout).not.toContain('PONG');
  });

  test('2 master SIGKILLed: plain clients resume on the promoted replica, no write a replica confirmed is lost, nothing taken by the old master', async () => {
    const start = await d.waitHealthy();
    const c = await startClients('x2');
    await sleep(1000);
    const t0 = Date.now();
    const held = cluster.mustPod(NS, start.master).killContainer('redis', { hold: true });
    const f = await waitFailover(start.master, t0);
    const watch = watchOldMaster(start.master, () => c.endpoint.map((w) => w.key));
    await sleep(3000);
    held.release();
    const end = await d.waitHealthy({ timeoutMs: 60_000 });
    const seen = await watch.stop();
    const r = await stopClients(c, end.master);
    const res: CaseResult = {
      scenario: '2 master SIGKILLed', failoverMs: f.ms, writers: r.writers, reader: r.reader,
      acceptedByOldMaster: await onlyOnOldMaster(seen, end.master), notes: { from: start.master, to: end.master },
    };
    record(res);
    expectClean(res, { masterCrashed: true });
  });

  test('3 master pod deleted (planned hand-over): plain clients follow, nothing lost, nothing taken by the old master', async () => {
    const start = await d.waitHealthy();
    const c = await startClients('x3');
    await sleep(1000);
    const watch = watchOldMaster(start.master, () => c.endpoint.map((w) => w.key));
    const t0 = Date.now();
    const deleted = cluster.deletePod(NS, start.master);
    const f = await waitFailover(start.master, t0);
    await deleted;
    const end = await d.waitHealthy({ timeoutMs: 60_000 });
    const seen = await watch.stop();
    const r = await stopClients(c, end.master);
    const res: CaseResult = {
      scenario: '3 master pod deleted (preStop)', failoverMs: f.ms, writers: r.writers, reader: r.reader,
      acceptedByOldMaster: await onlyOnOldMaster(seen, end.master), notes: { from: start.master, to: end.master },
    };
    record(res);
    expectClean(res);
  });

  test('4 master partitioned: the endpoint leaves it at once and follows the Sentinels; the isolated master takes no endpoint write', async () => {
    const start = await d.waitHealthy();
    const c = await startClients('x4');
    await sleep(1000);
    const watch = watchOldMaster(start.master, () => c.endpoint.map((w) => w.key));
    const t0 = Date.now();
    await cluster.setLink(NS, start.master, false);
    // No reply crosses the cut: a writer's last ack before this moment is its last ack before the cut.
    const cut = Date.now();
    const f = await waitFailover(start.master, t0);
    await sleep(Math.max(0, t0 + 8000 - Date.now()));
    await cluster.setLink(NS, start.master, true);
    const healedAt = Date.now();
    const end = await d.waitHealthy({ timeoutMs: 60_000 });
    const seen = await watch.stop();
    const r = await stopClients(c, end.master);
    const res: CaseResult = {
      scenario: '4 master partitioned', failoverMs: f.ms, writers: r.writers, reader: r.reader,
      // A write each writer had sent before the link was cut may have reached the master (then still the
      // master everyone named) with its reply and replication cut: taken before the isolation, not by an
      // isolated master. Nothing sent later can reach it: the harness cuts its every link.
      acceptedByOldMaster: await onlyOnOldMaster(seen, end.master, r.inFlightAt(cut)), notes: { from: start.master, to: end.master, partitionMs: healedAt - t0 },
    };
    record(res);
    expectClean(res, { masterCrashed: true });
  });

  test('5 rolling restart of the HAProxy pods: clients reconnect to the other pod, nothing lost', async () => {
    const start = await d.waitHealthy();
    const c = await startClients('x5');
    await sleep(1000);
    const t0 = Date.now();
    await rolloutRestart();
    const rolledMs = Date.now() - t0;
    await sleep(1000);
    const r = await stopClients(c, start.master);
    const res: CaseResult = { scenario: '5 HAProxy pods rolled', writers: r.writers, reader: r.reader, notes: { master: start.master, rolledMs, pods: [...proxies] } };
    record(res);
    expectClean(res);
    expect(proxies).toHaveLength(2);
  });
});
