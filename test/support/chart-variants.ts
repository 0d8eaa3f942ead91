import { Duration, Size } from 'cdk8s';
import { Cpu, ImagePullPolicy, PersistentVolumeAccessMode, k8s } from 'cdk8s-plus-27';
import { AntiAffinity, CertificateSource, MaxmemoryPolicy, RedisAuth, RedisSentinelChartProps } from '../../src';
import { cron } from './synth';

/** A sidecar that passes Pod Security "restricted" (what the construct checks for extra containers). */
export function restrictedContainer(name: string, mounts: k8s.VolumeMount[] = []): k8s.Container {
  return {
    name,
    image: 'busybox:1.36.1',
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', '-c', 'sleep infinity'],
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
    resources: { requests: { cpu: k8s.Quantity.fromString('5m'), memory: k8s.Quantity.fromString('8Mi') } },
    ...(mounts.length ? { volumeMounts: mounts } : {}),
  };
}

/**
 * Chart props that change nearly every setting away from its default: no auth, no NetworkPolicies,
 * preferred anti-affinity, no zone spread, explicit StorageClasses, scheduling constraints, pull
 * secrets, a private registry image (with a registry port) and a digest-pinned Sentinel image,
 * custom ports, 5 Sentinels, no replicas (so min-replicas-to-write 0) and a non-default uid/gid.
 */
export const CUSTOM_PROPS: RedisSentinelChartProps = {
  name: 'cache',
  namespace: 'cache-prod',
  masterName: 'primary',
  clusterDomain: 'k8s.example.internal',
  replicas: 0,
  minReplicasToWrite: 0,
  sentinels: 5,
  quorum: 3,
  downAfter: Duration.seconds(3),
  failoverTimeout: Duration.seconds(30),
  parallelSyncs: 2,
  minReplicasMaxLag: Duration.seconds(5),
  storageSize: Size.gibibytes(50),
  storageClassName: 'fast-ssd',
  sentinelStorageSize: Size.mebibytes(512),
  sentinelStorageClassName: 'standard.csi.example.com',
  image: 'registry.example.com:5000/mirror/redis:7.2.11-alpine',
  sentinelImage: 'docker.io/library/redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  imagePullPolicy: ImagePullPolicy.IF_NOT_PRESENT,
  imagePullSecrets: ['regcred', 'mirror.pull-secret'],
  redisResources: {
    cpu: { request: Cpu.millis(500), limit: Cpu.units(2) },
    memory: { request: Size.gibibytes(2), limit: Size.gibibytes(4) },
  },
  sentinelResources: {
    cpu: { request: Cpu.millis(20), limit: Cpu.millis(100) },
    memory: { request: Size.mebibytes(32), limit: Size.mebibytes(96) },
  },
  maxmemory: Size.mebibytes(2600),
  maxmemoryPolicy: MaxmemoryPolicy.ALLKEYS_LRU,
  redisConfig: { 'maxclients': '2000', 'tcp-keepalive': '60' },
  auth: RedisAuth.none(),
  redisPort: 7000,
  sentinelPort: 27000,
  dnsPort: 5353,
  networkPolicy: false,
  clientPodLabels: { 'example.com/cache-client': 'yes' },
  clientNamespaceLabels: { 'kubernetes.io/metadata.name': 'frontend' },
  antiAffinity: AntiAffinity.PREFERRED,
  zoneSpread: false,
  nodeSelector: { 'kubernetes.io/os': 'linux', 'node-role.example.com/cache': 'true' },
  priorityClassName: 'high-priority',
  runAsUser: 1001,
  runAsGroup: 1002,
  // Backups to a claim the chart does not own.
  backup: { existingClaim: 'cache-backups' },
  monitoring: {},
  masterEndpoint: {},
};

/**
 * A second customisation: auth from a custom Secret and NetworkPolicies with client namespaces
 * (which CUSTOM_PROPS turns off), no Namespace object, more replicas.
 */
