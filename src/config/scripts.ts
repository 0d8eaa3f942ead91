/**
 * Per-release values for the shell scripts run inside the containers. The scripts themselves are
 * real files (src/scripts/*.sh, embedded at build time by scripts/embed-shell.js) and identical for
 * every release; what differs between releases reaches them two ways:
 *
 * - `constants.sh`, beside them in the scripts ConfigMap, holds every value the Redis and Sentinel
 *   pods read (renderScriptConstants). It is covered by the pods' config checksum: a change rolls them.
 * - Values only the backup Job or the restore init container read come from that container's
 *   environment (backupEnv, restoreEnv), so changing them rolls no Redis or Sentinel pod.
 *
 * The pod's identity comes from its environment too: `SELF_FQDN`, the pod's stable DNS name.
 */
import type { k8s } from 'cdk8s-plus-27';

/** The values of `constants.sh`: what the Redis and Sentinel pods' scripts read. */
export interface ScriptConstantsOptions {
  /** The monitored master's name. */
  readonly masterName: string;
  /** DNS names of every Sentinel pod. */
  readonly sentinelHosts: readonly string[];
  /** DNS names of every Redis pod: a Sentinel with no state compares what they hold; the preStop hook asks them which revision they run. */
  readonly redisHosts: readonly string[];
  readonly sentinelPort: number;
  readonly redisPort: number;
  /** Path of the file holding the password (a mounted Secret key); undefined when auth is off. */
  readonly authFile?: string;
  /** Directory of the mounted certificate Secret (tls.crt, tls.key, ca.crt) when TLS is on: redis-cli speaks TLS. */
  readonly tlsDir?: string;
  /** With ACL users: the users files of Redis and Sentinel, and the directory of the deployment's own users' passwords. */
  readonly acl?: { readonly redisUsers: string; readonly sentinelUsers: string; readonly internalDir: string; readonly exporterAuthDir: string };
  /** Seconds one redis-cli call may take before it is abandoned. */
  readonly cliTimeoutSeconds: number;
  /** FQDN of the bootstrap master pod: what a Sentinel without state monitors when no Redis pod holds a key. */
  readonly bootstrapMasterHost: string;
  /** The rendered redis.conf (read-only ConfigMap file). */
  readonly redisTemplateFile: string;
  /** Where the Redis start script writes the runtime config (writable volume, private to the pod). */
  readonly redisConfigFile: string;
  /** The rendered sentinel.conf (read-only ConfigMap file). */
  readonly sentinelTemplateFile: string;
  /** The Sentinel's own config file, on its persistent volume (Sentinel rewrites it). */
  readonly sentinelConfigFile: string;
  /** How often a pod that waits for evidence (no Sentinel answers, or Redis pods missing) repeats its log line saying why. */
  readonly sentinelWaitSeconds: number;
  /** How long a Sentinel waits for the chosen master's name to resolve before starting anyway. */
  readonly resolveWaitSeconds: number;
  /** How long the preStop hook waits for the Sentinels to name another master (writes stay paused meanwhile). */
  readonly failoverWaitSeconds: number;
  /** How long a departing master waits, in a rolling update, for the pods that roll before it (writes go on meanwhile). */
  readonly rollWaitSeconds: number;
  /** How long it waits for one of them that does not answer (restarting) before it counts it as gone. */
  readonly rollDownWaitSeconds: number;
}

/** `s` as one single-quoted shell word. */
const q = (s: string) => `'${s.replace(/'/g, `'"'"'`)}'`;

/**
 * Renders `constants.sh`: one `NAME='value'` line per value, every value single-quoted, sourced by
 * the scripts' lib.sh. Holds no password (only the path of the password file).
 */
