/**
 * End-to-end TLS: the chart with `tls: { mutual: true }` (the certificate from an existing
 * kubernetes.io/tls Secret made here with openssl, test/support/certs.ts, naming what
 * `tlsDnsNames` lists and 127.0.0.1), monitoring and backup on, in the harness (test/e2e/harness).
 * One deployment serves every scenario, in order:
 * 1. bootstrap: one master, its replicas linked, three Sentinels agreeing, every Redis with the
 *    plaintext port closed (`port 0`, `tls-port`, `tls-replication yes`, `tls-auth-clients yes`),
 *    Sentinel clients (ioredis, python3-redis) writing over TLS;
 * 2. refused: plaintext, and TLS with the CA but no client certificate, to a Redis and a Sentinel pod;
 * 3. refused: no password, a wrong password, an unknown user (with a valid client certificate);
 * 4. the master pod deleted (planned hand-over by the preStop) with both writing: 0 lost (a
 *    SIGKILLed master over TLS is in the acl suite, which runs with TLS on);
 * 5. every exporter sidecar reaches its Redis or Sentinel over TLS (redis_up 1, Sentinel metrics);
 * 6. a backup Job streams a snapshot over TLS, presenting its client certificate (the restore of
 *    such a file into a fresh TLS deployment is scenario 7 of the acl suite);
 * 7. the certificate renewed with writers running: Redis reloads it in place, the Sentinels restart
 *    one after another, no failover, no failed write.
 * The clients hold a certificate of their own (CN e2e-client, same CA) in a Secret their pods mount.
 * Needs root; see test/e2e/README.md. Figures go to test/e2e/results/.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Duration } from 'cdk8s';
import { RedisSentinelChartProps } from '../../src';
import { DeploymentSettings } from '../../src/settings';
import { tlsDnsNames } from '../../src/tls';
import { Certs, issue, makeCerts, tlsSecret } from '../support/certs';
import { settingsOf, synthChart } from '../support/synth';
import { KEYS, dataSet, digest } from './backup-data';
import { CLIENT_TLS_DIR, Deployment, WriterResult, saveResults } from './deployment';
import { Cluster, clientPod } from './harness/cluster';
import { requireHarness } from './harness/preflight';
import { sleep, waitFor, withTimeout } from './harness/sys';

jest.setTimeout(180_000);

const PASSWORD = 'e2e tls "quoted" \\ pass';
const PROPS: RedisSentinelChartProps = {
  createNamespace: true,
  downAfter: Duration.seconds(2), failoverTimeout: Duration.seconds(10),
  tls: { mutual: true },
  monitoring: {},
  backup: { retention: 2 },
};
const s = settingsOf(PROPS, 'redis');
const NS = s.namespace;
const RESULTS = join(__dirname, 'results');
const CLIENT_SECRET = 'e2e-client-tls';
/** Where the scraper runs: a pod with the chart's default Prometheus labels, in a namespace of its own. */
const PROM_NS = 'monitoring';
const PROM_POD = 'prometheus';

const chartObjects = synthChart(PROPS);
const cluster = new Cluster({ prefix: 'rse2e-t-', logDir: join(RESULTS, 'tls-logs') });
const d = new Deployment(cluster, s, PASSWORD, { tls: { clientSecret: CLIENT_SECRET } });

/** The names the certificate of a deployment must carry (`localhost` and 127.0.0.1 are always added by issue()). */
const dnsNamesOf = (x: DeploymentSettings) => tlsDnsNames(x.names, x.namespace, x.clusterDomain).filter((n) => n !== 'localhost');

let certDir = '';
let serverCerts: Certs;
let clientCerts: Certs;

interface ScenarioResult { scenario: string; failoverMs?: number; writers: WriterResult[]; notes: Record<string, unknown> }
const results: ScenarioResult[] = [];

function record(r: ScenarioResult): void {
  results.push({ ...r, writers: r.writers.map((x) => ({ ...x, lostSeqs: x.lostSeqs.slice(0, 20) })) });
  const w = r.writers.map((x) => `${x.writer}: outage ${x.outageMs} ms, acked ${x.acked}, lost ${x.lost}, confirmed lost ${x.lostConfirmed}`).join('; ');
  // eslint-disable-next-line no-console
  console.log(`[e2e tls] ${r.scenario}${r.failoverMs !== undefined ? ` | failover ${r.failoverMs} ms` : ''}${w ? ` | ${w}` : ''}${Object.keys(r.notes).length ? ` | ${JSON.stringify(r.notes)}` : ''}`);
}