export const CUSTOM_NETWORK_PROPS: RedisSentinelChartProps = {
  name: 'sessions',
  namespace: 'apps',
  createNamespace: false,
  replicas: 4,
  minReplicasToWrite: 2,
  sentinels: 3,
  auth: RedisAuth.fromSecret({ secretName: 'sessions-credentials', secretKey: 'redis.password' }),
  redisPort: 6380,
  sentinelPort: 26380,
  networkPolicy: true,
  clientPodLabels: { 'app.kubernetes.io/name': 'web', 'sessions-client': 'true' },
  clientNamespaceLabels: { 'team': 'payments' },
  nodeSelector: { 'kubernetes.io/arch': 'amd64' },
  imagePullSecrets: ['regcred'],
  // User containers and volumes in every kind of pod (they must pass Pod Security "restricted" too).
  extraVolumes: [{ name: 'shared', emptyDir: {} }, { name: 'corp-ca', configMap: { name: 'corp-ca' } }],
  extraVolumeMounts: [{ name: 'corp-ca', mountPath: '/etc/ssl/corp', readOnly: true }],
  extraInitContainers: [restrictedContainer('prepare', [{ name: 'shared', mountPath: '/shared' }])],
  redisPod: { extraContainers: [restrictedContainer('log-shipper', [{ name: 'shared', mountPath: '/shared' }])] },
  sentinelPod: { extraContainers: [restrictedContainer('sentinel-sidecar')] },
  // Backups (with their NetworkPolicy) and a restore of the newest one on first start.
  backup: { schedule: cron('15 3 * * 1-5'), pod: { extraInitContainers: [restrictedContainer('backup-prepare')] } },
  restore: { file: 'latest' },
  monitoring: {},
  masterEndpoint: { replicas: 2 },
};

/**
 * Every prop of src/props.ts set to a non-default value, every option object present with every
 * option set. Exceptions: `auth` keeps a password (AUTH_OFF covers RedisAuth.none()) and
 * `networkPolicy` stays true (so clientPodLabels/clientNamespaceLabels/dnsPort show up; AUTH_OFF
 * turns it off). `backup.existingClaim` excludes backup.storageSize/storageClassName:
 * BACKUP_EXISTING_CLAIM covers it.
 */
