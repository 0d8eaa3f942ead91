import { Cron, Duration, Size } from 'cdk8s';
import { ContainerResources, Cpu, PersistentVolumeAccessMode, k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { CronScheduleError, longestGapMinutes, parseCronSchedule } from './config/cron';
import { componentSelector, objectLabels } from './names';
import { BACKUP_LABEL, OwnPod, PodOptions, checkPodKinds, checkPodOptions, mergePodOptions, mergeSpread } from './pod-options';
import {
  authMount, authVolume, claimTemplate, commonPodSpec, containerSecurityContext, dnsEgress, emptyDir, podMetadata, resourceRequirements, tcpPort,
} from './pod';
import { applyCommonMetadata, deploymentOf } from './part';
import type { RedisSentinel } from './redis-sentinel';
import { DeploymentSettings, PATHS, REDIS_POD, SCRIPT, SENTINEL_POD, checkAccessModes } from './settings';
import { backupContainerEnv } from './shared-config';
import { Problems, checkObjectName, checkPositiveSize, checkResources, isInt } from './validation';

/** Options of scheduled backups ({@link RedisSentinelProps.backup}, {@link RedisBackup}). */
export interface BackupOptions {
  /**
   * When backups run (checked at synth time: 5 fields or `@daily`-style; no `TZ=`, see `timeZone`).
   * @default Cron.schedule({ minute: '0', hour: '2' }) - 02:00 every day
   * @see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax
   */
  readonly schedule?: Cron;

  /**
   * Time zone of `schedule` (an IANA name such as 'Europe/Berlin'; CronJob `timeZone`).
   * @default - the kube-controller-manager's time zone (usually UTC)
   */
  readonly timeZone?: string;

  /**
   * How many backups to keep; the oldest beyond that are deleted after each successful backup.
   * @default 7
   */
  readonly retention?: number;

  /**
   * Size of the backup PersistentVolumeClaim: room for `retention` + 1 snapshots (an RDB file is
   * usually smaller than the memory Redis uses).
   * @default - the deployment's storageSize
   */
  readonly storageSize?: Size;

  /**
   * StorageClass of the backup PersistentVolumeClaim.
   * @default - the deployment's storageClassName
   */
  readonly storageClassName?: string;

  /**
   * Use this existing PersistentVolumeClaim instead of creating `<name>-backup` (e.g. one whose
   * volume outlives the deployment: `kubectl delete -f dist/` deletes the library's own claim).
   * @default - `<name>-backup` is created
   */
  readonly existingClaim?: string;

  /**
   * How long one backup may run before Kubernetes stops it (Job `activeDeadlineSeconds`).
   * @default Duration.hours(1)
   */
  readonly deadline?: Duration;

  /**
   * With monitoring, alert (RedisBackupTooOld) when the last successful backup is older than this.
   * @default - the longest interval between two scheduled runs plus `deadline`
   */
  readonly maxAge?: Duration;

  /**
   * Resources of the backup container.
   * @default - requests 50m CPU / 64Mi memory, limit 256Mi memory
   */
  readonly resources?: ContainerResources;

  /**
   * Access modes of the backup PersistentVolumeClaim (ReadWriteMany lets backup Jobs run on any node
   * while a restore mounts the claim).
   * @default - the deployment's storageAccessModes
   */
  readonly storageAccessModes?: PersistentVolumeAccessMode[];

  /**
   * Pod options of the backup Job pods, merged over the deployment-level ones (see
   * {@link PodOptions}); `extraContainers` are refused, and the deployment-level ones skipped: a Job
   * pod ends only when every container exits.
   * @default - the deployment-level pod options but extraContainers
   */
  readonly pod?: PodOptions;
}

/**
 * Restore a backup when the deployment starts for the first time: the bootstrap master's init
 * container loads the file when its data volume is empty and no Sentinel names another master;
 * replicas then copy it. Later starts never restore again (a marker file stays on the data volume).
 */
export interface RestoreOptions {
  /** A file name in the backup volume (`<name>-<UTC time>.rdb`), or 'latest' for the newest backup. */
  readonly file: string;

  /**
   * PersistentVolumeClaim holding the file.
   * @default - the deployment's backup claim (`backup.existingClaim`, or `<name>-backup`)
   */
  readonly claimName?: string;
}

/** Props of {@link RedisBackup}. */
export interface RedisBackupProps extends BackupOptions {
  /** The deployment to back up (in any Chart; the backup objects go to its namespace). */
  readonly deployment: RedisSentinel;
}

/** BackupOptions resolved to values. */
export interface ResolvedBackup {
  readonly schedule: string;
  readonly timeZone?: string;
  readonly retention: number;
  readonly storageSize: Size;
  readonly storageClassName?: string;
  /** The PVC backups go to: existingClaim, or `<name>-backup` (created). */
  readonly claimName: string;
  readonly createClaim: boolean;
  readonly deadlineSeconds: number;
  /** RedisBackupTooOld fires when the last successful backup is older than this. */
  readonly maxAgeSeconds: number;
  readonly resources: ContainerResources;
  readonly storageAccessModes: string[];
  /** The backup pods' options: `pod` merged over the deployment-level ones (without their extraContainers). */
  readonly pod: PodOptions;
}

/** The backup pods' own volumes and the mount paths of their container. */
const BACKUP_POD: OwnPod = {
  label: BACKUP_LABEL,
  volumes: ['backup', 'scripts', 'tmp', 'auth'],
  mountPaths: [PATHS.backupDir, PATHS.scriptsDir, PATHS.tmp, PATHS.authDir],
};

const IANA_ZONE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;
const RESTORE_FILE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** The default schedule: 02:00 every day. */
export const DEFAULT_BACKUP_SCHEDULE = '0 2 * * *';

/** Checks and resolves backup options; `prop` prefixes every message (e.g. 'backup.'). */
export function resolveBackupOptions(p: Problems, o: BackupOptions, s: DeploymentSettings, prop: string): ResolvedBackup {
  const schedule = o.schedule?.expressionString ?? DEFAULT_BACKUP_SCHEDULE;
  let gapMinutes = 24 * 60;
  let scheduleOk = true;
  try {
    gapMinutes = longestGapMinutes(parseCronSchedule(schedule))!;
  } catch (e) {
    if (!(e instanceof CronScheduleError)) throw e;
    scheduleOk = false;
    p.add(`${prop}schedule ('${schedule}') is not a valid CronJob schedule: ${e.message}`);
  }
  p.check(o.timeZone === undefined || (o.timeZone.length <= 64 && IANA_ZONE.test(o.timeZone)),
    `${prop}timeZone ('${o.timeZone}') must be an IANA time zone name such as 'UTC' or 'Europe/Berlin'`);
  const retention = o.retention ?? 7;
  p.check(isInt(retention) && retention >= 1 && retention <= 1000,
    `${prop}retention (${retention}) must be a whole number of backups to keep, between 1 and 1000`);
  const storageSize = o.storageSize ?? s.storageSize;
  // The default is the deployment's storageSize, checked (and reported) on its own.
  if (o.storageSize) checkPositiveSize(p, `${prop}storageSize`, storageSize, 'Size.gibibytes(20)');
  checkObjectName(p, `${prop}storageClassName`, o.storageClassName, 'StorageClass');
  checkObjectName(p, `${prop}existingClaim`, o.existingClaim, 'PersistentVolumeClaim');
  if (o.existingClaim !== undefined) {
    for (const [key, value] of [['storageSize', o.storageSize], ['storageClassName', o.storageClassName], ['storageAccessModes', o.storageAccessModes]] as const) {
      p.check(value === undefined,
        `${prop}${key} is set but ${prop}existingClaim ('${o.existingClaim}') names a claim the library does not create: remove ${prop}${key}`);
    }
  }
  const deadlineMs = (o.deadline ?? Duration.hours(1)).toMilliseconds();
  const deadlineOk = p.check(isInt(deadlineMs) && deadlineMs >= 60_000 && deadlineMs % 1000 === 0,
    `${prop}deadline (${deadlineMs} ms) must be a whole number of seconds >= 60: e.g. Duration.hours(1)`);
  const maxAgeMs = o.maxAge?.toMilliseconds() ?? gapMinutes * 60_000 + deadlineMs;
  if (p.check(isInt(maxAgeMs) && maxAgeMs > 0 && maxAgeMs % 1000 === 0,
    `${prop}maxAge (${maxAgeMs} ms) must be a positive whole number of seconds: e.g. Duration.hours(25)`) && o.maxAge !== undefined && deadlineOk && scheduleOk) {
    p.check(maxAgeMs >= gapMinutes * 60_000,
      `${prop}maxAge (${maxAgeMs / 1000} s) is shorter than the ${gapMinutes * 60} s between two runs of ${prop}schedule ('${schedule}'): the alert would fire between healthy runs; use at least ${gapMinutes * 60 + deadlineMs / 1000} s`);
  }
  const resources: ContainerResources = o.resources ?? {
    cpu: { request: Cpu.millis(50) },
    memory: { request: Size.mebibytes(64), limit: Size.mebibytes(256) },
  };
  checkResources(p, `${prop}resources`, resources);
  const storageAccessModes: string[] = o.storageAccessModes ?? s.storageAccessModes;
  if (o.storageAccessModes) checkAccessModes(p, `${prop}storageAccessModes`, o.storageAccessModes);
  const pod = resolveBackupPod(p, o.pod, s, `${prop}pod.`);
  return {
    schedule, timeZone: o.timeZone, retention, storageSize, storageClassName: o.storageClassName ?? s.storageClassName,
    claimName: o.existingClaim ?? s.names.backupClaim, createClaim: o.existingClaim === undefined,
    deadlineSeconds: deadlineMs / 1000, maxAgeSeconds: maxAgeMs / 1000, resources, storageAccessModes, pod,
  };
}

/** Checks the backup pods' options and merges them over the deployment-level ones (whose own problems the deployment reported). */
function resolveBackupPod(p: Problems, o: PodOptions | undefined, s: DeploymentSettings, prop: string): PodOptions {
  // extraContainers are refused as a whole (one message), not checked one by one.
  checkPodOptions(p, prop, o && { ...o, extraContainers: undefined });
  p.check(!o?.extraContainers?.length,
    `${prop}extraContainers (${(o?.extraContainers ?? []).map((c) => c.name).join(', ')}) are not run in backup Job pods: a Job pod ends only when every container exits, so a sidecar would hold each backup until its deadline; use ${prop}extraInitContainers`);
  const has = (own: readonly string[], pod: PodOptions, name: string) => own.includes(name) || (pod.extraVolumes ?? []).some((v) => v.name === name);
  checkPodKinds(p, { ...s.podDefaults, extraContainers: undefined }, [{ own: BACKUP_POD, prefix: prop, options: o }],
    // The deployment already reported deployment-level mounts that break its Redis or Sentinel pods: one message per mistake.
    (m) => ({
      volume: !has(REDIS_POD.volumes, s.redisPod, m.name) || !has(SENTINEL_POD.volumes, s.sentinelPod, m.name),
      path: [...REDIS_POD.mountPaths, ...SENTINEL_POD.mountPaths].includes(m.mountPath),
    }));
  return mergePodOptions(s.podDefaults, o, false);
}

/** Checks restore options; returns the file and the claim it is read from. */
export function resolveRestoreOptions(p: Problems, o: RestoreOptions, s: DeploymentSettings, backupClaim: string | undefined) {
  p.check(o.file.length <= 255 && RESTORE_FILE.test(o.file),
    `restore.file ('${o.file}') must be a file name in the backup volume (letters, digits, '.', '_', '-'; no '/'), e.g. '${s.name}-20260101T020000Z.rdb', or 'latest'`);
  checkObjectName(p, 'restore.claimName', o.claimName, 'PersistentVolumeClaim');
  return { file: o.file, claimName: o.claimName ?? backupClaim ?? s.names.backupClaim };
}

/**
 * Scheduled backups of a {@link RedisSentinel}: a CronJob whose pod asks the Sentinels for a healthy
 * replica, streams an RDB snapshot from it with `redis-cli --rdb`, checks it with `redis-check-rdb`
 * and stores it as `<name>-<UTC time>.rdb` on a PersistentVolumeClaim, keeping the newest
 * `retention`. Every failure exits non-zero (the Job fails; with monitoring, RedisBackupTooOld fires
 * later). With the deployment's NetworkPolicies on, it adds its own (Sentinel, Redis and DNS only;
 * nothing reaches the backup pods) and the deployment's policies admit its pods.
 * Works in any Chart: its objects go to the deployment's namespace.
 */
export class RedisBackup extends Construct {
  /** The CronJob (the construct's `Resource` child). */
  public readonly cronJob: k8s.KubeCronJob;
  /** The backup volume's claim, unless `existingClaim` names one the library does not own. */
  public readonly claim?: k8s.KubePersistentVolumeClaim;
  /** The backup pods' NetworkPolicy, when the deployment has NetworkPolicies. */
  public readonly networkPolicy?: k8s.KubeNetworkPolicy;
  /** The name of the claim backups are written to. */
  public readonly claimName: string;
  /** The deployment backed up. */
  public readonly deployment: RedisSentinel;
  /** @internal */
  public readonly _resolved: ResolvedBackup;

  constructor(scope: Construct, id: string, props: RedisBackupProps) {
    super(scope, id);
    this.deployment = deploymentOf(this, 'RedisBackup', props?.deployment, 'the RedisSentinel to back up');
    const s = this.deployment._settings;
    const p = new Problems();
    const b = resolveBackupOptions(p, props, s, '');
    p.throwIfAny(this.node.path);
    this._resolved = b;
    this.claimName = b.claimName;
    this.deployment._attachBackup(this);
    const labels = objectLabels(s.name, 'backup');

    if (b.createClaim) {
      const claim = claimTemplate(s.names.backupClaim, b.storageSize, b.storageClassName, labels, b.storageAccessModes);
      this.claim = new k8s.KubePersistentVolumeClaim(this, 'Claim', { ...claim, metadata: { ...claim.metadata, namespace: s.namespace } });
    }

    const container: k8s.Container = {
      name: 'backup',
      image: s.image,
      imagePullPolicy: s.imagePullPolicy,
      command: ['sh', `${PATHS.scriptsDir}/${SCRIPT.backup}`],
      env: backupContainerEnv(s, b),
      resources: resourceRequirements(b.resources),
      securityContext: containerSecurityContext(s),
      volumeMounts: [
        { name: 'backup', mountPath: PATHS.backupDir },
        { name: 'scripts', mountPath: PATHS.scriptsDir, readOnly: true },
        { name: 'tmp', mountPath: PATHS.tmp },
        ...authMount(s),
        ...b.pod.extraVolumeMounts ?? [],
      ],
    };

    this.cronJob = new k8s.KubeCronJob(this, 'Resource', {
      metadata: { name: s.names.backup, namespace: s.namespace, labels },
      spec: {
        schedule: b.schedule,
        ...(b.timeZone ? { timeZone: b.timeZone } : {}),
        // Never two at once: both would stream a snapshot and race on retention.
        concurrencyPolicy: 'Forbid',
        // A run that could not start within 10 minutes of its time is skipped, not piled up.
        startingDeadlineSeconds: 600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels: { ...s.commonLabels, ...labels } },
          spec: {
            activeDeadlineSeconds: b.deadlineSeconds,
            // Each retry is a new pod with its own log; the script cleans up after itself.
            backoffLimit: 2,
            template: {
              metadata: podMetadata(s, b.pod, labels),
              spec: {
                ...commonPodSpec(s, b.pod),
                restartPolicy: 'Never',
                terminationGracePeriodSeconds: 30,
                ...(b.pod.affinity && Object.keys(b.pod.affinity).length ? { affinity: b.pod.affinity } : {}),
                ...(b.pod.topologySpreadConstraints?.length
                  ? { topologySpreadConstraints: mergeSpread([], b.pod.topologySpreadConstraints, componentSelector(s.name, 'backup')) } : {}),
                ...(b.pod.extraInitContainers?.length ? { initContainers: b.pod.extraInitContainers } : {}),
                containers: [container],
                volumes: [
                  { name: 'backup', persistentVolumeClaim: { claimName: b.claimName } },
                  { name: 'scripts', configMap: { name: s.names.scripts } },
                  emptyDir('tmp', Size.mebibytes(16)),
                  ...authVolume(s),
                  ...b.pod.extraVolumes ?? [],
                ],
              },
            },
          },
        },
      },
    });

    if (s.networkPolicy) {
      this.networkPolicy = new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
        metadata: { name: s.names.backupNetworkPolicy, namespace: s.namespace, labels },
        spec: {
          podSelector: { matchLabels: componentSelector(s.name, 'backup') },
          // Nothing may connect to a backup pod.
          policyTypes: ['Ingress', 'Egress'],
          ingress: [],
          egress: [
            { to: [{ podSelector: { matchLabels: componentSelector(s.name, 'sentinel') } }], ports: [tcpPort(s.sentinelPort)] },
            { to: [{ podSelector: { matchLabels: componentSelector(s.name, 'redis') } }], ports: [tcpPort(s.redisPort)] },
            dnsEgress(s.dnsPort),
          ],
        },
      });
    }
    applyCommonMetadata(this, s);
  }
}
