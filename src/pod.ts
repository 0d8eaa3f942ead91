/**
 * Pieces of pod specs shared by the Redis and Sentinel StatefulSets: security contexts that pass
 * Pod Security "restricted", scheduling, resources, probes. Plain functions returning L1 data.
 */
import { Size, SizeRoundingBehavior } from 'cdk8s';
import type { ContainerResources } from 'cdk8s-plus-27';
import * as k8s from './k8s';
import { PodOptions, mergeAffinity, mergeSpread } from './pod-options';
import { AntiAffinity } from './props';
import { DeploymentSettings as Settings, PATHS, SCRIPT } from './settings';
import { TLS_DIR, TLS_FILES } from './tls';

/** Pod-level security context: non-root with the image's uid/gid, RuntimeDefault seccomp. */
export function podSecurityContext(s: Settings): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: s.runAsUser,
    runAsGroup: s.runAsGroup,
    fsGroup: s.runAsGroup,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level security context required by Pod Security "restricted", with a read-only root. */
export function containerSecurityContext(s: Settings): k8s.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: s.runAsUser,
    runAsGroup: s.runAsGroup,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** A storage or memory size as a Kubernetes quantity. */
export function quantity(size: Size): k8s.Quantity {
  // Whole Mi when possible keeps the YAML readable; otherwise bytes.
  const mib = size.toMebibytes({ rounding: SizeRoundingBehavior.NONE });
  if (Number.isInteger(mib)) {
    return k8s.Quantity.fromString(mib % 1024 === 0 ? `${mib / 1024}Gi` : `${mib}Mi`);
  }
  return k8s.Quantity.fromNumber(Math.round(size.toKibibytes({ rounding: SizeRoundingBehavior.NONE }) * 1024));
}


/** cdk8s-plus ContainerResources to L1 ResourceRequirements. */
export function resourceRequirements(r: ContainerResources): k8s.ResourceRequirements {
  const requests: Record<string, k8s.Quantity> = {};
  const limits: Record<string, k8s.Quantity> = {};
  if (r.cpu?.request) requests.cpu = k8s.Quantity.fromString(r.cpu.request.amount);
  if (r.cpu?.limit) limits.cpu = k8s.Quantity.fromString(r.cpu.limit.amount);
  if (r.memory?.request) requests.memory = quantity(r.memory.request);
  if (r.memory?.limit) limits.memory = quantity(r.memory.limit);
  if (r.ephemeralStorage?.request) requests['ephemeral-storage'] = quantity(r.ephemeralStorage.request);
  if (r.ephemeralStorage?.limit) limits['ephemeral-storage'] = quantity(r.ephemeralStorage.limit);
  return {
    ...(Object.keys(requests).length ? { requests } : {}),
    ...(Object.keys(limits).length ? { limits } : {}),
  };
}

/**
 * Keeps the pods of one StatefulSet on different nodes (required or preferred), and prefers
 * keeping all pods of the component (e.g. master and replicas) apart too; then the user's affinity
 * (see {@link mergeAffinity}).
 */
export function affinity(s: Settings, ownSelector: Record<string, string>, componentSelector: Record<string, string>, pod: PodOptions): k8s.Affinity | undefined {
  const hostname = 'kubernetes.io/hostname';
  const own: k8s.PodAffinityTerm = { topologyKey: hostname, labelSelector: { matchLabels: ownSelector } };
  const component: k8s.WeightedPodAffinityTerm = {
    weight: 50,
    podAffinityTerm: { topologyKey: hostname, labelSelector: { matchLabels: componentSelector } },
  };
  const preset: k8s.PodAntiAffinity | undefined = {
    [AntiAffinity.REQUIRED]: { requiredDuringSchedulingIgnoredDuringExecution: [own], preferredDuringSchedulingIgnoredDuringExecution: [component] },
    [AntiAffinity.PREFERRED]: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: own }, component] },
    [AntiAffinity.NONE]: undefined,
  }[s.antiAffinity];
  return mergeAffinity(preset, pod.affinity);
}

