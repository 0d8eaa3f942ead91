/**
 * The deployment's core settings: every core prop of {@link RedisSentinelProps} resolved to a value
 * and checked, plus what derives from them (names, pod DNS names, timings). Optional features
 * (backup, monitoring) resolve and check their own options in their own modules.
 */
import { Duration, Size } from 'cdk8s';
import type { ContainerResources, ImagePullPolicy } from 'cdk8s-plus-27';
import type * as k8s from './k8s';
import { isMajority, quorumFor } from './config/quorum';
import { DNS_LABEL_MAX, DNS_SUBDOMAIN_MAX, STATEFULSET_NAME_MAX, ResourceNames, podFqdn, podFqdns, resourceNames } from './names';
import { OwnPod, PodOptions, checkPodKinds, checkPodOptions, checkSpreadAgainstPreset, checkUserLabels, mergePodOptions } from './pod-options';
import { AntiAffinity, MaxmemoryPolicy, RedisSentinelProps } from './props';
import { ResolvedTls, TLS_DIR, resolveTls } from './tls';
import { ACL_DIR, EXPORTER_AUTH_DIR, ResolvedAcl, resolveAcl } from './acl';
import {
  DNS_1035_LABEL, Problems, bytesOf, checkAnnotations, checkImage, checkLabels, checkObjectName, checkPort, checkPositiveSize, checkResources,
  checkSeconds, cpuMillis, isDnsLabel, isDnsSubdomain, isInt,
} from './validation';

/** Default Redis image: the last BSD-licensed Redis line, patched for CVE-2025-49844. */
export const DEFAULT_IMAGE = 'redis:7.2.11-alpine';

/** Where things live inside the containers. */
export const PATHS = {
  data: '/data',
  redisTemplate: '/etc/redis/redis.conf',
  redisTemplateDir: '/etc/redis',
  sentinelTemplate: '/etc/sentinel/sentinel.conf',
  sentinelTemplateDir: '/etc/sentinel',
  /** With `acl`: the users files (ConfigMap files beside the templates). */
  redisAclUsers: '/etc/redis/acl-users',
  sentinelAclUsers: '/etc/sentinel/acl-users',
  scriptsDir: '/opt/redis-sentinel',
  runDir: '/run/redis',
  redisRuntimeConf: '/run/redis/redis.conf',
  sentinelConf: '/data/sentinel.conf',
  authDir: '/etc/redis-auth',
  authFile: '/etc/redis-auth/password',
  /** With `acl`: the pod's own password of the exporter user (memory volume; exporter-credential.sh). */
  exporterAuthDir: EXPORTER_AUTH_DIR,
  backupDir: '/backup',
  restoreDir: '/restore',
  /** With `restore.s3`: where restore-fetch downloads the object (on the data volume; removed after the restore). */
  restoreFetchDir: '/data/.restore-source',
  tmp: '/tmp',
} as const;

/** RDB snapshot points: after 1 h if 1 key changed, 5 min if 100, 1 min if 10000. */
export const SAVE_POINTS: ReadonlyArray<readonly [number, number]> = [[3600, 1], [300, 100], [60, 10000]];

/** Seconds one redis-cli call in a script may take before it is abandoned. */
export const CLI_TIMEOUT_SECONDS = 3;

/** File names in the scripts ConfigMap (the scripts source lib.sh and constants.sh by these names). */
export const SCRIPT = {
  lib: 'lib.sh',
  constants: 'constants.sh',
  redisStart: 'redis-start.sh',
  sentinelStart: 'sentinel-start.sh',
  preStop: 'redis-prestop.sh',
  backup: 'redis-backup.sh',
  restore: 'redis-restore.sh',
  s3Upload: 's3-upload.sh',
  s3Fetch: 's3-fetch.sh',
  redisProbe: 'redis-probe.sh',
  sentinelProbe: 'sentinel-probe.sh',
  sentinelTidy: 'sentinel-tidy.sh',
  sentinelPreStop: 'sentinel-prestop.sh',
  exporterCredential: 'exporter-credential.sh',
} as const;