export function renderScriptConstants(o: ScriptConstantsOptions): string {
  const values: Array<[string, string | number]> = [
    ['MASTER_NAME', o.masterName],
    ['SENTINEL_HOSTS', o.sentinelHosts.join(' ')],
    ['REDIS_HOSTS', o.redisHosts.join(' ')],
    ['SENTINEL_PORT', o.sentinelPort],
    ['REDIS_PORT', o.redisPort],
    ['AUTH_FILE', o.authFile ?? ''],
    ['TLS_DIR', o.tlsDir ?? ''],
    ['ACL_USERS_REDIS', o.acl?.redisUsers ?? ''],
    ['ACL_USERS_SENTINEL', o.acl?.sentinelUsers ?? ''],
    ['ACL_DIR', o.acl?.internalDir ?? ''],
    ['EXPORTER_AUTH_DIR', o.acl?.exporterAuthDir ?? ''],
    ['CLI_TIMEOUT', o.cliTimeoutSeconds],
    ['BOOTSTRAP_MASTER_HOST', o.bootstrapMasterHost],
    ['REDIS_TEMPLATE', o.redisTemplateFile],
    ['REDIS_CONF', o.redisConfigFile],
    ['SENTINEL_TEMPLATE', o.sentinelTemplateFile],
    ['SENTINEL_CONF', o.sentinelConfigFile],
    ['SENTINEL_WAIT', o.sentinelWaitSeconds],
    ['RESOLVE_WAIT', o.resolveWaitSeconds],
    ['FAILOVER_WAIT', o.failoverWaitSeconds],
    ['ROLL_WAIT', o.rollWaitSeconds],
    ['ROLL_DOWN_WAIT', o.rollDownWaitSeconds],
  ];
  return [
    // Each script uses some of these: shellcheck would call the others unused.
    '# shellcheck shell=sh disable=SC2034',
    '# This release\'s values for the scripts beside this file (sourced by lib.sh).',
    '# Generated by cdk8s-redis-sentinel; a change here rolls the Redis and Sentinel pods.',
    ...values.map(([k, v]) => `${k}=${q(String(v))}`),
  ].join('\n') + '\n';
}

/** Kubernetes expands `$(VAR)` in env values; `$$` is a literal `$`. */
function envVar(name: string, value: string | number): k8s.EnvVar {
  return { name, value: String(value).replace(/\$/g, '$$$$') };
}

/** What only the backup Job's script reads. */
export interface BackupEnvOptions {
  /** Mount path of the backup volume. */
  readonly backupDir: string;
  /** Backup files are `<prefix>-<UTC time>.rdb`; retention only touches files of that form. */
  readonly filePrefix: string;
  /** How many backups to keep (the newest). */
  readonly retention: number;
  /** Partial files older than this many minutes are leftovers of killed runs, removed at start. */
  readonly staleMinutes: number;
  /** A writable scratch directory (logs of redis-cli and redis-check-rdb). */
  readonly workDir: string;
}

/** The backup container's env for redis-backup.sh. */
export function backupEnv(o: BackupEnvOptions): k8s.EnvVar[] {
  return [
    envVar('BACKUP_DIR', o.backupDir),
    envVar('BACKUP_PREFIX', o.filePrefix),
    envVar('BACKUP_RETAIN', o.retention),
    envVar('BACKUP_STALE_MINUTES', o.staleMinutes),
    envVar('WORK_DIR', o.workDir),
  ];
}

/** What only the restore init container's script reads. */
export interface RestoreEnvOptions {
  /** Mount path of the volume holding the backups. */
  readonly sourceDir: string;
  /** File to restore, or `latest` for the newest `<prefix>-<UTC time>.rdb`. */
  readonly file: string;
  /** Prefix of backup file names (for `latest`). */
  readonly filePrefix: string;
  /** Redis' data directory (the pod's persistent volume). */
  readonly dataDir: string;
  /** A writable scratch directory (the temporary server's socket). */
  readonly workDir: string;
}

