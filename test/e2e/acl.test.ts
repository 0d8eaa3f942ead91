/**
 * ACL users with TLS, end to end (prefix rse2e-a-): the synthesized chart with `acl` (an application user
 * `app`) and `tls` from cert-manager as the secure example has them (dist/redis-secure.k8s.yaml), with
 * monitoring, backups and the master endpoint, in the pod harness. The test plays cert-manager: it issues
 * the certificate the emitted Certificate asks for (its DNS names and IPs) into the Secret it names.
 * The release starts without `acl` (TLS on); scenario 0 turns it on, with writers running: the pods roll
 * one by one, and each logs in as the default user until every server has the deployment's users. Every component logs in as its own
 * user with exactly the rights src/acl.ts gives it; the writers (ioredis, redis-py) log in as `app`, to
 * the Sentinels and to Redis. Then every password is rotated in the three Secret steps the README gives,
 * with the writers running. The kubelet's update of a changed Secret reaches each pod at its own moment
 * (harness/cluster.ts syncProjected), as on a cluster.
 * Each scenario checks the servers' ACL LOGs: a refusal of anything the deployment sends fails it.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Duration } from 'cdk8s';
import { RedisSentinelChartProps } from '../../src';
import { SECRET_USERS } from '../../src/acl';
import { SECURE_PROPS } from '../../src/example';
import { TLS_FILES } from '../../src/tls';
import { issue, makeCerts, tlsSecret } from '../support/certs';
import { settingsOf, synthChart } from '../support/synth';
import { KEYS, dataSet, digest } from './backup-data';
import { CLIENT_TLS_DIR, Deployment, WriterResult, saveResults } from './deployment';
import { Cluster, clientPod } from './harness/cluster';
import { requireHarness } from './harness/preflight';
import { KubeObject } from './harness/types';
import { sleep, waitFor, withTimeout } from './harness/sys';

jest.setTimeout(240_000);

const PASSWORD = 'e2e acl "admin" \\ pass';
const APP = { name: 'app', secretName: 'app-redis', rules: '~e2e:* resetchannels +@all -@dangerous +info +role' };
const PROPS: RedisSentinelChartProps = {
  createNamespace: true,
  downAfter: Duration.seconds(2), failoverTimeout: Duration.seconds(10),
  acl: { users: [APP] },
  // The secure example's certificate: a cert-manager Certificate from a ClusterIssuer.
  tls: SECURE_PROPS.tls,
  monitoring: {},
  backup: { retention: 2 },
  masterEndpoint: {},
};
const s = settingsOf(PROPS, 'redis');
const NS = s.namespace;
const RESULTS = join(__dirname, 'results');
const PROM_NS = 'monitoring';
const PROM_POD = 'prometheus';
const MASTER_HOST = `${s.names.masterEndpoint}.${NS}.svc.${s.clusterDomain}`;

/** Each user's password now; a rotation appends ' r<n>'. */
const pw: Record<string, string> = Object.fromEntries([...SECRET_USERS, 'app'].map((u) => [u, `e2e ${u} 'pw' "${u.length}"`]));

const chartObjects = synthChart(PROPS);
/** The same release before `acl` is turned on (scenario 0). */
const PROPS_BEFORE: RedisSentinelChartProps = { ...PROPS, acl: undefined };
const objectsBefore = synthChart(PROPS_BEFORE);
let certDir = '';

/** What cert-manager does for the chart's Certificate in namespace `ns`: its names and IPs, signed by the test's CA, into its Secret. */
function issueFor(objects: KubeObject[], ns: string): KubeObject {
  const cert = objects.find((o) => o.kind === 'Certificate')!;
  const dnsNames = (cert.spec.dnsNames as string[]).filter((n) => n !== 'localhost');
  const ips = (cert.spec.ipAddresses as string[] ?? []).filter((ip) => ip !== '127.0.0.1');
  // The first one makes the CA (the ClusterIssuer's), the others are signed by it.
  const certs = ns === NS ? makeCerts(join(certDir, 'ca'), { dnsNames, ips }) : issue(join(certDir, 'ca'), { outDir: join(certDir, ns), dnsNames, ips });
  return tlsSecret(certs, cert.spec.secretName, ns);
}
const cluster = new Cluster({ prefix: 'rse2e-a-', logDir: join(RESULTS, 'acl-logs') });
const d = new Deployment(cluster, s, PASSWORD, { user: { name: 'app', password: pw.app } });
/** The release before acl: writers with the default user's password. */
const d0 = new Deployment(cluster, settingsOf(PROPS_BEFORE, 'redis'), PASSWORD);

