/**
 * The test's view of a Redis + Sentinel deployment running in the harness: who is master according
 * to the Redis pods and to each Sentinel, health checks, and writer clients with loss accounting.
 * Every query is a `kubectl exec` of redis-cli in the pod itself (so it goes over loopback).
 */
import { ChildProcess } from 'child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { join } from 'path';
import * as readline from 'readline';
import { DeploymentSettings as Settings } from '../../src/settings';
import { TLS_DIR, TLS_FILES } from '../../src/tls';
import { Cluster, clientPod } from './harness/cluster';
import { killGroup, sleep, waitFor, withTimeout } from './harness/sys';
import { KubeObject } from './harness/types';

export interface RedisState { pod: string; role: string; masterHost?: string; linkUp: boolean; offset: number }
export interface SentinelState {
  pod: string; master: string; epoch: number; flags: string; okReplicas: number; otherSentinels: number;
  /** Replicas this Sentinel would promote now: neither down nor disconnected, link to the master ok, replica-priority not 0. */
  promotable: number;
  /**
   * Replicas this Sentinel last saw claiming the master role (`role-reported`, from its INFO every 10 s):
   * it converts such a one back to a replica (`+convert-to-slave`) as soon as it sees it claim the
   * role again, so a failover promoting it before this Sentinel's next INFO is undone (and aborts).
   */
  staleRoles: number;
}
export interface Topology { redis: RedisState[]; sentinels: SentinelState[] }

/** A writer's report: acknowledged sequence numbers with the time of the acknowledgement. */
/** acked: [seq, ackedAtMs, confirmed]: confirmed 1 when the WAIT 1 after the write counted a replica. */
export interface WriterSummary {
  acked: Array<[number, number, number]>;
  errors: Record<string, number>;
  /** Per error message, when it was first and last seen (epoch ms; writer.py). */
  errorSpans?: Record<string, [number, number]>;
  /** Errors per second (epoch s; writer.py). */
  errorsPerSecond?: Record<string, number>;
  attempts: number;
}

/** Loss and outage of one writer. */
export interface WriterResult {
  writer: string;
  acked: number;
  lost: number;
  /** Every acknowledged write missing from the final list, in write order. */
  lostSeqs: number[];
  /**
   * Lost writes that a replica had acknowledged too (WAIT 1 after the write): what no failover may
   * lose. Replication is asynchronous: a crash can lose the newest writes only the master had.
   */
  lostConfirmed: number;
  /** Acknowledged writes that WAIT did not confirm (no replica acknowledged them in time). */
  unconfirmed: number;
  /** Longest time without an acknowledged write, from the first ack until stop. */
  outageMs: number;
  errors: Record<string, number>;
  /** Per error message, when it was first and last seen (epoch ms), where the writer records it (writer.py). */
  errorSpans?: Record<string, [number, number]>;
  errorsPerSecond?: Record<string, number>;
  /** The longest times between two acknowledged writes (over 250 ms, at most 20, longest first): [epoch ms of the earlier, ms]. */
  slowGaps: Array<[number, number]>;
}

const CLIENTS_DIR = join(__dirname, 'clients');
/** Where client pods mount their TLS Secret (with `tls` on). */
export const CLIENT_TLS_DIR = '/etc/client-tls';

/** How the test's clients speak TLS to a deployment with `tls` on. */
export interface ClientTlsOptions {
  /**
   * The kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) client pods mount at CLIENT_TLS_DIR; the
   * writers verify the servers with its CA and present its certificate (what mutual TLS needs).
   * @default - the deployment's own certificate Secret
   */
  readonly clientSecret?: string;
}

/** Parses alternating field/value lines (redis-cli --raw of a map reply). */
/**
 * Writes a suite's figures into `dir` as `<name>-<time>.json` and, with `events`, the cluster's event
 * log as `<events>` (the newest run's only).
 */
