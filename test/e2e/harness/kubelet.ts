/**
 * The kubelet of the harness: runs one pod "as the kubelet would", with host binaries instead of a
 * container runtime.
 *
 * A pod is a network namespace (created by the cluster) plus a "pause" process holding the pod's
 * UTS (hostname), IPC and mount namespaces; memory-backed emptyDirs are tmpfs mounts inside the
 * pause mount namespace, so they exist only for this pod incarnation. Each container start gets a
 * fresh private copy of that mount namespace in which its volumes are bind-mounted at their
 * mountPaths (read-only where asked), /etc/hosts, /etc/resolv.conf and /etc/hostname are the pod's,
 * the root filesystem is remounted read-only when readOnlyRootFilesystem is set, and the harness's
 * state directories are hidden; then the process drops to the pod's user with setpriv and runs with
 * only the image's directory in PATH.
 */
import { ChildProcess, spawn } from 'child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from 'fs';
import { dirname, join } from 'path';
import * as readline from 'readline';
import { PodFacts, containerEnv, expand, keyOf } from './env';
import { Image, Images } from './images';
import { Network, PodLink } from './network';
import { parseQuantity } from './selectors';
import { RunResult, alive, killGroup, run, shq, sleep, withTimeout } from './sys';
import { Container, KubeObject, Labels, PodSpec, Probe } from './types';

/** What a pod needs from the cluster. */
export interface KubeletHost {
  readonly network: Network;
  readonly images: Images;
  /** State root; `hiddenDirs` under it are invisible inside containers. */
  readonly root: string;
  readonly hiddenDirs: readonly string[];
  readonly logDir: string;
  readonly clusterDomain: string;
  readonly dnsIp: string;
  readonly nodeName: string;
  /** How long a crashed node's pods keep their stale Ready condition (node-monitor-grace-period). */
  readonly nodeNotReadyMs: number;
  object(kind: 'Secret' | 'ConfigMap', namespace: string, name: string): KubeObject | undefined;
  /** The directory of a PersistentVolumeClaim (created, empty, on first use; kept until the run ends). */
  claimDir(namespace: string, claim: string): string;
  /** Creates a missing mountpoint directory on the host (empty), remembering it for clean-up. */
  ensureMountpoint(path: string): void;
  /** Called whenever the pod's readiness or phase changes. */
  changed(pod: Pod): void;
  event(pod: Pod | undefined, message: string): void;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Terminating' | 'Unknown' | 'Gone';

interface Deferred { promise: Promise<void>; resolve: () => void }
const deferred = (): Deferred => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
};

/** The identity a process runs with (setpriv arguments). */
interface Identity { uid: number; gid: number; groups: number[]; noNewPrivs: boolean; dropAllCaps: boolean }

let podCounter = 0;

/** One container of a pod and its current process. */
export class ContainerRuntime {
  proc?: ChildProcess;
  pid?: number;
  restartCount = 0;
  startedAt = 0;
  /** Startup probe passed (or none). */
  started = false;
  ready = false;
  /** Set while the pod is stopping the container for good. */
  stopping = false;
  lastExit?: { code: number | null; signal: NodeJS.Signals | null; at: number };
  /** While set, the container is not restarted (a CrashLoopBackOff of the test's choosing). */
  hold?: Deferred;
  exited?: Deferred;
  env: Array<[string, string]> = [];
  identity?: Identity;
  workingDir = '/';
  readonly image: Image;
  readonly timers: NodeJS.Timeout[] = [];
  /** Exec processes (probes, hooks, kubectl exec) running in this container. */
  readonly execs = new Set<ChildProcess>();

  constructor(readonly spec: Container, readonly init: boolean, images: Images) {
    this.image = images.resolve(spec.image);
  }

  get running(): boolean {
    return alive(this.pid) && this.proc?.exitCode === null && this.proc?.signalCode === null;
  }

  /**
   * The process runs the container's command: its volumes are mounted (the mount script has exec'd).
   * Before that, an exec would enter a mount namespace still being set up (seen: a file of the volume
   * not found), which a real kubelet never shows: it starts the process once the mounts are done.
   */
  get mounted(): boolean {
    return this.running && this.mountedPid === this.pid;
  }

  /** The pid whose mount script reported its mounts done. */
  mountedPid?: number;
  /** Called once the current process has its mounts (then cleared; a restart starts a new list). */
  mountedWaiters: Array<() => void> = [];
}

/** One pod incarnation: from creation until it is gone. A recreated pod is a new Pod object. */
let projectedCounter = 0;

/** A pod's long-lived httpGet prober (prober.js) and the probes waiting for its answers. */
interface Prober {
  readonly proc: ChildProcess;
  seq: number;
  readonly pending: Map<number, (reply: string | undefined) => void>;
}

export class Pod {
  readonly uid: string;
  readonly dir: string;
  phase: PodPhase = 'Pending';
  ready = false;
  link?: PodLink;
  pausePid?: number;
  pause?: ChildProcess;
  readonly containers: ContainerRuntime[];
  readonly initContainers: ContainerRuntime[];
  readonly createdAt = Date.now();
  private readonly volumeDirs = new Map<string, string>();
  private readonly tmpfs: Array<{ dir: string; bytes?: number }> = [];
  private readonly goneSignal = deferred();
  private readonly finishedSignal = deferred();
  private readonly ephemeral = new Set<ChildProcess>();
  private deleting?: Promise<void>;
  private prober?: Prober;

