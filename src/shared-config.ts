import { createHash } from 'crypto';
import { renderRedisConf } from './config/redis-conf';
import {
  ScriptCommonOptions, renderBackupScript, renderPreStopScript, renderRestoreScript, renderRedisProbeScript, renderRedisStartScript, renderSentinelProbeScript,
  renderSentinelStartScript,
} from './config/scripts';
import { renderSentinelConf } from './config/sentinel-conf';
import type { ResolvedBackup } from './backup';
import { CLI_TIMEOUT_SECONDS, DeploymentSettings, PATHS, SCRIPT } from './settings';

/** The rendered files of a deployment: what its ConfigMaps hold. */
export interface RenderedFiles {
  readonly redisConf: string;
  readonly sentinelConf: string;
  /** File name to content, for the scripts ConfigMap. */
  readonly scripts: Record<string, string>;
}

/** Seconds a Redis pod keeps asking when no Sentinel answers, before using the bootstrap master. */
export const SENTINEL_WAIT_SECONDS = 20;

/**
 * Renders every config file and script the Redis and Sentinel pods read (and the restore script
 * when `restoreFrom` is set) from the deployment's settings. Pure.
 */
export function renderFiles(s: DeploymentSettings, restoreFrom?: string): RenderedFiles {
  return render(s, restoreFrom);
}

function commonOptions(s: DeploymentSettings): ScriptCommonOptions {
  return {
    masterName: s.masterName,
    sentinelHosts: s.sentinelFqdns,
    sentinelPort: s.sentinelPort,
    redisPort: s.redisPort,
    authFile: s.auth ? PATHS.authFile : undefined,
    cliTimeoutSeconds: CLI_TIMEOUT_SECONDS,
  };
}

/** The backup Job's script for a deployment's backup options. Pure. */
export function renderBackupScriptFor(s: DeploymentSettings, b: ResolvedBackup): string {
  return renderBackupScript({
    ...commonOptions(s),
    backupDir: PATHS.backupDir,
    filePrefix: s.name,
    retention: b.retention,
    staleMinutes: Math.ceil(b.deadlineSeconds / 60) + 1,
    workDir: PATHS.tmp,
  });
}

function render(s: DeploymentSettings, restoreFrom: string | undefined): RenderedFiles {
  const common = commonOptions(s);
  return {
    redisConf: renderRedisConf({
      port: s.redisPort,
      dataDir: PATHS.data,
      minReplicasToWrite: s.minReplicasToWrite,
      minReplicasMaxLagSeconds: s.minReplicasMaxLagSeconds,
      maxmemoryBytes: s.maxmemoryBytes,
      maxmemoryPolicy: s.maxmemoryPolicy,
      savePoints: s.savePoints,
      extraDirectives: s.redisConfig,
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
    }),
    scripts: {
      [SCRIPT.redisStart]: renderRedisStartScript({
        ...common,
        bootstrapMasterHost: s.bootstrapMasterFqdn,
        templateFile: PATHS.redisTemplate,
        configFile: PATHS.redisRuntimeConf,
        sentinelWaitSeconds: SENTINEL_WAIT_SECONDS,
      }),
      [SCRIPT.sentinelStart]: renderSentinelStartScript({
        ...common,
        bootstrapMasterHost: s.bootstrapMasterFqdn,
        templateFile: PATHS.sentinelTemplate,
        configFile: PATHS.sentinelConf,
        resolveWaitSeconds: 30,
      }),
      [SCRIPT.preStop]: renderPreStopScript({ ...common, failoverWaitSeconds: s.failoverWaitSeconds }),
      [SCRIPT.redisProbe]: renderRedisProbeScript(common),
      [SCRIPT.sentinelProbe]: renderSentinelProbeScript(common),
      ...(restoreFrom !== undefined ? {
        [SCRIPT.restore]: renderRestoreScript({
          ...common,
          sourceDir: PATHS.restoreDir,
          file: restoreFrom,
          filePrefix: s.name,
          dataDir: PATHS.data,
          templateFile: PATHS.redisTemplate,
          workDir: PATHS.tmp,
        }),
      } : {}),
    },
  };
}

function sha256(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

/**
 * Scripts only the backup Job and the restore init container read: a change to them needs no
 * rolling restart of the Redis and Sentinel pods (a Job reads its script at each run).
 */
const NOT_ROLLED: ReadonlySet<string> = new Set([SCRIPT.backup, SCRIPT.restore]);

/** Checksums of what each kind of pod reads at start, for pod-template annotations. */
export function configChecksum(f: RenderedFiles): { redis: string; sentinel: string } {
  const scripts = Object.keys(f.scripts).filter((k) => !NOT_ROLLED.has(k)).sort().map((k) => `${k}\n${f.scripts[k]}`);
  return { redis: sha256(f.redisConf, ...scripts), sentinel: sha256(f.sentinelConf, ...scripts) };
}