export function saveResults(dir: string, name: string, results: unknown, o: { cluster?: Cluster; events?: string } = {}): void {
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(dir, `${name}-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
  if (o.cluster && o.events) writeFileSync(join(dir, o.events), `${o.cluster.events.join('\n')}\n`);
}

export function fields(text: string): Record<string, string> {
  const lines = text.split('\n');
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]] = lines[i + 1];
  return out;
}

export class Deployment {
  readonly ns: string;
  private readonly writers = new Set<Writer>();

  /**
   * `password`: the default user's (the scripts'); a rotation test changes it. `o.user`: with ACL users,
   * the application user the writers log in as (its password may change too).
   */
  constructor(readonly cluster: Cluster, readonly s: Settings, public password: string,
    readonly o: { tls?: ClientTlsOptions; user?: { name: string; password: string } } = {}) {
    this.ns = s.namespace;
  }

  /**
   * redis-cli's TLS options for files in `dir` (a mounted kubernetes.io/tls Secret), when the
   * deployment has TLS on (nothing otherwise): the CA, and the certificate as client certificate.
   */
  tlsArgs(dir = TLS_DIR): string[] {
    return this.s.tls ? ['--tls', '--cacert', `${dir}/${TLS_FILES.ca}`, '--cert', `${dir}/${TLS_FILES.cert}`, '--key', `${dir}/${TLS_FILES.key}`] : [];
  }

  /** The password Secret the chart expects (`authSecretName`/`authSecretKey`), for kubectl apply. */
  authSecret(): KubeObject {
    return {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: this.s.authSecretName, namespace: this.ns },
      data: { [this.s.authSecretKey]: Buffer.from(this.password).toString('base64') },
    };
  }

  private replicasOf(sts: string): number {
    return this.cluster.get('StatefulSet', this.ns, sts)?.spec.replicas ?? 0;
  }

  /** Names of the Redis pods the StatefulSets want now (master StatefulSet first). */
  redisPods(): string[] {
    const n = this.s.names;
    return [n.master, n.replica].flatMap((sts) => Array.from({ length: this.replicasOf(sts) }, (_, i) => `${sts}-${i}`));
  }

  sentinelPods(): string[] {
    const sts = this.s.names.sentinel;
    return Array.from({ length: this.replicasOf(sts) }, (_, i) => `${sts}-${i}`);
  }

  fqdn(pod: string): string {
    const n = this.s.names;
    const svc = pod.startsWith(`${n.sentinel}-`) ? n.sentinelHeadless : pod.startsWith(`${n.master}-`) ? n.masterHeadless : n.replicaHeadless;
    return `${pod}.${svc}.${this.ns}.svc.${this.s.clusterDomain}`;
  }

  /** The pod a DNS name designates. */
  podOf(fqdn: string): string {
    return fqdn.split('.')[0];
  }

  isSentinel(pod: string): boolean {
    return pod.startsWith(`${this.s.names.sentinel}-`);
  }

  /** redis-cli in the pod (Redis or Sentinel port), with the password; '' when it fails. */
  async cli(pod: string, args: string[], timeoutMs = 3000): Promise<string> {
    const sentinel = this.isSentinel(pod);
    const r = await this.cluster.exec(this.ns, pod, sentinel ? 'sentinel' : 'redis',
      ['redis-cli', ...this.tlsArgs(), '-p', String(sentinel ? this.s.sentinelPort : this.s.redisPort), '--raw', ...args],
      { env: { REDISCLI_AUTH: this.password }, timeoutMs });
    return r.code === 0 ? r.stdout.replace(/\n$/, '') : '';
  }

  async redisState(pod: string): Promise<RedisState> {
    const info = fields((await this.cli(pod, ['INFO', 'replication'])).split('\n').flatMap((l) => {
      const i = l.indexOf(':');
      return i > 0 ? [l.slice(0, i), l.slice(i + 1).trim()] : [];
    }).join('\n'));
    const role = info.role ?? '';
    return {
      pod, role, masterHost: info.master_host, linkUp: info.master_link_status === 'up',
      offset: Number(role === 'master' ? info.master_repl_offset : info.slave_repl_offset ?? 0),
    };
  }

  async sentinelState(pod: string): Promise<SentinelState> {
    const m = fields(await this.cli(pod, ['SENTINEL', 'MASTER', this.s.masterName]));
    // One record per replica, each starting with its "name" field.
    const records = (await this.cli(pod, ['SENTINEL', 'REPLICAS', this.s.masterName])).split('\n')
      .reduce<string[][]>((acc, l, i) => {
        if (i % 2 === 0 && l === 'name') acc.push([]);
        acc[acc.length - 1]?.push(l);
        return acc;
      }, []).map((r) => fields(r.join('\n')));
    const ok = records.filter((r) => !/s_down|o_down|disconnected/.test(r.flags ?? ''));
    return {
      pod, master: m.ip ?? '', epoch: Number(m['config-epoch'] ?? -1), flags: m.flags ?? '',
      okReplicas: ok.length,
      promotable: ok.filter((r) => r['master-link-status'] === 'ok' && r['slave-priority'] !== '0').length,
      staleRoles: records.filter((r) => r['role-reported'] !== 'slave').length,
      otherSentinels: Number(m['num-other-sentinels'] ?? -1),
    };
  }

  async topology(o: { sentinels?: string[]; redis?: string[] } = {}): Promise<Topology> {
    const [redis, sentinels] = await Promise.all([
      Promise.all((o.redis ?? this.redisPods()).map((p) => this.redisState(p))),
      Promise.all((o.sentinels ?? this.sentinelPods()).map((p) => this.sentinelState(p))),
    ]);
    return { redis, sentinels };
  }

  static describe(t: Topology): string {
    return [
      ...t.redis.map((r) => `  ${r.pod}: ${r.role || 'unreachable'}${r.role === 'slave' ? ` of ${r.masterHost} link ${r.linkUp ? 'up' : 'down'}` : ''} offset ${r.offset}`),
      ...t.sentinels.map((x) => `  ${x.pod}: master ${x.master || '?'} epoch ${x.epoch} flags ${x.flags} ok-replicas ${x.okReplicas} promotable ${x.promotable} stale-roles ${x.staleRoles} other-sentinels ${x.otherSentinels}`),
    ].join('\n');
  }

  /** The one master the Sentinels agree on, when they do. */
  static agreedMaster(t: Topology): string | undefined {
    const masters = new Set(t.sentinels.map((s) => s.master));
    return masters.size === 1 && !masters.has('') ? [...masters][0] : undefined;
  }

  /**
   * Waits until the deployment is healthy: every wanted pod Ready, exactly one Redis master, every
   * other Redis pod its replica with the link up, every given Sentinel naming it at the same epoch,
   * seeing the other Sentinels and `replicas` replicas as up; and, unless `failoverReady: false` (for
   * a test that set every replica's replica-priority to 0 itself), ready for a failover: each Sentinel
   * has a replica it would promote (a replica gets its priority back once synced, and a Sentinel sees
   * it at its next INFO, every 10 s; a failover asked for before then ends in NOGOODSLAVE) and no
   * replica it last saw claiming the master role (see {@link SentinelState.staleRoles}: after a
   * partition heals, the old master is converted back, and until that Sentinel's next INFO it would
   * also convert back a replica just promoted: the failover aborts after failover-timeout).
   */
  async waitHealthy(o: { timeoutMs?: number; sentinels?: string[]; redis?: string[]; otherSentinels?: number; failoverReady?: boolean } = {}): Promise<{ master: string; epoch: number; topology: Topology }> {
    const sentinels = o.sentinels ?? this.sentinelPods();
    const redis = o.redis ?? this.redisPods();
    let last: Topology | undefined;
    return waitFor('a healthy topology', async () => {
      for (const p of [...sentinels, ...redis]) {
        const pod = this.cluster.pod(this.ns, p);
        if (!pod || !pod.ready) return undefined;
      }
      const t = await this.topology({ sentinels, redis });
      last = t;
      const masters = t.redis.filter((r) => r.role === 'master');
      if (masters.length !== 1) return undefined;
      const master = this.fqdn(masters[0].pod);
      if (!t.redis.every((r) => r.role === 'master' || (r.role === 'slave' && r.masterHost === master && r.linkUp))) return undefined;
      if (Deployment.agreedMaster(t) !== master) return undefined;
      const epochs = new Set(t.sentinels.map((x) => x.epoch));
      if (epochs.size !== 1) return undefined;
      const otherSentinels = o.otherSentinels ?? this.sentinelPods().length - 1;
      if (!t.sentinels.every((x) => x.flags === 'master' && x.okReplicas === redis.length - 1 && x.otherSentinels === otherSentinels)) return undefined;
      if (o.failoverReady !== false && redis.length > 1 && !t.sentinels.every((x) => x.promotable > 0 && x.staleRoles === 0)) return undefined;
      return { master: masters[0].pod, epoch: t.sentinels[0].epoch, topology: t };
    }, o.timeoutMs ?? 60_000, {
      intervalMs: 500,
      context: async () => `${last ? Deployment.describe(last) : ''}\n${this.cluster.describe()}\n--- last events\n${this.cluster.events.slice(-40).join('\n')}`,
    });
  }

  /** Redis pods reporting role master right now. */
  async masters(pods = this.redisPods()): Promise<string[]> {
    const roles = await Promise.all(pods.map(async (p) => [p, (await this.cli(p, ['ROLE'])).split('\n')[0]] as const));
    return roles.filter(([, r]) => r === 'master').map(([p]) => p);
  }

  // --- clients ---------------------------------------------------------------------------------

  /**
   * Starts a client pod (labelled as a client of the deployment unless `labels` say otherwise); with
   * TLS on, it mounts the client Secret at CLIENT_TLS_DIR.
   */
  async clientPod(name: string, image: 'node' | 'python', o: { labels?: Record<string, string>; namespace?: string } = {}): Promise<string> {
    const namespace = o.namespace ?? this.ns;
    if (!this.cluster.pod(namespace, name)) {
      const secrets = this.s.tls ? [{ secretName: this.o.tls?.clientSecret ?? this.s.tls.secretName, mountPath: CLIENT_TLS_DIR }] : [];
      await this.cluster.apply([clientPod({ name, namespace, labels: o.labels ?? { app: name, ...this.s.clientPodLabels }, image: `rse2e/${image}-client`, secrets })]);
    }
    await waitFor(`client pod ${name} running`, () => this.cluster.pod(namespace, name)?.ready, 15_000);
    return name;
  }

  /** Starts a writer in a client pod; resolves once it has had its first write acknowledged. */
  async startWriter(o: { kind: 'ioredis' | 'python' | 'direct'; pod: string; key: string; namespace?: string; host?: string; ephemeral?: boolean; sentinelHosts?: string[] }): Promise<Writer> {
    const env: Record<string, string> = {
      KEY: o.key,
      INTERVAL_MS: '10',
      REDIS_PASSWORD: this.o.user?.password ?? this.password,
      ...(this.o.user ? { REDIS_USERNAME: this.o.user.name } : {}),
      SENTINEL_HOST: `${this.s.names.sentinelService}.${this.ns}.svc.${this.s.clusterDomain}`,
      SENTINEL_PORT: String(this.s.sentinelPort),
      MASTER_NAME: this.s.masterName,
      PYTHONDONTWRITEBYTECODE: '1',
      MODE: o.kind === 'direct' ? 'direct' : 'sentinel',
      ...(o.host ? { REDIS_HOST: o.host, REDIS_PORT: String(this.s.redisPort) } : {}),
      // python only: these Sentinels, asked in this order, instead of the Sentinel Service.
      ...(o.sentinelHosts ? { SENTINEL_HOSTS: o.sentinelHosts.join(' ') } : {}),
      // TLS to Sentinel and Redis: the client pod's mounted Secret.
      ...(this.s.tls ? {
        TLS_CA: `${CLIENT_TLS_DIR}/${TLS_FILES.ca}`, TLS_CERT: `${CLIENT_TLS_DIR}/${TLS_FILES.cert}`, TLS_KEY: `${CLIENT_TLS_DIR}/${TLS_FILES.key}`,
      } : {}),
    };
    const argv = o.kind === 'python' ? ['python3', join(CLIENTS_DIR, 'writer.py')] : ['node', join(CLIENTS_DIR, 'writer.js')];
    const proc = o.ephemeral
      // kubectl debug: a writer container inside the pod itself (its network namespace).
      ? this.cluster.debug(o.namespace ?? this.ns, o.pod, {
        name: 'debug-writer', image: `rse2e/${o.kind === 'python' ? 'python' : 'node'}-client`, command: argv,
        securityContext: { runAsNonRoot: true, runAsUser: 1001, runAsGroup: 1001, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
      }, env)
      : this.cluster.spawnExec(o.namespace ?? this.ns, o.pod, 'main', argv, { env });
    const w = new Writer(`${o.kind}${o.sentinelHosts ? '(pod order)' : ''}@${o.pod}`, o.key, proc);
    this.writers.add(w);
    proc.on('close', () => this.writers.delete(w));
    if (o.kind !== 'direct') await w.ready(20_000);
    return w;
  }

  /** Kills every writer still running (after a failed test). */
  killWriters(): void {
    for (const w of this.writers) killGroup(w.proc.pid, 'SIGKILL');
    this.writers.clear();
  }

  /**
   * After a scenario (afterEach): a failed one must not leave its damage to the next. Kills the
   * writers, undoes held restarts and cut links (cluster.repair), logs what it did; returns that.
   */
  async repairAfterScenario(): Promise<string[]> {
    this.killWriters();
    const repaired = await this.cluster.repair();
    if (repaired.length) this.cluster.event(undefined, `after the test: ${repaired.join(', ')}`);
    return repaired;
  }

  /**
   * One scrape of every Redis and Sentinel pod's exporter sidecar (container `metrics`) from pod
   * `pod` of namespace `ns` (clients/scraper.js, one round): what a Prometheus there would read.
   */
  async scrapeExporters(ns: string, pod: string): Promise<Array<{ pod: string; ok: boolean; error?: string; body: string }>> {
    const targets = [...this.redisPods(), ...this.sentinelPods()].map((p) => {
      const x = this.cluster.mustPod(this.ns, p);
      const port = x.spec.containers.find((c) => c.name === 'metrics')?.ports?.[0]?.containerPort;
      if (!port) throw new Error(`${p} has no metrics container with a port`);
      return { id: p, url: `http://${x.ip}:${port}/metrics` };
    });
    const r = await this.cluster.exec(ns, pod, 'main', ['node', join(CLIENTS_DIR, 'scraper.js')],
      { input: `${JSON.stringify({ round: 1, timeoutMs: 5000, targets })}\n`, timeoutMs: 15_000 });
    const answer = JSON.parse(r.stdout.split('\n')[0]) as { results: Array<{ id: string; ok: boolean; error?: string; body?: string }> };
    return answer.results.map((x) => ({ pod: x.id, ok: x.ok, error: x.error, body: x.body ?? '' }));
  }

  /** What a container logged since `from` (a byte offset, from {@link logSize}). */
  logSince(pod: string, from: number): string {
    const file = this.cluster.logFile(this.ns, pod, this.isSentinel(pod) ? 'sentinel' : 'redis');
    return existsSync(file) ? readFileSync(file).subarray(from).toString() : '';
  }

  logSize(pod: string): number {
    const file = this.cluster.logFile(this.ns, pod, this.isSentinel(pod) ? 'sentinel' : 'redis');
    return existsSync(file) ? statSync(file).size : 0;
  }

  /** Counts a writer's acknowledged writes missing from the current master's list. */
  /** The usual pair of Sentinel clients writing `e2e:<tag>:<kind>`: ioredis in pod client-node, redis-py in client-py. */
  async startWriterPair(tag: string): Promise<Writer[]> {
    return Promise.all([
      this.startWriter({ kind: 'ioredis', pod: 'client-node', key: `e2e:${tag}:ioredis` }),
      this.startWriter({ kind: 'python', pod: 'client-py', key: `e2e:${tag}:python` }),
    ]);
  }

  /** Stops the writers and accounts for every acknowledged write on `master` once the replicas caught up. */
  async stopAndAccount(writers: Writer[], master: string): Promise<WriterResult[]> {
    const summaries = await Promise.all(writers.map((w) => w.stop()));
    await this.waitReplicated(master);
    return Promise.all(writers.map((w, i) => this.account(master, w, summaries[i])));
  }

  /**
   * SIGKILLs the master's Redis process and holds its restart until every Sentinel names another master
   * (then 3 s more, as a slow restart would); returns the new master and the time from the kill.
   */
  async killMasterUntilFailover(master: string): Promise<{ master: string; ms: number }> {
    const t0 = Date.now();
    const held = this.cluster.mustPod(this.ns, master).killContainer('redis', { hold: true });
    const f = await this.waitFailover(master, t0);
    await sleep(3000);
    held.release();
    return f;
  }

  /** Deletes the master's pod (its preStop hands over) and waits for both; returns the new master, the failover and pod-gone times. */
  async deleteMasterUntilFailover(master: string): Promise<{ master: string; ms: number; podGoneMs: number }> {
    const t0 = Date.now();
    const deleted = this.cluster.deletePod(this.ns, master);
    const f = await this.waitFailover(master, t0);
    await deleted;
    return { ...f, podGoneMs: Date.now() - t0 };
  }

  /** Waits until every Sentinel of `sentinels` names the same master, other than pod `old`; returns it and the time since `since`. */
  async waitFailover(old: string, since: number, sentinels = this.sentinelPods(), timeoutMs = 40_000): Promise<{ master: string; ms: number }> {
    let last: Topology | undefined;
    return waitFor(`a failover away from ${old}`, async () => {
      const t = { redis: [], sentinels: await Promise.all(sentinels.map((p) => this.sentinelState(p))) };
      last = t;
      const m = Deployment.agreedMaster(t);
      if (!m || m === this.fqdn(old)) return undefined;
      return { master: this.podOf(m), ms: Date.now() - since };
    }, timeoutMs, { intervalMs: 100, context: () => `${last ? Deployment.describe(last) : ''}\n${this.cluster.events.slice(-30).join('\n')}` });
  }

  async account(master: string, w: Writer, summary: WriterSummary): Promise<WriterResult> {
    const present = new Set((await this.cli(master, ['LRANGE', w.key, '0', '-1'], 10_000)).split('\n').filter(Boolean).map(Number));
    const lost = summary.acked.filter(([seq]) => !present.has(seq));
    return {
      writer: w.name, acked: summary.acked.length, lost: lost.length, lostSeqs: lost.map(([seq]) => seq),
      lostConfirmed: lost.filter(([, , confirmed]) => confirmed).length, unconfirmed: summary.acked.filter(([, , confirmed]) => !confirmed).length,
      outageMs: Writer.outage(summary, w.stoppedAt), errors: summary.errors, slowGaps: Writer.slowGaps(summary),
      ...(summary.errorSpans ? { errorSpans: summary.errorSpans, errorsPerSecond: summary.errorsPerSecond } : {}),
    };
  }

  /** Waits until every replica has the master's replication offset (so reads anywhere see every write). */
  async waitReplicated(master: string, timeoutMs = 20_000): Promise<void> {
    await waitFor('replicas to catch up with the master', async () => {
      const t = await Promise.all(this.redisPods().map((p) => this.redisState(p)));
      const m = t.find((x) => x.pod === master);
      return m && t.every((x) => x.pod === master || (x.linkUp && x.offset === m.offset));
    }, timeoutMs);
  }
}

