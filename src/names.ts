import { createHash } from 'crypto';

/**
 * The one place that builds names: resource names, pod DNS names and labels.
 * Nothing else concatenates a DNS name by hand.
 */

/** Kubernetes' limit on a DNS-1123 label (Service names, pod hostnames, label values). */
export const DNS_LABEL_MAX = 63;
/**
 * StatefulSet names must leave room for the `controller-revision-hash` label value
 * `<name>-<10 char hash>`, which must fit in 63 characters.
 */
export const STATEFULSET_NAME_MAX = 52;
/** Kubernetes' limit on a DNS-1123 subdomain (ConfigMap, Secret, PVC names) and on a FQDN. */
export const DNS_SUBDOMAIN_MAX = 253;

/** The names of every object a deployment emits, derived from one prefix. */
export interface ResourceNames {
  readonly master: string;
  readonly replica: string;
  readonly sentinel: string;
  readonly masterHeadless: string;
  readonly replicaHeadless: string;
  readonly sentinelHeadless: string;
  /** Client-facing Sentinel Service (ClusterIP, port 26379). */
  readonly sentinelService: string;
  /** Client-facing Redis Service for reads (ready Redis pods, master or replica). */
  readonly readService: string;
  readonly redisConfig: string;
  readonly sentinelConfig: string;
  readonly scripts: string;
  readonly redisPdb: string;
  readonly sentinelPdb: string;
  readonly defaultAuthSecret: string;
  /** With `tls`: the certificate Secret (default) and, with cert-manager, the Certificate. */
  readonly defaultTlsSecret: string;
  /** With `acl`: the Secret of the deployment's own users' passwords (default). */
  readonly defaultAclSecret: string;
  readonly certificate: string;
  readonly redisNetworkPolicy: string;
  readonly sentinelNetworkPolicy: string;
  /** Headless Service over the Redis pods' exporter sidecars. */
  readonly redisMetrics: string;
  /** Headless Service over the Sentinel pods' exporter sidecars. */
  readonly sentinelMetrics: string;
  readonly serviceMonitor: string;
  readonly prometheusRule: string;
  readonly dashboard: string;
  /** Backup CronJob, its PersistentVolumeClaim (unless an existing one is used) and its NetworkPolicy. */
  readonly backup: string;
  readonly backupClaim: string;
  readonly backupNetworkPolicy: string;
  /** Master endpoint (RedisMasterEndpoint): the Service leading to the master the Sentinels agree on. */
  readonly masterEndpoint: string;
  /** Master endpoint: the replicas-only read Service. */
  readonly replicasEndpoint: string;
  /** Master endpoint: the HAProxy Deployment, its ConfigMap, PodDisruptionBudget and NetworkPolicy. */
  readonly proxy: string;
  /** Master endpoint: headless Service over the HAProxy pods' metrics port. */
  readonly proxyMetrics: string;
  /** With `backup.s3` / `restore.s3` and workload identity: the backup pods' and the bootstrap master's ServiceAccount. */
  readonly backupServiceAccount: string;
  readonly restoreServiceAccount: string;
  /** With `restore.s3` and NetworkPolicies: the bootstrap master's egress to the object store. */
  readonly restoreNetworkPolicy: string;
}

/** Derives every resource name from the deployment's name prefix. */
export function resourceNames(prefix: string): ResourceNames {
  return {
    master: `${prefix}-master`,
    replica: `${prefix}-replica`,
    sentinel: `${prefix}-sentinel`,
    masterHeadless: `${prefix}-master-headless`,
    replicaHeadless: `${prefix}-replica-headless`,
    sentinelHeadless: `${prefix}-sentinel-headless`,
    sentinelService: `${prefix}-sentinel`,
    readService: `${prefix}-read`,
    redisConfig: `${prefix}-config`,
    sentinelConfig: `${prefix}-sentinel-config`,
    scripts: `${prefix}-scripts`,
    redisPdb: prefix,
    sentinelPdb: `${prefix}-sentinel`,
    defaultAuthSecret: `${prefix}-auth`,
    defaultTlsSecret: `${prefix}-tls`,
    defaultAclSecret: `${prefix}-acl`,
    certificate: prefix,
    redisNetworkPolicy: prefix,
    sentinelNetworkPolicy: `${prefix}-sentinel`,
    redisMetrics: `${prefix}-metrics`,
    sentinelMetrics: `${prefix}-sentinel-metrics`,
    serviceMonitor: prefix,
    prometheusRule: prefix,
    dashboard: `${prefix}-dashboard`,
    backup: `${prefix}-backup`,
    backupClaim: `${prefix}-backup`,
    backupNetworkPolicy: `${prefix}-backup`,
    masterEndpoint: `${prefix}-master`,
    replicasEndpoint: `${prefix}-replicas`,
    proxy: `${prefix}-proxy`,
    proxyMetrics: `${prefix}-proxy-metrics`,
    backupServiceAccount: `${prefix}-backup`,
    restoreServiceAccount: `${prefix}-restore`,
    restoreNetworkPolicy: `${prefix}-restore`,
  };
}