export const FULL: RedisSentinelChartProps = {
  name: 'cache',
  namespace: 'data',
  createNamespace: true,
  labels: { 'example.com/chart': 'cache' },
  masterName: 'primary',
  clusterDomain: 'k8s.example.com',
  replicas: 4,
  sentinels: 5,
  quorum: 4,
  allowUnsafeSentinelCount: true,
  allowMinorityQuorum: true,
  downAfter: Duration.seconds(8),
  failoverTimeout: Duration.seconds(30),
  parallelSyncs: 2,
  minReplicasToWrite: 2,
  minReplicasMaxLag: Duration.seconds(20),
  storageSize: Size.gibibytes(50),
  storageClassName: 'fast-ssd',
  sentinelStorageSize: Size.gibibytes(2),
  sentinelStorageClassName: 'standard',
  image: 'redis:7.2.10-alpine',
  sentinelImage: 'registry.example.com/redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  imagePullPolicy: ImagePullPolicy.ALWAYS,
  imagePullSecrets: ['regcred'],
  redisResources: {
    cpu: { request: Cpu.millis(500), limit: Cpu.units(2) },
    memory: { request: Size.gibibytes(2), limit: Size.gibibytes(4) },
  },
  sentinelResources: {
    cpu: { request: Cpu.millis(100), limit: Cpu.millis(200) },
    memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
  },
  maxmemory: Size.gibibytes(3),
  maxmemoryPolicy: MaxmemoryPolicy.ALLKEYS_LRU,
  redisConfig: { maxclients: '20000', hz: '20' },
  auth: RedisAuth.fromSecret({ secretName: 'cache-password', secretKey: 'redis-password' }),
  redisPort: 6380,
  sentinelPort: 26380,
  networkPolicy: true,
  clientPodLabels: { 'app.example.com/redis-client': 'yes' },
  clientNamespaceLabels: { 'kubernetes.io/metadata.name': 'apps' },
  dnsPort: 5353,
  antiAffinity: AntiAffinity.PREFERRED,
  zoneSpread: false,
  nodeSelector: { 'node-pool': 'redis' },
  priorityClassName: 'high-priority',
  runAsUser: 1001,
  runAsGroup: 1001,
  // Deployment-level pod options (every pod), then per component.
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'redis', effect: 'NoSchedule' }],
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] }] }],
      },
    },
  },
  topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' }],
  podLabels: { 'example.com/tier': 'data' },
  podAnnotations: { 'example.com/scrape-logs': 'true' },
  serviceAccountName: 'cache',
  automountServiceAccountToken: true,
  extraContainers: [restrictedContainer('log-shipper', [{ name: 'shared', mountPath: '/shared' }])],
  extraInitContainers: [restrictedContainer('prepare', [{ name: 'shared', mountPath: '/shared' }])],
  extraVolumes: [{ name: 'shared', emptyDir: {} }, { name: 'corp-ca', configMap: { name: 'corp-ca' } }],
  extraVolumeMounts: [{ name: 'corp-ca', mountPath: '/etc/ssl/corp', readOnly: true }],
  redisPod: {
    tolerations: [{ key: 'redis-only', operator: 'Exists' }],
    nodeSelector: { 'node-pool': 'redis-data' },
    podLabels: { 'example.com/role': 'redis' },
    priorityClassName: 'redis-critical',
    affinity: {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 10,
          podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'memcached' } } },
        }],
      },
    },
  },
  sentinelPod: {
    serviceAccountName: 'cache-sentinel',
    podAnnotations: { 'example.com/scrape-logs': 'false' },
    extraContainers: [restrictedContainer('sentinel-sidecar')],
  },
  commonLabels: { 'example.com/team': 'data', 'example.com/cost-center': 'c42' },
  commonAnnotations: { 'example.com/owner': 'data-team@example.com' },
  persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' },
  storageAccessModes: [PersistentVolumeAccessMode.READ_WRITE_ONCE_POD],
  sentinelStorageAccessModes: [PersistentVolumeAccessMode.READ_WRITE_ONCE],
  monitoring: {
    exporterImage: 'registry.example.com/oliver006/redis_exporter:v1.90.0',
    exporterResources: {
      cpu: { request: Cpu.millis(20), limit: Cpu.millis(100) },
      memory: { request: Size.mebibytes(48), limit: Size.mebibytes(96) },
    },
    metricsPort: 9200,
    scrapeInterval: Duration.seconds(30),
    namespace: 'monitoring',
    labels: { release: 'kube-prometheus-stack' },
    alertLabels: { team: 'data' },
    prometheusPodLabels: { 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/instance': 'main' },
    prometheusNamespaceLabels: { 'kubernetes.io/metadata.name': 'monitoring' },
    dashboardLabels: { grafana_dashboard: 'redis' },
    exporterExtraArgs: ['--include-system-metrics'],
    exporterExtraEnv: [{ name: 'REDIS_EXPORTER_LOG_FORMAT', value: 'json' }],
  },
  backup: {
    schedule: cron('30 */6 * * *'),
    timeZone: 'Europe/Berlin',
    retention: 10,
    storageSize: Size.gibibytes(100),
    storageClassName: 'standard',
    deadline: Duration.hours(2),
    maxAge: Duration.hours(9),
    resources: {
      cpu: { request: Cpu.millis(100), limit: Cpu.millis(500) },
      memory: { request: Size.mebibytes(128), limit: Size.mebibytes(512) },
    },
    storageAccessModes: [PersistentVolumeAccessMode.READ_WRITE_MANY],
    pod: {
      tolerations: [{ key: 'batch', operator: 'Exists', effect: 'NoSchedule' }],
      podLabels: { 'example.com/role': 'backup' },
      extraInitContainers: [restrictedContainer('backup-prepare')],
    },
  },
  restore: { file: 'cache-20260101T000000Z.rdb', claimName: 'cache-old-backups' },
  tls: {
    certificate: CertificateSource.fromCertManager({
      issuerName: 'internal-ca', issuerKind: 'ClusterIssuer', issuerGroup: 'cert-manager.io', duration: Duration.days(30), renewBefore: Duration.days(10), secretName: 'cache-certs',
    }),
    mutual: true,
  },
  acl: {
    secretName: 'cache-users',
    users: [
      { name: 'orders', secretName: 'orders-redis', secretKey: 'pw', rules: '~orders:* &orders:* +@all -@dangerous +info +role' },
      { name: 'reports', secretName: 'reports-redis', rules: '%R~* +@read +info +role', sentinel: false },
    ],
  },
  masterEndpoint: {
    replicas: 3,
    image: 'registry.example.com/haproxy:2.6.18-alpine',
    checkInterval: Duration.millis(250),
    metricsPort: 9404,
    idleTimeout: Duration.minutes(30),
    resources: {
      cpu: { request: Cpu.millis(100), limit: Cpu.millis(500) },
      memory: { request: Size.mebibytes(96), limit: Size.mebibytes(192) },
    },
  },
};

/** Backups to a claim the chart does not create. */
export const BACKUP_EXISTING_CLAIM: RedisSentinelChartProps = { backup: { existingClaim: 'redis-backups-retained' } };

/** The remaining non-defaults: auth and NetworkPolicies off. */
export const AUTH_OFF: RedisSentinelChartProps = { auth: RedisAuth.none(), networkPolicy: false };