/** A running writer client (see clients/writer.js). */
export class Writer {
  private readonly lines: string[] = [];
  private readonly waiters: Array<() => void> = [];
  private stderr = '';
  stoppedAt = 0;

  constructor(readonly name: string, readonly key: string, readonly proc: ChildProcess) {
    readline.createInterface({ input: proc.stdout! }).on('line', (l) => {
      this.lines.push(l);
      for (const w of this.waiters.splice(0)) w();
    });
    proc.stderr!.on('data', (b: Buffer) => { this.stderr += b.toString(); });
    proc.on('close', () => { for (const w of this.waiters.splice(0)) w(); });
  }

  private async next(match: (m: any) => boolean, timeoutMs: number): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const l of this.lines) {
        try {
          const m = JSON.parse(l);
          if (match(m)) return m;
        } catch { /* not JSON */ }
      }
      if (this.proc.exitCode !== null || Date.now() > deadline) {
        throw new Error(`writer ${this.name}: no ${timeoutMs > 0 ? 'answer' : ''} (exit ${this.proc.exitCode}); stderr: ${this.stderr.slice(-2000)}`);
      }
      await withTimeout(new Promise<void>((r) => this.waiters.push(r)), Math.max(0, deadline - Date.now()), 'writer timeout').catch(() => undefined);
    }
  }

  ready(timeoutMs: number): Promise<void> {
    return this.next((m) => m.ev === 'ready', timeoutMs);
  }

  async stop(): Promise<WriterSummary> {
    this.stoppedAt = Date.now();
    this.proc.stdin!.write('stop\n');
    const s = await this.next((m) => m.ev === 'summary', 15_000);
    this.proc.stdin!.end();
    return s as WriterSummary;
  }

  /** Every interval between two consecutive acknowledged writes: [epoch ms of the earlier ack, ms]. */
  private static ackGaps(s: WriterSummary): Array<[number, number]> {
    return s.acked.slice(1).map((a, i) => [s.acked[i][1], a[1] - s.acked[i][1]]);
  }

  /** Gaps over 250 ms between two acknowledged writes, longest first (at most 20): [epoch ms of the earlier ack, gap ms]. */
  static slowGaps(s: WriterSummary): Array<[number, number]> {
    return Writer.ackGaps(s).filter(([, gap]) => gap > 250).sort((a, b) => b[1] - a[1]).slice(0, 20);
  }

  /** The longest interval without an acknowledged write, between the first ack and `until`. */
  static outage(s: WriterSummary, until: number): number {
    let worst = Writer.ackGaps(s).reduce((w, [, gap]) => Math.max(w, gap), 0);
    if (s.acked.length) worst = Math.max(worst, until - s.acked[s.acked.length - 1][1]);
    return worst;
  }
}