/** Spreads a StatefulSet's pods over zones when the cluster has them (never blocks scheduling), plus the user's constraints. */
export function zoneSpread(s: Settings, ownSelector: Record<string, string>, pod: PodOptions): k8s.TopologySpreadConstraint[] | undefined {
  const preset: k8s.TopologySpreadConstraint[] = s.zoneSpread ? [{
    maxSkew: 1,
    topologyKey: 'topology.kubernetes.io/zone',
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: { matchLabels: ownSelector },
  }] : [];
  return mergeSpread(preset, pod.topologySpreadConstraints, ownSelector);
}

/** Pod-spec fields every pod of the deployment shares, with its kind's pod options. */
export function commonPodSpec(s: Settings, pod: PodOptions): Partial<k8s.PodSpec> {
  const nonEmpty = (m: Record<string, string> | undefined) => m && Object.keys(m).length > 0;
  return {
    automountServiceAccountToken: pod.automountServiceAccountToken ?? false,
    enableServiceLinks: false,
    securityContext: podSecurityContext(s),
    ...(pod.serviceAccountName ? { serviceAccountName: pod.serviceAccountName } : {}),
    ...(nonEmpty(pod.nodeSelector) ? { nodeSelector: pod.nodeSelector } : {}),
    ...(pod.tolerations?.length ? { tolerations: pod.tolerations } : {}),
    ...(pod.priorityClassName ? { priorityClassName: pod.priorityClassName } : {}),
    ...(s.imagePullSecrets.length ? { imagePullSecrets: s.imagePullSecrets.map((name) => ({ name })) } : {}),
  };
}

/**
 * Pod-template metadata: commonLabels, then the pod's own podLabels, then the library's labels (the
 * selector among them: user labels never touch it); podAnnotations and the library's annotations.
 */
export function podMetadata(s: Settings, pod: PodOptions, labels: Record<string, string>, annotations: Record<string, string> = {}): k8s.ObjectMeta {
  const all = { ...pod.podAnnotations, ...annotations };
  return {
    labels: { ...s.commonLabels, ...pod.podLabels, ...labels },
    ...(Object.keys(all).length ? { annotations: all } : {}),
  };
}

/** Env: the pod's name (downward API) and its stable DNS name under `domain`. */
export function identityEnv(domain: string): k8s.EnvVar[] {
  return [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    // Kubernetes expands $(POD_NAME) from the variable above.
    { name: 'SELF_FQDN', value: `$(POD_NAME).${domain}` },
  ];
}

/** An exec probe running `sh <script> [args]`. */
export function execProbe(script: string, args: string[], timing: Omit<k8s.Probe, 'exec'>): k8s.Probe {
  return { exec: { command: ['sh', script, ...args] }, ...timing };
}

/**
 * The password Secret as a read-only volume (group-readable through fsGroup), when auth is on. With ACL
 * users, also `<key>-next` and `<key>-previous` when the Secret has them (a rotation): the volume is then
 * optional, so that absent keys are no error (a missing Secret is reported by the start scripts).
 */
export function authVolume(s: Settings): k8s.Volume[] {
  if (!s.auth) return [];
  const key = s.authSecretKey;
  return [{
    name: 'auth',
    secret: s.acl
      ? { secretName: s.authSecretName, items: ['', '-next', '-previous'].map((x) => ({ key: `${key}${x}`, path: `password${x}` })), defaultMode: 0o440, optional: true }
      : { secretName: s.authSecretName, items: [{ key, path: 'password' }], defaultMode: 0o440 },
  }];
}

/** Requests and limits of a container that only runs a small script (the tidy sidecar, exporter-credential). */
export function scriptResources(): k8s.ResourceRequirements {
  return {
    requests: { cpu: k8s.Quantity.fromString('5m'), memory: k8s.Quantity.fromString('8Mi') },
    limits: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('32Mi') },
  };
}

