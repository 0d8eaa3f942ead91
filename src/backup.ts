import { internalPasswordVolume } from './acl';
import { Cron, Duration, Size } from 'cdk8s';
import type { ContainerResources, PersistentVolumeAccessMode } from 'cdk8s-plus-27';
import * as k8s from './k8s';
import { Construct } from 'constructs';
import { CronScheduleError, longestGapMinutes, parseCronSchedule } from './config/cron';
import { componentSelector, objectLabels, statefulSetSelector } from './names';
import { BACKUP_LABEL, OwnPod, PodOptions, checkPodKinds, checkPodOptions, mergePodOptions, mergeSpread } from './pod-options';
import {
  authMount, authVolume, tlsMount, tlsVolume, claimTemplate, commonPodSpec, containerSecurityContext, dnsEgress, emptyDir, podMetadata, resourceRequirements, tcpPort,
} from './pod';
import { applyCommonMetadata, deploymentOf } from './part';
import type { RedisSentinel } from './redis-sentinel';
import { DeploymentSettings, PATHS, REDIS_POD, SCRIPT, SENTINEL_POD, checkAccessModes } from './settings';
import { backupContainerEnv, s3ContainerEnv } from './shared-config';
import { s3UploadEnv } from './config/scripts';
import { TLS_DIR } from './tls';
import { Problems, checkImage, checkObjectName, checkPositiveSize, checkResources, cpuMillis, isInt } from './validation';

/** Server-side encryption of the objects written to S3 ({@link S3Options.serverSideEncryption}). */
export enum S3ServerSideEncryption {
  /** SSE-S3: keys managed by the object store. */
  AES256 = 'AES256',
  /** SSE-KMS: keys in AWS KMS (`kmsKeyId`, or the bucket's default KMS key). */
  AWS_KMS = 'aws:kms',
}

/**
 * An S3-compatible object store (AWS S3, MinIO, Cloudflare R2, GCS through its S3 interoperability
 * API) for {@link BackupOptions.s3} (upload every verified snapshot) and {@link RestoreOptions.s3}
 * (restore from it). The chart's pods reach it with rclone (`image`).
 */
export interface S3Options {
  /** Bucket name (it must exist: the chart never creates one). */
  readonly bucket: string;

  /**
   * Key prefix the backups go under (`<prefix>/<name>-<UTC time>.rdb`), without leading or trailing '/'.
   * @default - `<namespace>/<name>` of the deployment
   */
  readonly prefix?: string;

  /**
   * Region of the bucket.
   * @default 'us-east-1'
   */
  readonly region?: string;

  /**
   * Endpoint URL of an S3-compatible store other than AWS (e.g. 'https://minio.storage.svc:9000',
   * 'https://<account>.r2.cloudflarestorage.com', 'https://storage.googleapis.com').
   * @default - AWS S3 of `region`
   */
  readonly endpoint?: string;

  /**
   * Address buckets as `<endpoint>/<bucket>` instead of `<bucket>.<endpoint>` (MinIO usually needs this).
   * @default false
   */
  readonly forcePathStyle?: boolean;

  /**
   * An existing Secret (in the deployment's namespace) holding the access key; the keys are
   * `accessKeyIdKey` and `secretAccessKeyKey`. Set this or `serviceAccountAnnotations`.
   * @default - none: `serviceAccountAnnotations` must be set
   */
  readonly credentialsSecret?: string;

  /**
   * Key of the access key id in `credentialsSecret`.
   * @default 'AWS_ACCESS_KEY_ID'
   */
  readonly accessKeyIdKey?: string;

  /**
   * Key of the secret access key in `credentialsSecret`.
   * @default 'AWS_SECRET_ACCESS_KEY'
   */
  readonly secretAccessKeyKey?: string;

  /**
   * Workload identity instead of a key: the chart creates a ServiceAccount with these annotations for
   * the pods that reach the store (e.g. `{ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/redis-backup' }`
   * for EKS IAM roles for service accounts). Set this or `credentialsSecret`.
   * @default - none: `credentialsSecret` must be set
   */
  readonly serviceAccountAnnotations?: { [key: string]: string };

  /**
   * Server-side encryption of the objects.
   * @default - none requested (the bucket's default encryption applies)
   */
  readonly serverSideEncryption?: S3ServerSideEncryption;