/**
 * The Sentinel pods' `tidy` sidecar (sentinel-tidy.sh): seconds between its rounds, and how long a
 * replica's or Sentinel's pod DNS name must stay unresolvable before the Sentinels forget it. A pod
 * being recreated resolves again within seconds; one forgotten too early (a long Pending) costs a
 * guarded SENTINEL RESET and is rediscovered when it returns.
 */
export const TIDY = { intervalSeconds: 2, graceSeconds: 10 } as const;

/** The core props resolved to values, plus what derives from them. Plain data, internal. */
export interface DeploymentSettings {
  readonly name: string;
  readonly names: ResourceNames;
  readonly namespace: string;
  readonly createNamespace: boolean;
  readonly masterName: string;
  readonly clusterDomain: string;
  readonly replicas: number;
  readonly sentinels: number;
  readonly quorum: number;
  readonly downAfterMs: number;
  readonly failoverTimeoutMs: number;
  readonly parallelSyncs: number;
  readonly minReplicasToWrite: number;
  readonly minReplicasMaxLagSeconds: number;
  readonly storageSize: Size;
  readonly storageClassName?: string;
  readonly sentinelStorageSize: Size;
  readonly sentinelStorageClassName?: string;
  readonly image: string;
  readonly sentinelImage: string;
  readonly imagePullPolicy: ImagePullPolicy;
  readonly imagePullSecrets: string[];
  readonly redisResources: ContainerResources;
  readonly sentinelResources: ContainerResources;
  readonly maxmemoryBytes?: number;
  readonly maxmemoryPolicy: MaxmemoryPolicy;
  readonly redisConfig: Array<[string, string]>;
  readonly auth: boolean;
  readonly authSecretName: string;
  readonly authSecretKey: string;
  /** TLS, when on. */
  readonly tls?: ResolvedTls;
  /** ACL users, when on. */
  readonly acl?: ResolvedAcl;
  readonly redisPort: number;
  readonly sentinelPort: number;
  readonly networkPolicy: boolean;
  readonly clientPodLabels: Record<string, string>;
  readonly clientNamespaceLabels?: Record<string, string>;
  readonly dnsPort: number;
  readonly antiAffinity: AntiAffinity;
  readonly zoneSpread: boolean;
  /** The deployment-level pod options (what `backup.pod` is merged over). */
  readonly podDefaults: PodOptions;
  /** The Redis pods' options: `redisPod` merged over the deployment-level ones. */
  readonly redisPod: PodOptions;
  /** The Sentinel pods' options: `sentinelPod` merged over the deployment-level ones. */
  readonly sentinelPod: PodOptions;
  readonly commonLabels: Record<string, string>;
  readonly commonAnnotations: Record<string, string>;
  readonly pvcRetentionPolicy?: k8s.StatefulSetPersistentVolumeClaimRetentionPolicy;
  readonly storageAccessModes: string[];
  readonly sentinelStorageAccessModes: string[];
  readonly runAsUser: number;
  readonly runAsGroup: number;
  /** RDB snapshot points `[seconds, changes]` (the longest interval bounds the RDB-age alert). */
  readonly savePoints: ReadonlyArray<readonly [number, number]>;
  /** FQDN of the bootstrap master pod (`<name>-master-0`). */
  readonly bootstrapMasterFqdn: string;
  /** FQDNs of every Sentinel pod. */
  readonly sentinelFqdns: string[];
  /** FQDNs of every Redis pod, the bootstrap master first (the pods whose data a Sentinel without state compares). */
  readonly redisFqdns: string[];
  /** Seconds the preStop hook waits for the Sentinels to name another master. */
  readonly failoverWaitSeconds: number;
  /** terminationGracePeriodSeconds of Redis pods: covers the preStop wait plus a clean shutdown. */
  readonly redisGracePeriodSeconds: number;
  /** Seconds a departing master waits, during a rolling update, for the pods that roll before it. */
  readonly rollWaitSeconds: number;
  /** terminationGracePeriodSeconds of Sentinel pods: covers a Sentinel's preStop wait for its failover to end. */
  readonly sentinelGracePeriodSeconds: number;
}

