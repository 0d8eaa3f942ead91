import { Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { objectLabels } from './names';
import { authMount, authVolume, claimTemplate, commonPodSpec, containerSecurityContext, emptyDir, resourceRequirements } from './pod';
import { RedisSentinelProps } from './props';
import { PATHS, SCRIPT, Settings, resolveSettings } from './settings';
import { backupContainerEnv } from './shared-config';

/** Props of {@link RedisBackup}: the deployment's settings (`backup: true` and the `backup*` props). */
export interface RedisBackupProps extends RedisSentinelProps {}

/**
 * Scheduled backups: a CronJob whose pod asks the Sentinels for a healthy replica, streams an RDB
 * snapshot from it with `redis-cli --rdb`, checks it with `redis-check-rdb` and stores it as
 * `<name>-<UTC time>.rdb` on a PersistentVolumeClaim, keeping the newest `backupRetention`. Every
 * failure exits non-zero (the Job fails, RedisBackupTooOld fires later). Expects the chart's
 * scripts ConfigMap and, with NetworkPolicies on, the chart's policies admitting backup pods.
 */
export class RedisBackup extends Construct {
  /** The resolved settings. */
  public readonly settings: Settings;
  /** The CronJob (the construct's `Resource` child). */
  public readonly cronJob: k8s.KubeCronJob;
  /** The backup volume's claim, unless `backupExistingClaim` names one the chart does not own. */
  public readonly claim?: k8s.KubePersistentVolumeClaim;

  constructor(scope: Construct, id: string, props: RedisBackupProps = {}) {
    super(scope, id);
    const s = resolveSettings(props, props.name ?? 'redis');
    this.settings = s;
    const labels = objectLabels(s.name, 'backup');

    if (s.createBackupClaim) {
      const claim = claimTemplate(s.names.backupClaim, s.backupStorageSize, s.backupStorageClassName, labels);
      this.claim = new k8s.KubePersistentVolumeClaim(this, 'Claim', { ...claim, metadata: { ...claim.metadata, namespace: s.namespace } });
    }

    const container: k8s.Container = {
      name: 'backup',
      image: s.image,
      imagePullPolicy: s.imagePullPolicy,
      command: ['sh', `${PATHS.scriptsDir}/${SCRIPT.backup}`],
      env: backupContainerEnv(s),
      resources: resourceRequirements(s.backupResources),
      securityContext: containerSecurityContext(s),
      volumeMounts: [
        { name: 'backup', mountPath: PATHS.backupDir },
        { name: 'scripts', mountPath: PATHS.scriptsDir, readOnly: true },
        { name: 'tmp', mountPath: PATHS.tmp },
        ...authMount(s),
      ],
    };

    this.cronJob = new k8s.KubeCronJob(this, 'Resource', {
      metadata: { name: s.names.backup, namespace: s.namespace, labels },
      spec: {
        schedule: s.backupSchedule,
        ...(s.backupTimeZone ? { timeZone: s.backupTimeZone } : {}),
        // Never two at once: both would stream a snapshot and race on retention.
        concurrencyPolicy: 'Forbid',
        // A run that could not start within 10 minutes of its time is skipped, not piled up.
        startingDeadlineSeconds: 600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels },
          spec: {
            activeDeadlineSeconds: s.backupDeadlineSeconds,
            // Each retry is a new pod with its own log; the script cleans up after itself.
            backoffLimit: 2,
            template: {
              metadata: { labels },
              spec: {
                ...commonPodSpec(s),
                restartPolicy: 'Never',
                terminationGracePeriodSeconds: 30,
                containers: [container],
                volumes: [
                  { name: 'backup', persistentVolumeClaim: { claimName: s.backupClaimName } },
                  { name: 'scripts', configMap: { name: s.names.scripts } },
                  emptyDir('tmp', Size.mebibytes(16)),
                  ...authVolume(s),
                ],
              },
            },
          },
        },
      },
    });
  }
}