  /**
   * KMS key (id or ARN) with `serverSideEncryption: S3ServerSideEncryption.AWS_KMS`.
   * @default - the bucket's default KMS key
   */
  readonly kmsKeyId?: string;

  /**
   * NetworkPolicy egress to the store: only these CIDRs (on the endpoint's port). Without it the
   * pods may reach any address on that port (443 for https), as the addresses of AWS S3 and most
   * hosted stores change.
   * @default - any address on the endpoint's port
   */
  readonly egressCidrs?: string[];

  /**
   * The client image (rclone; the scripts need its `rclone` and a POSIX `sh`).
   * @default 'rclone/rclone:1.68.2'
   */
  readonly image?: string;

  /**
   * Backups only (a restore ignores it): how many backups to keep in the bucket (the oldest objects named like the chart's
   * backups beyond that are deleted after each upload; no other object is touched).
   * @default - the backup's `retention`
   */
  readonly retention?: number;
}

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

  /**
   * Also upload every verified snapshot to S3-compatible storage (after `redis-check-rdb`; SHA-256
   * checked after the upload; bucket-side retention). A failed upload fails the Job.
   * @default - backups stay on the backup claim only
   */
  readonly s3?: S3Options;
}

/**
 * Restore a backup when the deployment starts for the first time: the bootstrap master's init
 * container loads the file when its data volume is empty and no Sentinel names another master;
 * replicas then copy it. Later starts never restore again (a marker file stays on the data volume).
 */
export interface RestoreOptions {
  /** A file name in the backup volume (`<name>-<UTC time>.rdb`; an object name with `s3`), or 'latest' for the newest backup. */
  readonly file: string;

  /**
   * PersistentVolumeClaim holding the file (not with `s3`).
   * @default - the deployment's backup claim (`backup.existingClaim`, or `<name>-backup`)
   */
  readonly claimName?: string;

  /**
   * Restore from this object store instead of a claim: `file` is an object under its `prefix`.
   * @default - from the claim
   */
  readonly s3?: S3Options;
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
  /** With `s3`: the upload's settings. */
  readonly s3?: ResolvedS3;
}

/** S3Options resolved to values. */
export interface ResolvedS3 {
  readonly bucket: string;
  readonly prefix: string;
  readonly region: string;
  readonly endpoint?: string;
  readonly forcePathStyle: boolean;
  readonly credentials?: { readonly secretName: string; readonly accessKeyIdKey: string; readonly secretAccessKeyKey: string };
  readonly serviceAccountAnnotations?: Record<string, string>;
  readonly serverSideEncryption?: string;
  readonly kmsKeyId?: string;
  /** TCP port of the endpoint (NetworkPolicy egress). */
  readonly port: number;
  readonly egressCidrs?: string[];
  readonly image: string;
  readonly retention?: number;
}

/** What a restore reads from: a claim, or an object store. */
export interface ResolvedRestore {
  readonly file: string;
  readonly claimName?: string;
  readonly s3?: ResolvedS3;
}