  constructor(
    readonly host: KubeletHost,
    readonly namespace: string,
    readonly name: string,
    readonly labels: Labels,
    readonly annotations: Record<string, string>,
    readonly spec: PodSpec,
    /** The owning StatefulSet, if any. */
    readonly owner?: string,
  ) {
    this.uid = `${name}-${++podCounter}`;
    this.dir = join(host.root, 'pods', `${namespace}_${this.uid}`);
    this.initContainers = (spec.initContainers ?? []).map((c) => new ContainerRuntime(c, true, host.images));
    this.containers = spec.containers.map((c) => new ContainerRuntime(c, false, host.images));
  }

  get ip(): string | undefined {
    return this.link?.ip;
  }

  get hostname(): string {
    return this.spec.hostname ?? this.name;
  }

  /** `<hostname>.<subdomain>.<ns>.svc.<domain>` when the pod has a subdomain. */
  get fqdn(): string | undefined {
    return this.spec.subdomain ? `${this.hostname}.${this.spec.subdomain}.${this.namespace}.svc.${this.host.clusterDomain}` : undefined;
  }

  /**
   * Resolves when a pod whose restartPolicy lets its containers end (Never, OnFailure) reaches
   * Succeeded or Failed (a Job's pod).
   */
  get finished(): Promise<void> {
    return this.finishedSignal.promise;
  }

  /** restartPolicy: Always (the default), OnFailure or Never. */
  get restartPolicy(): string {
    return this.spec.restartPolicy ?? 'Always';
  }

  private finish(phase: 'Succeeded' | 'Failed', why: string): void {
    this.phase = phase;
    this.log(`${phase}: ${why}`);
    this.host.changed(this);
    this.finishedSignal.resolve();
  }

  /** Resolves once the pod is completely gone (processes, network, emptyDirs). */
  get gone(): Promise<void> {
    return this.goneSignal.promise;
  }

  get terminating(): boolean {
    return this.phase === 'Terminating' || this.phase === 'Gone';
  }

  container(name: string): ContainerRuntime {
    const c = [...this.containers, ...this.initContainers].find((x) => x.spec.name === name);
    if (!c) throw new Error(`pod ${this.namespace}/${this.name} has no container ${name}`);
    return c;
  }

  private log(message: string): void {
    this.host.event(this, message);
  }

  private facts(): PodFacts {
    return {
      name: this.name, namespace: this.namespace, uid: this.uid, labels: this.labels, annotations: this.annotations,
      podIp: this.ip ?? '', nodeName: this.host.nodeName, hostIp: this.host.dnsIp,
      serviceAccountName: this.spec.serviceAccountName ?? 'default',
      object: (kind, n) => this.host.object(kind, this.namespace, n),
    };
  }

  private setReady(): void {
    const ready = this.phase === 'Running' && this.containers.every((c) => c.ready);
    if (ready !== this.ready) {
      this.ready = ready;
      this.log(ready ? 'Ready' : 'NotReady');
      this.host.changed(this);
    }
  }

  // --- start ---------------------------------------------------------------------------------

  /** Runs the pod: volumes, pause, init containers in order, then the containers. Returns once they are started. */
  async start(link: PodLink): Promise<void> {
    this.link = link;
    mkdirSync(this.dir, { recursive: true });
    this.writeEtcFiles();
    // Like the kubelet, wait (retrying) for the ConfigMaps and Secrets the volumes need.
    for (;;) {
      try {
        this.prepareVolumes();
        break;
      } catch (e) {
        if (this.terminating) return;
        this.log(`FailedMount: ${(e as Error).message}`);
        await sleep(1000);
      }
    }
    await this.startPause();
    for (const c of this.initContainers) {
      for (;;) {
        if (this.terminating) return;
        this.launch(c);
        await c.exited!.promise;
        if (this.terminating) return;
        if (c.lastExit?.code === 0) break;
        if (this.restartPolicy === 'Never') {
          this.finish('Failed', `init container ${c.spec.name} failed (${c.lastExit?.signal ?? `code ${c.lastExit?.code}`})`);
          return;
        }
        await sleep(this.backoffMs(c));
        c.restartCount++;
      }
    }
    if (this.terminating) return;
    this.phase = 'Running';
    this.host.changed(this);
    for (const c of this.containers) this.launch(c);
  }

  private writeEtcFiles(): void {
    const ip = this.ip!;
    const d = this.host.clusterDomain;
    const names = this.fqdn ? `${this.fqdn}\t${this.hostname}` : this.hostname;
    writeFileSync(join(this.dir, 'hosts'), [
      '# Kubernetes-managed hosts file.',
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      'fe00::0\tip6-localnet',
      'fe00::0\tip6-mcastprefix',
      'fe00::1\tip6-allnodes',
      'fe00::2\tip6-allrouters',
      `${ip}\t${names}`,
      '',
    ].join('\n'), { mode: 0o644 });
    writeFileSync(join(this.dir, 'resolv.conf'), [
      `search ${this.namespace}.svc.${d} svc.${d} ${d}`,
      `nameserver ${this.host.dnsIp}`,
      'options ndots:5',
      '',
    ].join('\n'), { mode: 0o644 });
    writeFileSync(join(this.dir, 'hostname'), `${this.hostname}\n`, { mode: 0o644 });
  }