/** Seconds a departing master waits for one restarting pod of a rolling update to answer again. */
export const ROLL_DOWN_WAIT_SECONDS = 20;

const MASTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const REDIS_DIRECTIVE = /^[a-z][a-z0-9-]*$/;

/** redis.conf directives the library manages itself; setting them through `redisConfig` would break it. */
const MANAGED_DIRECTIVES = new Set([
  'port', 'bind', 'dir', 'replicaof', 'slaveof', 'requirepass', 'masterauth', 'masteruser', 'replica-announce-ip',
  'replica-announce-port', 'slave-announce-ip', 'slave-announce-port', 'appendonly', 'include', 'daemonize',
  'logfile', 'proc-title-template', 'min-replicas-to-write', 'min-replicas-max-lag', 'maxmemory', 'maxmemory-policy', 'rename-command',
  'aclfile', 'user', 'protected-mode', 'unixsocket', 'pidfile', 'replica-read-only', 'tls-port',
  'tls-cert-file', 'tls-key-file', 'tls-key-file-pass', 'tls-ca-cert-file', 'tls-ca-cert-dir', 'tls-client-cert-file', 'tls-client-key-file',
  'tls-client-key-file-pass', 'tls-replication', 'tls-auth-clients',
]);

/** Names, namespace, master name and cluster domain. `names` is undefined when `name` is unusable. */
function resolveIdentity(p: Problems, props: RedisSentinelProps, defaultName: string, namespace: string) {
  const name = props.name ?? defaultName;
  let names: ResourceNames | undefined;
  if (p.check(DNS_1035_LABEL.test(name),
    `name ('${name}') must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter): e.g. 'redis'`)) {
    names = resourceNames(name);
    const longest = Math.max(names.master.length, names.replica.length, names.sentinel.length);
    if (!p.check(longest <= STATEFULSET_NAME_MAX,
      `name ('${name}', ${name.length} characters) makes StatefulSet names of ${longest} characters; Kubernetes allows ${STATEFULSET_NAME_MAX}: use a name of at most ${STATEFULSET_NAME_MAX - (longest - name.length)} characters`)) {
      names = undefined;
    }
  }
  const namespaceOk = p.check(isDnsLabel(namespace),
    `namespace ('${namespace}') must be a DNS-1123 label of at most 63 characters: lowercase letters, digits and '-'`);
  const clusterDomain = props.clusterDomain ?? 'cluster.local';
  const domainOk = p.check(isDnsSubdomain(clusterDomain),
    `clusterDomain ('${clusterDomain}') must be a DNS domain such as 'cluster.local' (lowercase, dot-separated labels of at most 63 characters)`);
  const masterName = props.masterName ?? 'mymaster';
  p.check(masterName.length <= 128 && MASTER_NAME.test(masterName),
    `masterName ('${masterName}') must be 1-128 letters, digits, '.', '_' or '-' starting with a letter or digit (Sentinel cannot use spaces, commas or quotes): e.g. 'mymaster'`);
  return { name, names, namespace, clusterDomain, masterName, dnsOk: names !== undefined && namespaceOk && domainOk };
}

