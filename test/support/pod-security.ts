/**
 * Checks pod specs against the Pod Security Standards "restricted" profile (which includes
 * "baseline"), as the PodSecurity admission controller applies it, and against this project's
 * own pod rules. Plain functions over synthesized JSON; each returns a list of violations.
 *
 * @see https://kubernetes.io/docs/concepts/security/pod-security-standards/
 */
import { KubeObject } from './synth';

/** A pod template found in an object. */
export interface PodTemplate {
  /** `Kind/name` of the object holding it. */
  readonly owner: string;
  readonly metadata: { labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: any };
  readonly spec: any;
}

/** Where each workload kind keeps its pod template (metadata + spec). */
const TEMPLATE_PATHS: Record<string, string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

function containsKey(value: unknown, key: string): boolean {
  if (Array.isArray(value)) return value.some((v) => containsKey(v, key));
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([k, v]) => k === key || containsKey(v, key));
}

/**
 * Every pod template of the objects. Throws for an object of an unknown kind that holds
 * containers (a pod the checker would otherwise miss) and for a workload without a pod spec.
 */
export function podTemplates(objects: KubeObject[]): PodTemplate[] {
  const templates: PodTemplate[] = [];
  for (const o of objects) {
    const owner = `${o.kind}/${o.metadata?.name}`;
    const where = TEMPLATE_PATHS[o.kind];
    if (where === undefined) {
      if (o.kind !== 'ConfigMap' && o.kind !== 'Secret' && containsKey(o, 'containers')) {
        throw new Error(`${owner}: kind ${o.kind} holds containers but the pod-security checker does not know where its pod template is`);
      }
      continue;
    }
    const template = where.reduce((v: any, k) => v?.[k], o);
    if (!template?.spec || !Array.isArray(template.spec.containers)) {
      throw new Error(`${owner}: no pod spec with containers at ${where.join('.') || '(object)'}`);
    }
    templates.push({ owner, metadata: template.metadata ?? {}, spec: template.spec });
  }
  return templates;
}

interface NamedContainer {
  /** e.g. `container 'redis'`, `initContainer 'setup'`. */
  readonly label: string;
  readonly c: any;
}

/** Containers, init containers and ephemeral containers of a pod spec, labelled. */
export function allContainers(spec: any): NamedContainer[] {
  return [
    ...(spec.initContainers ?? []).map((c: any) => ({ label: `initContainer '${c.name}'`, c })),
    ...(spec.containers ?? []).map((c: any) => ({ label: `container '${c.name}'`, c })),
    ...(spec.ephemeralContainers ?? []).map((c: any) => ({ label: `ephemeralContainer '${c.name}'`, c })),
  ];
}

/** Volume types "restricted" allows. */
export const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret',
]);

/** Sysctls "baseline" allows (the "safe" set). */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

const SELINUX_TYPES = new Set(['container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const SECCOMP_OK = new Set(['RuntimeDefault', 'Localhost']);

/**
 * Violations of Pod Security "restricted" (including "baseline") by a pod spec. `metadata` is
 * the pod template's metadata (for the AppArmor annotations).
 */
export function restrictedViolations(spec: any, metadata: { annotations?: Record<string, string> } = {}): string[] {
  const v: string[] = [];
  const podSc = spec.securityContext ?? {};
  const containers = allContainers(spec);
  if (containers.length === 0) v.push('pod has no containers');

  // --- baseline ---------------------------------------------------------------------------------
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC']) {
    if (spec[f] === true) v.push(`pod sets ${f}: true`);
  }
  for (const vol of spec.volumes ?? []) {
    if (vol.hostPath !== undefined) v.push(`volume '${vol.name}' is a hostPath volume`);
  }
  const seLinux = (where: string, o: any) => {
    if (!o) return;
    if (o.type !== undefined && o.type !== '' && !SELINUX_TYPES.has(o.type)) v.push(`${where} seLinuxOptions.type '${o.type}' is not allowed`);
    if (o.user !== undefined && o.user !== '') v.push(`${where} sets seLinuxOptions.user`);
    if (o.role !== undefined && o.role !== '') v.push(`${where} sets seLinuxOptions.role`);
  };
  const appArmor = (where: string, o: any) => {
    if (o && o.type !== undefined && !SECCOMP_OK.has(o.type)) v.push(`${where} appArmorProfile.type '${o.type}' is not RuntimeDefault or Localhost`);
  };
  seLinux('pod', podSc.seLinuxOptions);
  appArmor('pod', podSc.appArmorProfile);
  if (podSc.windowsOptions?.hostProcess === true) v.push('pod sets windowsOptions.hostProcess');
  for (const s of podSc.sysctls ?? []) {
    if (!SAFE_SYSCTLS.has(s.name)) v.push(`pod sets the unsafe sysctl ${s.name}`);
  }
  for (const [key, value] of Object.entries(metadata.annotations ?? {})) {
    if (key.startsWith('container.apparmor.security.beta.kubernetes.io/')
      && value !== 'runtime/default' && !value.startsWith('localhost/')) {
      v.push(`annotation ${key}: ${value} is not runtime/default or localhost/*`);
    }
  }
  for (const { label, c } of containers) {
    const sc = c.securityContext ?? {};
    if (sc.privileged === true) v.push(`${label} is privileged`);
    for (const p of c.ports ?? []) {
      if (p.hostPort !== undefined && p.hostPort !== 0) v.push(`${label} uses hostPort ${p.hostPort}`);
    }
    seLinux(label, sc.seLinuxOptions);
    appArmor(label, sc.appArmorProfile);
    if (sc.procMount !== undefined && sc.procMount !== 'Default') v.push(`${label} sets procMount ${sc.procMount}`);
    if (sc.windowsOptions?.hostProcess === true) v.push(`${label} sets windowsOptions.hostProcess`);
  }

  // --- restricted -------------------------------------------------------------------------------
  for (const vol of spec.volumes ?? []) {
    // hostPath is reported above (baseline).
    const types = Object.keys(vol).filter((k) => k !== 'name' && k !== 'hostPath');
    for (const t of types) {
      if (!RESTRICTED_VOLUME_TYPES.has(t)) v.push(`volume '${vol.name}' has the disallowed type ${t}`);
    }
  }
  if (podSc.runAsUser === 0) v.push('pod sets runAsUser: 0');
  if (podSc.runAsNonRoot === false) v.push('pod sets runAsNonRoot: false');
  if (podSc.seccompProfile?.type !== undefined && !SECCOMP_OK.has(podSc.seccompProfile.type)) {
    v.push(`pod seccompProfile.type '${podSc.seccompProfile.type}' is not RuntimeDefault or Localhost`);
  }
  for (const { label, c } of containers) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) v.push(`${label} does not set allowPrivilegeEscalation: false`);
    // runAsNonRoot: the pod's setting applies unless the container overrides it.
    const nonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
    if (nonRoot !== true) v.push(`${label} does not run with runAsNonRoot: true (pod or container)`);
    if (sc.runAsUser === 0) v.push(`${label} sets runAsUser: 0`);
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (!SECCOMP_OK.has(seccomp)) {
      v.push(`${label} seccompProfile is ${seccomp ?? 'unset'} (pod or container must set RuntimeDefault or Localhost)`);
    }
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes('ALL')) v.push(`${label} does not drop ALL capabilities`);
    for (const cap of sc.capabilities?.add ?? []) {
      if (cap !== 'NET_BIND_SERVICE') v.push(`${label} adds the capability ${cap} (only NET_BIND_SERVICE is allowed)`);
    }
  }
  return v;
}