/** The restore init container's env for redis-restore.sh (besides the pod's identity). */
export function restoreEnv(o: RestoreEnvOptions): k8s.EnvVar[] {
  return [
    envVar('RESTORE_FROM', o.file),
    envVar('RESTORE_DIR', o.sourceDir),
    envVar('BACKUP_PREFIX', o.filePrefix),
    envVar('DATA_DIR', o.dataDir),
    envVar('WORK_DIR', o.workDir),
  ];
}

/** Where and how rclone reaches the object store (s3-upload.sh, s3-fetch.sh). */
export interface S3EnvOptions {
  readonly bucket: string;
  /** Key prefix without leading or trailing '/'; '' for the bucket's root. */
  readonly prefix: string;
  readonly region: string;
  /** Endpoint URL; undefined for AWS S3 itself. */
  readonly endpoint?: string;
  readonly forcePathStyle: boolean;
  /** The Secret and keys of the access key, or undefined for workload identity (rclone's env_auth chain). */
  readonly credentials?: { readonly secretName: string; readonly accessKeyIdKey: string; readonly secretAccessKeyKey: string };
  /** 'AES256' or 'aws:kms'. */
  readonly serverSideEncryption?: string;
  readonly kmsKeyId?: string;
  /** A writable scratch directory (rclone's config and cache paths point there). */
  readonly workDir: string;
}

/** rclone's remote `s3` (RCLONE_CONFIG_S3_*), its credentials and `S3_PATH`: no config file, no secret in the object. */
export function s3Env(o: S3EnvOptions): k8s.EnvVar[] {
  const secret = (name: string, key: string): k8s.EnvVar => ({ name, valueFrom: { secretKeyRef: { name: o.credentials!.secretName, key } } });
  return [
    envVar('S3_PATH', `s3:${o.bucket}${o.prefix ? `/${o.prefix}` : ''}`),
    envVar('RCLONE_CONFIG', `${o.workDir}/rclone.conf`),
    envVar('RCLONE_CACHE_DIR', `${o.workDir}/rclone-cache`),
    envVar('RCLONE_CONFIG_S3_TYPE', 's3'),
    envVar('RCLONE_CONFIG_S3_PROVIDER', o.endpoint ? 'Other' : 'AWS'),
    // Credentials from the environment: the Secret's keys below, or a web-identity token (IRSA).
    envVar('RCLONE_CONFIG_S3_ENV_AUTH', 'true'),
    envVar('RCLONE_CONFIG_S3_REGION', o.region),
    ...(o.endpoint ? [envVar('RCLONE_CONFIG_S3_ENDPOINT', o.endpoint)] : []),
    envVar('RCLONE_CONFIG_S3_FORCE_PATH_STYLE', String(o.forcePathStyle)),
    // Never create the bucket: the credentials need no bucket-level rights.
    envVar('RCLONE_CONFIG_S3_NO_CHECK_BUCKET', 'true'),
    ...(o.serverSideEncryption ? [envVar('RCLONE_CONFIG_S3_SERVER_SIDE_ENCRYPTION', o.serverSideEncryption)] : []),
    ...(o.kmsKeyId ? [envVar('RCLONE_CONFIG_S3_SSE_KMS_KEY_ID', o.kmsKeyId)] : []),
    // With aws:kms S3's ETag is no MD5, which rclone's own check compares: the scripts' SHA-256 read-back is the check.
    ...(o.serverSideEncryption === 'aws:kms' ? [envVar('RCLONE_IGNORE_CHECKSUM', 'true')] : []),
    ...(o.credentials ? [secret('AWS_ACCESS_KEY_ID', o.credentials.accessKeyIdKey), secret('AWS_SECRET_ACCESS_KEY', o.credentials.secretAccessKeyKey)] : []),
  ];
}

/** What only s3-upload.sh reads besides the backup env and s3Env. */
export function s3UploadEnv(retention: number): k8s.EnvVar[] {
  return [envVar('S3_RETAIN', retention)];
}
