import { Duration, Size, SizeRoundingBehavior } from 'cdk8s';
import { ContainerResources, Cpu, ImagePullPolicy } from 'cdk8s-plus-27';
import { CronScheduleError, longestGapMinutes, parseCronSchedule } from './config/cron';
import { isMajority, quorumFor } from './config/quorum';
import {
  DNS_LABEL_MAX, DNS_SUBDOMAIN_MAX, STATEFULSET_NAME_MAX, ResourceNames, podFqdn, podFqdns, resourceNames,
} from './names';
import { AntiAffinity, MaxmemoryPolicy, RedisSentinelProps } from './props';

/** Default Redis image: the last BSD-licensed Redis line, patched for CVE-2025-49844. */
export const DEFAULT_IMAGE = 'redis:7.2.11-alpine';

/** Default redis_exporter image (>= v1.80.2 has redis_sentinel_master_config_epoch). */
export const DEFAULT_EXPORTER_IMAGE = 'oliver006/redis_exporter:v1.91.1';

/** Where things live inside the containers. */
export const PATHS = {
  data: '/data',
  redisTemplate: '/etc/redis/redis.conf',
  redisTemplateDir: '/etc/redis',
  sentinelTemplate: '/etc/sentinel/sentinel.conf',
  sentinelTemplateDir: '/etc/sentinel',
  scriptsDir: '/opt/redis-sentinel',
  runDir: '/run/redis',
  redisRuntimeConf: '/run/redis/redis.conf',
  sentinelConf: '/data/sentinel.conf',
  authDir: '/etc/redis-auth',
  authFile: '/etc/redis-auth/password',
  backupDir: '/backup',
  restoreDir: '/restore',
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
  redisProbe: 'redis-probe.sh',
  sentinelProbe: 'sentinel-probe.sh',
} as const;

/** Every prop resolved to a value, plus what derives from them. Plain data. */
export interface Settings {
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
  readonly redisPort: number;
  readonly sentinelPort: number;
  readonly networkPolicy: boolean;
  readonly clientPodLabels: Record<string, string>;
  readonly clientNamespaceLabels?: Record<string, string>;
  readonly dnsPort: number;
  readonly antiAffinity: AntiAffinity;
  readonly zoneSpread: boolean;
  readonly nodeSelector?: Record<string, string>;
  readonly priorityClassName?: string;
  readonly runAsUser: number;
  readonly runAsGroup: number;
  readonly monitoring: boolean;
  readonly exporterImage: string;
  readonly exporterResources: ContainerResources;
  readonly metricsPort: number;
  readonly scrapeIntervalSeconds: number;
  readonly monitoringNamespace: string;
  readonly monitoringLabels: Record<string, string>;
  readonly alertLabels: Record<string, string>;
  readonly prometheusPodLabels: Record<string, string>;
  readonly prometheusNamespaceLabels: Record<string, string>;
  readonly dashboardLabels: Record<string, string>;
  readonly backup: boolean;
  readonly backupSchedule: string;
  readonly backupTimeZone?: string;
  readonly backupRetention: number;
  readonly backupStorageSize: Size;
  readonly backupStorageClassName?: string;
  /** The PVC backups go to: backupExistingClaim, or `<name>-backup` (created by the chart). */
  readonly backupClaimName: string;
  /** False when backupExistingClaim names a claim the chart does not own. */
  readonly createBackupClaim: boolean;
  readonly backupDeadlineSeconds: number;
  /** RedisBackupTooOld fires when the last successful backup is older than this. */
  readonly backupMaxAgeSeconds: number;
  readonly backupResources: ContainerResources;
  readonly restoreFrom?: string;
  readonly restoreClaimName: string;
  /** RDB snapshot points `[seconds, changes]` (the longest interval bounds the RDB-age alert). */
  readonly savePoints: ReadonlyArray<readonly [number, number]>;
  /** FQDN of the bootstrap master pod (`<name>-master-0`). */
  readonly bootstrapMasterFqdn: string;
  /** FQDNs of every Sentinel pod. */
  readonly sentinelFqdns: string[];
  /** Seconds the preStop hook waits for the Sentinels to name another master. */
  readonly failoverWaitSeconds: number;
  /** terminationGracePeriodSeconds of Redis pods: covers the preStop wait plus a clean shutdown. */
  readonly redisGracePeriodSeconds: number;
}