/**
 * True when an image reference is pinned: a digest, or a tag other than `latest`. A colon in the
 * registry part (`host:5000/redis`) is not a tag.
 */
export function imageIsPinned(image: unknown): boolean {
  if (typeof image !== 'string' || image === '' || /\s/.test(image)) return false;
  const [name, digest] = image.split('@');
  if (digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(digest)) return false;
  const lastSegment = name.split('/').pop() ?? '';
  const colon = lastSegment.indexOf(':');
  const tag = colon >= 0 ? lastSegment.slice(colon + 1) : undefined;
  if (tag === '' || tag === 'latest') return false;
  return tag !== undefined || digest !== undefined;
}

/** What the project expects of a pod beyond "restricted". */
export interface ProjectRuleOptions {
  /** UID every container must run as (container setting, else pod setting). */
  readonly runAsUser?: number;
  /** GID every container must run as (container setting, else pod setting). */
  readonly runAsGroup?: number;
  /** UID and GID of the exporter sidecar (container `metrics`), the redis_exporter image's user. */
  readonly exporterUid?: number;
}

/**
 * Violations of the project's own pod rules: read-only root filesystems, no service account
 * token, IfNotPresent pulls, pinned images and, when given, the expected uid/gid.
 */
export function projectViolations(spec: any, o: ProjectRuleOptions = {}): string[] {
  const v: string[] = [];
  const podSc = spec.securityContext ?? {};
  if (spec.automountServiceAccountToken !== false) v.push('pod does not set automountServiceAccountToken: false');
  for (const { label, c } of allContainers(spec)) {
    const sc = c.securityContext ?? {};
    if (sc.readOnlyRootFilesystem !== true) v.push(`${label} does not set readOnlyRootFilesystem: true`);
    if (c.imagePullPolicy !== 'IfNotPresent') v.push(`${label} imagePullPolicy is ${c.imagePullPolicy ?? 'unset'}, not IfNotPresent`);
    if (!imageIsPinned(c.image)) v.push(`${label} image '${c.image}' is not pinned to a tag (other than latest) or digest`);
    const exporter = c.name === 'metrics' && o.exporterUid !== undefined;
    const wantUid = exporter ? o.exporterUid : o.runAsUser;
    const wantGid = exporter ? o.exporterUid : o.runAsGroup;
    if (wantUid !== undefined) {
      const uid = sc.runAsUser ?? podSc.runAsUser;
      if (uid !== wantUid) v.push(`${label} runs as uid ${uid ?? '(image default)'}, expected ${wantUid}`);
    }
    if (wantGid !== undefined) {
      const gid = sc.runAsGroup ?? podSc.runAsGroup;
      if (gid !== wantGid) v.push(`${label} runs as gid ${gid ?? '(image default)'}, expected ${wantGid}`);
    }
  }
  return v;
}
