import { createHash } from 'crypto';
import { k8s } from 'cdk8s-plus-27';
import { renderRedisConf } from './config/redis-conf';
import { backupEnv, renderScriptConstants, restoreEnv } from './config/scripts';
import { renderSentinelConf } from './config/sentinel-conf';
import { SHELL_FILES } from './scripts/embedded.generated';
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

/**
 * Renders every config file of a deployment from its settings, and collects the scripts ConfigMap:
 * the embedded scripts (the same for every release) and this release's constants.sh. Pure
 * (memoized per settings object).
 */
export function renderFiles(s: Settings): RenderedFiles {
  let files = rendered.get(s);
  if (!files) {
    files = render(s);
    rendered.set(s, files);
  }
  return files;
}

/** Seconds a Sentinel waits for the chosen master's name to resolve before starting anyway. */
const RESOLVE_WAIT_SECONDS = 30;

/** A shell file of src/scripts, embedded at build time (identical for every release). */
function shellFile(name: string): string {
  const text = SHELL_FILES[name];
  if (text === undefined) throw new Error(`${name} is not among the embedded scripts (${Object.keys(SHELL_FILES).join(', ')}): run scripts/embed-shell.js`);
  return text;
}

function render(s: Settings): RenderedFiles {
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
      // The only file that differs between releases.
      [SCRIPT.constants]: renderScriptConstants({
        masterName: s.masterName,
        sentinelHosts: s.sentinelFqdns,
        sentinelPort: s.sentinelPort,
        redisPort: s.redisPort,
        authFile: s.auth ? PATHS.authFile : undefined,
        cliTimeoutSeconds: CLI_TIMEOUT_SECONDS,
        bootstrapMasterHost: s.bootstrapMasterFqdn,
        redisTemplateFile: PATHS.redisTemplate,
        redisConfigFile: PATHS.redisRuntimeConf,
        sentinelTemplateFile: PATHS.sentinelTemplate,
        sentinelConfigFile: PATHS.sentinelConf,
        sentinelWaitSeconds: SENTINEL_WAIT_SECONDS,
        resolveWaitSeconds: RESOLVE_WAIT_SECONDS,
        failoverWaitSeconds: s.failoverWaitSeconds,
      }),
      [SCRIPT.lib]: shellFile(SCRIPT.lib),
      [SCRIPT.redisStart]: shellFile(SCRIPT.redisStart),
      [SCRIPT.sentinelStart]: shellFile(SCRIPT.sentinelStart),
      [SCRIPT.preStop]: shellFile(SCRIPT.preStop),
      [SCRIPT.redisProbe]: shellFile(SCRIPT.redisProbe),
      [SCRIPT.sentinelProbe]: shellFile(SCRIPT.sentinelProbe),
      ...(s.backup ? { [SCRIPT.backup]: shellFile(SCRIPT.backup) } : {}),
      ...(s.restoreFrom !== undefined ? { [SCRIPT.restore]: shellFile(SCRIPT.restore) } : {}),
    },
  };
}

/** Env of the backup container: what only redis-backup.sh reads (a change rolls no Redis pod). */
export function backupContainerEnv(s: Settings): k8s.EnvVar[] {
  return backupEnv({
    backupDir: PATHS.backupDir,
    filePrefix: s.name,
    retention: s.backupRetention,
    // Partial files older than the Job's deadline (+1 min) belong to killed runs.
    staleMinutes: Math.ceil(s.backupDeadlineSeconds / 60) + 1,
    workDir: PATHS.tmp,
  });
}

/** Env of the restore init container: what only redis-restore.sh reads (added to the pod's identity env). */
export function restoreContainerEnv(s: Settings): k8s.EnvVar[] {
  if (s.restoreFrom === undefined) return [];
  return restoreEnv({
    sourceDir: PATHS.restoreDir,
    file: s.restoreFrom,
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
 * Scripts only the backup Job and the restore init container read: adding or removing them needs
 * no rolling restart of the Redis and Sentinel pods (their values come from those containers' env).
 */
const NOT_ROLLED: ReadonlySet<string> = new Set([SCRIPT.backup, SCRIPT.restore]);

/** Checksums of what each kind of pod reads at start, for pod-template annotations. */
export function configChecksum(s: Settings): { redis: string; sentinel: string } {
  const f = renderFiles(s);
  const scripts = Object.keys(f.scripts).filter((k) => !NOT_ROLLED.has(k)).sort().map((k) => `${k}\n${f.scripts[k]}`);
  return { redis: sha256(f.redisConf, ...scripts), sentinel: sha256(f.sentinelConf, ...scripts) };
}