/** Thrown for invalid props; lists every problem found, each with the prop, the value and the fix. */
export class RedisSentinelConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid Redis Sentinel configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'RedisSentinelConfigError';
  }
}

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A DNS-1123 subdomain: at most 253 characters, dot-separated labels of at most 63. */
function isDnsSubdomain(value: string): boolean {
  return value.length <= DNS_SUBDOMAIN_MAX && DNS_1123_SUBDOMAIN.test(value) && value.split('.').every((l) => l.length <= DNS_LABEL_MAX);
}
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const MASTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const REDIS_DIRECTIVE = /^[a-z][a-z0-9-]*$/;
const IANA_ZONE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;
const RESTORE_FILE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** redis.conf directives the chart manages itself; setting them through `redisConfig` would break it. */
const MANAGED_DIRECTIVES = new Set([
  'port', 'bind', 'dir', 'replicaof', 'slaveof', 'requirepass', 'masterauth', 'masteruser', 'replica-announce-ip',
  'replica-announce-port', 'slave-announce-ip', 'slave-announce-port', 'appendonly', 'include', 'daemonize',
  'logfile', 'min-replicas-to-write', 'min-replicas-max-lag', 'maxmemory', 'maxmemory-policy', 'rename-command',
  'aclfile', 'user', 'protected-mode', 'unixsocket', 'pidfile', 'replica-read-only', 'tls-port',
]);

function bytesOf(size: Size): number {
  return size.toKibibytes({ rounding: SizeRoundingBehavior.NONE }) * 1024;
}

/** Parses a Kubernetes CPU quantity ("500m", "2", "0.5") into millicores. */
function millicores(amount: string): number {
  return amount.endsWith('m') ? Number(amount.slice(0, -1)) : Number(amount) * 1000;
}

/** Checks a label map: Kubernetes label key (optional DNS prefix) and value syntax. */
function checkLabels(prop: string, labels: Record<string, string> | undefined, problems: string[]) {
  for (const [key, value] of Object.entries(labels ?? {})) {
    const parts = key.split('/');
    const labelName = parts[parts.length - 1];
    const prefix = parts.length === 2 ? parts[0] : undefined;
    if (parts.length > 2 || labelName.length > DNS_LABEL_MAX || !LABEL_NAME.test(labelName)
      || (prefix !== undefined && !isDnsSubdomain(prefix))) {
      problems.push(`${prop} key '${key}' is not a valid Kubernetes label key: use [prefix/]name, name of at most 63 alphanumerics, '-', '_' or '.'`);
    }
    if (value.length > DNS_LABEL_MAX || !LABEL_VALUE.test(value)) {
      problems.push(`${prop}['${key}'] value '${value}' is not a valid label value: at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric`);
    }
  }
}

// The chart hands one props object to each of its constructs: resolve it once.
const resolved = new WeakMap<RedisSentinelProps, Map<string, Settings>>();

/**
 * Resolves props into settings, applying every default and checking every constraint.
 * Throws RedisSentinelConfigError listing all problems; returns only valid settings.
 * The result is memoized per props object (props are readonly).
 */
export function resolveSettings(props: RedisSentinelProps, defaultName: string): Settings {
  let byName = resolved.get(props);
  if (!byName) {
    byName = new Map();
    resolved.set(props, byName);
  }
  let s = byName.get(defaultName);
  if (!s) {
    s = resolve(props, defaultName);
    byName.set(defaultName, s);
  }
  return s;
}