/** Pod counts, quorum and Sentinel timings. Counts are undefined when invalid (dependent checks skip). */
function resolveTopology(p: Problems, props: RedisSentinelProps) {
  const replicas = props.replicas ?? 2;
  const replicasOk = p.check(isInt(replicas) && replicas >= 0,
    `replicas (${replicas}) must be a whole number >= 0: the replica StatefulSet's size`);
  const sentinels = props.sentinels ?? 3;
  let sentinelsOk = p.check(isInt(sentinels) && sentinels >= 1, `sentinels (${sentinels}) must be a whole number >= 1 (3 or more, odd)`);
  if (sentinelsOk && !props.allowUnsafeSentinelCount) {
    sentinelsOk = p.check(sentinels >= 3,
      `sentinels (${sentinels}) must be at least 3: fewer Sentinels cannot fail over when one is lost; set allowUnsafeSentinelCount: true to accept that`)
      && p.check(sentinels % 2 === 1,
        `sentinels (${sentinels}) should be odd: ${sentinels} tolerates no more failures than ${sentinels - 1}; use ${sentinels + 1} or ${sentinels - 1}, or set allowUnsafeSentinelCount: true`);
  }
  const countKnown = isInt(sentinels) && sentinels >= 1;
  const quorum = props.quorum ?? (countKnown ? quorumFor(sentinels) : 1);
  if (countKnown) {
    if (!isInt(quorum) || quorum < 1 || quorum > sentinels) {
      p.add(`quorum (${quorum}) must be a whole number between 1 and the number of sentinels (${sentinels}); the majority is ${quorumFor(sentinels)}`);
    } else if (!isMajority(quorum, sentinels) && !props.allowMinorityQuorum) {
      p.add(`quorum (${quorum}) is not a majority of ${sentinels} sentinels: a minority could start failovers the majority does not see; use ${quorumFor(sentinels)} or set allowMinorityQuorum: true`);
    }
  } else {
    p.check(isInt(quorum) && quorum >= 1, `quorum (${quorum}) must be a whole number >= 1`);
  }

  const downAfterMs = (props.downAfter ?? Duration.seconds(5)).toMilliseconds();
  const downAfterOk = p.check(isInt(downAfterMs) && downAfterMs > 0,
    `downAfter (${downAfterMs} ms) must be a positive whole number of milliseconds: e.g. Duration.seconds(5)`);
  const failoverTimeoutMs = (props.failoverTimeout ?? Duration.seconds(10)).toMilliseconds();
  if (downAfterOk) {
    p.check(isInt(failoverTimeoutMs) && failoverTimeoutMs >= downAfterMs,
      `failoverTimeout (${failoverTimeoutMs} ms) must be a whole number of milliseconds >= downAfter (${downAfterMs} ms): e.g. Duration.seconds(${Math.max(10, Math.ceil((downAfterMs * 2) / 1000))})`);
  }
  const parallelSyncs = props.parallelSyncs ?? 1;
  p.check(isInt(parallelSyncs) && parallelSyncs >= 1, `parallelSyncs (${parallelSyncs}) must be a whole number >= 1`);
  // 1 only when a promoted replica still has a replica of its own once the old master is gone:
  // with replicas: 1, min-replicas 1 would refuse every write after any failover.
  const minReplicasToWrite = props.minReplicasToWrite ?? (replicasOk && replicas >= 2 ? 1 : 0);
  if (p.check(isInt(minReplicasToWrite) && minReplicasToWrite >= 0,
    `minReplicasToWrite (${minReplicasToWrite}) must be a whole number >= 0 (0 turns it off)`) && replicasOk) {
    p.check(minReplicasToWrite <= replicas,
      `minReplicasToWrite (${minReplicasToWrite}) exceeds replicas (${replicas}): the master could never accept a write; use at most ${replicas}`);
  }
  const lagMs = (props.minReplicasMaxLag ?? Duration.seconds(10)).toMilliseconds();
  checkSeconds(p, 'minReplicasMaxLag', lagMs, 1, 'Duration.seconds(10)');
  return {
    replicas, sentinels, quorum, downAfterMs, failoverTimeoutMs, parallelSyncs, minReplicasToWrite,
    minReplicasMaxLagSeconds: lagMs / 1000, countsOk: replicasOk && sentinelsOk,
  };
}

