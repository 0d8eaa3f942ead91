/**
 * A one-machine stand-in for a Kubernetes cluster that runs synthesized objects for real:
 * the API object store, the StatefulSet controller, Service endpoints published through DNS,
 * NetworkPolicy enforcement, and the kubelet (./kubelet.ts). See test/e2e/README.md for where it
 * differs from a real cluster.
 */
import { ChildProcess, spawn } from 'child_process';
import { createHash } from 'crypto';
import { appendFileSync, chmodSync, existsSync, mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import * as readline from 'readline';
import { MOUNTPOINTS_FILE, WATCHDOG_PID_FILE, acquireLock, cleanupSync, releaseLock, startWatchdog } from './cleanup';
import { Images } from './images';
import { KubeletHost, Pod } from './kubelet';
import { Network } from './network';
import { PolicyNamespace, PolicyPod, iptablesRules } from './policy';
import { matchesServiceSelector } from './selectors';
import { RunResult, run, runOk, waitFor, withTimeout } from './sys';
import { Container, KubeObject, Labels, PodSpec } from './types';

export interface ClusterOptions {
  /**
   * Prefix of namespaces and of the state directory; leftovers with it are removed at start, so
   * each user (suite, script) needs its own, none a prefix of another: `rse2e-f-`, `rse2e-h-`, ...
   */
  readonly prefix: string;
  /** The private /16, as its first two octets. */
  readonly subnet16?: string;
  readonly root?: string;
  /** Where container logs and the event log go. */
  readonly logDir: string;
  readonly clusterDomain?: string;
  /** node-monitor-grace-period: how long a dead node's pods stay Ready. */
  readonly nodeNotReadyMs?: number;
}

const NAMESPACED_DEFAULTS = ['default', 'kube-system'];

/**
 * One harness run per machine, whatever its prefix: runs share the host's mountpoint directories
 * (e.g. /opt/redis-sentinel), and one run's clean-up removing such a directory detaches the
 * mounts of every other run's pods (Linux >= 3.18 lets rmdir remove a mountpoint of another mount
 * namespace). Seen: a repro script beside the failover bench lost its pods' scripts and volumes.
 */
const MACHINE_LOCK = '/var/tmp/rse2e-machine';
const keyOf = (kind: string, ns: string | undefined, name: string) => `${kind}/${ns ?? ''}/${name}`;

/** The pod label naming the StatefulSet revision a pod was created from (as the controller sets it). */
export const REVISION_LABEL = 'controller-revision-hash';

/** A StatefulSet revision: a pod template and its name (`<sts>-<hash>`, as ControllerRevisions are named). */
interface Revision { name: string; template: any }

/**
 * A StatefulSet's revisions: `current` is what its pods were created from before the last template
 * change, `update` the newest template (they are the same once the rollout is complete).
 */
interface Revisions { current: Revision; update: Revision }

function revisionOf(sts: KubeObject): Revision {
  const template = JSON.parse(JSON.stringify(sts.spec.template));
  const hash = createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 10);
  return { name: `${sts.metadata.name}-${hash}`, template };
}

/** The DNS server as a pod of kube-system, for NetworkPolicy peers. */
const DNS_POD_LABELS: Labels = { 'k8s-app': 'kube-dns' };

/** The window in which each pod sees a changed ConfigMap or Secret (see Cluster.syncProjected). */
export const PROJECTED_SYNC_MS: readonly [number, number] = [500, 8000];

export class Cluster implements KubeletHost {
  readonly prefix: string;
  readonly root: string;
  readonly network: Network;
  readonly images: Images;
  readonly logDir: string;
  readonly clusterDomain: string;
  readonly dnsIp: string;
  readonly nodeName = 'rse2e-node';
  readonly nodeNotReadyMs: number;
  readonly hiddenDirs: string[];
  private readonly objects = new Map<string, KubeObject>();
  /** Current pod incarnations (including terminating and crashed ones), by `<ns>/<name>`. */
  private readonly pods = new Map<string, Pod>();
  private readonly appliedRules = new Map<string, string>();
  private readonly t0 = Date.now();
  private dns?: ChildProcess;
  private dnsSeq = 0;
  private readonly dnsAcks = new Map<number, () => void>();
  private syncRequested = 0;
  private syncDone = 0;
  private syncLoop?: Promise<void>;
  private readonly syncWaiters: Array<{ gen: number; resolve: () => void }> = [];
  private readonly reconciling = new Map<string, Promise<void>>();
  private readonly reconcileAgain = new Set<string>();
  /** StatefulSet revisions by object key. */
  private readonly revisions = new Map<string, Revisions>();
  private watchdogPid?: number;
  private stopped = false;
  private readonly exitHandler = () => this.cleanupNow();
  /** Every event, with seconds since start. */
  readonly events: string[] = [];