/** The pinned rclone image of the upload and restore-fetch containers. */
export const DEFAULT_S3_IMAGE = 'rclone/rclone:1.68.2';

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9_.=+-]+$/;
const REGION = /^[a-z0-9][a-z0-9-]{0,31}$/;
const ENDPOINT = /^(https?):\/\/([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::([0-9]{1,5}))?\/?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$|^[0-9a-fA-F:]+\/\d{1,3}$/;
const ANNOTATION_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Checks and resolves S3 options; `prop` prefixes every message (e.g. 'backup.s3.'). */
export function resolveS3Options(p: Problems, o: S3Options, s: DeploymentSettings, prop: string): ResolvedS3 {
  p.check(BUCKET.test(o.bucket) && !o.bucket.includes('..'),
    `${prop}bucket ('${o.bucket}') must be an S3 bucket name: 3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit`);
  const prefix = o.prefix ?? `${s.namespace}/${s.name}`;
  p.check(prefix === '' || (prefix.length <= 512 && prefix.split('/').every((seg) => PREFIX_SEGMENT.test(seg) && seg !== '.' && seg !== '..')),
    `${prop}prefix ('${prefix}') must be '/'-separated segments of letters, digits, '_', '.', '=', '+' or '-' without a leading or trailing '/', e.g. 'prod/redis' ('' for the bucket's root)`);
  const region = o.region ?? 'us-east-1';
  p.check(REGION.test(region), `${prop}region ('${region}') must be a region name such as 'eu-west-1' (or 'auto' for R2)`);
  let port = 443;
  if (o.endpoint !== undefined) {
    const m = ENDPOINT.exec(o.endpoint);
    if (p.check(m !== null,
      `${prop}endpoint ('${o.endpoint}') must be an http(s) URL of a host and optional port without a path, e.g. 'https://minio.storage.svc:9000'`)) {
      port = m![3] ? Number(m![3]) : (m![1] === 'https' ? 443 : 80);
      p.check(port >= 1 && port <= 65535, `${prop}endpoint ('${o.endpoint}') has port ${port}, outside 1-65535`);
    }
  }
  const hasSecret = o.credentialsSecret !== undefined;
  const hasIdentity = o.serviceAccountAnnotations !== undefined;
  p.check(hasSecret !== hasIdentity, hasSecret
    ? `${prop}credentialsSecret and ${prop}serviceAccountAnnotations are both set: use a key from the Secret, or workload identity, not both`
    : `${prop.replace(/\.$/, '')} needs credentials: set ${prop}credentialsSecret (an existing Secret with keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) or ${prop}serviceAccountAnnotations (workload identity, e.g. { 'eks.amazonaws.com/role-arn': '<role ARN>' })`);
  checkObjectName(p, `${prop}credentialsSecret`, o.credentialsSecret, 'Secret');
  const accessKeyIdKey = o.accessKeyIdKey ?? 'AWS_ACCESS_KEY_ID';
  const secretAccessKeyKey = o.secretAccessKeyKey ?? 'AWS_SECRET_ACCESS_KEY';
  for (const [key, value] of [['accessKeyIdKey', o.accessKeyIdKey], ['secretAccessKeyKey', o.secretAccessKeyKey]] as const) {
    if (value === undefined) continue;
    p.check(hasSecret, `${prop}${key} is set without ${prop}credentialsSecret: set the Secret too, or remove ${prop}${key}`);
    p.check(value.length <= 253 && SECRET_KEY.test(value), `${prop}${key} ('${value}') must be a Secret key: letters, digits, '-', '_' or '.'`);
  }
  for (const [key, value] of Object.entries(o.serviceAccountAnnotations ?? {})) {
    p.check(key.length <= 316 && ANNOTATION_KEY.test(key) && value.length <= 4096,
      `${prop}serviceAccountAnnotations key '${key}' must be an annotation key such as 'eks.amazonaws.com/role-arn' (value at most 4096 characters)`);
  }
  const sse = o.serverSideEncryption;
  p.check(sse === undefined || Object.values(S3ServerSideEncryption).includes(sse),
    `${prop}serverSideEncryption ('${sse}') must be one of ${Object.values(S3ServerSideEncryption).join(', ')}`);
  if (o.kmsKeyId !== undefined) {
    p.check(sse === S3ServerSideEncryption.AWS_KMS,
      `${prop}kmsKeyId is set but ${prop}serverSideEncryption is ${sse ?? 'not set'}: set serverSideEncryption: S3ServerSideEncryption.AWS_KMS`);
    p.check(/^[A-Za-z0-9:/_.-]{1,2048}$/.test(o.kmsKeyId), `${prop}kmsKeyId ('${o.kmsKeyId}') must be a KMS key id, alias or ARN`);
  }
  if (o.egressCidrs !== undefined) {
    p.check(o.egressCidrs.length > 0, `${prop}egressCidrs is empty: the pods could reach no store; list the store's CIDRs or remove egressCidrs (any address on port ${port})`);
    for (const c of o.egressCidrs) {
      const m = CIDR.exec(c);
      p.check(m !== null && (m[1] === undefined || (m.slice(1, 5).every((x) => Number(x) <= 255) && Number(m[5]) <= 32)),
        `${prop}egressCidrs entry '${c}' must be a CIDR such as '52.216.0.0/15' or '10.0.0.5/32'`);
    }
  }
  const image = o.image ?? DEFAULT_S3_IMAGE;
  if (o.image !== undefined) checkImage(p, `${prop}image`, image, DEFAULT_S3_IMAGE);
  if (o.retention !== undefined) {
    p.check(isInt(o.retention) && o.retention >= 1 && o.retention <= 1000,
      `${prop}retention (${o.retention}) must be a whole number of backups to keep in the bucket, between 1 and 1000`);
  }
  return {
    bucket: o.bucket, prefix, region, endpoint: o.endpoint?.replace(/\/$/, ''), forcePathStyle: o.forcePathStyle ?? false,
    credentials: hasSecret ? { secretName: o.credentialsSecret!, accessKeyIdKey, secretAccessKeyKey } : undefined,
    serviceAccountAnnotations: o.serviceAccountAnnotations, serverSideEncryption: sse, kmsKeyId: o.kmsKeyId,
    port, egressCidrs: o.egressCidrs, image, retention: o.retention,
  };
}

/** NetworkPolicy egress to the object store: its CIDRs, or any address, on its port. */
export function s3Egress(r: ResolvedS3): k8s.NetworkPolicyEgressRule {
  return { ...(r.egressCidrs ? { to: r.egressCidrs.map((cidr) => ({ ipBlock: { cidr } })) } : {}), ports: [tcpPort(r.port)] };
}

/** The backup pods' own volumes and the mount paths of their container. */
const BACKUP_POD: OwnPod = {
  label: BACKUP_LABEL,
  volumes: ['backup', 'scripts', 'tmp', 'auth', 'tls'],
  mountPaths: [PATHS.backupDir, PATHS.scriptsDir, PATHS.tmp, PATHS.authDir, TLS_DIR],
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
    cpu: { request: cpuMillis(50) },
    memory: { request: Size.mebibytes(64), limit: Size.mebibytes(256) },
  };
  checkResources(p, `${prop}resources`, resources);
  const storageAccessModes: string[] = o.storageAccessModes ?? s.storageAccessModes;
  if (o.storageAccessModes) checkAccessModes(p, `${prop}storageAccessModes`, o.storageAccessModes);
  const pod = resolveBackupPod(p, o.pod, s, `${prop}pod.`);
  const s3 = o.s3 ? resolveS3Options(p, o.s3, s, `${prop}s3.`) : undefined;
  return {
    s3, schedule, timeZone: o.timeZone, retention, storageSize, storageClassName: o.storageClassName ?? s.storageClassName,
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

/** Checks restore options; returns the file and the claim or object store it is read from. */
export function resolveRestoreOptions(p: Problems, o: RestoreOptions, s: DeploymentSettings, backupClaim: string | undefined): ResolvedRestore {
  p.check(o.file.length <= 255 && RESTORE_FILE.test(o.file),
    `restore.file ('${o.file}') must be a file name in the backup volume (letters, digits, '.', '_', '-'; no '/'), e.g. '${s.name}-20260101T020000Z.rdb', or 'latest'`);
  checkObjectName(p, 'restore.claimName', o.claimName, 'PersistentVolumeClaim');
  if (o.s3) {
    p.check(o.claimName === undefined, `restore.claimName ('${o.claimName}') and restore.s3 are both set: restore from one source; remove one`);
    // The same S3Options as the backup's may be passed: its retention plays no part in a restore.
    return { file: o.file, s3: resolveS3Options(p, o.s3, s, 'restore.s3.') };
  }
  return { file: o.file, claimName: o.claimName ?? backupClaim ?? s.names.backupClaim };
}

/**
 * The backup Job's pod. Without `s3`: one container, redis-backup.sh. With `s3`: redis-backup.sh as
 * init container (its snapshot is verified and on the claim before anything is uploaded), then
 * s3-upload.sh in the rclone image; a failure of either fails the Job.
 */
function backupPodSpec(s: DeploymentSettings, b: ResolvedBackup, restore: ResolvedRestore | undefined): k8s.PodSpec {
  const script = (f: string) => ['sh', `${PATHS.scriptsDir}/${f}`];
  const mounts: k8s.VolumeMount[] = [
    { name: 'backup', mountPath: PATHS.backupDir },
    { name: 'scripts', mountPath: PATHS.scriptsDir, readOnly: true },
    { name: 'tmp', mountPath: PATHS.tmp },
  ];
  const backup: k8s.Container = {
    name: 'backup',
    image: s.image,
    imagePullPolicy: s.imagePullPolicy,
    command: script(SCRIPT.backup),
    // With ACL users it logs in as `backup` (REDIS_USER, read by lib.sh), whose password is then
    // the only one the pod mounts.
    env: [...backupContainerEnv(s, b), ...(s.acl ? [{ name: 'REDIS_USER', value: 'backup' }] : [])],
    resources: resourceRequirements(b.resources),
    securityContext: containerSecurityContext(s),
    volumeMounts: [...mounts, ...authMount(s), ...tlsMount(s), ...b.pod.extraVolumeMounts ?? []],
  };
  const upload: k8s.Container | undefined = b.s3 ? {
    name: 'upload',
    image: b.s3.image,
    imagePullPolicy: s.imagePullPolicy,
    command: script(SCRIPT.s3Upload),
    env: [...backupContainerEnv(s, b), ...s3UploadEnv(b.s3.retention ?? b.retention), ...s3ContainerEnv(b.s3)],
    resources: resourceRequirements(b.resources),
    securityContext: containerSecurityContext(s),
    volumeMounts: mounts,
  } : undefined;
  const userInit = b.pod.extraInitContainers ?? [];
  // While a restore keeps the backup claim mounted in the bootstrap master pod, a ReadWriteOnce
  // volume attaches to that pod's node only: the Job must run there (issue 15, item 6).
  const pin = restore?.claimName === b.claimName ? sameNodeAs(statefulSetSelector(s.name, 'redis', s.names.master)) : undefined;
  const affinity = mergeUserAffinity(pin, b.pod.affinity);
  return {
    ...commonPodSpec(s, b.pod),
    ...(b.s3?.serviceAccountAnnotations ? { serviceAccountName: s.names.backupServiceAccount } : {}),
    restartPolicy: 'Never',
    terminationGracePeriodSeconds: 30,
    ...(affinity ? { affinity } : {}),
    ...(b.pod.topologySpreadConstraints?.length
      ? { topologySpreadConstraints: mergeSpread([], b.pod.topologySpreadConstraints, componentSelector(s.name, 'backup')) } : {}),
    ...(upload
      ? { initContainers: [...userInit, backup], containers: [upload] }
      : { ...(userInit.length ? { initContainers: userInit } : {}), containers: [backup] }),
    volumes: [
      { name: 'backup', persistentVolumeClaim: { claimName: b.claimName } },
      { name: 'scripts', configMap: { name: s.names.scripts } },
      emptyDir('tmp', Size.mebibytes(16)),
      ...(s.acl ? [internalPasswordVolume(s.acl, 'backup')] : authVolume(s)),
      ...tlsVolume(s),
      ...b.pod.extraVolumes ?? [],
    ],
  };
}

/** The restore pin (if any) with the user's backup-pod affinity: the user's podAffinity terms are added to the pin's. */
function mergeUserAffinity(pin: k8s.Affinity | undefined, user: k8s.Affinity | undefined): k8s.Affinity | undefined {
  if (!pin) return user && Object.keys(user).length ? user : undefined;
  const required = [...pin.podAffinity!.requiredDuringSchedulingIgnoredDuringExecution!, ...user?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []];
  return { ...user, podAffinity: { ...user?.podAffinity, requiredDuringSchedulingIgnoredDuringExecution: required } };
}

/** Required pod affinity: on the node of the pod matching `selector` (same namespace). */
function sameNodeAs(selector: Record<string, string>): k8s.Affinity {
  return {
    podAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } }],
    },
  };
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
  /** With `s3.serviceAccountAnnotations`: the backup pods' ServiceAccount (workload identity). */
  public readonly serviceAccount?: k8s.KubeServiceAccount;
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

    if (b.s3?.serviceAccountAnnotations) {
      this.serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', {
        metadata: { name: s.names.backupServiceAccount, namespace: s.namespace, labels, annotations: b.s3.serviceAccountAnnotations },
        automountServiceAccountToken: false,
      });
    }

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
            template: { metadata: podMetadata(s, b.pod, labels), spec: backupPodSpec(s, b, this.deployment._restore) },
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
            ...(b.s3 ? [s3Egress(b.s3)] : []),
          ],
        },
      });
    }
    applyCommonMetadata(this, s);
  }
}