const proxyTemplate = chartObjects.find((o) => o.kind === 'Deployment' && o.metadata.name === s.names.proxy)!.spec.template;
let proxySerial = 0;
async function addProxyPod(): Promise<string> {
  const name = `${s.names.proxy}-${(++proxySerial).toString(36).padStart(5, '0')}`;
  await cluster.apply([{
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: NS, labels: proxyTemplate.metadata.labels, annotations: proxyTemplate.metadata.annotations },
    spec: JSON.parse(JSON.stringify(proxyTemplate.spec)),
  }]);
  await waitFor(`HAProxy pod ${name} ready`, () => cluster.pod(NS, name)?.ready, 30_000, { context: () => cluster.events.slice(-20).join('\n') });
  return name;
}

/** A Secret with string values (`extra`: rotation keys). */
function secret(name: string, data: Record<string, string>, namespace = NS): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}
/** The three Secrets the deployment reads: the default user's, its own users', the application user's; `keys` adds rotation keys. */
function secrets(o: { admin?: Record<string, string>; acl?: Record<string, string>; app?: Record<string, string> } = {}, ns = NS): KubeObject[] {
  return [
    secret(s.authSecretName, { [s.authSecretKey]: d.password, ...o.admin }, ns),
    secret(s.acl!.secretName, { ...Object.fromEntries(SECRET_USERS.map((u) => [u, pw[u]])), ...o.acl }, ns),
    secret(APP.secretName, { password: pw.app, ...o.app }, ns),
  ];
}

interface ScenarioResult { scenario: string; failoverMs?: number; writers: WriterResult[]; notes: Record<string, unknown> }
const results: ScenarioResult[] = [];
function record(r: ScenarioResult): void {
  results.push({ ...r, writers: r.writers.map((x) => ({ ...x, lostSeqs: x.lostSeqs.slice(0, 20) })) });
  const w = r.writers.map((x) => `${x.writer}: outage ${x.outageMs} ms, acked ${x.acked}, lost ${x.lost}, confirmed lost ${x.lostConfirmed}, errors ${JSON.stringify(x.errors)}`).join('; ');
  // eslint-disable-next-line no-console
  console.log(`[e2e acl] ${r.scenario}${r.failoverMs !== undefined ? ` | failover ${r.failoverMs} ms` : ''}${w ? ` | ${w}` : ''}${Object.keys(r.notes).length ? ` | ${JSON.stringify(r.notes)}` : ''}`);
}

const sentinelLogMark = () => new Map(d.sentinelPods().map((p) => [p, d.logSize(p)]));
const failoversSince = (mark: Map<string, number>) => Math.max(...[...mark].map(([p, from]) => (d.logSince(p, from).match(/\+switch-master /g) ?? []).length));

/** redis-cli from the node client pod (TLS with the CA only), with no password unless `args` give one; stdout and stderr. */
async function clientCli(host: string, port: number, args: string[], command: string[]): Promise<string> {
  const tls = ['--tls', '--cacert', `${CLIENT_TLS_DIR}/${TLS_FILES.ca}`];
  const r = await cluster.exec(NS, 'client-node', 'main', ['timeout', '5', 'redis-cli', '--no-auth-warning', ...tls, '-h', host, '-p', String(port), ...args, ...command], { timeoutMs: 8000 });
  return `${r.stdout}${r.stderr}`.trim();
}
/** Whether the pod's Redis or Sentinel accepts `user` with `password` (AUTH from a client pod). */
async function accepts(pod: string, user: string, password: string): Promise<boolean> {
  return (await clientCli(d.fqdn(pod), d.isSentinel(pod) ? s.sentinelPort : s.redisPort, [], ['AUTH', user, password])) === 'OK';
}
/** The users of each side, as the deployment defines them. */
const usersOf = (pod: string) => (d.isSentinel(pod) ? ['default', 'sentinel-peer', 'backup', 'endpoint', 'app'] : ['default', 'replication', 'sentinel', 'backup', 'endpoint', 'app']);
const passwordOf = (u: string) => (u === 'default' ? d.password : pw[u]);

