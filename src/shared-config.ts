import { createHash } from 'crypto';
import * as k8s from './k8s';
import { TlsConfOptions, renderRedisConf } from './config/redis-conf';
import { backupEnv, renderScriptConstants, restoreEnv, s3Env } from './config/scripts';
import { renderSentinelConf } from './config/sentinel-conf';
import { SHELL_FILES } from './scripts/embedded.generated';
import type { ResolvedBackup, ResolvedS3 } from './backup';
import { CLI_TIMEOUT_SECONDS, DeploymentSettings, PATHS, ROLL_DOWN_WAIT_SECONDS, SCRIPT } from './settings';
import { TLS_DIR, TLS_FILES } from './tls';
import { ACL_INTERNAL_DIR, renderAclUsers } from './acl';

/** The rendered files of a deployment: what its ConfigMaps hold. */
export interface RenderedFiles {
  readonly redisConf: string;
  readonly sentinelConf: string;
  /** With `acl`: the users files of Redis and of Sentinel (beside redis.conf and sentinel.conf). */
  readonly acl?: { readonly redis: string; readonly sentinel: string };
  /** File name to content, for the scripts ConfigMap. */
  readonly scripts: Record<string, string>;
}

/** Seconds between the log lines of a pod waiting for evidence of who the master is (see redis-start.sh). */
export const SENTINEL_WAIT_SECONDS = 20;

/** Seconds a Sentinel waits for the chosen master's name to resolve before starting anyway. */
const RESOLVE_WAIT_SECONDS = 30;

/** A shell file of src/scripts, embedded at build time (identical for every release). */
function shellFile(name: string): string {
  const text = SHELL_FILES[name];
  if (text === undefined) throw new Error(`${name} is not among the embedded scripts (${Object.keys(SHELL_FILES).join(', ')}): run scripts/embed-shell.js`);
  return text;
}

/**
 * Renders every config file of a deployment from its settings, and collects the scripts ConfigMap:
 * the embedded scripts (the same for every release, the backup and restore scripts included, so a
 * RedisBackup attached later needs no change here) and this release's constants.sh. Pure.
 */
export function renderFiles(s: DeploymentSettings): RenderedFiles {
  const tls: TlsConfOptions | undefined = s.tls && {
    certFile: `${TLS_DIR}/${TLS_FILES.cert}`, keyFile: `${TLS_DIR}/${TLS_FILES.key}`, caFile: `${TLS_DIR}/${TLS_FILES.ca}`, mutual: s.tls.mutual,
  };
  return {
    redisConf: renderRedisConf({
      port: s.redisPort,
      dataDir: PATHS.data,
      minReplicasToWrite: s.minReplicasToWrite,
      minReplicasMaxLagSeconds: s.minReplicasMaxLagSeconds,
      maxmemoryBytes: s.maxmemoryBytes,
      maxmemoryPolicy: s.maxmemoryPolicy.value,
      savePoints: s.savePoints,
      extraDirectives: s.redisConfig,
      tls,
    }),
    sentinelConf: renderSentinelConf({
      port: s.sentinelPort,
      dataDir: PATHS.data,
      masterName: s.masterName,
      masterHost: s.bootstrapMasterFqdn,
      masterPort: s.redisPort,
      quorum: s.quorum,
      downAfterMilliseconds: s.downAfterMs,
      failoverTimeoutMilliseconds: s.failoverTimeoutMs,
      parallelSyncs: s.parallelSyncs,
      tls,
    }),
    acl: s.acl && { redis: renderAclUsers(s.acl, 'redis'), sentinel: renderAclUsers(s.acl, 'sentinel') },
    scripts: {
      // The only file that differs between releases.
      [SCRIPT.constants]: renderScriptConstants({
        masterName: s.masterName,
        sentinelHosts: s.sentinelFqdns,
        redisHosts: s.redisFqdns,
        sentinelPort: s.sentinelPort,
        redisPort: s.redisPort,
        authFile: s.auth ? PATHS.authFile : undefined,
        tlsDir: s.tls ? TLS_DIR : undefined,
        acl: s.acl && { redisUsers: PATHS.redisAclUsers, sentinelUsers: PATHS.sentinelAclUsers, internalDir: ACL_INTERNAL_DIR, exporterAuthDir: PATHS.exporterAuthDir },
        cliTimeoutSeconds: CLI_TIMEOUT_SECONDS,
        bootstrapMasterHost: s.bootstrapMasterFqdn,
        redisTemplateFile: PATHS.redisTemplate,
        redisConfigFile: PATHS.redisRuntimeConf,
        sentinelTemplateFile: PATHS.sentinelTemplate,
        sentinelConfigFile: PATHS.sentinelConf,
        sentinelWaitSeconds: SENTINEL_WAIT_SECONDS,
        resolveWaitSeconds: RESOLVE_WAIT_SECONDS,
        failoverWaitSeconds: s.failoverWaitSeconds,
        rollWaitSeconds: s.rollWaitSeconds,
        rollDownWaitSeconds: ROLL_DOWN_WAIT_SECONDS,
      }),
      // Every other file of the ConfigMap, as written in src/scripts.
      ...Object.fromEntries(Object.values(SCRIPT).filter((f) => f !== SCRIPT.constants).map((f) => [f, shellFile(f)])),
    },
  };
}