  constructor(o: ClusterOptions) {
    this.prefix = o.prefix;
    this.root = o.root ?? `/var/tmp/${this.prefix}state`;
    this.network = new Network({ prefix: this.prefix, subnet16: o.subnet16 ?? '10.213' });
    this.images = new Images(join(this.root, 'images'));
    this.logDir = o.logDir;
    this.clusterDomain = o.clusterDomain ?? 'cluster.local';
    this.dnsIp = this.network.infraIp(10);
    this.nodeNotReadyMs = o.nodeNotReadyMs ?? 40_000;
    this.hiddenDirs = [join(this.root, 'pods'), join(this.root, 'pvc')];
  }

  // --- lifecycle -------------------------------------------------------------------------------

  /**
   * Waits for another live run with this prefix to end, removes leftovers of a dead one, then
   * creates the network and the DNS server.
   */
  async start(o: { waitForOtherRunMs?: number } = {}): Promise<void> {
    await acquireLock(MACHINE_LOCK, o.waitForOtherRunMs ?? 0, (pid) => {
      // eslint-disable-next-line no-console
      console.log(`[e2e] another harness run (pid ${pid}) is using this machine: waiting for it to end`);
    });
    await acquireLock(this.root, o.waitForOtherRunMs ?? 0, (pid) => {
      // eslint-disable-next-line no-console
      console.log(`[e2e] another run (pid ${pid}) uses the prefix ${this.prefix}: waiting for it to end`);
    });
    cleanupSync(this.prefix, this.root, { killWatchdog: true, releaseLock: false });
    for (const d of [this.root, ...this.hiddenDirs, this.logDir]) mkdirSync(d, { recursive: true });
    this.watchdogPid = startWatchdog(this.prefix, this.root);
    writeFileSync(join(this.root, WATCHDOG_PID_FILE), `${this.watchdogPid}\n`);
    process.on('exit', this.exitHandler);
    for (const ns of NAMESPACED_DEFAULTS) this.objects.set(keyOf('Namespace', undefined, ns), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await this.network.create();
    await this.startDns();
    this.event(undefined, `cluster up: network ${this.network.cidr}, DNS ${this.dnsIp}`);
  }

  private async startDns(): Promise<void> {
    const netns = `${this.prefix}dns`;
    await this.network.attach(netns, this.dnsIp);
    const server = join(__dirname, 'dns-server.js');
    const dns = spawn('nsenter', [`--net=/run/netns/${netns}`, '--', process.execPath, server, this.dnsIp, '53', join(this.logDir, 'dns.log')],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    this.dns = dns;
    let stderr = '';
    dns.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
    const listening = new Promise<void>((resolve, reject) => {
      dns.on('exit', (code) => reject(new Error(`DNS server exited (${code}): ${stderr}`)));
      readline.createInterface({ input: dns.stdout! }).on('line', (line) => {
        const m = JSON.parse(line);
        if (m.listening) resolve();
        if (typeof m.ack === 'number') {
          for (const [seq, res] of this.dnsAcks) {
            if (seq <= m.ack) {
              res();
              this.dnsAcks.delete(seq);
            }
          }
        }
      });
    });
    dns.stdin!.on('error', () => undefined);
    await listening;
  }

  /** Deletes every pod (no grace: the processes are killed), the network and the state. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const p of this.pods.values()) p.abandon();
    this.dns?.stdin?.end();
    this.cleanupNow();
    process.removeListener('exit', this.exitHandler);
  }

  private cleanupNow(): void {
    cleanupSync(this.prefix, this.root, { killWatchdog: true, releaseLock: true });
    releaseLock(MACHINE_LOCK);
  }

  event(pod: Pod | undefined, message: string): void {
    const line = `${((Date.now() - this.t0) / 1000).toFixed(2).padStart(8)} ${pod ? `${pod.namespace}/${pod.name}: ` : ''}${message}`;
    this.events.push(line);
    try {
      appendFileSync(join(this.logDir, 'events.log'), `${line}\n`);
    } catch { /* log dir gone at shutdown */ }
  }