/**
 * With ACL users: the init container that makes the pod's own exporter password (exporter-credential.sh)
 * for the exporter scraping `port`, its memory volume, and the volume's mount (the main container reads
 * the password to define the user; the exporter reads the JSON map).
 */
export function exporterCredential(s: Settings, image: string, port: number): { initContainers: k8s.Container[]; volumes: k8s.Volume[]; mounts: k8s.VolumeMount[] } {
  if (!s.acl) return { initContainers: [], volumes: [], mounts: [] };
  return {
    initContainers: [{
      name: 'exporter-credential',
      image,
      imagePullPolicy: s.imagePullPolicy,
      command: ['sh', `${PATHS.scriptsDir}/${SCRIPT.exporterCredential}`, String(port)],
      // Its only writable directory (the image's WORKDIR, /data, is not mounted here).
      workingDir: PATHS.exporterAuthDir,
      resources: scriptResources(),
      securityContext: containerSecurityContext(s),
      volumeMounts: [
        { name: 'scripts', mountPath: PATHS.scriptsDir, readOnly: true },
        { name: 'exporter-auth', mountPath: PATHS.exporterAuthDir },
      ],
    }],
    volumes: [emptyDir('exporter-auth', Size.mebibytes(1), true)],
    mounts: [{ name: 'exporter-auth', mountPath: PATHS.exporterAuthDir, readOnly: true }],
  };
}

/** The mount of authVolume's Secret (the password file at PATHS.authFile), when auth is on. */
export function authMount(s: Settings): k8s.VolumeMount[] {
  return s.auth ? [{ name: 'auth', mountPath: PATHS.authDir, readOnly: true }] : [];
}

/**
 * The certificate Secret (tls.crt, tls.key, ca.crt) as a read-only volume, group-readable through
 * fsGroup (the exporter sidecars read it as another user), when TLS is on. A renewed certificate
 * reaches the mounted files within the kubelet's sync period; the probes load it (see redis-probe.sh).
 */
export function tlsVolume(s: Settings): k8s.Volume[] {
  if (!s.tls) return [];
  return [{
    name: 'tls',
    secret: {
      secretName: s.tls.secretName,
      items: [TLS_FILES.cert, TLS_FILES.key, TLS_FILES.ca].map((f) => ({ key: f, path: f })),
      defaultMode: 0o440,
    },
  }];
}

/** The mount of tlsVolume's Secret at TLS_DIR, when TLS is on. */
export function tlsMount(s: Settings): k8s.VolumeMount[] {
  return s.tls ? [{ name: 'tls', mountPath: TLS_DIR, readOnly: true }] : [];
}

/** A small writable emptyDir. */
export function emptyDir(name: string, sizeLimit: Size, memory = false): k8s.Volume {
  return { name, emptyDir: { sizeLimit: quantity(sizeLimit), ...(memory ? { medium: 'Memory' } : {}) } };
}

/** A PVC template for a StatefulSet. */
export function claimTemplate(name: string, size: Size, storageClassName: string | undefined, labels: Record<string, string>,
  accessModes: string[]): k8s.KubePersistentVolumeClaimProps {
  return {
    metadata: { name, labels },
    spec: {
      accessModes,
      resources: { requests: { storage: quantity(size) } },
      ...(storageClassName ? { storageClassName } : {}),
    },
  };
}

/** A TCP port of a NetworkPolicy rule. */
export function tcpPort(port: number): k8s.NetworkPolicyPort {
  return { protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) };
}

/** Egress to DNS on `port`, UDP and TCP, to any address. */
export function dnsEgress(port: number): k8s.NetworkPolicyEgressRule {
  return { ports: [{ protocol: 'UDP', port: k8s.IntOrString.fromNumber(port) }, tcpPort(port)] };
}
