import { Duration, Size } from 'cdk8s';
import { Cpu, ImagePullPolicy } from 'cdk8s-plus-27';
import { AntiAffinity, MaxmemoryPolicy, RedisAuth, RedisSentinelChartProps } from '../../src';
import { cron } from './synth';

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
  // Backups (with their NetworkPolicy) and a restore of the newest one on first start.
  backup: { schedule: cron('15 3 * * 1-5') },
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
  createNamespace: false,
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
  },
  restore: { file: 'cache-20260101T000000Z.rdb', claimName: 'cache-old-backups' },
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

