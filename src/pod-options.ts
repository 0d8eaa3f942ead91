/**
 * The pod knobs every cluster needs (tolerations, affinity, spread, node selection, pod labels and
 * annotations, service account, extra containers and volumes), given for the whole deployment and
 * per component, merged into one set per pod kind, and checked.
 */
import type * as k8s from './k8s';
import { LABEL } from './names';
import { Problems, checkAnnotations, checkImage, checkLabels, checkObjectName, isDnsLabel } from './validation';

/**
 * Pod-level knobs with the names the Helm charts use. Given flat on {@link RedisSentinelProps} they
 * apply to every pod of the deployment; given as `redisPod`, `sentinelPod` or `backup.pod` they
 * extend or override them for one kind of pod:
 * - maps (`nodeSelector`, `podLabels`, `podAnnotations`): merged key by key, the component's value wins;
 * - lists (`tolerations`, `topologySpreadConstraints`, `extra*`): the deployment's entries, then the component's;
 * - single values (`priorityClassName`, `serviceAccountName`, `automountServiceAccountToken`): the component's wins;
 * - `affinity`: field by field (`nodeAffinity`, `podAffinity`, `podAntiAffinity`), the component's wins.
 */
export interface PodOptions {
  /**
   * Tolerations, e.g. for a tainted node pool.
   * @default - none
   * @see https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/
   */
  readonly tolerations?: k8s.Toleration[];

  /**
   * Affinity added to the `antiAffinity` preset: `nodeAffinity` and `podAffinity` as given; the
   * terms of `podAntiAffinity` are appended to the preset's (so they narrow it, never drop it; set
   * `antiAffinity: AntiAffinity.NONE` to keep only yours).
   * @default - only the antiAffinity preset
   * @see https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#affinity-and-anti-affinity
   */
  readonly affinity?: k8s.Affinity;

  /**
   * Topology spread constraints added to the `zoneSpread` preset (`zoneSpread: false` drops it). A
   * constraint without `labelSelector` gets the pods' own selector (the pods of its StatefulSet, or
   * the backup pods).
   * @default - only the zoneSpread preset
   * @see https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/
   */
  readonly topologySpreadConstraints?: k8s.TopologySpreadConstraint[];

  /**
   * Node selector.
   * @default - none
   */
  readonly nodeSelector?: Record<string, string>;

  /**
   * Extra labels on the pods (not on the StatefulSets' selectors; the library's own label keys are refused).
   * @default - none
   */
  readonly podLabels?: Record<string, string>;

  /**
   * Extra annotations on the pods.
   * @default - none
   */
  readonly podAnnotations?: Record<string, string>;

  /**
   * PriorityClass of the pods.
   * @default - none (the cluster's default priority)
   */
  readonly priorityClassName?: string;

  /**
   * ServiceAccount the pods run as (e.g. one with a cloud identity for an extra container).
   * @default - the namespace's `default` ServiceAccount
   */
  readonly serviceAccountName?: string;

  /**
   * Mount the ServiceAccount token into the pods. Redis, Sentinel and the backup never use it; turn
   * it on only for an extra container that talks to the API server.
   * @default false
   */
  readonly automountServiceAccountToken?: boolean;

  /**
   * Extra containers (sidecars) in the pods. They must pass Pod Security "restricted" (checked at
   * synth: `securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } }`; the
   * pod already sets runAsNonRoot, the uid and seccomp) and use a pinned image. Backup Job pods take
   * none: a Job pod ends only when every container exits.
   * @default - none
   */
  readonly extraContainers?: k8s.Container[];

  /**
   * Extra init containers, run after the library's own (the restore). Same rules as `extraContainers`.
   * @default - none
   */
  readonly extraInitContainers?: k8s.Container[];

  /**
   * Extra volumes of the pods; only the types Pod Security "restricted" admits (configMap, secret,
   * emptyDir, projected, downwardAPI, persistentVolumeClaim, csi, ephemeral).
   * @default - none
   */
  readonly extraVolumes?: k8s.Volume[];