  // --- objects ---------------------------------------------------------------------------------

  /** kubectl apply: stores the objects and lets the controllers act on them. */
  async apply(objs: readonly KubeObject[]): Promise<void> {
    const sorted = [...objs].sort((a, b) => (a.kind === 'Namespace' ? 0 : 1) - (b.kind === 'Namespace' ? 0 : 1));
    const touched: string[] = [];
    for (const o of sorted) {
      const obj = JSON.parse(JSON.stringify(o)) as KubeObject;
      const ns = obj.kind === 'Namespace' ? undefined : (obj.metadata.namespace ?? 'default');
      if (ns !== undefined && !this.objects.has(keyOf('Namespace', undefined, ns))) {
        throw new Error(`${obj.kind} ${obj.metadata.name}: namespaces "${ns}" not found`);
      }
      if (ns !== undefined) obj.metadata.namespace = ns;
      const key = keyOf(obj.kind, ns, obj.metadata.name);
      if (obj.kind === 'StatefulSet') this.newRevision(key, obj);
      const before = this.objects.get(key);
      this.objects.set(key, obj);
      if ((obj.kind === 'Secret' || obj.kind === 'ConfigMap') && before && JSON.stringify(before.data ?? {}) + JSON.stringify(before.stringData ?? {})
        !== JSON.stringify(obj.data ?? {}) + JSON.stringify(obj.stringData ?? {})) {
        this.syncProjected(obj.kind, ns!, obj.metadata.name);
      }
      touched.push(key);
      if (!['Namespace', 'ConfigMap', 'Secret', 'Service', 'StatefulSet', 'NetworkPolicy', 'Pod', 'CronJob', 'PersistentVolumeClaim'].includes(obj.kind)) {
        this.event(undefined, `${obj.kind} ${obj.metadata.name} stored (no controller in the harness acts on it)`);
      }
    }
    await this.sync();
    for (const key of touched) {
      const obj = this.objects.get(key)!;
      if (obj.kind === 'StatefulSet') void this.reconcile(key);
      if (obj.kind === 'Pod' && !this.pods.has(`${obj.metadata.namespace}/${obj.metadata.name}`)) {
        await this.createPod(obj.metadata.namespace!, obj.metadata.name, obj.metadata.labels ?? {}, obj.metadata.annotations ?? {}, obj.spec);
      }
    }
  }

  /**
   * The kubelets' sync of a changed ConfigMap or Secret into the running pods that mount it: each pod
   * at its own moment within PROJECTED_SYNC_MS (a real kubelet: its sync period plus cache TTL, up to
   * about a minute), so pods see the change at different times, as on a cluster.
   */
  private syncProjected(kind: 'ConfigMap' | 'Secret', namespace: string, name: string): void {
    for (const p of this.pods.values()) {
      if (p.namespace !== namespace) continue;
      const delay = PROJECTED_SYNC_MS[0] + Math.random() * (PROJECTED_SYNC_MS[1] - PROJECTED_SYNC_MS[0]);
      setTimeout(() => {
        try {
          p.refreshProjected(kind, name);
        } catch (e) {
          this.event(undefined, `pod ${p.namespace}/${p.name}: ${kind} ${name} not synced: ${(e as Error).message}`);
        }
      }, delay).unref();
    }
  }

  /** A changed pod template is a new update revision (the controller then rolls the pods to it). */
  private newRevision(key: string, sts: KubeObject): void {
    const r = revisionOf(sts);
    const known = this.revisions.get(key);
    if (!known) {
      this.revisions.set(key, { current: r, update: r });
    } else if (known.update.name !== r.name) {
      this.revisions.set(key, { current: known.current, update: r });
      this.event(undefined, `StatefulSet ${sts.metadata.namespace}/${sts.metadata.name}: new revision ${r.name} (from ${known.current.name})`);
    }
  }

  /** The StatefulSet's current and update revision names (equal once a rollout is complete). */
  revision(namespace: string, statefulSet: string): { current: string; update: string } | undefined {
    const r = this.revisions.get(keyOf('StatefulSet', namespace, statefulSet));
    return r && { current: r.current.name, update: r.update.name };
  }

  /** kubectl delete of a non-pod object (a NetworkPolicy, a Service...). */
  async deleteObject(kind: string, namespace: string, name: string): Promise<void> {
    this.objects.delete(keyOf(kind, namespace, name));
    await this.sync();
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(keyOf(kind, namespace, name));
  }