/** Env of the backup container: what only redis-backup.sh reads (a change rolls no Redis pod). */
export function backupContainerEnv(s: DeploymentSettings, b: ResolvedBackup): k8s.EnvVar[] {
  return backupEnv({
    backupDir: PATHS.backupDir,
    filePrefix: s.name,
    retention: b.retention,
    // Partial files older than the Job's deadline (+1 min) belong to killed runs.
    staleMinutes: Math.ceil(b.deadlineSeconds / 60) + 1,
    workDir: PATHS.tmp,
  });
}

/** Env of the restore init container: what only redis-restore.sh reads (added to the pod's identity env). */
export function restoreContainerEnv(s: DeploymentSettings, file: string, fromS3 = false): k8s.EnvVar[] {
  return restoreEnv({
    sourceDir: fromS3 ? PATHS.restoreFetchDir : PATHS.restoreDir,
    file,
    filePrefix: s.name,
    dataDir: PATHS.data,
    workDir: PATHS.tmp,
  });
}

function sha256(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

/**
 * Scripts only the backup Job and the restore init container read: a change to them needs no
 * rolling restart of the Redis and Sentinel pods (their values come from those containers' env).
 */
const NOT_ROLLED: ReadonlySet<string> = new Set([SCRIPT.backup, SCRIPT.restore, SCRIPT.s3Upload, SCRIPT.s3Fetch]);

/** Checksums of what each kind of pod reads at start, for pod-template annotations. */
export function configChecksum(f: RenderedFiles): { redis: string; sentinel: string } {
  const scripts = Object.keys(f.scripts).filter((k) => !NOT_ROLLED.has(k)).sort().map((k) => `${k}\n${f.scripts[k]}`);
  return { redis: sha256(f.redisConf, f.acl?.redis ?? '', ...scripts), sentinel: sha256(f.sentinelConf, f.acl?.sentinel ?? '', ...scripts) };
}

/** Env of a container that reaches the object store (rclone's remote and credentials, `S3_PATH`). */
export function s3ContainerEnv(r: ResolvedS3): k8s.EnvVar[] {
  return s3Env({
    bucket: r.bucket, prefix: r.prefix, region: r.region, endpoint: r.endpoint, forcePathStyle: r.forcePathStyle,
    credentials: r.credentials, serverSideEncryption: r.serverSideEncryption, kmsKeyId: r.kmsKeyId, workDir: PATHS.tmp,
  });
}