/** Volumes, images, resources and memory. */
function resolvePods(p: Problems, props: RedisSentinelProps) {
  const storageSize = props.storageSize ?? Size.gibibytes(10);
  const sentinelStorageSize = props.sentinelStorageSize ?? Size.gibibytes(1);
  checkPositiveSize(p, 'storageSize', storageSize, 'Size.gibibytes(10)');
  checkPositiveSize(p, 'sentinelStorageSize', sentinelStorageSize, 'Size.gibibytes(1)');
  checkObjectName(p, 'storageClassName', props.storageClassName, 'StorageClass');
  checkObjectName(p, 'sentinelStorageClassName', props.sentinelStorageClassName, 'StorageClass');

  const image = props.image ?? DEFAULT_IMAGE;
  const sentinelImage = props.sentinelImage ?? image;
  checkImage(p, 'image', image, DEFAULT_IMAGE);
  if (props.sentinelImage !== undefined) checkImage(p, 'sentinelImage', sentinelImage, DEFAULT_IMAGE);
  const imagePullSecrets = props.imagePullSecrets ?? [];
  for (const secret of imagePullSecrets) checkObjectName(p, 'imagePullSecrets entry', secret, 'Secret');

  const redisResources: ContainerResources = props.redisResources ?? {
    cpu: { request: cpuMillis(250) },
    memory: { request: Size.mebibytes(512), limit: Size.gibibytes(1) },
  };
  const sentinelResources: ContainerResources = props.sentinelResources ?? {
    cpu: { request: cpuMillis(50) },
    memory: { request: Size.mebibytes(64), limit: Size.mebibytes(128) },
  };
  checkResources(p, 'redisResources', redisResources);
  checkResources(p, 'sentinelResources', sentinelResources);

  const memoryLimit = redisResources.memory?.limit;
  let maxmemoryBytes: number | undefined;
  if (props.maxmemory) {
    maxmemoryBytes = bytesOf(props.maxmemory);
    if (p.check(isInt(maxmemoryBytes) && maxmemoryBytes > 0, `maxmemory (${props.maxmemory.asString()}) must be a positive size`) && memoryLimit) {
      p.check(maxmemoryBytes <= bytesOf(memoryLimit),
        `maxmemory (${props.maxmemory.asString()}) exceeds the Redis memory limit (${memoryLimit.asString()}): the pod would be OOM-killed before Redis evicts; lower maxmemory to ~70% of the limit or raise redisResources.memory.limit`);
    }
  } else if (memoryLimit) {
    maxmemoryBytes = Math.floor(bytesOf(memoryLimit) * 0.7);
  }
  const maxmemoryPolicy = props.maxmemoryPolicy ?? MaxmemoryPolicy.NOEVICTION;
  p.check(MaxmemoryPolicy.all().some((m) => m.value === maxmemoryPolicy.value),
    `maxmemoryPolicy ('${maxmemoryPolicy.value}') must be one of ${MaxmemoryPolicy.all().map((m) => m.value).join(', ')}: e.g. MaxmemoryPolicy.ALLKEYS_LRU or MaxmemoryPolicy.of('allkeys-lru')`);

  const redisConfig: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(props.redisConfig ?? {})) {
    if (!REDIS_DIRECTIVE.test(key)) {
      p.add(`redisConfig key '${key}' is not a redis.conf directive name (lowercase letters, digits, '-')`);
    } else if (MANAGED_DIRECTIVES.has(key)) {
      p.add(`redisConfig['${key}'] is managed by the library and cannot be overridden: use its own prop`);
    } else if (/[\r\n]/.test(value) || value.trim() === '') {
      p.add(`redisConfig['${key}'] ('${value}') must be a non-empty single-line value`);
    } else {
      redisConfig.push([key, value]);
    }
  }
  return {
    storageSize, storageClassName: props.storageClassName, sentinelStorageSize,
    sentinelStorageClassName: props.sentinelStorageClassName ?? props.storageClassName,
    image, sentinelImage, imagePullPolicy: props.imagePullPolicy ?? ('IfNotPresent' as ImagePullPolicy.IF_NOT_PRESENT), imagePullSecrets,
    redisResources, sentinelResources, maxmemoryBytes, maxmemoryPolicy, redisConfig,
  };
}