// --- writers and failovers (as failover.test.ts) -------------------------------------------------

const sentinelLogMark = () => new Map(d.sentinelPods().map((p) => [p, d.logSize(p)]));
/** The most +switch-master lines any one Sentinel logged since `mark`. */
const failoversSince = (mark: Map<string, number>) => Math.max(...[...mark].map(([p, from]) => (d.logSince(p, from).match(/\+switch-master /g) ?? []).length));

/** Healthy again, one master (`master`), exactly one failover since `mark`. */
async function expectSettledAfterOneFailover(mark: Map<string, number>, master: string): Promise<void> {
  const h = await d.waitHealthy({ timeoutMs: 60_000 });
  expect(h.master).toBe(master);
  expect(await d.masters()).toEqual([master]);
  expect(failoversSince(mark)).toBe(1);
}

// --- plain redis-cli from a client pod ----------------------------------------------------------

/** redis-cli from the node client pod to host:port, with `args` before the command; stdout and stderr together. */
async function clientCli(host: string, port: number, args: string[], command: string[], env: Record<string, string> = { REDISCLI_AUTH: PASSWORD }): Promise<string> {
  const r = await cluster.exec(NS, 'client-node', 'main', ['timeout', '5', 'redis-cli', '-h', host, '-p', String(port), ...args, ...command], { env, timeoutMs: 8000 });
  return `${r.stdout}${r.stderr}`.trim();
}

// --- exporters --------------------------------------------------------------------------------

interface Sample { name: string; labels: Record<string, string>; value: number }

/** The metrics the checks read, from Prometheus' text format (labels without escaped quotes suffice here). */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** One scrape of every Redis and Sentinel pod's exporter from the Prometheus pod. */
async function scrapeAll(): Promise<Array<{ pod: string; ok: boolean; error?: string; samples: Sample[] }>> {
  return (await d.scrapeExporters(PROM_NS, PROM_POD)).map((x) => ({ pod: x.pod, ok: x.ok, error: x.error, samples: x.ok ? parseMetrics(x.body) : [] }));
}

beforeAll(async () => {
  requireHarness('test/e2e/tls.test.ts', { python: true, extra: ['openssl', 'prometheus-redis-exporter', 'redis-check-rdb'] });
  rmSync(join(RESULTS, 'tls-logs'), { recursive: true, force: true });
  mkdirSync(join(RESULTS, 'tls-logs'), { recursive: true });
  certDir = mkdtempSync(join(tmpdir(), 'rse2e-tls-'));
  serverCerts = makeCerts(join(certDir, 'ca'), { dnsNames: dnsNamesOf(s) });
  // The writers' own certificate (mutual TLS), from the same CA; it names no server.
  clientCerts = issue(join(certDir, 'ca'), { outDir: join(certDir, 'client'), commonName: 'e2e-client' });
  await cluster.start({ waitForOtherRunMs: 15 * 60_000 });
  await cluster.apply([
    ...chartObjects, d.authSecret(), tlsSecret(serverCerts, s.tls!.secretName, NS), tlsSecret(clientCerts, CLIENT_SECRET, NS),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PROM_NS } },
  ]);
  await cluster.apply([clientPod({ name: PROM_POD, namespace: PROM_NS, labels: { 'app.kubernetes.io/name': 'prometheus' }, image: 'rse2e/node-client' })]);
  await Promise.all([d.clientPod('client-node', 'node'), d.clientPod('client-py', 'python')]);
}, 20 * 60_000);

afterEach(() => d.repairAfterScenario());

afterAll(async () => {
  await cluster.shutdown();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
  saveResults(RESULTS, 'tls-results', results, { cluster, events: 'tls-events.log' });
});

