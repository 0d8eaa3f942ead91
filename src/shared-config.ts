import { createHash } from 'crypto';
import { renderRedisConf } from './config/redis-conf';
import {
  ScriptCommonOptions, renderBackupScript, renderPreStopScript, renderRestoreScript, renderRedisProbeScript, renderRedisStartScript, renderSentinelProbeScript,
  renderSentinelStartScript,
} from './config/scripts';
import { renderSentinelConf } from './config/sentinel-conf';
import { CLI_TIMEOUT_SECONDS, PATHS, SCRIPT, Settings } from './settings';

/** The rendered files of a deployment: what its ConfigMaps hold. */
export interface RenderedFiles {
  readonly redisConf: string;
  readonly sentinelConf: string;
  /** File name to content, for the scripts ConfigMap. */
  readonly scripts: Record<string, string>;
}

/** Seconds a Redis pod keeps asking when no Sentinel answers, before using the bootstrap master. */
export const SENTINEL_WAIT_SECONDS = 20;

// The chart and each of its constructs render from the same Settings object: render once.
const rendered = new WeakMap<Settings, RenderedFiles>();

/** Renders every config file and script of a deployment from its settings. Pure (memoized per settings object). */
export function renderFiles(s: Settings): RenderedFiles {
  let files = rendered.get(s);
  if (!files) {
    files = render(s);
    rendered.set(s, files);
  }
  return files;
}

function render(s: Settings): RenderedFiles {
  const common: ScriptCommonOptions = {
    masterName: s.masterName,
    sentinelHosts: s.sentinelFqdns,
    sentinelPort: s.sentinelPort,
    redisPort: s.redisPort,
    authFile: s.auth ? PATHS.authFile : undefined,
    cliTimeoutSeconds: CLI_TIMEOUT_SECONDS,
  };
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
      ...(s.backup ? {
        [SCRIPT.backup]: renderBackupScript({
          ...common,
          backupDir: PATHS.backupDir,
          filePrefix: s.name,
          retention: s.backupRetention,
          staleMinutes: Math.ceil(s.backupDeadlineSeconds / 60) + 1,
          workDir: PATHS.tmp,
        }),
      } : {}),
      ...(s.restoreFrom !== undefined ? {
        [SCRIPT.restore]: renderRestoreScript({
          ...common,
          sourceDir: PATHS.restoreDir,
          file: s.restoreFrom,
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
export function configChecksum(s: Settings): { redis: string; sentinel: string } {
  const f = renderFiles(s);
  const scripts = Object.keys(f.scripts).filter((k) => !NOT_ROLLED.has(k)).sort().map((k) => `${k}\n${f.scripts[k]}`);
  return { redis: sha256(f.redisConf, ...scripts), sentinel: sha256(f.sentinelConf, ...scripts) };
}