function resolve(props: RedisSentinelProps, defaultName: string): Settings {
  const problems: string[] = [];
  const need = (ok: boolean, message: string) => {
    if (!ok) problems.push(message);
  };
  const isInt = (n: number) => Number.isInteger(n);

  // --- names -----------------------------------------------------------------------------------
  const name = props.name ?? defaultName;
  need(DNS_1035_LABEL.test(name),
    `name ('${name}') must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter): e.g. 'redis'`);
  const names = resourceNames(name);
  const longest = Math.max(names.master.length, names.replica.length, names.sentinel.length);
  need(longest <= STATEFULSET_NAME_MAX,
    `name ('${name}', ${name.length} characters) makes StatefulSet names of ${longest} characters; Kubernetes allows ${STATEFULSET_NAME_MAX}: use a name of at most ${STATEFULSET_NAME_MAX - (longest - name.length)} characters`);
  const namespace = props.namespace ?? 'redis';
  need(namespace.length <= DNS_LABEL_MAX && DNS_1123_LABEL.test(namespace),
    `namespace ('${namespace}') must be a DNS-1123 label of at most 63 characters: lowercase letters, digits and '-'`);
  const clusterDomain = props.clusterDomain ?? 'cluster.local';
  need(isDnsSubdomain(clusterDomain),
    `clusterDomain ('${clusterDomain}') must be a DNS domain such as 'cluster.local' (lowercase, dot-separated labels of at most 63 characters)`);
  const masterName = props.masterName ?? 'mymaster';
  need(masterName.length <= 128 && MASTER_NAME.test(masterName),
    `masterName ('${masterName}') must be 1-128 letters, digits, '.', '_' or '-' starting with a letter or digit (Sentinel cannot use spaces, commas or quotes): e.g. 'mymaster'`);

  // --- topology --------------------------------------------------------------------------------
  const replicas = props.replicas ?? 2;
  need(isInt(replicas) && replicas >= 0,
    `replicas (${replicas}) must be a whole number >= 0: the replica StatefulSet's size`);
  const sentinels = props.sentinels ?? 3;
  const sentinelsValid = isInt(sentinels) && sentinels >= 1;
  need(sentinelsValid, `sentinels (${sentinels}) must be a whole number >= 1 (3 or more, odd)`);
  if (sentinelsValid && !props.allowUnsafeSentinelCount) {
    need(sentinels >= 3,
      `sentinels (${sentinels}) must be at least 3: fewer Sentinels cannot fail over when one is lost; set allowUnsafeSentinelCount: true to accept that`);
    need(sentinels % 2 === 1,
      `sentinels (${sentinels}) should be odd: ${sentinels} tolerates no more failures than ${sentinels - 1}; use ${sentinels + 1} or ${sentinels - 1}, or set allowUnsafeSentinelCount: true`);
  }
  const quorum = props.quorum ?? (sentinelsValid ? quorumFor(sentinels) : 1);
  if (!isInt(quorum) || quorum < 1 || (sentinelsValid && quorum > sentinels)) {
    problems.push(`quorum (${quorum}) must be a whole number between 1 and the number of sentinels (${sentinels}); the majority is ${sentinelsValid ? quorumFor(sentinels) : '?'}`);
  } else if (sentinelsValid && !isMajority(quorum, sentinels) && !props.allowMinorityQuorum) {
    problems.push(`quorum (${quorum}) is not a majority of ${sentinels} sentinels: a minority could start failovers the majority does not see; use ${quorumFor(sentinels)} or set allowMinorityQuorum: true`);
  }

  // --- timing ----------------------------------------------------------------------------------
  const downAfterMs = (props.downAfter ?? Duration.seconds(5)).toMilliseconds();
  need(isInt(downAfterMs) && downAfterMs > 0,
    `downAfter (${downAfterMs} ms) must be a positive whole number of milliseconds: e.g. Duration.seconds(5)`);
  const failoverTimeoutMs = (props.failoverTimeout ?? Duration.seconds(10)).toMilliseconds();
  need(isInt(failoverTimeoutMs) && failoverTimeoutMs >= downAfterMs,
    `failoverTimeout (${failoverTimeoutMs} ms) must be a whole number of milliseconds >= downAfter (${downAfterMs} ms): e.g. Duration.seconds(${Math.max(10, Math.ceil((downAfterMs * 2) / 1000))})`);
  const parallelSyncs = props.parallelSyncs ?? 1;
  need(isInt(parallelSyncs) && parallelSyncs >= 1,
    `parallelSyncs (${parallelSyncs}) must be a whole number >= 1`);
  // 1 only when a promoted replica still has a replica of its own once the old master is gone:
  // with replicas: 1, min-replicas 1 would refuse every write after any failover.
  const minReplicasToWrite = props.minReplicasToWrite ?? (replicas >= 2 ? 1 : 0);
  need(isInt(minReplicasToWrite) && minReplicasToWrite >= 0,
    `minReplicasToWrite (${minReplicasToWrite}) must be a whole number >= 0 (0 turns it off)`);
  need(!(isInt(replicas) && minReplicasToWrite > replicas),
    `minReplicasToWrite (${minReplicasToWrite}) exceeds replicas (${replicas}): the master could never accept a write; use at most ${replicas}`);
  const lagMs = (props.minReplicasMaxLag ?? Duration.seconds(10)).toMilliseconds();
  need(lagMs >= 1000 && lagMs % 1000 === 0,
    `minReplicasMaxLag (${lagMs} ms) must be a whole number of seconds >= 1: e.g. Duration.seconds(10)`);

  // --- storage ---------------------------------------------------------------------------------
  const storageSize = props.storageSize ?? Size.gibibytes(10);
  const sentinelStorageSize = props.sentinelStorageSize ?? Size.gibibytes(1);
  for (const [prop, size] of [['storageSize', storageSize], ['sentinelStorageSize', sentinelStorageSize]] as const) {
    const bytes = bytesOf(size);
    need(Number.isFinite(bytes) && bytes > 0 && isInt(bytes),
      `${prop} (${size.asString()}) must be a positive size: e.g. Size.gibibytes(10)`);
  }
  const storageClassName = props.storageClassName;
  const sentinelStorageClassName = props.sentinelStorageClassName ?? storageClassName;
  for (const [prop, cls] of [['storageClassName', props.storageClassName], ['sentinelStorageClassName', props.sentinelStorageClassName]] as const) {
    need(cls === undefined || isDnsSubdomain(cls),
      `${prop} ('${cls}') must be a StorageClass name (DNS-1123 subdomain), or left unset for the default class`);
  }

  // --- images and resources --------------------------------------------------------------------
  const image = props.image ?? DEFAULT_IMAGE;
  const sentinelImage = props.sentinelImage ?? image;
  const exporterImage = props.exporterImage ?? DEFAULT_EXPORTER_IMAGE;
  for (const [prop, img] of [['image', image], ['sentinelImage', sentinelImage], ['exporterImage', exporterImage]] as const) {
    const lastSegment = img.split('/').pop() ?? '';
    const pinned = img.includes('@sha256:') || (lastSegment.includes(':') && !lastSegment.endsWith(':latest'));
    need(pinned && !/\s/.test(img),
      `${prop} ('${img}') must be pinned to a tag or digest other than latest: e.g. '${DEFAULT_IMAGE}'`);
  }
  const imagePullSecrets = props.imagePullSecrets ?? [];
  for (const secret of imagePullSecrets) {
    need(isDnsSubdomain(secret), `imagePullSecrets entry '${secret}' must be a Secret name (DNS-1123 subdomain)`);
  }

  const redisResources: ContainerResources = props.redisResources ?? {
    cpu: { request: Cpu.millis(250) },
    memory: { request: Size.mebibytes(512), limit: Size.gibibytes(1) },
  };
  const sentinelResources: ContainerResources = props.sentinelResources ?? {
    cpu: { request: Cpu.millis(50) },
    memory: { request: Size.mebibytes(64), limit: Size.mebibytes(128) },
  };
  const exporterResources: ContainerResources = props.exporterResources ?? {
    cpu: { request: Cpu.millis(10) },
    memory: { request: Size.mebibytes(32), limit: Size.mebibytes(64) },
  };
  for (const [prop, res] of [['redisResources', redisResources], ['sentinelResources', sentinelResources], ['exporterResources', exporterResources],
    ['backupResources', props.backupResources ?? {}]] as const) {
    const memReq = res.memory?.request; const memLim = res.memory?.limit;
    if (memReq && memLim) {
      need(bytesOf(memReq) <= bytesOf(memLim),
        `${prop}.memory.request (${memReq.asString()}) exceeds its limit (${memLim.asString()}): the API server rejects that`);
    }
    const cpuReq = res.cpu?.request; const cpuLim = res.cpu?.limit;
    if (cpuReq && cpuLim) {
      need(millicores(cpuReq.amount) <= millicores(cpuLim.amount),
        `${prop}.cpu.request (${cpuReq.amount}) exceeds its limit (${cpuLim.amount}): the API server rejects that`);
    }
  }
  const memoryLimit = redisResources.memory?.limit;
  let maxmemoryBytes: number | undefined;
  if (props.maxmemory) {
    maxmemoryBytes = bytesOf(props.maxmemory);
    need(isInt(maxmemoryBytes) && maxmemoryBytes > 0, `maxmemory (${props.maxmemory.asString()}) must be a positive size`);
    if (memoryLimit) {
      need(maxmemoryBytes <= bytesOf(memoryLimit),
        `maxmemory (${props.maxmemory.asString()}) exceeds the Redis memory limit (${memoryLimit.asString()}): the pod would be OOM-killed before Redis evicts; lower maxmemory to ~70% of the limit or raise redisResources.memory.limit`);
    }
  } else if (memoryLimit) {
    maxmemoryBytes = Math.floor(bytesOf(memoryLimit) * 0.7);
  }
  const maxmemoryPolicy = props.maxmemoryPolicy ?? MaxmemoryPolicy.NOEVICTION;
  need(Object.values(MaxmemoryPolicy).includes(maxmemoryPolicy),
    `maxmemoryPolicy ('${maxmemoryPolicy}') must be one of ${Object.values(MaxmemoryPolicy).join(', ')}`);

  const redisConfig: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(props.redisConfig ?? {})) {
    if (!REDIS_DIRECTIVE.test(key)) {
      problems.push(`redisConfig key '${key}' is not a redis.conf directive name (lowercase letters, digits, '-')`);
    } else if (MANAGED_DIRECTIVES.has(key)) {
      problems.push(`redisConfig['${key}'] is managed by the chart and cannot be overridden: use the chart's own prop for it`);
    } else if (/[\r\n]/.test(value) || value.trim() === '') {
      problems.push(`redisConfig['${key}'] ('${value}') must be a non-empty single-line value`);
    } else {
      redisConfig.push([key, value]);
    }
  }

  // --- auth ------------------------------------------------------------------------------------
  const auth = props.auth ?? true;
  if (!auth) {
    for (const [prop, value] of [['authSecretName', props.authSecretName], ['authSecretKey', props.authSecretKey]] as const) {
      need(value === undefined, `${prop} ('${value}') is set but auth is false: remove ${prop}, or set auth: true`);
    }
  }
  const authSecretName = props.authSecretName ?? names.defaultAuthSecret;
  need(isDnsSubdomain(authSecretName),
    `authSecretName ('${authSecretName}') must be a Secret name (DNS-1123 subdomain: lowercase letters, digits, '-', '.')`);
  const authSecretKey = props.authSecretKey ?? 'password';
  need(authSecretKey.length <= DNS_SUBDOMAIN_MAX && SECRET_KEY.test(authSecretKey),
    `authSecretKey ('${authSecretKey}') must be a Secret key: letters, digits, '-', '_' or '.'`);

  // --- ports -----------------------------------------------------------------------------------
  const redisPort = props.redisPort ?? 6379;
  const sentinelPort = props.sentinelPort ?? 26379;
  const dnsPort = props.dnsPort ?? 53;
  const metricsPort = props.metricsPort ?? 9121;
  for (const [prop, port] of [['redisPort', redisPort], ['sentinelPort', sentinelPort], ['dnsPort', dnsPort], ['metricsPort', metricsPort]] as const) {
    need(isInt(port) && port >= 1 && port <= 65535, `${prop} (${port}) must be a port number between 1 and 65535`);
  }
  need(redisPort !== sentinelPort,
    `redisPort and sentinelPort are both ${redisPort}: Redis and Sentinel need distinct ports, e.g. 6379 and 26379`);
  const monitoring = props.monitoring ?? true;
  // RedisSentinelFailover reads redis_sentinel_master_config_epoch, which redis_exporter has since
  // v1.80.2: an older pinned exporter would leave that alert silent for good.
  const exporterTag = /:v?(\d+)\.(\d+)\.(\d+)(?:@sha256:[0-9a-f]+)?$/.exec(exporterImage);
  if (monitoring && exporterTag) {
    const [major, minor, patch] = exporterTag.slice(1).map(Number);
    need(major > 1 || (major === 1 && (minor > 80 || (minor === 80 && patch >= 2))),
      `exporterImage ('${exporterImage}') is older than redis_exporter v1.80.2, which added redis_sentinel_master_config_epoch: the RedisSentinelFailover alert could never fire; use '${DEFAULT_EXPORTER_IMAGE}' or newer`);
  }
  if (monitoring) {
    for (const [prop, port] of [['redisPort', redisPort], ['sentinelPort', sentinelPort]] as const) {
      need(metricsPort !== port, `metricsPort and ${prop} are both ${port}: the exporter sidecar shares the pod's network, use another port, e.g. 9121`);
    }
  }
  const scrapeMs = (props.scrapeInterval ?? Duration.seconds(15)).toMilliseconds();
  need(scrapeMs >= 1000 && scrapeMs % 1000 === 0, `scrapeInterval (${scrapeMs} ms) must be a whole number of seconds >= 1: e.g. Duration.seconds(15)`);
  const monitoringNamespace = props.monitoringNamespace ?? namespace;
  need(monitoringNamespace.length <= DNS_LABEL_MAX && DNS_1123_LABEL.test(monitoringNamespace),
    `monitoringNamespace ('${monitoringNamespace}') must be a DNS-1123 label of at most 63 characters`);
  const prometheusPodLabels = props.prometheusPodLabels ?? { 'app.kubernetes.io/name': 'prometheus' };
  need(Object.keys(prometheusPodLabels).length > 0,
    `prometheusPodLabels is empty: that would let every pod reach the metrics ports; e.g. { 'app.kubernetes.io/name': 'prometheus' }`);
  const dashboardLabels = props.dashboardLabels ?? { grafana_dashboard: '1' };
  for (const [prop, labels] of [['monitoringLabels', props.monitoringLabels], ['alertLabels', props.alertLabels],
    ['prometheusPodLabels', prometheusPodLabels], ['prometheusNamespaceLabels', props.prometheusNamespaceLabels], ['dashboardLabels', dashboardLabels]] as const) {
    checkLabels(prop, labels, problems);
  }

  // --- backup and restore ----------------------------------------------------------------------
  const backup = props.backup ?? false;
  if (!backup) {
    for (const [prop, value] of [['backupSchedule', props.backupSchedule], ['backupTimeZone', props.backupTimeZone],
      ['backupRetention', props.backupRetention], ['backupStorageSize', props.backupStorageSize],
      ['backupStorageClassName', props.backupStorageClassName], ['backupExistingClaim', props.backupExistingClaim],
      ['backupDeadline', props.backupDeadline], ['backupMaxAge', props.backupMaxAge], ['backupResources', props.backupResources]] as const) {
      need(value === undefined, `${prop} is set but backup is false: set backup: true, or remove ${prop}`);
    }
  }
  const backupSchedule = props.backupSchedule ?? '0 2 * * *';
  let gapMinutes = 24 * 60;
  try {
    gapMinutes = longestGapMinutes(parseCronSchedule(backupSchedule))!;
  } catch (e) {
    if (!(e instanceof CronScheduleError)) throw e;
    problems.push(`backupSchedule ('${backupSchedule}') is not a valid CronJob schedule: ${e.message}`);
  }
  const backupTimeZone = props.backupTimeZone;
  need(backupTimeZone === undefined || (backupTimeZone.length <= 64 && IANA_ZONE.test(backupTimeZone)),
    `backupTimeZone ('${backupTimeZone}') must be an IANA time zone name such as 'UTC' or 'Europe/Berlin'`);
  const backupRetention = props.backupRetention ?? 7;
  need(isInt(backupRetention) && backupRetention >= 1 && backupRetention <= 1000,
    `backupRetention (${backupRetention}) must be a whole number of backups to keep, between 1 and 1000`);
  const backupStorageSize = props.backupStorageSize ?? storageSize;
  const backupBytes = bytesOf(backupStorageSize);
  need(Number.isFinite(backupBytes) && backupBytes > 0 && isInt(backupBytes),
    `backupStorageSize (${backupStorageSize.asString()}) must be a positive size: e.g. Size.gibibytes(20)`);
  const backupStorageClassName = props.backupStorageClassName ?? storageClassName;
  need(props.backupStorageClassName === undefined || isDnsSubdomain(props.backupStorageClassName),
    `backupStorageClassName ('${props.backupStorageClassName}') must be a StorageClass name (DNS-1123 subdomain), or left unset`);
  for (const [prop, claim] of [['backupExistingClaim', props.backupExistingClaim], ['restoreClaimName', props.restoreClaimName]] as const) {
    need(claim === undefined || isDnsSubdomain(claim),
      `${prop} ('${claim}') must be a PersistentVolumeClaim name (DNS-1123 subdomain: lowercase letters, digits, '-', '.')`);
  }
  if (props.backupExistingClaim !== undefined) {
    for (const [prop, value] of [['backupStorageSize', props.backupStorageSize], ['backupStorageClassName', props.backupStorageClassName]] as const) {
      need(value === undefined, `${prop} is set but backupExistingClaim ('${props.backupExistingClaim}') names a claim the chart does not create: remove ${prop}`);
    }
  }
  const backupDeadlineMs = (props.backupDeadline ?? Duration.hours(1)).toMilliseconds();
  need(isInt(backupDeadlineMs) && backupDeadlineMs >= 60_000 && backupDeadlineMs % 1000 === 0,
    `backupDeadline (${backupDeadlineMs} ms) must be a whole number of seconds >= 60: e.g. Duration.hours(1)`);
  const backupMaxAgeMs = props.backupMaxAge?.toMilliseconds() ?? gapMinutes * 60_000 + backupDeadlineMs;
  need(isInt(backupMaxAgeMs) && backupMaxAgeMs > 0 && backupMaxAgeMs % 1000 === 0,
    `backupMaxAge (${backupMaxAgeMs} ms) must be a positive whole number of seconds: e.g. Duration.hours(25)`);
  if (props.backupMaxAge !== undefined && backupMaxAgeMs < gapMinutes * 60_000) {
    problems.push(`backupMaxAge (${backupMaxAgeMs / 1000} s) is shorter than the ${gapMinutes * 60} s between two runs of backupSchedule ('${backupSchedule}'): the alert would fire between healthy runs; use at least ${gapMinutes * 60 + backupDeadlineMs / 1000} s`);
  }
  const backupResources: ContainerResources = props.backupResources ?? {
    cpu: { request: Cpu.millis(50) },
    memory: { request: Size.mebibytes(64), limit: Size.mebibytes(256) },
  };
  const restoreFrom = props.restoreFrom;
  need(restoreFrom === undefined || (restoreFrom.length <= 255 && RESTORE_FILE.test(restoreFrom)),
    `restoreFrom ('${restoreFrom}') must be a file name in the backup volume (letters, digits, '.', '_', '-'; no '/'), e.g. '${name}-20260101T020000Z.rdb', or 'latest'`);
  const backupClaimName = props.backupExistingClaim ?? names.backupClaim;

  // --- network and scheduling ------------------------------------------------------------------
  const clientPodLabels = props.clientPodLabels ?? { [`${name}-client`]: 'true' };
  need(Object.keys(clientPodLabels).length > 0,
    `clientPodLabels is empty: that would let every pod reach Redis; give at least one label, e.g. { '${name}-client': 'true' }`);
  checkLabels('clientPodLabels', clientPodLabels, problems);
  checkLabels('clientNamespaceLabels', props.clientNamespaceLabels, problems);
  checkLabels('nodeSelector', props.nodeSelector, problems);
  need(props.priorityClassName === undefined || isDnsSubdomain(props.priorityClassName),
    `priorityClassName ('${props.priorityClassName}') must be a PriorityClass name (DNS-1123 subdomain)`);
  const runAsUser = props.runAsUser ?? 999;
  const runAsGroup = props.runAsGroup ?? 1000;
  need(isInt(runAsUser) && runAsUser > 0,
    `runAsUser (${runAsUser}) must be a non-zero UID: Pod Security "restricted" forbids root; the redis image's user is 999`);
  need(isInt(runAsGroup) && runAsGroup > 0, `runAsGroup (${runAsGroup}) must be a non-zero GID: the alpine redis image's group is 1000`);

  // --- derived DNS names -----------------------------------------------------------------------
  const bootstrapMasterFqdn = podFqdn(names.master, 0, names.masterHeadless, namespace, clusterDomain);
  const sentinelFqdns = sentinelsValid ? podFqdns(names.sentinel, sentinels, names.sentinelHeadless, namespace, clusterDomain) : [];
  // The last pod of each StatefulSet has the longest name of its set.
  const longestFqdn = [
    podFqdn(names.master, 0, names.masterHeadless, namespace, clusterDomain),
    podFqdn(names.replica, Math.max(replicas, 1) - 1, names.replicaHeadless, namespace, clusterDomain),
    podFqdn(names.sentinel, Math.max(sentinels, 1) - 1, names.sentinelHeadless, namespace, clusterDomain),
  ].reduce((a, b) => (b.length > a.length ? b : a));
  need(longestFqdn.length <= DNS_SUBDOMAIN_MAX,
    `pod DNS names reach ${longestFqdn.length} characters ('${longestFqdn}'), over the 253 DNS allows: shorten name, namespace or clusterDomain`);
  for (const svc of [names.masterHeadless, names.replicaHeadless, names.sentinelHeadless, names.readService, names.redisMetrics, names.sentinelMetrics]) {
    need(svc.length <= DNS_LABEL_MAX,
      `name ('${name}') makes the Service name '${svc}' (${svc.length} characters), over the 63 Kubernetes allows: shorten name`);
  }

  if (problems.length > 0) throw new RedisSentinelConfigError(problems);

  const failoverWaitSeconds = Math.ceil(failoverTimeoutMs / 1000) + Math.ceil(downAfterMs / 1000) + 5;
  // preStop worst case: asking each Sentinel for the failover and for the master may each time out,
  // on top of the wait; then Redis saves and exits.
  const preStopWorstCase = failoverWaitSeconds + 2 * sentinels * CLI_TIMEOUT_SECONDS;
  return {
    name, names, namespace, createNamespace: props.createNamespace ?? true, masterName, clusterDomain,
    replicas, sentinels, quorum, downAfterMs, failoverTimeoutMs, parallelSyncs,
    minReplicasToWrite, minReplicasMaxLagSeconds: lagMs / 1000,
    storageSize, storageClassName, sentinelStorageSize, sentinelStorageClassName,
    image, sentinelImage, imagePullPolicy: props.imagePullPolicy ?? ImagePullPolicy.IF_NOT_PRESENT, imagePullSecrets,
    redisResources, sentinelResources, maxmemoryBytes, maxmemoryPolicy, redisConfig,
    auth, authSecretName, authSecretKey, redisPort, sentinelPort,
    networkPolicy: props.networkPolicy ?? true, clientPodLabels, clientNamespaceLabels: props.clientNamespaceLabels, dnsPort,
    antiAffinity: props.antiAffinity ?? AntiAffinity.REQUIRED, zoneSpread: props.zoneSpread ?? true,
    nodeSelector: props.nodeSelector, priorityClassName: props.priorityClassName, runAsUser, runAsGroup,
    monitoring, exporterImage, exporterResources, metricsPort, scrapeIntervalSeconds: scrapeMs / 1000, monitoringNamespace,
    monitoringLabels: props.monitoringLabels ?? {}, alertLabels: props.alertLabels ?? {}, prometheusPodLabels,
    prometheusNamespaceLabels: props.prometheusNamespaceLabels ?? {}, dashboardLabels, savePoints: SAVE_POINTS,
    backup, backupSchedule, backupTimeZone, backupRetention, backupStorageSize, backupStorageClassName, backupClaimName,
    createBackupClaim: props.backupExistingClaim === undefined, backupDeadlineSeconds: backupDeadlineMs / 1000,
    backupMaxAgeSeconds: backupMaxAgeMs / 1000, backupResources, restoreFrom,
    restoreClaimName: props.restoreClaimName ?? backupClaimName,
    bootstrapMasterFqdn, sentinelFqdns, failoverWaitSeconds,
    redisGracePeriodSeconds: preStopWorstCase + 15,
  };
}