/** Auth, ports, client access and scheduling. */
function resolveAccess(p: Problems, props: RedisSentinelProps, name: string, defaultAuthSecret: string) {
  const auth = props.auth?.enabled ?? true;
  const authSecretName = props.auth?.secretName ?? defaultAuthSecret;
  const authSecretKey = props.auth?.secretKey ?? 'password';
  if (auth) {
    p.check(isDnsSubdomain(authSecretName),
      `auth secretName ('${authSecretName}') must be a Secret name (DNS-1123 subdomain: lowercase letters, digits, '-', '.')`);
    p.check(authSecretKey.length <= DNS_SUBDOMAIN_MAX && SECRET_KEY.test(authSecretKey),
      `auth secretKey ('${authSecretKey}') must be a Secret key: letters, digits, '-', '_' or '.'`);
  }

  const redisPort = props.redisPort ?? 6379;
  const sentinelPort = props.sentinelPort ?? 26379;
  const dnsPort = props.dnsPort ?? 53;
  if (checkPort(p, 'redisPort', redisPort) && checkPort(p, 'sentinelPort', sentinelPort)) {
    p.check(redisPort !== sentinelPort,
      `redisPort and sentinelPort are both ${redisPort}: Redis and Sentinel need distinct ports, e.g. 6379 and 26379`);
  }
  checkPort(p, 'dnsPort', dnsPort);

  const clientPodLabels = props.clientPodLabels ?? { [`${name}-client`]: 'true' };
  // The default derives from name, which is checked (and reported) on its own.
  if (props.clientPodLabels && p.check(Object.keys(clientPodLabels).length > 0,
    `clientPodLabels is empty: that would let every pod reach Redis; give at least one label, e.g. { '${name}-client': 'true' }`)) {
    checkLabels(p, 'clientPodLabels', clientPodLabels);
  }
  checkLabels(p, 'clientNamespaceLabels', props.clientNamespaceLabels);
  const runAsUser = props.runAsUser ?? 999;
  const runAsGroup = props.runAsGroup ?? 1000;
  p.check(isInt(runAsUser) && runAsUser > 0,
    `runAsUser (${runAsUser}) must be a non-zero UID: Pod Security "restricted" forbids root; the redis image's user is 999`);
  p.check(isInt(runAsGroup) && runAsGroup > 0, `runAsGroup (${runAsGroup}) must be a non-zero GID: the alpine redis image's group is 1000`);
  return {
    auth, authSecretName, authSecretKey, redisPort, sentinelPort, dnsPort,
    networkPolicy: props.networkPolicy ?? true, clientPodLabels, clientNamespaceLabels: props.clientNamespaceLabels,
    antiAffinity: props.antiAffinity ?? AntiAffinity.REQUIRED, zoneSpread: props.zoneSpread ?? true,
    runAsUser, runAsGroup,
  };
}

/** The Redis pods' own volumes and the mount paths of their main container. */
export const REDIS_POD: OwnPod = {
  label: 'Redis pods',
  volumes: ['data', 'config', 'scripts', 'run', 'tmp', 'auth', 'tls', 'acl', 'exporter-auth', 'restore'],
  mountPaths: [PATHS.data, PATHS.redisTemplateDir, PATHS.scriptsDir, PATHS.runDir, PATHS.tmp, PATHS.authDir, TLS_DIR, ACL_DIR, EXPORTER_AUTH_DIR, PATHS.restoreDir],
};
/** The Sentinel pods' own volumes and the mount paths of their main container. */
export const SENTINEL_POD: OwnPod = {
  label: 'Sentinel pods',
  volumes: ['data', 'config', 'scripts', 'tmp', 'auth', 'tls', 'acl', 'exporter-auth'],
  mountPaths: [PATHS.data, PATHS.sentinelTemplateDir, PATHS.scriptsDir, PATHS.tmp, PATHS.authDir, TLS_DIR, ACL_DIR, EXPORTER_AUTH_DIR],
};