  /**
   * Extra volume mounts of the main container (redis, sentinel or backup).
   * @default - none
   */
  readonly extraVolumeMounts?: k8s.VolumeMount[];
}

/** The component-level pod options (unset ones are empty), merged over the deployment-level ones. */
export function mergePodOptions(base: PodOptions, over: PodOptions | undefined, withContainers = true): PodOptions {
  const o = over ?? {};
  const list = <T>(a: T[] | undefined, b: T[] | undefined): T[] => [...(a ?? []), ...(b ?? [])];
  const affinity: k8s.Affinity = { ...base.affinity, ...o.affinity };
  return {
    tolerations: list(base.tolerations, o.tolerations),
    affinity,
    topologySpreadConstraints: list(base.topologySpreadConstraints, o.topologySpreadConstraints),
    nodeSelector: { ...base.nodeSelector, ...o.nodeSelector },
    podLabels: { ...base.podLabels, ...o.podLabels },
    podAnnotations: { ...base.podAnnotations, ...o.podAnnotations },
    priorityClassName: o.priorityClassName ?? base.priorityClassName,
    serviceAccountName: o.serviceAccountName ?? base.serviceAccountName,
    automountServiceAccountToken: o.automountServiceAccountToken ?? base.automountServiceAccountToken ?? false,
    extraContainers: withContainers ? list(base.extraContainers, o.extraContainers) : list(undefined, o.extraContainers),
    extraInitContainers: list(base.extraInitContainers, o.extraInitContainers),
    extraVolumes: list(base.extraVolumes, o.extraVolumes),
    extraVolumeMounts: list(base.extraVolumeMounts, o.extraVolumeMounts),
  };
}

/** Names and paths the library's own containers use in its pods: extra ones must not reuse them. */
export const RESERVED = {
  containers: ['redis', 'sentinel', 'tidy', 'metrics', 'restore', 'backup', 'exporter-credential'],
  volumes: ['data', 'config', 'scripts', 'run', 'tmp', 'auth', 'tls', 'acl', 'exporter-auth', 'restore', 'backup'],
  /** The pod-template annotation whose change rolls the pods. */
  annotations: ['redis-sentinel.cdk8s.io/config-checksum'],
} as const;

/** Label keys the library sets (selectors among them); users' labels must not use them. */
export const RESERVED_LABELS: readonly string[] = Object.values(LABEL);

/** Checks label maps that must not use the library's keys; one message per bad key. */
export function checkUserLabels(p: Problems, prop: string, labels: Record<string, string> | undefined): void {
  const own = Object.keys(labels ?? {}).filter((k) => RESERVED_LABELS.includes(k));
  for (const key of own) {
    p.add(`${prop} key '${key}' is set by the library (its selectors and identity use it): remove it, or use a key of your own such as 'example.com/${key.split('/').pop()}'`);
  }
  checkLabels(p, prop, Object.fromEntries(Object.entries(labels ?? {}).filter(([k]) => !own.includes(k))));
}

/** Volume types Pod Security "restricted" admits. */
const RESTRICTED_VOLUME_TYPES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