/**
 * The name of an object of a release that lands in `objectNamespace`: its plain name in the release's
 * own namespace; elsewhere (e.g. a shared monitoring namespace) `<release namespace>.<name>`, unique
 * per release because neither a namespace nor a release name can contain a dot.
 */
export function sharedName(releaseNamespace: string, objectNamespace: string, name: string): string {
  return objectNamespace === releaseNamespace ? name : `${releaseNamespace}.${name}`;
}

/** `<service>.<namespace>.svc.<clusterDomain>`: the domain under which a headless Service's pods get names. */
export function serviceDomain(service: string, namespace: string, clusterDomain: string): string {
  return `${service}.${namespace}.svc.${clusterDomain}`;
}

/** `<statefulset>-<ordinal>`: a StatefulSet pod's name (and hostname). */
export function podName(statefulSet: string, ordinal: number): string {
  return `${statefulSet}-${ordinal}`;
}

/** `<pod>.<headless-service>.<namespace>.svc.<clusterDomain>`: a StatefulSet pod's stable DNS name. */
export function podFqdn(statefulSet: string, ordinal: number, headlessService: string, namespace: string, clusterDomain: string): string {
  return `${podName(statefulSet, ordinal)}.${serviceDomain(headlessService, namespace, clusterDomain)}`;
}

/** Every pod FQDN of a StatefulSet of `count` pods. */
export function podFqdns(statefulSet: string, count: number, headlessService: string, namespace: string, clusterDomain: string): string[] {
  return Array.from({ length: count }, (_, i) => podFqdn(statefulSet, i, headlessService, namespace, clusterDomain));
}

/** The role of a pod group within the deployment. */
export type Component = 'redis' | 'sentinel' | 'backup' | 'proxy';

/** Label keys the library sets. */
export const LABEL = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  version: 'app.kubernetes.io/version',
  /** Which StatefulSet a pod belongs to (selector label; stable across renames of constructs). */
  statefulSet: 'redis-sentinel.cdk8s.io/statefulset',
  /** On metrics Services: the deployment whose exporters they expose (the ServiceMonitor selects it). */
  metrics: 'redis-sentinel.cdk8s.io/metrics',
} as const;

/** Labels that select every pod of one component of one deployment (e.g. all Redis pods). */
export function componentSelector(instance: string, component: Component): Record<string, string> {
  return {
    [LABEL.name]: { redis: 'redis', sentinel: 'redis-sentinel', backup: 'redis-backup', proxy: 'redis-proxy' }[component],
    [LABEL.instance]: instance,
    [LABEL.component]: component,
  };
}

/** Labels that select exactly the pods of one StatefulSet. Immutable once applied: never change them. */
export function statefulSetSelector(instance: string, component: Component, statefulSet: string): Record<string, string> {
  return { ...componentSelector(instance, component), [LABEL.statefulSet]: statefulSet };
}

/** Metadata labels for any object of the deployment. */
export function objectLabels(instance: string, component: Component | undefined, extra: Record<string, string> = {}): Record<string, string> {
  const base: Record<string, string> = {
    [LABEL.instance]: instance,
    [LABEL.partOf]: 'redis-sentinel',
    [LABEL.managedBy]: 'cdk8s',
  };
  if (component) Object.assign(base, componentSelector(instance, component));
  return { ...extra, ...base };
}

/**
 * A stable 40-hex-character Sentinel id for a pod, computed the same way the Sentinel start
 * script computes it at runtime (`printf %s "$SELF_FQDN" | sha1sum`).
 */
export function sentinelIdFor(fqdn: string): string {
  return createHash('sha1').update(fqdn).digest('hex');
}