/** The values of cdk8s-plus-27's PersistentVolumeAccessMode, spelled out so the library does not load its index (see src/k8s.ts). */
const ACCESS_MODES: string[] = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'];

/** Checks a claim's access modes (`prop` names them); the process writes, so it needs a writable mode. */
export function checkAccessModes(p: Problems, prop: string, modes: string[]): void {
  const unknown = modes.filter((m) => !ACCESS_MODES.includes(m));
  if (!p.check(unknown.length === 0, `${prop} (${modes.join(', ')}) has unknown modes (${unknown.join(', ')}): use PersistentVolumeAccessMode values`)) return;
  const writable = modes.filter((m) => m !== 'ReadOnlyMany');
  if (!p.check(writable.length > 0, `${prop} (${modes.join(', ') || 'none'}) must include a writable mode: e.g. [PersistentVolumeAccessMode.READ_WRITE_ONCE]`)) return;
  p.check(!modes.includes('ReadWriteOncePod') || modes.length === 1,
    `${prop} (${modes.join(', ')}): ReadWriteOncePod cannot be combined with other modes; use it alone`);
  p.check(new Set(modes).size === modes.length, `${prop} (${modes.join(', ')}) lists a mode twice`);
}

/** Pod options per component, labels and annotations on every object, claim policies. */
function resolveKnobs(p: Problems, props: RedisSentinelProps) {
  checkPodOptions(p, '', props);
  checkPodOptions(p, 'redisPod.', props.redisPod);
  checkPodOptions(p, 'sentinelPod.', props.sentinelPod);
  const zoneSpread = props.zoneSpread ?? true;
  for (const [prefix, o] of [['', props], ['redisPod.', props.redisPod], ['sentinelPod.', props.sentinelPod]] as const) {
    checkSpreadAgainstPreset(p, prefix, o?.topologySpreadConstraints, zoneSpread);
  }
  checkPodKinds(p, props, [
    { own: REDIS_POD, prefix: 'redisPod.', options: props.redisPod },
    { own: SENTINEL_POD, prefix: 'sentinelPod.', options: props.sentinelPod },
  ]);
  checkUserLabels(p, 'commonLabels', props.commonLabels);
  checkAnnotations(p, 'commonAnnotations', props.commonAnnotations);
  const retention = props.persistentVolumeClaimRetentionPolicy;
  for (const key of ['whenDeleted', 'whenScaled'] as const) {
    const v = retention?.[key];
    p.check(v === undefined || v === 'Retain' || v === 'Delete',
      `persistentVolumeClaimRetentionPolicy.${key} ('${v}') must be 'Retain' or 'Delete'`);
  }
  const storageAccessModes: string[] = props.storageAccessModes ?? ['ReadWriteOnce'];
  checkAccessModes(p, 'storageAccessModes', storageAccessModes);
  if (props.sentinelStorageAccessModes) checkAccessModes(p, 'sentinelStorageAccessModes', props.sentinelStorageAccessModes);
  return {
    podDefaults: props as PodOptions,
    redisPod: mergePodOptions(props, props.redisPod),
    sentinelPod: mergePodOptions(props, props.sentinelPod),
    commonLabels: props.commonLabels ?? {},
    commonAnnotations: props.commonAnnotations ?? {},
    pvcRetentionPolicy: retention,
    storageAccessModes,
    sentinelStorageAccessModes: props.sentinelStorageAccessModes ?? storageAccessModes,
  };
}