  /**
   * Writes a ConfigMap or Secret volume the kubelet's atomic-writer way: the files in a timestamped
   * directory, `..data` pointing at it, one symlink per top-level entry. `fresh`: at pod start (a
   * missing object or key fails unless optional); else an update of a running pod's volume (what the
   * kubelet's sync does after the object changed): `..data` swapped atomically, entries of removed keys
   * unlinked, the previous directory removed.
   */
  private writeProjected(v: NonNullable<PodSpec['volumes']>[number], dir: string, fresh: boolean): void {
    const fsGroup = this.spec.securityContext?.fsGroup;
    const kind = v.configMap ? 'ConfigMap' : 'Secret';
    const src = (v.configMap ?? v.secret)!;
    const ref = v.configMap?.name ?? v.secret!.secretName!;
    const obj = this.host.object(kind, this.namespace, ref);
    if (!obj && !src.optional) {
      if (fresh) throw new Error(`${kind.toLowerCase()} "${ref}" not found (volume ${v.name})`);
      return;
    }
    const keys = Object.keys({ ...(obj?.data ?? {}), ...(obj?.stringData ?? {}), ...(obj?.binaryData ?? {}) });
    const items: Array<{ key: string; path: string; mode?: number }> = src.items ?? keys.map((k) => ({ key: k, path: k }));
    const defaultMode = src.defaultMode ?? 0o644;
    const previous = fresh ? undefined : (() => { try { return readlinkSync(join(dir, '..data')); } catch { return undefined; } })();
    if (fresh) rmSync(dir, { recursive: true, force: true });
    const stamp = `..${new Date().toISOString().replace(/[-:.]/g, '_')}_${++projectedCounter}`;
    mkdirSync(join(dir, stamp), { recursive: true });
    const top = new Set<string>();
    for (const it of items) {
      const value = keyOf(obj, it.key);
      if (value === undefined) {
        if (src.optional || !fresh) continue;
        throw new Error(`${kind.toLowerCase()} "${ref}" has no key "${it.key}" (volume ${v.name})`);
      }
      const file = join(dir, stamp, it.path);
      mkdirSync(dirname(file), { recursive: true });
      const mode = (it.mode ?? defaultMode) | (fsGroup !== undefined ? 0o040 : 0);
      writeFileSync(file, value);
      chmodSync(file, mode);
      if (fsGroup !== undefined) chownSync(file, 0, fsGroup);
      top.add(it.path.split('/')[0]);
    }
    for (const d of [dir, join(dir, stamp)]) {
      chmodSync(d, 0o755);
      if (fsGroup !== undefined) chownSync(d, 0, fsGroup);
    }
    if (fresh) {
      symlinkSync(stamp, join(dir, '..data'));
    } else {
      symlinkSync(stamp, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    }
    for (const t of top) if (!existsSync(join(dir, t)) || fresh) { rmSync(join(dir, t), { force: true }); symlinkSync(join('..data', t), join(dir, t)); }
    if (!fresh) {
      for (const entry of readdirSync(dir)) if (!entry.startsWith('..') && !top.has(entry)) rmSync(join(dir, entry), { force: true });
      if (previous && previous !== stamp) rmSync(join(dir, previous), { recursive: true, force: true });
    }
  }

  /** The kubelet's sync of this running pod's ConfigMap and Secret volumes that use `kind`/`name`. */
  refreshProjected(kind: 'ConfigMap' | 'Secret', name: string): void {
    for (const v of this.spec.volumes ?? []) {
      const ref = kind === 'ConfigMap' ? v.configMap?.name : v.secret?.secretName;
      const dir = this.volumeDirs.get(v.name);
      if (ref === name && dir) this.writeProjected(v, dir, false);
    }
  }

  private prepareVolumes(): void {
    const fsGroup = this.spec.securityContext?.fsGroup;
    for (const v of this.spec.volumes ?? []) {
      const dir = join(this.dir, 'volumes', v.name);
      if (v.configMap || v.secret) {
        this.writeProjected(v, dir, true);
        this.volumeDirs.set(v.name, dir);
      } else if (v.emptyDir) {
        mkdirSync(dir, { recursive: true });
        chmodSync(dir, 0o777);
        if (fsGroup !== undefined) {
          chownSync(dir, 0, fsGroup);
          chmodSync(dir, 0o2777);
        }
        if (v.emptyDir.medium === 'Memory') {
          this.tmpfs.push({ dir, bytes: v.emptyDir.sizeLimit === undefined ? undefined : parseQuantity(v.emptyDir.sizeLimit) });
        }
        this.volumeDirs.set(v.name, dir);
      } else if (v.persistentVolumeClaim) {
        const claimDir = this.host.claimDir(this.namespace, v.persistentVolumeClaim.claimName);
        if (fsGroup !== undefined) this.setClaimOwnership(claimDir, fsGroup);
        this.volumeDirs.set(v.name, claimDir);
      } else if (v.hostPath) {
        this.volumeDirs.set(v.name, v.hostPath.path);
      } else {
        throw new Error(`volume ${v.name}: type not supported by the e2e harness`);
      }
    }
  }

  /** fsGroupChangePolicy OnRootMismatch: fix ownership only when the volume root does not match. */
  private setClaimOwnership(dir: string, fsGroup: number): void {
    const st = statSync(dir);
    if (st.gid === fsGroup && (st.mode & 0o2070) === 0o2070) return;
    const walk = (p: string) => {
      const s = statSync(p);
      chownSync(p, s.uid, fsGroup);
      if (s.isDirectory()) {
        chmodSync(p, (s.mode & 0o7777) | 0o2070);
        for (const e of readdirSync(p)) walk(join(p, e));
      } else {
        chmodSync(p, (s.mode & 0o7777) | 0o060);
      }
    };
    walk(dir);
  }

  /** The pause process: holds hostname, IPC and the pod's mount namespace (with its memory emptyDirs). */
  private async startPause(): Promise<void> {
    const fsGroup = this.spec.securityContext?.fsGroup;
    const script = [
      'set -e',
      `hostname ${shq(this.hostname)}`,
      // Copies of other pods' /run/netns/* mounts would keep their namespaces alive.
      'umount -R -l /run/netns 2>/dev/null || true',
      ...this.tmpfs.flatMap((t) => [
        `mount -t tmpfs -o mode=0777${t.bytes ? `,size=${t.bytes}` : ''} rse2e-emptydir ${shq(t.dir)}`,
        ...(fsGroup !== undefined ? [`chown 0:${fsGroup} ${shq(t.dir)}`, `chmod 2777 ${shq(t.dir)}`] : []),
      ]),
      'echo ready',
      'exec sleep infinity',
    ].join('\n');
    const p = spawn('nsenter', [`--net=/run/netns/${this.link!.netns}`, '--', 'unshare', '--mount', '--uts', '--ipc', '--propagation', 'private', '--', '/bin/sh', '-c', script],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pause = p;
    this.pausePid = p.pid;
    await new Promise<void>((resolve, reject) => {
      let err = '';
      p.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
      p.stdout!.on('data', (b: Buffer) => {
        if (b.toString().includes('ready')) resolve();
      });
      p.on('exit', (code) => reject(new Error(`pause of ${this.name} exited (${code}): ${err}`)));
    });
  }

  // --- containers ------------------------------------------------------------------------------

  private identity(c: Container): Identity {
    const pod = this.spec.securityContext ?? {};
    const sc = c.securityContext ?? {};
    const img = this.host.images.resolve(c.image);
    const uid = sc.runAsUser ?? pod.runAsUser ?? img.user;
    const gid = sc.runAsGroup ?? pod.runAsGroup ?? 0;
    if ((sc.runAsNonRoot ?? pod.runAsNonRoot) && uid === 0) {
      throw new Error(`CreateContainerConfigError: container ${c.name} has runAsNonRoot and image will run as root`);
    }
    const groups = [...(pod.fsGroup !== undefined ? [pod.fsGroup] : []), ...(pod.supplementalGroups ?? [])];
    return {
      uid, gid, groups,
      noNewPrivs: sc.allowPrivilegeEscalation === false,
      dropAllCaps: (sc.capabilities?.drop ?? []).includes('ALL'),
    };
  }

  private static privArgs(id: Identity): string[] {
    return [
      '/usr/bin/setpriv', '--reuid', String(id.uid), '--regid', String(id.gid),
      ...(id.groups.length ? ['--groups', id.groups.join(',')] : ['--clear-groups']),
      ...(id.noNewPrivs ? ['--no-new-privs'] : []),
      ...(id.dropAllCaps ? ['--bounding-set', '-all', '--inh-caps', '-all'] : []),
      '--',
    ];
  }

  private static envArgs(workingDir: string, env: ReadonlyArray<[string, string]>): string[] {
    return ['/usr/bin/env', '-i', '-C', workingDir, ...env.map(([k, v]) => `${k}=${v}`)];
  }

  /**
   * The shell script (run as root in the container's fresh mount namespace) that mounts and execs.
   * `report`: before the exec it writes to fd 3 (a pipe of the kubelet: the mounts are done) and closes it.
   */
  private mountScript(c: ContainerRuntime, argv: string[], report = false): string {
    const lines = ['set -e'];
    const mounts = [...(c.spec.volumeMounts ?? [])].sort((a, b) => a.mountPath.split('/').length - b.mountPath.split('/').length);
    for (const m of mounts) {
      const base = this.volumeDirs.get(m.name);
      if (!base) throw new Error(`container ${c.spec.name}: volumeMount ${m.name} has no volume`);
      const src = m.subPath ? join(base, m.subPath) : base;
      // The mountpoint must exist: inside the volume mounted above it, or on the host.
      const parent = mounts.filter((o) => o !== m && m.mountPath.startsWith(`${o.mountPath.replace(/\/$/, '')}/`)).pop();
      if (parent) {
        const inParent = join(this.volumeDirs.get(parent.name)!, m.mountPath.slice(parent.mountPath.length));
        if (!existsSync(inParent)) mkdirSync(inParent, { recursive: true });
      } else {
        this.host.ensureMountpoint(m.mountPath);
      }
      lines.push(`mount --bind ${shq(src)} ${shq(m.mountPath)}`);
      if (m.readOnly) lines.push(`mount -o remount,bind,ro ${shq(m.mountPath)}`);
    }
    for (const f of ['hosts', 'resolv.conf', 'hostname']) {
      if (existsSync(`/etc/${f}`)) lines.push(`mount --bind ${shq(join(this.dir, f))} /etc/${f}`);
    }
    if (c.spec.securityContext?.readOnlyRootFilesystem) lines.push('mount -o remount,bind,ro /');
    for (const h of this.host.hiddenDirs) lines.push(`mount -t tmpfs -o ro,size=4k,mode=0755 rse2e-hidden ${shq(h)}`);
    const exec = [...Pod.privArgs(c.identity!), ...Pod.envArgs(c.workingDir, c.env), ...argv];
    if (report) lines.push('printf mounted >&3');
    lines.push(`exec ${exec.map(shq).join(' ')}${report ? ' 3>&-' : ''}`);
    return lines.join('\n');
  }

  private backoffMs(c: ContainerRuntime): number {
    // The kubelet restarts at once after the first exit, then backs off 10 s, 20 s, ... 5 min;
    // here 0.5 s, then 1 s doubling up to 8 s (a short backoff keeps the suite fast).
    if (c.restartCount === 0) return 500;
    return Math.min(1000 * 2 ** (c.restartCount - 1), 8000);
  }

  /** Starts the container's process (`c.exited` resolves when it ends). */
  private launch(c: ContainerRuntime): void {
    let argv: string[];
    try {
      const { env, lookup } = containerEnv(c.spec, this.facts(), c.image.env);
      c.env = env;
      c.identity = this.identity(c.spec);
      c.workingDir = c.spec.workingDir ?? c.image.workingDir;
      const ex = (a: string[]) => a.map((x) => expand(x, lookup));
      argv = c.spec.command ? [...ex(c.spec.command), ...ex(c.spec.args ?? [])]
        : c.spec.args ? [...c.image.entrypoint, ...ex(c.spec.args)] : [...c.image.entrypoint, ...c.image.cmd];
    } catch (e) {
      this.log(`${c.spec.name}: ${(e as Error).message}`);
      c.exited = deferred();
      c.lastExit = { code: 1, signal: null, at: Date.now() };
      setTimeout(() => this.onExit(c), 0);
      return;
    }
    const logFile = join(this.host.logDir, `${this.namespace}_${this.name}_${c.spec.name}.log`);
    const fd = openSync(logFile, 'a');
    writeSync(fd, `--- ${new Date().toISOString()} ${this.uid} start #${c.restartCount} of ${c.spec.name}\n`);
    const script = this.mountScript(c, argv, true);
    const proc = spawn('nsenter', ['-t', String(this.pausePid), '-n', '-u', '-i', '-m', '--', 'unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script],
      { detached: true, stdio: ['ignore', fd, fd, 'pipe'] });
    closeSync(fd);
    c.proc = proc;
    c.pid = proc.pid;
    c.mountedWaiters = [];
    const report = proc.stdio[3] as NodeJS.ReadableStream;
    report.once('data', () => {
      c.mountedPid = proc.pid;
      for (const f of c.mountedWaiters.splice(0)) f();
    });
    report.on('error', () => undefined);
    c.startedAt = Date.now();
    c.started = false;
    c.ready = false;
    c.exited = deferred();
    proc.on('exit', (code, signal) => {
      c.lastExit = { code, signal, at: Date.now() };
      this.log(`${c.spec.name} exited (${signal ?? `code ${code}`}) after ${Date.now() - c.startedAt} ms`);
      this.onExit(c);
    });
    this.log(`${c.spec.name} started (pid ${proc.pid}, restart #${c.restartCount})`);
    if (!c.init) this.startProbes(c);
  }

  private onExit(c: ContainerRuntime): void {
    for (const t of c.timers.splice(0)) clearTimeout(t);
    for (const p of c.execs) killGroup(p.pid, 'SIGKILL');
    c.execs.clear();
    c.started = false;
    c.ready = false;
    this.setReady();
    const exited = c.exited;
    if (c.init || c.stopping || this.terminating || this.phase === 'Unknown') {
      exited?.resolve();
      return;
    }
    exited?.resolve();
    const ok = c.lastExit?.code === 0;
    if (this.restartPolicy === 'Never' || (this.restartPolicy === 'OnFailure' && ok)) {
      // A Job's pod: the container stays down; the pod ends when every container has.
      c.stopping = true;
      if (this.containers.every((x) => !x.running)) {
        const failed = this.containers.filter((x) => x.lastExit?.code !== 0);
        this.finish(failed.length ? 'Failed' : 'Succeeded', failed.length
          ? failed.map((x) => `${x.spec.name} exited ${x.lastExit?.signal ?? `code ${x.lastExit?.code}`}`).join(', ')
          : 'every container exited 0');
      }
      return;
    }
    const delay = this.backoffMs(c);
    void (async () => {
      await new Promise<void>((r) => c.timers.push(setTimeout(r, delay)));
      if (c.hold) {
        this.log(`${c.spec.name}: restart held by the test`);
        await c.hold.promise;
      }
      if (c.stopping || this.terminating || this.phase === 'Unknown') return;
      c.restartCount++;
      this.launch(c);
    })().catch((e) => this.log(`${c.spec.name}: restart failed: ${(e as Error).message}`));
  }

  // --- probes and exec -------------------------------------------------------------------------

  private startProbes(c: ContainerRuntime): void {
    const s = c.spec;
    const loop = (probe: Probe, onResult: (ok: boolean, out: string) => void, gate: () => boolean) => {
      const period = (probe.periodSeconds ?? 10) * 1000;
      const tick = async () => {
        if (!c.running || c.stopping || this.terminating) return;
        if (gate()) {
          const r = probe.httpGet
            ? await this.httpProbe(c, probe.httpGet, (probe.timeoutSeconds ?? 1) * 1000)
            : await this.execIn(c, probe.exec!.command, { timeoutMs: (probe.timeoutSeconds ?? 1) * 1000 });
          if (!c.running || c.stopping || this.terminating) return;
          onResult(r.code === 0, (r.stdout + r.stderr).trim() || (r.timedOut ? 'timed out' : `exit ${r.code}`));
        }
        c.timers.push(setTimeout(() => void tick(), period));
      };
      // The first probe runs as soon as the container has started (initialDelaySeconds honoured).
      c.timers.push(setTimeout(() => void tick(), (probe.initialDelaySeconds ?? 0) * 1000 + 200));
    };
    const execOnly = (p: Probe | undefined, kind: string) => {
      if (p && !p.exec && !p.httpGet) throw new Error(`${s.name}: only exec and httpGet ${kind} probes are supported by the e2e harness`);
      return p;
    };
    const startup = execOnly(s.startupProbe, 'startup');
    const liveness = execOnly(s.livenessProbe, 'liveness');
    const readiness = execOnly(s.readinessProbe, 'readiness');
    let startupFails = 0;
    let liveFails = 0;
    let readyFails = 0;
    let readyOks = 0;
    if (startup) {
      loop(startup, (ok, out) => {
        if (ok) {
          c.started = true;
          this.log(`${s.name}: startup probe succeeded`);
          if (!readiness) {
            c.ready = true;
            this.setReady();
          }
          return;
        }
        if (++startupFails >= (startup.failureThreshold ?? 3)) {
          startupFails = 0;
          this.log(`${s.name}: startup probe failed ${startup.failureThreshold ?? 3} times (${out}): restarting`);
          void this.restartContainer(c);
        }
      }, () => !c.started);
    } else {
      // Started (and, without a readiness probe, Ready) once its process runs the command, as a kubelet reports it.
      const pid = c.pid;
      c.mountedWaiters.push(() => {
        if (c.pid !== pid || !c.running) return;
        c.started = true;
        if (!readiness) {
          c.ready = true;
          this.setReady();
        }
      });
    }
    if (liveness) {
      loop(liveness, (ok, out) => {
        if (ok) {
          liveFails = 0;
          return;
        }
        if (++liveFails >= (liveness.failureThreshold ?? 3)) {
          liveFails = 0;
          this.log(`${s.name}: liveness probe failed ${liveness.failureThreshold ?? 3} times (${out}): restarting`);
          void this.restartContainer(c);
        }
      }, () => c.started);
    }
    if (readiness) {
      loop(readiness, (ok, out) => {
        if (ok) {
          readyFails = 0;
          if (++readyOks >= (readiness.successThreshold ?? 1) && !c.ready) {
            c.ready = true;
            this.setReady();
          }
        } else {
          readyOks = 0;
          if (++readyFails >= (readiness.failureThreshold ?? 3) && c.ready) {
            this.log(`${s.name}: readiness probe failed (${out})`);
            c.ready = false;
            this.setReady();
          } else if (!c.ready && readyFails === 1) {
            this.log(`${s.name}: not ready yet (${out})`);
          }
        }
      }, () => c.started);
    }
  }

  /**
   * An httpGet probe, sent as the kubelet sends it: from outside the containers, to the pod IP and
   * the container port (a name resolves through the container's ports). The request is made from
   * the pod's network namespace, since the node's own namespace has no route to the pod bridge here.
   */
  private async httpProbe(c: ContainerRuntime, get: NonNullable<Probe['httpGet']>, timeoutMs: number): Promise<RunResult> {
    const named = typeof get.port === 'string' ? c.spec.ports?.find((p) => p.name === get.port)?.containerPort : get.port;
    if (named === undefined || !this.ip || !this.link) {
      return { code: 1, signal: null, stdout: '', stderr: `httpGet port ${get.port} is not a port of ${c.spec.name}`, timedOut: false };
    }
    const url = `http://${this.ip}:${named}${get.path ?? '/'}`;
    const prober = this.prober ??= this.startProber(this.link.netns);
    const id = ++prober.seq;
    const answer = new Promise<string | undefined>((resolve) => prober.pending.set(id, resolve));
    prober.proc.stdin!.write(`${id} ${timeoutMs} ${url}\n`);
    // The prober answers within timeoutMs; a margin for a loaded machine, then the probe counts as timed out.
    const timer = setTimeout(() => prober.pending.get(id)?.(undefined), timeoutMs + 5000);
    const reply = await answer;
    clearTimeout(timer);
    prober.pending.delete(id);
    if (reply === undefined) return { code: 1, signal: null, stdout: '', stderr: 'timed out (no answer from the prober)', timedOut: true };
    // Success is a status of 200-399, as for the kubelet.
    const status = Number(reply.split(' ')[0]);
    const ok = status >= 200 && status < 400;
    return { code: ok ? 0 : 1, signal: null, stdout: '', stderr: status === 0 ? reply.replace(/^0 /, '') : `HTTP ${status}`, timedOut: reply === '0 timed out' };
  }

  /** The pod's prober (prober.js), started at the first httpGet probe; killed with the pod's other processes. */
  private startProber(netns: string): Prober {
    const proc = spawn('ip', ['netns', 'exec', netns, process.execPath, join(__dirname, 'prober.js')], { stdio: ['pipe', 'pipe', 'ignore'] });
    const prober: Prober = { proc, seq: 0, pending: new Map() };
    proc.stdin!.on('error', () => undefined);
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      const i = line.indexOf(' ');
      prober.pending.get(Number(line.slice(0, i)))?.(line.slice(i + 1));
    });
    proc.on('exit', () => {
      if (this.prober === prober) this.prober = undefined;
      for (const resolve of prober.pending.values()) resolve('0 the prober exited');
    });
    return prober;
  }

  /** Runs a command in a running container (its namespaces, user and environment), like kubectl exec. */
  async execIn(c: ContainerRuntime, argv: string[], o: { timeoutMs?: number; env?: Record<string, string>; input?: string } = {}): Promise<RunResult> {
    // A container whose process is still mounting its volumes is about to run: wait for it (briefly).
    for (const until = Date.now() + 5000; c.running && !c.mounted && Date.now() < until;) await sleep(20);
    if (!c.mounted || !c.identity) {
      return { code: 126, signal: null, stdout: '', stderr: `container ${c.spec.name} is not running`, timedOut: false };
    }
    const env: Array<[string, string]> = [...c.env.filter(([k]) => !(o.env && k in o.env)), ...Object.entries(o.env ?? {})];
    const args = ['-t', String(c.pid), '-n', '-u', '-i', '-m', '--', ...Pod.privArgs(c.identity), ...Pod.envArgs(c.workingDir, env), ...argv];
    return run('nsenter', args, {
      timeoutMs: o.timeoutMs,
      input: o.input,
      onSpawn: (child) => {
        c.execs.add(child);
        child.on('close', () => c.execs.delete(child));
      },
    });
  }

  /** Like execIn, but returns the streaming process (stdin/stdout/stderr pipes); the caller ends it. */
  spawnIn(c: ContainerRuntime, argv: string[], o: { env?: Record<string, string> } = {}): ChildProcess {
    if (!c.mounted || !c.identity) throw new Error(`container ${c.spec.name} of ${this.name} is not running${c.running ? ' yet (mounting its volumes)' : ''}`);
    const env: Array<[string, string]> = [...c.env.filter(([k]) => !(o.env && k in o.env)), ...Object.entries(o.env ?? {})];
    const args = ['-t', String(c.pid), '-n', '-u', '-i', '-m', '--', ...Pod.privArgs(c.identity), ...Pod.envArgs(c.workingDir, env), ...argv];
    const child = spawn('nsenter', args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    c.execs.add(child);
    child.on('close', () => c.execs.delete(child));
    return child;
  }

  /**
   * kubectl debug --image=<image> <pod>: an ephemeral container in the pod's network, UTS and IPC
   * namespaces (its own mount namespace, no volumes), returned as a streaming process.
   */
  spawnEphemeral(spec: Container, env: Record<string, string> = {}): ChildProcess {
    if (this.phase !== 'Running' && this.phase !== 'Pending') throw new Error(`pod ${this.name} is ${this.phase}`);
    const c = new ContainerRuntime({ ...spec, volumeMounts: [] }, false, this.host.images);
    c.env = [...containerEnv(spec, this.facts(), c.image.env).env, ...Object.entries(env)];
    c.identity = this.identity(spec);
    c.workingDir = spec.workingDir ?? c.image.workingDir;
    const argv = [...(spec.command ?? c.image.entrypoint), ...(spec.args ?? (spec.command ? [] : c.image.cmd))];
    const child = spawn('nsenter', ['-t', String(this.pausePid), '-n', '-u', '-i', '-m', '--', 'unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', this.mountScript(c, argv)],
      { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    this.ephemeral.add(child);
    child.on('close', () => this.ephemeral.delete(child));
    this.log(`ephemeral container ${spec.name} started (pid ${child.pid})`);
    return child;
  }

  // --- stopping --------------------------------------------------------------------------------

  /**
   * Stops a container as the kubelet does: preStop hook (within the grace period), SIGTERM to the
   * main process, SIGKILL to everything left at the deadline (2 s more if the hook overran).
   */
  private async stopContainer(c: ContainerRuntime, deadline: number, forRestart: boolean): Promise<void> {
    if (!forRestart) c.stopping = true;
    if (!c.running) return;
    const exited = c.exited?.promise ?? Promise.resolve();
    const preStop = c.spec.lifecycle?.preStop?.exec;
    let overran = false;
    if (preStop) {
      const t0 = Date.now();
      const r = await this.execIn(c, preStop.command, { timeoutMs: Math.max(0, deadline - Date.now()) });
      overran = r.timedOut;
      const out = (r.stdout + r.stderr).trim();
      this.log(`${c.spec.name}: preStop ${r.timedOut ? 'timed out' : `exited ${r.code}`} after ${Date.now() - t0} ms${out ? `:\n    ${out.split('\n').join('\n    ')}` : ''}`);
    }
    if (!c.running) return;
    this.log(`${c.spec.name}: SIGTERM`);
    try {
      process.kill(c.pid!, 'SIGTERM');
    } catch { /* gone */ }
    const until = overran ? Date.now() + 2000 : Math.max(deadline, Date.now());
    const killed = await withTimeout(exited, Math.max(0, until - Date.now()), 'grace period over').then(() => false, () => true);
    if (killed && c.running) {
      this.log(`${c.spec.name}: grace period over, SIGKILL`);
      killGroup(c.pid, 'SIGKILL');
      await exited;
    }
    // Whatever the main process left behind (e.g. a background save child) goes with the container.
    killGroup(c.pid, 'SIGKILL');
  }

  /** Liveness/startup failure: stop with the grace period (preStop runs), then the normal restart. */
  private async restartContainer(c: ContainerRuntime): Promise<void> {
    for (const t of c.timers.splice(0)) clearTimeout(t);
    const grace = (this.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    await this.stopContainer(c, Date.now() + grace, true);
  }

  /**
   * SIGKILLs a container's processes ("the process crashed"); the kubelet restarts it in place
   * (same pod, IP and emptyDirs; init containers do not run again). With `hold`, the restart waits
   * until `release()` (a longer CrashLoopBackOff).
   */
  killContainer(name: string, o: { hold?: boolean; signal?: NodeJS.Signals } = {}): { release: () => void } {
    const c = this.container(name);
    if (o.hold) c.hold = deferred();
    const hold = c.hold;
    this.log(`${name}: killed by the test (${o.signal ?? 'SIGKILL'})${o.hold ? ', restart held' : ''}`);
    killGroup(c.pid, o.signal ?? 'SIGKILL');
    return {
      release: () => {
        if (hold && c.hold === hold) {
          c.hold = undefined;
          hold.resolve();
        }
      },
    };
  }

  /** Graceful deletion (kubectl delete pod): not ready at once, containers stopped, then the pod goes. */
  delete(gracePeriodSeconds?: number): Promise<void> {
    this.deleting ??= this.teardown(gracePeriodSeconds ?? this.spec.terminationGracePeriodSeconds ?? 30);
    return this.deleting;
  }

  private async teardown(graceSeconds: number): Promise<void> {
    const wasUnknown = this.phase === 'Unknown';
    this.phase = 'Terminating';
    this.log(`deleting (grace ${graceSeconds} s)`);
    this.ready = false;
    this.host.changed(this);
    for (const c of [...this.containers, ...this.initContainers]) {
      for (const t of c.timers.splice(0)) clearTimeout(t);
      c.hold?.resolve();
    }
    const deadline = Date.now() + graceSeconds * 1000;
    if (!wasUnknown) await Promise.all([...this.containers, ...this.initContainers].map((c) => this.stopContainer(c, deadline, false)));
    await this.killEverything();
    if (this.link) await this.host.network.detach(this.link);
    rmSync(this.dir, { recursive: true, force: true });
    this.phase = 'Gone';
    this.log('gone');
    this.host.changed(this);
    this.goneSignal.resolve();
  }

  private async killEverything(): Promise<void> {
    for (const c of [...this.containers, ...this.initContainers]) {
      c.stopping = true;
      killGroup(c.pid, 'SIGKILL');
      for (const p of c.execs) killGroup(p.pid, 'SIGKILL');
    }
    for (const p of this.ephemeral) killGroup(p.pid, 'SIGKILL');
    killGroup(this.pausePid, 'SIGKILL');
    if (this.link) {
      const r = await run('ip', ['netns', 'pids', this.link.netns]);
      for (const pid of r.stdout.split('\n').map(Number).filter((n) => n > 0)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch { /* gone */ }
      }
    }
  }

  /**
   * The node dies: every process of the pod is SIGKILLed and its link goes down; nothing restarts.
   * The pod keeps its (stale) Ready condition until the node is declared NotReady; it is replaced
   * only after it is deleted (force delete: `kubectl delete pod --force --grace-period=0`).
   */
  async crash(): Promise<void> {
    this.phase = 'Unknown';
    this.log('node failure: every process SIGKILLed, link down');
    for (const c of [...this.containers, ...this.initContainers]) {
      for (const t of c.timers.splice(0)) clearTimeout(t);
    }
    if (this.link) await this.host.network.setLink(this.link, false);
    await this.killEverything();
    const notReady = setTimeout(() => {
      if (this.phase === 'Unknown' && this.ready) {
        this.ready = false;
        this.log('node NotReady: pod marked not ready');
        this.host.changed(this);
      }
    }, this.host.nodeNotReadyMs);
    notReady.unref();
  }

  /** Releases every held restart (see killContainer). */
  releaseHolds(): void {
    for (const c of this.containers) {
      const h = c.hold;
      c.hold = undefined;
      h?.resolve();
    }
  }

  /** The harness is shutting down: stop acting on this pod (its processes are killed by the clean-up). */
  abandon(): void {
    this.phase = 'Gone';
    for (const c of [...this.containers, ...this.initContainers]) {
      c.stopping = true;
      for (const t of c.timers.splice(0)) clearTimeout(t);
      c.hold?.resolve();
    }
  }

  /** For diagnostics. */
  describe(): string {
    const cs = this.containers.map((c) => `${c.spec.name}:${c.running ? 'running' : 'down'}${c.ready ? '/ready' : ''} restarts=${c.restartCount}`);
    return `${this.namespace}/${this.name} ${this.phase}${this.ready ? ' Ready' : ''} ip=${this.ip ?? '-'} ${cs.join(' ')}`;
  }
}