describe('TLS (mutual), end to end', () => {
  test('1 bootstrap: master, replicas and Sentinels healthy with every port TLS-only; Sentinel clients write over TLS', async () => {
    const t0 = Date.now();
    const h = await d.waitHealthy({ timeoutMs: 120_000 });
    const bootMs = Date.now() - t0;
    expect(h.master).toBe(`${s.names.master}-0`);
    for (const p of d.redisPods()) {
      const conf = await d.cli(p, ['CONFIG', 'GET', 'port', 'tls-port', 'tls-replication', 'tls-auth-clients']);
      expect({ pod: p, conf: Object.fromEntries(conf.split('\n').map((l, i, a) => (i % 2 === 0 ? [l, a[i + 1]] : [])).filter((x) => x.length)) })
        .toEqual({ pod: p, conf: { 'port': '0', 'tls-port': String(s.redisPort), 'tls-replication': 'yes', 'tls-auth-clients': 'yes' } });
    }
    for (const sp of d.sentinelPods()) {
      expect((await d.cli(sp, ['SENTINEL', 'get-master-addr-by-name', s.masterName])).split('\n')).toEqual([d.fqdn(h.master), String(s.redisPort)]);
      expect(await d.cli(sp, ['SENTINEL', 'CKQUORUM', s.masterName])).toMatch(/^OK 3 usable Sentinels/);
    }
    const w = await d.startWriterPair('s1');
    await sleep(1000);
    const writers = await d.stopAndAccount(w, h.master);
    for (const x of writers) expect(x.lost).toBe(0);
    record({ scenario: '1 bootstrap over TLS', writers, notes: { master: h.master, podsToHealthyMs: bootMs } });
  });

  test('2 refused: plaintext, and TLS without a client certificate, to a Redis pod and a Sentinel pod', async () => {
    const { master } = await d.waitHealthy();
    const targets: Array<[string, string, number]> = [['redis', master, s.redisPort], ['sentinel', d.sentinelPods()[0], s.sentinelPort]];
    const seen: Record<string, string> = {};
    for (const [kind, pod, port] of targets) {
      const host = d.fqdn(pod);
      const mark = d.logSize(pod);
      // The control: the client's own certificate works.
      expect(await clientCli(host, port, d.tlsArgs(CLIENT_TLS_DIR), ['PING'])).toBe('PONG');
      const plain = await clientCli(host, port, [], ['PING']);
      const noCert = await clientCli(host, port, ['--tls', '--cacert', `${CLIENT_TLS_DIR}/ca.crt`], ['PING']);
      seen[`${kind} plaintext`] = plain;
      seen[`${kind} CA, no certificate`] = noCert;
      for (const reply of [plain, noCert]) {
        expect({ kind, reply, refused: !/PONG|NOAUTH|WRONGPASS/.test(reply) }).toEqual({ kind, reply, refused: true });
      }
      // The server says why.
      await waitFor(`${pod} logging both refusals`, () => {
        const log = d.logSince(pod, mark);
        return /wrong version number/.test(log) && /peer did not return a certificate/.test(log);
      }, 5000);
    }
    record({ scenario: '2 plaintext and no-certificate clients refused', writers: [], notes: seen });
  });

  test('3 refused with a valid client certificate: no password, a wrong password, an unknown user', async () => {
    const { master } = await d.waitHealthy();
    const seen: Record<string, string> = {};
    for (const [kind, pod, port] of [['redis', master, s.redisPort], ['sentinel', d.sentinelPods()[0], s.sentinelPort]] as const) {
      const host = d.fqdn(pod);
      const tls = d.tlsArgs(CLIENT_TLS_DIR);
      const none = await clientCli(host, port, tls, ['PING'], {});
      const wrong = await clientCli(host, port, tls, ['PING'], { REDISCLI_AUTH: `${PASSWORD}-wrong` });
      const user = await clientCli(host, port, [...tls, '--user', 'nobody', '--pass', PASSWORD], ['PING'], {});
      Object.assign(seen, { [`${kind} no password`]: none, [`${kind} wrong password`]: wrong, [`${kind} unknown user`]: user });
      expect(none).toMatch(/^NOAUTH/);
      expect(wrong).toMatch(/WRONGPASS/);
      expect(user).toMatch(/WRONGPASS/);
      for (const reply of [none, wrong, user]) expect(reply).not.toMatch(/PONG/);
    }
    record({ scenario: '3 wrong credentials refused', writers: [], notes: seen });
  });

  test('4 master pod deleted (planned): the preStop hands over over TLS, no acknowledged write lost', async () => {
    const start = await d.waitHealthy();
    const mark = sentinelLogMark();
    const events = cluster.events.length;
    const w = await d.startWriterPair('s5');
    await sleep(1000);
    const f = await d.deleteMasterUntilFailover(start.master);
    await expectSettledAfterOneFailover(mark, f.master);
    const writers = await d.stopAndAccount(w, f.master);
    for (const x of writers) expect(x.lost).toBe(0);
    const log = [...mark].map(([p, from]) => d.logSince(p, from)).join('\n');
    expect(log).toMatch(/Executing user requested FAILOVER/);
    expect(log).not.toMatch(/\+odown/);
    const preStop = cluster.events.slice(events).filter((e) => e.includes(`${start.master}: redis: preStop`)).join('\n');
    expect(preStop).toMatch(/preStop exited 0/);
    expect(preStop).toMatch(/the Sentinels name .* as master/);
    record({ scenario: '4 master pod deleted (preStop)', failoverMs: f.ms, writers, notes: { from: start.master, to: f.master, podGoneMs: f.podGoneMs } });
  });

  test('5 every exporter sidecar reaches its Redis or Sentinel over TLS', async () => {
    const { master } = await d.waitHealthy();
    const t0 = Date.now();
    let last: Awaited<ReturnType<typeof scrapeAll>> = [];
    const one = (sc: typeof last[number], name: string, where: (l: Record<string, string>) => boolean = () => true) =>
      sc.samples.filter((x) => x.name === name && where(x.labels)).map((x) => x.value);
    await waitFor('every exporter answering with redis_up 1', async () => {
      last = await scrapeAll();
      return last.every((sc) => sc.ok && one(sc, 'redis_up')[0] === 1);
    }, 30_000, { intervalMs: 1000, context: async () => JSON.stringify(last.map((sc) => ({ pod: sc.pod, ok: sc.ok, error: sc.error, up: one(sc, 'redis_up') }))) });
    const scrapeMs = Date.now() - t0;
    const notes: Record<string, string> = {};
    for (const sc of last) {
      if (d.isSentinel(sc.pod)) {
        expect({ pod: sc.pod, mode: one(sc, 'redis_instance_info', (l) => l.redis_mode === 'sentinel') }).toEqual({ pod: sc.pod, mode: [1] });
        expect({ pod: sc.pod, masters: one(sc, 'redis_sentinel_masters') }).toEqual({ pod: sc.pod, masters: [1] });
        const status = sc.samples.filter((x) => x.name === 'redis_sentinel_master_status' && x.labels.master_name === s.masterName);
        expect({ pod: sc.pod, status: status.map((x) => `${x.labels.master_address} ${x.labels.master_status} ${x.value}`) })
          .toEqual({ pod: sc.pod, status: [`${d.fqdn(master)}:${s.redisPort} ok 1`] });
        notes[sc.pod] = `sentinel, ok_slaves ${one(sc, 'redis_sentinel_master_ok_slaves')}, ok_sentinels ${one(sc, 'redis_sentinel_master_ok_sentinels')}`;
      } else {
        const role = sc.samples.find((x) => x.name === 'redis_instance_info')?.labels.role;
        expect({ pod: sc.pod, role }).toEqual({ pod: sc.pod, role: sc.pod === master ? 'master' : 'slave' });
        notes[sc.pod] = `redis_up 1, role ${role}`;
      }
    }
    record({ scenario: '5 exporters over TLS', writers: [], notes: { ...notes, untilAllUpMs: String(scrapeMs) } });
  });

  // The restore of such a file into a fresh TLS deployment runs in the acl suite (TLS and ACL users on).
  test('6 a backup Job over TLS (with its client certificate): a verified snapshot of every key', async () => {
    const h = await d.waitHealthy();
    const r = await cluster.exec(NS, h.master, 'redis', ['redis-cli', ...d.tlsArgs(), '-p', String(s.redisPort), '--pipe'],
      { input: dataSet(), env: { REDISCLI_AUTH: PASSWORD }, timeoutMs: 60_000 });
    expect(r.stdout).toMatch(new RegExp(`errors: 0, replies: ${KEYS}`));
    await d.waitReplicated(h.master);
    const original = await digest(d, h.master);
    expect(original).toMatch(new RegExp(`^${KEYS} [0-9a-f]{40}$`));
    // The data set and the writers' lists of the earlier scenarios.
    const keys = Number(await d.cli(h.master, ['DBSIZE']));
    expect(keys).toBeGreaterThan(KEYS);

    const t0 = Date.now();
    const pod = await cluster.runJobFromCronJob(NS, s.names.backup, 'backup-tls');
    await withTimeout(pod.finished, 90_000, 'the backup Job did not finish');
    const jobMs = Date.now() - t0;
    const logFile = cluster.logFile(NS, pod.name, 'backup');
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    expect({ phase: pod.phase, log }).toEqual({ phase: 'Succeeded', log: expect.stringMatching(/backup ok: .* from the replica /) });
    await pod.delete(0);
    const backupDir = cluster.claimDir(NS, s.names.backupClaim);
    const files = readdirSync(backupDir).filter((f) => f.endsWith('.rdb'));
    expect(files).toHaveLength(1);
    expect(execFileSync('redis-check-rdb', [join(backupDir, files[0])]).toString()).toMatch(new RegExp(`\\[info\\] ${keys} keys read`));

    record({ scenario: '6 backup over TLS', writers: [], notes: { file: files[0], keys, jobMs, digest: original } });
  });

  test('7 the certificate renewed with writers running: Redis loads it in place, the Sentinels restart one after another, no failover, no failed write', async () => {
    const start = await d.waitHealthy();
    const mark = sentinelLogMark();
    const redisMark = new Map(d.redisPods().map((p) => [p, d.logSize(p)]));
    const runIds = async () => Promise.all(d.redisPods().map(async (p) => /run_id:(\w+)/.exec(await d.cli(p, ['INFO', 'server']))?.[1]));
    const before = await runIds();
    const events = cluster.events.length;
    const w = await d.startWriterPair('s8');
    await sleep(1000);
    // What cert-manager does: a new key and certificate from the same CA, into the same Secret.
    const renewed = issue(join(certDir, 'ca'), { outDir: join(certDir, 'renewed'), dnsNames: dnsNamesOf(s) });
    const t0 = Date.now();
    await cluster.apply([tlsSecret(renewed, s.tls!.secretName, NS)]);
    for (const p of d.redisPods()) {
      await waitFor(`${p} to load the renewed certificate`, () => /TLS: loaded the renewed certificate files/.test(d.logSince(p, redisMark.get(p)!)), 60_000, { intervalMs: 500 });
    }
    const redisMs = Date.now() - t0;
    // Each Sentinel's watcher stops it once its turn has come; the kubelet starts it again.
    // Away: from its container's exit to its start (the harness's events); polled: how many answer no PING.
    const sentinelEvents = () => cluster.events.slice(events).flatMap((e) => {
      const m = /^\s*([\d.]+) \S+\/(\S+-sentinel-\d+): sentinel (exited|started)/.exec(e);
      return m ? [{ t: Number(m[1]), pod: m[2], what: m[3] }] : [];
    });
    let maxAway = 0;
    await waitFor('every Sentinel restarted for the renewed certificate', async () => {
      const away = (await Promise.all(d.sentinelPods().map(async (p) => (await d.cli(p, ['PING'], 1500)) === 'PONG'))).filter((ok) => !ok).length;
      maxAway = Math.max(maxAway, away);
      return sentinelEvents().filter((e) => e.what === 'started').length >= d.sentinelPods().length && away === 0;
    }, 5 * 60_000, { intervalMs: 250, context: async () => sentinelEvents().map((e) => `${e.t} ${e.pod} ${e.what}`).join('\n') });
    const sentinelMs = Date.now() - t0;
    const ev = sentinelEvents();
    // In SENTINEL_HOSTS order, each once: exited, started, and only then the next one exits, at
    // least TLS_RESTART_SETTLE (15 s) after the previous one started.
    expect(ev.map((e) => `${e.pod} ${e.what}`)).toEqual(d.sentinelPods().sort().flatMap((p) => [`${p} exited`, `${p} started`]));
    const awayS = [0, 2, 4].map((i) => ev[i + 1].t - ev[i].t);
    const gapsS = [2, 4].map((i) => ev[i].t - ev[i - 1].t);
    for (const g of gapsS) expect(g).toBeGreaterThanOrEqual(15);
    expect(maxAway).toBeLessThanOrEqual(1);
    for (const p of d.sentinelPods()) expect(d.logSince(p, mark.get(p)!)).toMatch(/TLS: the certificate files changed and Sentinel cannot load them while it runs: restarting it now/);
    const h = await d.waitHealthy({ timeoutMs: 60_000 });
    expect(h.master).toBe(start.master);
    expect(failoversSince(mark)).toBe(0);
    expect(await runIds()).toEqual(before);
    const writers = await d.stopAndAccount(w, h.master);
    for (const x of writers) expect({ writer: x.writer, lost: x.lost, errors: x.errors }).toEqual({ writer: x.writer, lost: 0, errors: {} });
    record({ scenario: '7 certificate renewed', writers, notes: { redisLoadedMs: redisMs, sentinelsRestartedMs: sentinelMs, sentinelAwayS: awayS, betweenRestartsS: gapsS, maxSentinelsAway: maxAway } });
  // Three Sentinels, each after its watcher's next 10 s round and the one before it back for 15 s: about 1.5 min.
  }, 8 * 60_000);
});