/** What in a container breaks Pod Security "restricted" (the pod runs non-root with RuntimeDefault seccomp). */
export function restrictedProblems(c: k8s.Container): string[] {
  const sc = c.securityContext ?? {};
  const out: string[] = [];
  if (sc.privileged) out.push('privileged: true');
  if (sc.allowPrivilegeEscalation !== false) out.push('allowPrivilegeEscalation is not false');
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push("capabilities.drop lacks 'ALL'");
  const added = (sc.capabilities?.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
  if (added.length) out.push(`capabilities.add has ${added.join(', ')} (only NET_BIND_SERVICE is allowed)`);
  if (sc.runAsNonRoot === false) out.push('runAsNonRoot: false');
  if (sc.runAsUser === 0) out.push('runAsUser: 0');
  if (sc.seccompProfile?.type === 'Unconfined') out.push('seccompProfile Unconfined');
  if (sc.procMount !== undefined && sc.procMount !== 'Default') out.push(`procMount ${sc.procMount}`);
  if (sc.windowsOptions?.hostProcess) out.push('windowsOptions.hostProcess');
  const seType = sc.seLinuxOptions?.type;
  if (seType && !['container_t', 'container_init_t', 'container_kvm_t'].includes(seType)) out.push(`seLinuxOptions.type ${seType}`);
  if ((c.ports ?? []).some((port) => port.hostPort !== undefined && port.hostPort !== 0)) out.push('a hostPort');
  return out;
}

/** Checks one level's own values (syntax, security, names the library reserves); `prop` prefixes messages. */
export function checkPodOptions(p: Problems, prop: string, o: PodOptions | undefined): void {
  if (!o) return;
  checkLabels(p, `${prop}nodeSelector`, o.nodeSelector);
  checkUserLabels(p, `${prop}podLabels`, o.podLabels);
  checkAnnotations(p, `${prop}podAnnotations`, o.podAnnotations, RESERVED.annotations);
  checkObjectName(p, `${prop}priorityClassName`, o.priorityClassName, 'PriorityClass');
  checkObjectName(p, `${prop}serviceAccountName`, o.serviceAccountName, 'ServiceAccount');
  (o.tolerations ?? []).forEach((t, i) => {
    p.check(t.operator === undefined || t.operator === 'Equal' || t.operator === 'Exists',
      `${prop}tolerations[${i}].operator ('${t.operator}') must be 'Equal' or 'Exists'`);
    p.check(t.operator !== 'Exists' || !t.value,
      `${prop}tolerations[${i}] has operator 'Exists' and value '${t.value}': the API server refuses a value with Exists; remove value or use operator 'Equal'`);
    p.check(t.effect === undefined || ['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(t.effect),
      `${prop}tolerations[${i}].effect ('${t.effect}') must be NoSchedule, PreferNoSchedule or NoExecute (or unset for all)`);
  });
  (o.topologySpreadConstraints ?? []).forEach((c, i) => {
    p.check(Number.isInteger(c.maxSkew) && c.maxSkew >= 1 && c.topologyKey !== ''
      && ['DoNotSchedule', 'ScheduleAnyway'].includes(c.whenUnsatisfiable),
    `${prop}topologySpreadConstraints[${i}] (maxSkew ${c.maxSkew}, topologyKey '${c.topologyKey}', whenUnsatisfiable '${c.whenUnsatisfiable}') needs maxSkew >= 1, a topologyKey and whenUnsatisfiable 'DoNotSchedule' or 'ScheduleAnyway'`);
  });
  for (const [key, containers] of [['extraContainers', o.extraContainers], ['extraInitContainers', o.extraInitContainers]] as const) {
    (containers ?? []).forEach((c, i) => checkContainer(p, `${prop}${key}[${i}]`, c));
  }
  uniqueNames(p, `${prop}extraContainers/extraInitContainers`, [...(o.extraContainers ?? []), ...(o.extraInitContainers ?? [])].map((c) => c.name));
  (o.extraVolumes ?? []).forEach((v, i) => {
    const at = `${prop}extraVolumes[${i}] ('${v.name}')`;
    if (!p.check(isDnsLabel(v.name), `${at} name must be a DNS-1123 label: lowercase letters, digits and '-'`)) return;
    p.check(!(RESERVED.volumes as readonly string[]).includes(v.name) && !/^acl-user-[0-9]+$/.test(v.name),
      `${at} has the name of a volume of the library (${RESERVED.volumes.join(', ')}, acl-user-<n>): rename it`);
    const types = Object.keys(v).filter((k) => k !== 'name' && (v as any)[k] !== undefined);
    const bad = types.filter((t) => !RESTRICTED_VOLUME_TYPES.includes(t));
    p.check(types.length === 1 && bad.length === 0,
      `${at} must have exactly one volume type admitted by Pod Security "restricted" (${RESTRICTED_VOLUME_TYPES.join(', ')}); it has ${types.join(', ') || 'none'}`);
  });
  uniqueNames(p, `${prop}extraVolumes`, (o.extraVolumes ?? []).map((v) => v.name));
  uniqueNames(p, `${prop}extraVolumeMounts mountPath`, (o.extraVolumeMounts ?? []).map((m) => m.mountPath));
}

/** One extra container: a name of its own, a pinned image, Pod Security "restricted". */
function checkContainer(p: Problems, at: string, c: k8s.Container): void {
  const named = `${at} ('${c.name}')`;
  if (!p.check(isDnsLabel(c.name), `${named} name must be a DNS-1123 label: lowercase letters, digits and '-'`)) return;
  if (!p.check(!(RESERVED.containers as readonly string[]).includes(c.name),
    `${named} has the name of a container of the library (${RESERVED.containers.join(', ')}): rename it`)) return;
  checkImage(p, `${named} image`, c.image ?? '', 'busybox:1.36.1');
  const bad = restrictedProblems(c);
  p.check(bad.length === 0,
    `${named} would be rejected under Pod Security "restricted" (${bad.join('; ')}): set securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } and nothing privileged (the pod already runs non-root with RuntimeDefault seccomp)`);
}

/** One message per name used more than once. */
function uniqueNames(p: Problems, prop: string, names: string[]): void {
  const dup = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
  for (const name of dup) p.add(`${prop}: '${name}' is used more than once; names must be unique within a pod`);
}

/** What a kind of pod has of its own: its volumes and its main container's mount paths. */
export interface OwnPod {
  /** e.g. 'Redis pods' */
  readonly label: string;
  readonly volumes: readonly string[];
  readonly mountPaths: readonly string[];
}

/** One kind of pod and its component-level options (`prefix` e.g. 'redisPod.'). */
export interface PodKind {
  readonly own: OwnPod;
  readonly prefix: string;
  readonly options: PodOptions | undefined;
}

/**
 * Checks what only shows once the deployment-level options (`base`) meet each kind of pod: a
 * component's names repeating the deployment's, mounts of volumes a pod does not have, mount paths
 * its main container uses. A deployment-level mistake is one message listing the kinds of pod it
 * breaks. `reported(volume, path)` tells which deployment-level mount problems were reported elsewhere.
 */
export function checkPodKinds(p: Problems, base: PodOptions, kinds: PodKind[],
  reported: (mount: k8s.VolumeMount) => { volume: boolean; path: boolean } = () => ({ volume: false, path: false })): void {
  const extraNames = (o: PodOptions | undefined) => [...(o?.extraContainers ?? []), ...(o?.extraInitContainers ?? [])].map((c) => c.name);
  const volumesOf = (k: PodKind) => new Set([...k.own.volumes, ...(base.extraVolumes ?? []).map((v) => v.name), ...(k.options?.extraVolumes ?? []).map((v) => v.name)]);
  const baseContainers = extraNames(base);
  const baseVolumes = (base.extraVolumes ?? []).map((v) => v.name);
  for (const k of kinds) {
    for (const name of extraNames(k.options).filter((n) => baseContainers.includes(n))) {
      p.add(`${k.prefix}extraContainers/extraInitContainers: '${name}' is also a deployment-level extra container: names must be unique within a pod; rename one`);
    }
    for (const name of (k.options?.extraVolumes ?? []).map((v) => v.name).filter((n) => baseVolumes.includes(n))) {
      p.add(`${k.prefix}extraVolumes: '${name}' is also a deployment-level extra volume: names must be unique within a pod; rename one`);
    }
  }
  const mountProblems = (prefix: string, what: string, mount: k8s.VolumeMount, targets: PodKind[], skip = { volume: false, path: false }) => {
    const lacking = targets.filter((k) => !volumesOf(k).has(mount.name)).map((k) => k.own.label);
    if (lacking.length && !skip.volume) {
      p.add(`${prefix}${what} mounts volume '${mount.name}', which the ${lacking.join(' and ')} do not have: add it to ${prefix}extraVolumes`);
    }
    const clashing = targets.filter((k) => k.own.mountPaths.includes(mount.mountPath)).map((k) => k.own.label);
    if (clashing.length && !skip.path && what.startsWith('extraVolumeMounts')) {
      p.add(`${prefix}${what} mountPath '${mount.mountPath}' is where the library mounts a volume of its own in the ${clashing.join(' and ')}: choose another path`);
    }
  };
  (base.extraVolumeMounts ?? []).forEach((m, i) => mountProblems('', `extraVolumeMounts[${i}]`, m, kinds, reported(m)));
  for (const c of [...(base.extraContainers ?? []), ...(base.extraInitContainers ?? [])]) {
    // Deployment-level extra containers do not go to backup pods.
    const targets = kinds.filter((k) => k.own.label !== BACKUP_LABEL || (base.extraInitContainers ?? []).includes(c));
    (c.volumeMounts ?? []).forEach((m) => mountProblems('', `extra container '${c.name}'`, m, targets, reported(m)));
  }
  for (const k of kinds) {
    (k.options?.extraVolumeMounts ?? []).forEach((m, i) => mountProblems(k.prefix, `extraVolumeMounts[${i}]`, m, [k]));
    for (const c of [...(k.options?.extraContainers ?? []), ...(k.options?.extraInitContainers ?? [])]) {
      (c.volumeMounts ?? []).forEach((m) => mountProblems(k.prefix, `extra container '${c.name}'`, m, [k]));
    }
  }
}

/** The label of backup pods in messages (deployment-level extra containers skip them). */
export const BACKUP_LABEL = 'backup pods';

/**
 * The pod's affinity: the preset's pod anti-affinity with the user's terms appended, plus the user's
 * node and pod affinity.
 */
export function mergeAffinity(preset: k8s.PodAntiAffinity | undefined, user: k8s.Affinity | undefined): k8s.Affinity | undefined {
  const u = user?.podAntiAffinity;
  const required = [...(preset?.requiredDuringSchedulingIgnoredDuringExecution ?? []), ...(u?.requiredDuringSchedulingIgnoredDuringExecution ?? [])];
  const preferred = [...(preset?.preferredDuringSchedulingIgnoredDuringExecution ?? []), ...(u?.preferredDuringSchedulingIgnoredDuringExecution ?? [])];
  const anti: k8s.PodAntiAffinity | undefined = required.length || preferred.length ? {
    ...(required.length ? { requiredDuringSchedulingIgnoredDuringExecution: required } : {}),
    ...(preferred.length ? { preferredDuringSchedulingIgnoredDuringExecution: preferred } : {}),
  } : undefined;
  const out: k8s.Affinity = {
    ...(user?.nodeAffinity ? { nodeAffinity: user.nodeAffinity } : {}),
    ...(user?.podAffinity ? { podAffinity: user.podAffinity } : {}),
    ...(anti ? { podAntiAffinity: anti } : {}),
  };
  return Object.keys(out).length ? out : undefined;
}

/** The preset spread plus the user's constraints (own selector filled in where they have none). */
export function mergeSpread(preset: k8s.TopologySpreadConstraint[], user: k8s.TopologySpreadConstraint[] | undefined,
  ownSelector: Record<string, string>): k8s.TopologySpreadConstraint[] | undefined {
  const all = [...preset, ...(user ?? []).map((c) => (c.labelSelector ? c : { ...c, labelSelector: { matchLabels: ownSelector } }))];
  return all.length ? all : undefined;
}

/** A user constraint with the preset's topologyKey and whenUnsatisfiable: the API server refuses the pair. */
export function checkSpreadAgainstPreset(p: Problems, prop: string, user: k8s.TopologySpreadConstraint[] | undefined, presetOn: boolean): void {
  if (!presetOn) return;
  (user ?? []).forEach((c, i) => {
    p.check(!(c.topologyKey === 'topology.kubernetes.io/zone' && c.whenUnsatisfiable === 'ScheduleAnyway'),
      `${prop}topologySpreadConstraints[${i}] repeats the zoneSpread preset (topology.kubernetes.io/zone, ScheduleAnyway), which the API server refuses: set zoneSpread: false to replace the preset with yours`);
  });
}