  list(kind: string, namespace?: string): KubeObject[] {
    return [...this.objects.values()].filter((o) => o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace));
  }

  object(kind: 'Secret' | 'ConfigMap', namespace: string, name: string): KubeObject | undefined {
    return this.get(kind, namespace, name);
  }

  // --- pods ------------------------------------------------------------------------------------

  /** The current incarnation of a pod (running, terminating or on a dead node), if any. */
  pod(namespace: string, name: string): Pod | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  /** The current pod, or an error naming what exists. */
  mustPod(namespace: string, name: string): Pod {
    const p = this.pod(namespace, name);
    if (!p) throw new Error(`no pod ${namespace}/${name} (pods: ${[...this.pods.keys()].join(', ')})`);
    return p;
  }

  allPods(): Pod[] {
    return [...this.pods.values()];
  }

  claimDir(namespace: string, claim: string): string {
    const dir = join(this.root, 'pvc', namespace, claim);
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      // A fresh volume as a typical provisioner hands it out; fsGroup handling fixes ownership.
      chmodSync(dir, 0o777);
      this.event(undefined, `PersistentVolumeClaim ${namespace}/${claim} bound to a new volume`);
    }
    return dir;
  }

  ensureMountpoint(path: string): void {
    if (existsSync(path)) return;
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const p = `/${parts.slice(0, i).join('/')}`;
      if (existsSync(p)) continue;
      mkdirSync(p, { mode: 0o755 });
      appendFileSync(join(this.root, MOUNTPOINTS_FILE), `${p}\n`);
    }
  }

  private admission(namespace: string, name: string, spec: PodSpec): string[] {
    const ns = this.get('Namespace', undefined, namespace);
    if (ns?.metadata.labels?.['pod-security.kubernetes.io/enforce'] !== 'restricted') return [];
    const problems: string[] = [];
    const psc = spec.securityContext ?? {};
    for (const c of [...(spec.initContainers ?? []), ...spec.containers] as Container[]) {
      const sc = c.securityContext ?? {};
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${c.name}: allowPrivilegeEscalation != false`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${c.name}: capabilities.drop must include ALL`);
      if (!(sc.runAsNonRoot ?? psc.runAsNonRoot)) problems.push(`${c.name}: runAsNonRoot != true`);
      if ((sc.runAsUser ?? psc.runAsUser) === 0) problems.push(`${c.name}: runAsUser=0`);
      if (sc.privileged) problems.push(`${c.name}: privileged`);
      const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push(`${c.name}: seccompProfile must be RuntimeDefault or Localhost`);
    }
    for (const v of spec.volumes ?? []) if (v.hostPath) problems.push(`volume ${v.name}: hostPath`);
    return problems.map((p) => `pods "${name}" is forbidden: violates PodSecurity "restricted:latest": ${p}`);
  }

  private async createPod(namespace: string, name: string, labels: Labels, annotations: Record<string, string>, spec: PodSpec, owner?: string): Promise<Pod | undefined> {
    const forbidden = this.admission(namespace, name, spec);
    if (forbidden.length) {
      this.event(undefined, `FailedCreate ${namespace}/${name}: ${forbidden.join('; ')}`);
      return undefined;
    }
    const pod = new Pod(this, namespace, name, labels, annotations, spec, owner);
    this.pods.set(`${namespace}/${name}`, pod);
    const ip = this.network.allocateIp();
    pod.link = await this.network.attach(`${this.prefix}${pod.uid}`, ip);
    this.event(pod, `created (ip ${ip}${owner ? `, StatefulSet ${owner}` : ''})`);
    // DNS names and every pod's policies include the new pod before it runs anything.
    await this.sync();
    pod.start(pod.link).catch((e) => this.event(pod, `start failed: ${(e as Error).stack ?? e}`));
    return pod;
  }

  changed(pod: Pod): void {
    if (pod.phase === 'Gone') {
      const key = `${pod.namespace}/${pod.name}`;
      if (this.pods.get(key) === pod) this.pods.delete(key);
      this.appliedRules.delete(pod.link?.netns ?? '');
      void this.sync().then(() => {
        if (pod.owner) void this.reconcile(keyOf('StatefulSet', pod.namespace, pod.owner));
      });
      return;
    }
    void this.sync();
    if (pod.owner && pod.ready) {
      const key = keyOf('StatefulSet', pod.namespace, pod.owner);
      const sts = this.objects.get(key);
      const rolling = this.revisions.get(key);
      if (sts && (sts.spec.podManagementPolicy !== 'Parallel' || (rolling && rolling.current.name !== rolling.update.name))) void this.reconcile(key);
    }
  }

  /** kubectl delete pod [--grace-period=N] [--force]: resolves once the pod is gone (a StatefulSet then recreates it). */
  async deletePod(namespace: string, name: string, o: { gracePeriodSeconds?: number } = {}): Promise<void> {
    const pod = this.mustPod(namespace, name);
    await pod.delete(o.gracePeriodSeconds);
  }

  /** The node of the pod dies (see Pod.crash). */
  async crashPod(namespace: string, name: string): Promise<void> {
    await this.mustPod(namespace, name).crash();
  }

  /** Takes the pod's network link down (partition) or up (heal). */
  async setLink(namespace: string, name: string, up: boolean): Promise<void> {
    const pod = this.mustPod(namespace, name);
    this.event(pod, up ? 'link up (partition healed)' : 'link down (partitioned)');
    await this.network.setLink(pod.link!, up);
  }

  /**
   * Undoes what a failed test may have left: held restarts released, partitions healed, pods on
   * dead nodes force-deleted (their StatefulSets recreate them).
   */
  async repair(): Promise<string[]> {
    const done: string[] = [];
    for (const p of this.allPods()) {
      p.releaseHolds();
      if (p.phase === 'Unknown') {
        done.push(`force-deleted ${p.name}`);
        await p.delete(0);
      } else if (p.link && this.network.down.has(p.link.hostVeth)) {
        done.push(`healed ${p.name}`);
        await this.setLink(p.namespace, p.name, true);
      }
    }
    return done;
  }

  /**
   * kubectl create job <job> --from=cronjob/<cronJob>: one pod from the CronJob's job template,
   * named `<job>-<suffix>` and labelled `job-name: <job>` as the Job controller does. The harness
   * has no Job controller: no retries (backoffLimit) and no activeDeadlineSeconds; wait for
   * `pod.finished` and read the pod's phase and logs.
   */
  async runJobFromCronJob(namespace: string, cronJob: string, job: string): Promise<Pod> {
    const cj = this.get('CronJob', namespace, cronJob);
    if (!cj) throw new Error(`no CronJob ${namespace}/${cronJob}`);
    const tmpl = cj.spec.jobTemplate.spec.template;
    const name = `${job}-${Math.random().toString(36).slice(2, 7)}`;
    const labels = { ...(tmpl.metadata?.labels ?? {}), 'job-name': job, 'batch.kubernetes.io/job-name': job };
    this.event(undefined, `Job ${namespace}/${job} created from CronJob ${cronJob}`);
    const pod = await this.createPod(namespace, name, labels, tmpl.metadata?.annotations ?? {}, JSON.parse(JSON.stringify(tmpl.spec)));
    if (!pod) throw new Error(`Job ${job}: the pod was not admitted (see the event log)`);
    return pod;
  }

  /** kubectl scale statefulset. */
  async scale(namespace: string, statefulSet: string, replicas: number): Promise<void> {
    const key = keyOf('StatefulSet', namespace, statefulSet);
    const sts = this.objects.get(key);
    if (!sts) throw new Error(`no StatefulSet ${namespace}/${statefulSet}`);
    sts.spec.replicas = replicas;
    this.event(undefined, `StatefulSet ${namespace}/${statefulSet} scaled to ${replicas}`);
    await this.reconcile(key);
  }

  /** Waits until the StatefulSet's pods 0..replicas-1 exist, run and are Ready. */
  async waitStatefulSetReady(namespace: string, statefulSet: string, timeoutMs: number): Promise<void> {
    await waitFor(`StatefulSet ${namespace}/${statefulSet} ready`, () => {
      const sts = this.get('StatefulSet', namespace, statefulSet)!;
      const n = sts.spec.replicas ?? 1;
      const pods = Array.from({ length: n }, (_, i) => this.pod(namespace, `${statefulSet}-${i}`));
      const extra = this.allPods().filter((p) => p.owner === statefulSet && Number(p.name.slice(statefulSet.length + 1)) >= n);
      return pods.every((p) => p && p.ready && p.phase === 'Running') && extra.length === 0;
    }, timeoutMs, { context: () => this.describe() });
  }

  /**
   * kubectl rollout status: waits until every pod 0..replicas-1 of the StatefulSet runs the update
   * revision and is Ready (from the partition up when one is set).
   */
  async waitRolledOut(namespace: string, statefulSet: string, timeoutMs: number): Promise<void> {
    await waitFor(`StatefulSet ${namespace}/${statefulSet} rolled out`, () => {
      const key = keyOf('StatefulSet', namespace, statefulSet);
      const sts = this.objects.get(key)!;
      const r = this.revisions.get(key)!;
      const partition = sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
      const n = sts.spec.replicas ?? 1;
      return Array.from({ length: n }, (_, i) => this.pod(namespace, `${statefulSet}-${i}`)).every((p, i) =>
        p && p.ready && p.phase === 'Running' && !p.terminating && (i < partition || p.labels[REVISION_LABEL] === r.update.name));
    }, timeoutMs, { context: () => this.describe() });
  }

  private reconcile(key: string): Promise<void> {
    if (this.reconciling.has(key)) {
      this.reconcileAgain.add(key);
      return this.reconciling.get(key)!;
    }
    const p = (async () => {
      do {
        this.reconcileAgain.delete(key);
        await this.reconcileOnce(key);
      } while (this.reconcileAgain.has(key));
    })().catch((e) => this.event(undefined, `reconcile ${key} failed: ${(e as Error).stack ?? e}`)).finally(() => this.reconciling.delete(key));
    this.reconciling.set(key, p);
    return p;
  }

  /** The StatefulSet controller: one pod per ordinal below replicas, each with its claims. */
  private async reconcileOnce(key: string): Promise<void> {
    if (this.stopped) return;
    const sts = this.objects.get(key);
    if (!sts) return;
    const ns = sts.metadata.namespace!;
    const name = sts.metadata.name;
    const desired = sts.spec.replicas ?? 1;
    const ordered = sts.spec.podManagementPolicy !== 'Parallel';
    const revs = this.revisions.get(key)!;
    const partition: number | undefined = sts.spec.updateStrategy?.rollingUpdate?.partition;
    // Pods at the current revision, counted as the controller's status.currentReplicas is.
    const currentReplicas = this.allPods().filter((p) => p.owner === name && p.namespace === ns && p.labels[REVISION_LABEL] === revs.current.name).length;
    for (let i = 0; i < desired; i++) {
      const podName = `${name}-${i}`;
      const existing = this.pod(ns, podName);
      if (existing) {
        if (ordered && !existing.ready) break;
        continue;
      }
      // As newVersionedStatefulSetPod: below the partition (or, without one, below the number of pods
      // still at the current revision) a pod is recreated from the current revision.
      const old = sts.spec.updateStrategy?.type !== 'OnDelete' && (partition === undefined ? i < currentReplicas : i < partition);
      const rev = old ? revs.current : revs.update;
      const tmpl = rev.template;
      const spec: PodSpec = JSON.parse(JSON.stringify(tmpl.spec));
      spec.hostname = podName;
      spec.subdomain = sts.spec.serviceName;
      spec.volumes = [...(spec.volumes ?? []), ...(sts.spec.volumeClaimTemplates ?? []).map((t: KubeObject) => ({
        name: t.metadata.name, persistentVolumeClaim: { claimName: `${t.metadata.name}-${podName}` },
      }))];
      const labels = { ...(tmpl.metadata?.labels ?? {}), 'statefulset.kubernetes.io/pod-name': podName, 'apps.kubernetes.io/pod-index': String(i), [REVISION_LABEL]: rev.name };
      const created = await this.createPod(ns, podName, labels, tmpl.metadata?.annotations ?? {}, spec, name);
      if (ordered || !created) break;
    }
    const surplus = this.allPods().filter((p) => p.owner === name && p.namespace === ns && Number(p.name.slice(name.length + 1)) >= desired && !p.terminating)
      .sort((a, b) => Number(b.name.slice(name.length + 1)) - Number(a.name.slice(name.length + 1)));
    if (ordered) {
      for (const p of surplus) await p.delete();
    } else {
      await Promise.all(surplus.map((p) => p.delete()));
    }
    this.rollingUpdate(sts, revs, desired);
  }

  /**
   * The controller's RollingUpdate step (updateStatefulSet): from the highest ordinal down to the
   * partition, delete the first pod not at the update revision (one per step; the pod is recreated
   * from the new template when it is gone), and stop at any pod that is not Running and Ready: so one
   * pod at a time, highest ordinal first, each waiting for the one before to be Ready. Every
   * StatefulSet rolls on its own, in parallel with the others. Once every pod is at the update
   * revision, it becomes the current revision.
   */
  private rollingUpdate(sts: KubeObject, revs: Revisions, desired: number): void {
    if (sts.spec.updateStrategy?.type === 'OnDelete' || revs.current.name === revs.update.name) return;
    const ns = sts.metadata.namespace!;
    const name = sts.metadata.name;
    const partition: number = sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
    for (let t = desired - 1; t >= partition; t--) {
      const p = this.pod(ns, `${name}-${t}`);
      if (!p) return;
      if (p.labels[REVISION_LABEL] !== revs.update.name && !p.terminating) {
        this.event(p, `rolling update: deleting (revision ${p.labels[REVISION_LABEL] ?? '?'} -> ${revs.update.name})`);
        void p.delete();
        return;
      }
      if (!(p.phase === 'Running' && p.ready && !p.terminating)) return;
    }
    if (partition === 0) {
      this.revisions.set(keyOf('StatefulSet', ns, name), { current: revs.update, update: revs.update });
      this.event(undefined, `StatefulSet ${ns}/${name}: rolled out to ${revs.update.name}`);
    }
  }

  // --- DNS and NetworkPolicies -----------------------------------------------------------------

  /** Brings DNS and every pod's iptables up to date with the current pods; resolves when done. */
  sync(): Promise<void> {
    const gen = ++this.syncRequested;
    const done = new Promise<void>((resolve) => this.syncWaiters.push({ gen, resolve }));
    if (!this.syncLoop) {
      this.syncLoop = (async () => {
        while (this.syncDone < this.syncRequested) {
          const target = this.syncRequested;
          try {
            await this.syncOnce();
          } catch (e) {
            this.event(undefined, `sync failed: ${(e as Error).message}`);
          }
          this.syncDone = target;
          for (const w of this.syncWaiters.splice(0)) {
            if (w.gen <= target) w.resolve();
            else this.syncWaiters.push(w);
          }
        }
      })().finally(() => { this.syncLoop = undefined; });
    }
    return done;
  }

  /** The A records the cluster DNS serves now. */
  dnsRecords(): Record<string, string[]> {
    const d = this.clusterDomain;
    const records: Record<string, string[]> = { [`kube-dns.kube-system.svc.${d}`]: [this.dnsIp] };
    const live = this.allPods().filter((p) => p.ip && p.phase !== 'Gone');
    for (const svc of this.list('Service')) {
      const ns = svc.metadata.namespace!;
      const headless = svc.spec?.clusterIP === 'None';
      const notReadyToo = svc.spec?.publishNotReadyAddresses === true;
      const members = live.filter((p) => p.namespace === ns && matchesServiceSelector(svc.spec?.selector, p.labels));
      // Endpoints: ready pods; with publishNotReadyAddresses also unready and terminating ones.
      const endpoints = members.filter((p) => (notReadyToo ? true : p.ready && !p.terminating));
      records[`${svc.metadata.name}.${ns}.svc.${d}`] = endpoints.map((p) => p.ip!);
      if (headless) {
        for (const p of endpoints) {
          if (p.spec.subdomain === svc.metadata.name) records[`${p.hostname}.${svc.metadata.name}.${ns}.svc.${d}`] = [p.ip!];
        }
      }
    }
    return records;
  }

  private namespacesForPolicy(): PolicyNamespace[] {
    return this.list('Namespace').map((n) => ({ name: n.metadata.name, labels: { ...(n.metadata.labels ?? {}), 'kubernetes.io/metadata.name': n.metadata.name } }));
  }

  private policyPods(): PolicyPod[] {
    const pods: PolicyPod[] = this.allPods().filter((p) => p.ip && p.phase !== 'Gone').map((p) => ({
      namespace: p.namespace, name: p.name, labels: p.labels, ip: p.ip!,
      ports: p.spec.containers.flatMap((c) => c.ports ?? []),
    }));
    pods.push({
      namespace: 'kube-system', name: 'coredns', labels: DNS_POD_LABELS, ip: this.dnsIp,
      ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' }],
    });
    return pods;
  }

  private async syncOnce(): Promise<void> {
    if (this.stopped || !this.dns) return;
    const seq = ++this.dnsSeq;
    const acked = new Promise<void>((resolve) => this.dnsAcks.set(seq, resolve));
    this.dns.stdin!.write(`${JSON.stringify({ seq, records: this.dnsRecords() })}\n`);
    await withTimeout(acked, 5000, 'DNS server did not acknowledge its table');
    const pods = this.policyPods();
    const namespaces = this.namespacesForPolicy();
    const policies = this.list('NetworkPolicy');
    await Promise.all(this.allPods().filter((p) => p.link && p.phase !== 'Gone').map(async (p) => {
      const me = pods.find((x) => x.namespace === p.namespace && x.name === p.name)!;
      const rules = iptablesRules(me, pods, namespaces, policies);
      const netns = p.link!.netns;
      if (this.appliedRules.get(netns) === rules) return;
      const r = await run('nsenter', [`--net=/run/netns/${netns}`, '--', 'iptables-restore'], { input: rules, timeoutMs: 10_000 });
      if (r.code === 0) this.appliedRules.set(netns, rules);
      else if (!p.terminating) this.event(p, `iptables-restore failed: ${r.stderr.trim()}`);
    }));
  }

  /** The iptables rules in force in a pod's namespace (iptables-save), for diagnostics. */
  async iptablesOf(namespace: string, name: string): Promise<string> {
    return runOk('nsenter', [`--net=/run/netns/${this.mustPod(namespace, name).link!.netns}`, '--', 'iptables-save']);
  }

  // --- exec ------------------------------------------------------------------------------------

  /** kubectl exec: runs argv in a container of the pod's current incarnation. */
  exec(namespace: string, pod: string, container: string, argv: string[], o: { timeoutMs?: number; env?: Record<string, string>; input?: string } = {}): Promise<RunResult> {
    const p = this.pod(namespace, pod);
    if (!p || p.phase === 'Gone') return Promise.resolve({ code: 126, signal: null, stdout: '', stderr: `no pod ${namespace}/${pod}`, timedOut: false });
    return p.execIn(p.container(container), argv, { timeoutMs: o.timeoutMs ?? 10_000, env: o.env, input: o.input });
  }

  /** kubectl exec -i with streams: the caller reads stdout, writes stdin and ends the process. */
  spawnExec(namespace: string, pod: string, container: string, argv: string[], o: { env?: Record<string, string> } = {}): ChildProcess {
    const p = this.mustPod(namespace, pod);
    return p.spawnIn(p.container(container), argv, o);
  }

  /** kubectl debug: an ephemeral container (streaming) in the pod's network namespace. */
  debug(namespace: string, pod: string, container: Container, env: Record<string, string> = {}): ChildProcess {
    return this.mustPod(namespace, pod).spawnEphemeral(container, env);
  }

  /** The log file of a container (every incarnation of the pod appends to it). */
  logFile(namespace: string, pod: string, container: string): string {
    return join(this.logDir, `${namespace}_${pod}_${container}.log`);
  }

  /** A one-line summary of every pod. */
  describe(): string {
    return this.allPods().map((p) => p.describe()).join('\n');
  }
}

/**
 * A client pod object: one container that only sleeps, to `exec` client programs into, with the
 * security context Pod Security "restricted" requires. Its labels decide what NetworkPolicies allow.
 * `secrets` are mounted read-only (mode 0440, group-readable through fsGroup = the pod's uid), e.g. a
 * client's TLS certificate.
 */
export function clientPod(o: { name: string; namespace: string; labels: Labels; image: string; uid?: number; secrets?: Array<{ secretName: string; mountPath: string }> }): KubeObject {
  const uid = o.uid ?? 1001;
  const secrets = o.secrets ?? [];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: o.name, namespace: o.namespace, labels: o.labels },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, ...(secrets.length ? { fsGroup: uid } : {}), seccompProfile: { type: 'RuntimeDefault' } },
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: 'main',
        image: o.image,
        command: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'],
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, readOnlyRootFilesystem: true },
        ...(secrets.length ? { volumeMounts: secrets.map((x, i) => ({ name: `secret-${i}`, mountPath: x.mountPath, readOnly: true })) } : {}),
      }],
      ...(secrets.length ? { volumes: secrets.map((x, i) => ({ name: `secret-${i}`, secret: { secretName: x.secretName, defaultMode: 0o440 } })) } : {}),
    },
  };
}