/** Pod DNS names must fit DNS, Service names a label. Only checked when name, namespace, domain and counts are valid. */
function checkDnsLengths(p: Problems, names: ResourceNames, name: string, namespace: string, clusterDomain: string, replicas: number, sentinels: number) {
  // The last pod of each StatefulSet has the longest name of its set.
  const longestFqdn = [
    podFqdn(names.master, 0, names.masterHeadless, namespace, clusterDomain),
    podFqdn(names.replica, Math.max(replicas, 1) - 1, names.replicaHeadless, namespace, clusterDomain),
    podFqdn(names.sentinel, Math.max(sentinels, 1) - 1, names.sentinelHeadless, namespace, clusterDomain),
  ].reduce((a, b) => (b.length > a.length ? b : a));
  p.check(longestFqdn.length <= DNS_SUBDOMAIN_MAX,
    `pod DNS names reach ${longestFqdn.length} characters ('${longestFqdn}'), over the 253 DNS allows: shorten name, namespace or clusterDomain`);
  for (const svc of [names.masterHeadless, names.replicaHeadless, names.sentinelHeadless, names.readService, names.redisMetrics, names.sentinelMetrics]) {
    p.check(svc.length <= DNS_LABEL_MAX,
      `name ('${name}') makes the Service name '${svc}' (${svc.length} characters), over the 63 Kubernetes allows: shorten name`);
  }
}

/**
 * Resolves the core props, recording every problem in `p`. The result is only meaningful when `p`
 * holds no problem (the caller throws first).
 */
export function resolveDeployment(p: Problems, props: RedisSentinelProps, defaultName: string, namespace: string): DeploymentSettings {
  const id = resolveIdentity(p, props, defaultName, namespace);
  const topology = resolveTopology(p, props);
  const pods = resolvePods(p, props);
  const names = id.names ?? resourceNames('invalid');
  const access = resolveAccess(p, props, id.name, names.defaultAuthSecret);
  const tls = props.tls ? resolveTls(p, props.tls, names.defaultTlsSecret, 'tls.') : undefined;
  const acl = props.acl ? resolveAcl(p, props.acl, names.defaultAclSecret, 'acl.', access.auth) : undefined;
  const knobs = resolveKnobs(p, props);
  if (id.dnsOk && topology.countsOk) {
    checkDnsLengths(p, names, id.name, id.namespace, id.clusterDomain, topology.replicas, topology.sentinels);
  }
  const sentinelFqdns = topology.countsOk ? podFqdns(names.sentinel, topology.sentinels, names.sentinelHeadless, id.namespace, id.clusterDomain) : [];
  const failoverWaitSeconds = Math.ceil(topology.failoverTimeoutMs / 1000) + Math.ceil(topology.downAfterMs / 1000) + 5;
  // preStop worst case: asking each Sentinel for the failover and for the master may each time out,
  // on top of the wait; then Redis saves and exits.
  const preStopWorstCase = failoverWaitSeconds + 2 * topology.sentinels * CLI_TIMEOUT_SECONDS;
  // A rolling update restarts the pods that roll before the master one at a time (start, sync, Ready).
  const rollWaitSeconds = 30 * (topology.replicas + 1);
  return {
    name: id.name, names, namespace: id.namespace, createNamespace: props.createNamespace ?? false,
    masterName: id.masterName, clusterDomain: id.clusterDomain,
    ...topology, ...pods, ...access, ...knobs, tls, acl,
    savePoints: SAVE_POINTS,
    bootstrapMasterFqdn: podFqdn(names.master, 0, names.masterHeadless, id.namespace, id.clusterDomain),
    sentinelFqdns,
    redisFqdns: topology.countsOk ? [
      podFqdn(names.master, 0, names.masterHeadless, id.namespace, id.clusterDomain),
      ...podFqdns(names.replica, topology.replicas, names.replicaHeadless, id.namespace, id.clusterDomain),
    ] : [],
    failoverWaitSeconds,
    redisGracePeriodSeconds: preStopWorstCase + rollWaitSeconds + 15,
    rollWaitSeconds,
    sentinelGracePeriodSeconds: Math.max(30, failoverWaitSeconds + 10),
  };
}
