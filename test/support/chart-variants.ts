import { Duration, Size } from 'cdk8s';
import { Cpu, ImagePullPolicy } from 'cdk8s-plus-27';
import { AntiAffinity, MaxmemoryPolicy, RedisSentinelChartProps } from '../../src';

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
  auth: false,
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
  backup: true,
  backupExistingClaim: 'cache-backups',
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
  authSecretName: 'sessions-credentials',
  authSecretKey: 'redis.password',
  redisPort: 6380,
  sentinelPort: 26380,
  networkPolicy: true,
  clientPodLabels: { 'app.kubernetes.io/name': 'web', 'sessions-client': 'true' },
  clientNamespaceLabels: { 'team': 'payments' },
  nodeSelector: { 'kubernetes.io/arch': 'amd64' },
  imagePullSecrets: ['regcred'],
  // Backups (with their NetworkPolicy) and a restore of the newest one on first start.
  backup: true,
  backupSchedule: '15 3 * * 1-5',
  restoreFrom: 'latest',
};