/** The ACL LOG of every Redis and Sentinel pod that has entries: each one something refused. */
async function denials(): Promise<Array<{ pod: string; log: string }>> {
  const out = [];
  for (const pod of [...d.redisPods(), ...d.sentinelPods()]) {
    const log = await d.cli(pod, ['ACL', 'LOG']);
    if (log !== '') out.push({ pod, log });
  }
  return out;
}
async function resetDenials(): Promise<void> {
  for (const pod of [...d.redisPods(), ...d.sentinelPods()]) await d.cli(pod, ['ACL', 'LOG', 'RESET']);
}

/** One scrape of every Redis and Sentinel pod's exporter from the Prometheus pod. */
const scrapeAll = () => d.scrapeExporters(PROM_NS, PROM_POD);
const metric = (body: string, name: string) => body.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`)).map((l) => Number(l.split(' ').pop()));

beforeAll(async () => {
  requireHarness('test/e2e/acl.test.ts', { python: true, extra: ['prometheus-redis-exporter', 'haproxy', 'openssl', 'redis-check-rdb'] });
  rmSync(join(RESULTS, 'acl-logs'), { recursive: true, force: true });
  mkdirSync(join(RESULTS, 'acl-logs'), { recursive: true });
  certDir = mkdtempSync(join(tmpdir(), 'rse2e-acl-'));
  await cluster.start({ waitForOtherRunMs: 15 * 60_000 });
  await cluster.apply([...objectsBefore, d0.authSecret(), issueFor(objectsBefore, NS), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PROM_NS } }]);
  await cluster.apply([clientPod({ name: PROM_POD, namespace: PROM_NS, labels: { 'app.kubernetes.io/name': 'prometheus' }, image: 'rse2e/node-client' })]);
  await Promise.all([d.clientPod('client-node', 'node'), d.clientPod('client-py', 'python')]);
}, 20 * 60_000);

afterEach(() => d.repairAfterScenario());

afterAll(async () => {
  await cluster.shutdown();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
  saveResults(RESULTS, 'acl-results', results, { cluster, events: 'acl-events.log' });
});

/** The users the master's replicas and the Sentinels' connections log in as, and the Sentinels' links to their peers. */
async function loginUsers(master: string): Promise<{ replicas: string[]; sentinels: string[]; peers: string[] }> {
  const users = (lines: string[], re: RegExp) => [...new Set(lines.filter((l) => re.test(l)).map((l) => /user=(\S+)/.exec(l)![1]))].sort();
  const clients = (await d.cli(master, ['CLIENT', 'LIST'])).split('\n');
  const peers = (await Promise.all(d.sentinelPods().map((p) => d.cli(p, ['CLIENT', 'LIST'])))).flatMap((x) => x.split('\n'));
  return { replicas: users(clients, / flags=S /), sentinels: users(clients, / name=sentinel-\w+-(cmd|pubsub) /), peers: users(peers, / name=sentinel-\w+-cmd /) };
}

describe('ACL users, end to end', () => {
  test('0 acl turned on for a running release, writers running: the pods roll one by one, each logs in as the default user until every server has its user, then as its own; nothing lost', async () => {
    const t0 = Date.now();
    const h0 = await d0.waitHealthy({ timeoutMs: 120_000 });
    const bootMs = Date.now() - t0;
    expect(h0.master).toBe(`${s.names.master}-0`);
    const mark = new Map([...d.redisPods(), ...d.sentinelPods()].map((p) => [p, d.logSize(p)]));
    const w = await d0.startWriterPair('a0');
    await sleep(1000);
    const t1 = Date.now();
    await cluster.apply([...chartObjects, ...secrets()]);
    await Promise.all([s.names.master, s.names.replica, s.names.sentinel].map((n) => cluster.waitRolledOut(NS, n, 240_000)));
    const rolledMs = Date.now() - t1;
    const h = await d.waitHealthy({ timeoutMs: 60_000 });
    // Every pod that started while an older one had no such user fell back, then switched (its watcher, every 10 s).
    let last = await loginUsers(h.master);
    await waitFor('every replica and Sentinel to log in as its own user', async () => {
      last = await loginUsers(h.master);
      return JSON.stringify(last) === JSON.stringify({ replicas: ['replication'], sentinels: ['sentinel'], peers: ['sentinel-peer'] });
    }, 60_000, { intervalMs: 1000, context: async () => JSON.stringify(last) });
    const switchedMs = Date.now() - t1;
    const logs = [...mark].map(([p, from]) => d.logSince(p, from)).join('\n');
    const fellBack = (logs.match(/has no user \S+ yet \(a release turning acl on/g) ?? []).length;
    expect(fellBack).toBeGreaterThan(0);
    expect(logs).toMatch(/every server accepts \S+: logging in as \S+ from now on \(was the default user\)/);
    const writers = await d0.stopAndAccount(w, h.master);
    for (const x of writers) expect({ writer: x.writer, lost: x.lost }).toEqual({ writer: x.writer, lost: 0 });
    // The default user keeps its password: applications switch to their users when they are ready.
    expect(await accepts(h.master, 'default', PASSWORD)).toBe(true);
    expect(await accepts(h.master, 'app', pw.app)).toBe(true);
    record({ scenario: '0 acl turned on for a running release', writers, notes: { podsToHealthyMs: bootMs, rolledOutMs: rolledMs, allOwnUsersMs: switchedMs, fallbacksLogged: fellBack } });
  });

  test('1 with acl on: replicas log in as replication, Sentinels as sentinel and sentinel-peer; ioredis and redis-py write as app; nothing refused', async () => {
    const h = await d.waitHealthy({ timeoutMs: 120_000 });
    expect(await loginUsers(h.master)).toEqual({ replicas: ['replication'], sentinels: ['sentinel'], peers: ['sentinel-peer'] });
    const w = await d.startWriterPair('a1');
    await sleep(1000);
    const writers = await d.stopAndAccount(w, h.master);
    for (const x of writers) expect({ writer: x.writer, lost: x.lost, errors: x.errors }).toEqual({ writer: x.writer, lost: 0, errors: {} });
    expect(await denials()).toEqual([]);
    record({ scenario: '1 ACL users', writers, notes: { master: h.master } });
  });

  test('2 refused: no password, a wrong password, an unknown user; app outside its keys; a deployment user beyond its rights', async () => {
    const { master } = await d.waitHealthy();
    const host = d.fqdn(master);
    const seen: Record<string, string> = {
      'no password': await clientCli(host, s.redisPort, [], ['PING']),
      'app, wrong password': await clientCli(host, s.redisPort, [], ['AUTH', 'app', 'wrong']),
      'unknown user': await clientCli(host, s.redisPort, [], ['AUTH', 'nobody', pw.app]),
      'app, SET outside ~e2e:*': await clientCli(host, s.redisPort, ['--user', 'app', '--pass', pw.app], ['SET', 'other', 'x']),
      'app, CONFIG GET masterauth': await clientCli(host, s.redisPort, ['--user', 'app', '--pass', pw.app], ['CONFIG', 'GET', 'masterauth']),
      'backup, SET': await clientCli(host, s.redisPort, ['--user', 'backup', '--pass', pw.backup], ['SET', 'e2e:x', 'x']),
      'app on a Sentinel, SENTINEL RESET': await clientCli(d.fqdn(d.sentinelPods()[0]), s.sentinelPort, ['--user', 'app', '--pass', pw.app], ['SENTINEL', 'RESET', '*']),
    };
    expect(seen['no password']).toMatch(/^NOAUTH/);
    expect(seen['app, wrong password']).toMatch(/^WRONGPASS/);
    expect(seen['unknown user']).toMatch(/^WRONGPASS/);
    for (const k of ['app, SET outside ~e2e:*', 'app, CONFIG GET masterauth', 'backup, SET', 'app on a Sentinel, SENTINEL RESET']) expect({ k, reply: seen[k] }).toEqual({ k, reply: expect.stringMatching(/NOPERM/) });
    await resetDenials();
    record({ scenario: '2 refusals', writers: [], notes: seen });
  });

  test('3 master SIGKILLed: the Sentinels vote as sentinel-peer and fail over as sentinel; writers as app lose no write a replica confirmed; nothing refused', async () => {
    const start = await d.waitHealthy();
    const mark = sentinelLogMark();
    const w = await d.startWriterPair('a3');
    await sleep(1000);
    const f = await d.killMasterUntilFailover(start.master);
    const h = await d.waitHealthy({ timeoutMs: 60_000 });
    expect(h.master).toBe(f.master);
    expect(failoversSince(mark)).toBe(1);
    const writers = await d.stopAndAccount(w, f.master);
    for (const x of writers) expect({ writer: x.writer, lostConfirmed: x.lostConfirmed }).toEqual({ writer: x.writer, lostConfirmed: 0 });
    expect(await denials()).toEqual([]);
    record({ scenario: '3 master SIGKILLed', failoverMs: f.ms, writers, notes: { from: start.master, to: f.master } });
  });

  test('4 master pod deleted (planned): the preStop hands over; no acknowledged write lost; nothing refused', async () => {
    const start = await d.waitHealthy();
    const mark = sentinelLogMark();
    const w = await d.startWriterPair('a4');
    await sleep(1000);
    const f = await d.deleteMasterUntilFailover(start.master);
    const h = await d.waitHealthy({ timeoutMs: 60_000 });
    expect(h.master).toBe(f.master);
    expect(failoversSince(mark)).toBe(1);
    const writers = await d.stopAndAccount(w, f.master);
    for (const x of writers) expect(x.lost).toBe(0);
    expect([...mark].map(([p, from]) => d.logSince(p, from)).join('\n')).not.toMatch(/\+odown/);
    expect(await denials()).toEqual([]);
    record({ scenario: '4 master pod deleted (preStop)', failoverMs: f.ms, writers, notes: { from: start.master, to: f.master } });
  });

  test('5 every exporter logs in with its pod\'s own password; the backup Job as backup; the endpoint\'s checks as endpoint', async () => {
    const { master } = await d.waitHealthy();
    let last: Awaited<ReturnType<typeof scrapeAll>> = [];
    await waitFor('every exporter answering with redis_up 1', async () => {
      last = await scrapeAll();
      return last.every((sc) => sc.ok && metric(sc.body, 'redis_up')[0] === 1);
    }, 30_000, { intervalMs: 1000, context: async () => JSON.stringify(last.map((sc) => ({ pod: sc.pod, ok: sc.ok, up: metric(sc.body, 'redis_up') }))) });
    for (const sc of last.filter((x) => d.isSentinel(x.pod))) {
      expect({ pod: sc.pod, slaves: metric(sc.body, 'redis_sentinel_master_ok_slaves'), sentinels: metric(sc.body, 'redis_sentinel_master_ok_sentinels') })
        .toEqual({ pod: sc.pod, slaves: [2], sentinels: [3] });
    }
    const t0 = Date.now();
    const pod = await cluster.runJobFromCronJob(NS, s.names.backup, 'backup-acl');
    await withTimeout(pod.finished, 90_000, 'the backup Job did not finish');
    const jobMs = Date.now() - t0;
    const logFile = cluster.logFile(NS, pod.name, 'backup');
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    expect({ phase: pod.phase, log }).toEqual({ phase: 'Succeeded', log: expect.stringMatching(/backup ok: .* from the replica /) });
    await pod.delete(0);
    // Through the master endpoint (its checks log in as endpoint), as app. The harness has no Deployment
    // controller: the Deployment's pods are made from its template (as test/e2e/master-endpoint.test.ts).
    for (let i = 0; i < 2; i++) await addProxyPod();
    const w = await d.startWriter({ kind: 'python', pod: 'client-py', key: 'e2e:a5:endpoint', host: MASTER_HOST });
    await sleep(1500);
    const writers = await d.stopAndAccount([w], master);
    expect(writers[0].acked).toBeGreaterThan(0);
    expect(writers[0].lost).toBe(0);
    expect(await denials()).toEqual([]);
    record({ scenario: '5 exporters, backup, endpoint', writers, notes: { backupJobMs: jobMs } });
  });

  test('6 rotation of every password (default, replication, sentinel, sentinel-peer, backup, endpoint, app) in three Secret steps, writers running: no failed write through the Sentinels (through the endpoint at most one per HAProxy reload), no failover, nothing lost', async () => {
    const start = await d.waitHealthy();
    const mark = sentinelLogMark();
    const users = ['default', ...SECRET_USERS, 'app'];
    const old = Object.fromEntries(users.map((u) => [u, passwordOf(u)]));
    const next = Object.fromEntries(users.map((u) => [u, `${old[u]} r1`]));
    const pods = [...d.redisPods(), ...d.sentinelPods()];
    const everywhere = async (what: string, ok: (pod: string, u: string) => Promise<boolean>) => {
      for (const pod of pods) for (const u of usersOf(pod)) await waitFor(`${pod}: ${what} (${u})`, () => ok(pod, u), 90_000, { intervalMs: 1000 });
    };
    // Writers as app (old password), through the Sentinels and through the master endpoint.
    const before = [
      ...await d.startWriterPair('a6old'),
      await d.startWriter({ kind: 'python', pod: 'client-py', key: 'e2e:a6old:endpoint', host: MASTER_HOST }),
    ];
    const t0 = Date.now();
    const proxyLogFrom = new Map(cluster.allPods().filter((p) => p.namespace === NS && p.labels['app.kubernetes.io/component'] === 'proxy')
      .map((p) => [p.name, existsSync(cluster.logFile(NS, p.name, 'haproxy')) ? readFileSync(cluster.logFile(NS, p.name, 'haproxy'), 'utf8').length : 0]));
    /** A proxy's HAProxy log since step 1. */
    const proxyLogSince = (proxy: string) => readFileSync(cluster.logFile(NS, proxy, 'haproxy'), 'utf8').slice(proxyLogFrom.get(proxy) ?? 0);
    /** A proxy's reloads, check changes and fence closings since step 1, in order (evidence for a failed endpoint write). */
    const proxyEvents = (proxy: string) => proxyLogSince(proxy).split('\n')
      .filter((l) => /^\S.*(reloading HAProxy|is DOWN|is UP|fence:|could not save|maintenance|\] master )/.test(l)).map((l) => l.slice(0, 200)).slice(0, 80);

    // Step 1: <key>-next = the new password; every server comes to accept both.
    await cluster.apply(secrets({
      admin: { [`${s.authSecretKey}-next`]: next.default },
      acl: Object.fromEntries(SECRET_USERS.map((u) => [`${u}-next`, next[u]])),
      app: { 'password-next': next.app },
    }));
    await everywhere('accepts old and new', async (pod, u) => (await accepts(pod, u, next[u])) && accepts(pod, u, old[u]));
    const step1 = Date.now() - t0;

    // Step 2: <key> = new, <key>-previous = old. The deployment sends the new ones; the application rolls
    // (new writers with the new password, then the old ones stop).
    for (const u of SECRET_USERS) pw[u] = next[u];
    pw.app = next.app;
    d.password = next.default;
    await cluster.apply(secrets({
      admin: { [`${s.authSecretKey}-previous`]: old.default },
      acl: Object.fromEntries(SECRET_USERS.map((u) => [`${u}-previous`, old[u]])),
      app: { 'password-previous': old.app },
    }));
    d.o.user!.password = next.app;
    const after = [
      ...await d.startWriterPair('a6new'),
      await d.startWriter({ kind: 'python', pod: 'client-py', key: 'e2e:a6new:endpoint', host: MASTER_HOST }),
    ];
    const beforeSummaries = await Promise.all(before.map((w) => w.stop()));
    // Every sender has switched: Redis masterauth, Sentinel auth-pass / sentinel-pass (their logs), HAProxy reloaded.
    for (const p of d.redisPods()) {
      await waitFor(`${p} to send the new replication password`, async () => (await d.cli(p, ['CONFIG', 'GET', 'masterauth'])).split('\n')[1] === next.replication, 90_000,
        { intervalMs: 1000, context: async () => JSON.stringify({ got: await d.cli(p, ['CONFIG', 'GET', 'masterauth']), want: next.replication, ping: await d.cli(p, ['PING']) }) });
    }
    for (const p of d.sentinelPods()) {
      await waitFor(`${p} to send its new passwords`, () => /new password of sentinel: sending/.test(d.logSince(p, mark.get(p)!))
        && /new password of sentinel-peer: sending/.test(d.logSince(p, mark.get(p)!)), 90_000, { intervalMs: 1000 });
    }
    /** How many times endpoint-start.sh reloaded a proxy pod's HAProxy since step 1 (its log). */
    const reloadsOf = (proxy: string) => (proxyLogSince(proxy).match(/password files changed; reloading HAProxy/g) ?? []).length;
    const proxies = cluster.allPods().filter((p) => p.namespace === NS && p.labels['app.kubernetes.io/component'] === 'proxy' && p.phase === 'Running').map((p) => p.name);
    expect(proxies.length).toBeGreaterThan(0);
    for (const proxy of proxies) {
      await waitFor(`${proxy} to reload HAProxy`, () => reloadsOf(proxy) > 0, 90_000, { intervalMs: 1000 });
    }
    const step2 = Date.now() - t0;

    // Step 3: -previous removed: the old passwords are refused everywhere.
    await cluster.apply(secrets());
    await everywhere('refuses the old password and accepts the new', async (pod, u) => !(await accepts(pod, u, old[u])) && accepts(pod, u, next[u]));
    const step3 = Date.now() - t0;
    await sleep(2000);

    // New links log in with the new passwords: a replica's link cut, a backup, the exporters.
    const replica = d.redisPods().find((p) => p !== start.master)!;
    const replicaLinkCut = Date.now() - t0;
    await d.cli(replica, ['CLIENT', 'KILL', 'TYPE', 'master']);
    await d.waitHealthy({ timeoutMs: 30_000 });
    const backupStarted = Date.now() - t0;
    const job = await cluster.runJobFromCronJob(NS, s.names.backup, 'backup-acl-rotated');
    await withTimeout(job.finished, 90_000, 'the backup Job did not finish');
    expect(job.phase).toBe('Succeeded');
    await job.delete(0);
    const scrape = await scrapeAll();
    expect(scrape.map((x) => ({ pod: x.pod, up: metric(x.body, 'redis_up')[0] }))).toEqual(scrape.map((x) => ({ pod: x.pod, up: 1 })));

    const writersStopped = Date.now() - t0;
    const afterSummaries = await Promise.all(after.map((w) => w.stop()));
    const h = await d.waitHealthy({ timeoutMs: 30_000 });
    expect(h.master).toBe(start.master);
    expect(failoversSince(mark)).toBe(0);
    await d.waitReplicated(h.master);
    const writers = await Promise.all([...before.map((w, i) => d.account(h.master, w, beforeSummaries[i])), ...after.map((w, i) => d.account(h.master, w, afterSummaries[i]))]);
    // No failed write through the Sentinels. Through the master endpoint, whose HAProxy reloads for its new
    // password (endpoint-start.sh, servers' states carried over), nothing is lost and a new connection is never
    // refused; the old worker ends its sessions 1 s after the reload (it runs no checks any more): a write in
    // flight on one then fails as on a failover, at most once per reload.
    const isEndpoint = (i: number) => i % 3 === 2;
    const reloads = proxies.map(reloadsOf).reduce((a, b) => a + b, 0);
    for (const x of writers.filter((_, i) => !isEndpoint(i))) expect({ writer: x.writer, lost: x.lost, errors: x.errors }).toEqual({ writer: x.writer, lost: 0, errors: {} });
    const endpointWriters = writers.filter((_, i) => isEndpoint(i));
    const endpointErrors = endpointWriters.map((x) => x.errors);
    const evidence = { steps: { step1, step2, step3, replicaLinkCut, backupStarted, writersStopped }, proxies: Object.fromEntries(proxies.map((p) => [p, proxyEvents(p)])) };
    for (const [j, x] of endpointWriters.entries()) {
      const isClosed = (m: string) => /^ConnectionError: (Connection closed by server|Error while reading from socket: \(104, 'Connection reset by peer'\))/.test(m);
      const closed = Object.entries(x.errors).filter(([m]) => isClosed(m)).reduce((n, [, c]) => n + c, 0);
      // Each other error with when it was first and last seen, in ms since step 1 (steps: the record below).
      const otherErrors = Object.entries(x.errors).filter(([m]) => !isClosed(m)).map(([m, n]) => [m, n, (x.errorSpans?.[m] ?? []).map((t) => t - t0)]);
      if (otherErrors.length > 0) {
        // The diff below shows only its differing lines: the evidence in full (times in ms since step 1).
        const perSecond = Object.entries(x.errorsPerSecond ?? {}).map(([sec, n]) => [Number(sec) * 1000 - t0, n]);
        // Every writer's longest waits for an acknowledgement: a stall of the master shows in all of them, one of a proxy only here.
        const slowGaps = Object.fromEntries(writers.map((w) => [w.writer, w.slowGaps.map(([at, ms]) => [at - t0, ms])]));
        // eslint-disable-next-line no-console
        console.log(`[e2e acl] 6 endpoint writer ${x.writer} (${j === 0 ? 'old password, from step 1 to step 2' : 'new password, from step 2 on'}) failed: ${JSON.stringify({ otherErrors, perSecond, slowGaps, evidence })}`);
      }
      expect({ writer: x.writer, lost: x.lost, otherErrors, evidence }).toEqual({ writer: x.writer, lost: 0, otherErrors: [], evidence });
      expect({ writer: x.writer, closed: closed <= reloads }).toEqual({ writer: x.writer, closed: true });
    }
    // The refusals of the old passwords above were the test's own (from the client pod); nothing else was refused.
    const testIp = cluster.mustPod(NS, 'client-node').ip!;
    const left = (await denials()).flatMap((x) => x.log.split(/\n(?=count\n)/).filter((e) => !(/\nreason\nauth\n/.test(`\n${e}`) && e.includes(` addr=${testIp}:`))).map((e) => ({ pod: x.pod, entry: e })));
    expect(left).toEqual([]);
    record({ scenario: '6 rotation of every password', writers, notes: { users, step1AcceptedMs: step1, step2SentMs: step2, step3OldRefusedMs: step3, endpointErrors } });
  });

  test('7 a backup Job (as backup, over TLS), and a fresh deployment with the same users restoring `latest` holds the same data; app reads it', async () => {
    const h = await d.waitHealthy();
    // The refusals of old passwords in scenario 6 were the test's own.
    await resetDenials();
    const r = await cluster.exec(NS, h.master, 'redis', ['redis-cli', ...d.tlsArgs(), '-p', String(s.redisPort), '--pipe'],
      { input: dataSet(), env: { REDISCLI_AUTH: d.password }, timeoutMs: 60_000 });
    expect(r.stdout).toMatch(new RegExp(`errors: 0, replies: ${KEYS}`));
    await d.waitReplicated(h.master);
    const original = await digest(d, h.master);
    const keys = Number(await d.cli(h.master, ['DBSIZE']));
    const backupDir = cluster.claimDir(NS, s.names.backupClaim);
    for (const f of readdirSync(backupDir)) rmSync(join(backupDir, f), { force: true });
    const job = await cluster.runJobFromCronJob(NS, s.names.backup, 'backup-acl-restore');
    await withTimeout(job.finished, 90_000, 'the backup Job did not finish');
    expect(job.phase).toBe('Succeeded');
    await job.delete(0);
    const files = readdirSync(backupDir).filter((f) => f.endsWith('.rdb'));
    expect(files).toHaveLength(1);

    // A new deployment in its own namespace, its own Secrets (the same users) and certificate; its backup
    // claim holds a copy of the file (a PVC restored from a snapshot of the old one's).
    const restoreNs = 'restored';
    const props2: RedisSentinelChartProps = { ...PROPS, monitoring: undefined, masterEndpoint: undefined, namespace: restoreNs, restore: { file: 'latest' } };
    const s2 = settingsOf(props2, 'redis');
    const d2 = new Deployment(cluster, s2, d.password, { user: { name: 'app', password: pw.app } });
    const objects2 = synthChart(props2);
    copyFileSync(join(backupDir, files[0]), join(cluster.claimDir(restoreNs, s2.names.backupClaim), files[0]));
    const t0 = Date.now();
    await cluster.apply([...objects2, ...secrets({}, restoreNs), issueFor(objects2, restoreNs)]);
    const h2 = await d2.waitHealthy({ timeoutMs: 120_000 });
    const restoreMs = Date.now() - t0;
    expect(h2.master).toBe(`${s2.names.master}-0`);
    expect(readFileSync(cluster.logFile(restoreNs, h2.master, 'restore'), 'utf8')).toContain(`restore: ${keys} keys from ${files[0]}`);
    for (const p of d2.redisPods()) expect({ pod: p, digest: await digest(d2, p) }).toEqual({ pod: p, digest: original });
    // The application user of the new deployment reads the restored keys, and only its own.
    const app = ['--user', 'app', '--pass', pw.app];
    const host = d2.fqdn(h2.master);
    const replies = await Promise.all([['DBSIZE'], ['GET', 'e2e:a1:ioredis'], ['TYPE', 'e2e:a1:ioredis'], ['SET', 'other', 'x']].map(async (c) => {
      const rr = await cluster.exec(restoreNs, h2.master, 'redis', ['redis-cli', '--no-auth-warning', ...d2.tlsArgs(), '-h', host, '-p', String(s2.redisPort), ...app, ...c], { timeoutMs: 8000 });
      return `${rr.stdout}${rr.stderr}`.trim();
    }));
    expect(Number(replies[0])).toBe(keys);
    expect(replies[2]).toBe('list');
    expect(replies[3]).toMatch(/NOPERM/);
    expect(await denials()).toEqual([]);
    record({ scenario: '7 backup and restore with ACL users and TLS', writers: [], notes: { file: files[0], keys, restoreToHealthyMs: restoreMs, digest: original } });
  });
});
