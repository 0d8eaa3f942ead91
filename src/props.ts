import { Duration, Size } from 'cdk8s';
import { ContainerResources, ImagePullPolicy } from 'cdk8s-plus-27';

/** How strictly pods of one StatefulSet are kept off the same node. */
export enum AntiAffinity {
  /** Pods of one StatefulSet never share a node (unschedulable when nodes run out). */
  REQUIRED = 'required',
  /** The scheduler avoids putting pods of one StatefulSet on one node, but may. */
  PREFERRED = 'preferred',
}

/** The `maxmemory-policy` values Redis accepts. */
export enum MaxmemoryPolicy {
  NOEVICTION = 'noeviction',
  ALLKEYS_LRU = 'allkeys-lru',
  ALLKEYS_LFU = 'allkeys-lfu',
  ALLKEYS_RANDOM = 'allkeys-random',
  VOLATILE_LRU = 'volatile-lru',
  VOLATILE_LFU = 'volatile-lfu',
  VOLATILE_RANDOM = 'volatile-random',
  VOLATILE_TTL = 'volatile-ttl',
}

/**
 * Every setting of a Redis + Sentinel deployment. Flat; every prop has a default, so `{}` works.
 * The chart and each of its constructs take these same props.
 */
export interface RedisSentinelProps {
  /**
   * Prefix of every resource name (`<name>-master`, `<name>-sentinel`, ...).
   * @default - the chart's id
   */
  readonly name?: string;

  /**
   * Namespace of every object.
   * @default 'redis'
   */
  readonly namespace?: string;

  /**
   * Emit the Namespace object (labelled for Pod Security "restricted"), so `kubectl apply -f dist/`
   * works on an empty cluster.
   * @default true
   */
  readonly createNamespace?: boolean;

  /**
   * The name Sentinel monitors the master under; clients ask for it (`master_for('mymaster')`).
   * @default 'mymaster'
   * @see https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/#configuring-sentinel
   */
  readonly masterName?: string;

  /**
   * The cluster's DNS domain, used in every pod's FQDN.
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;

  /**
   * Pods of the replica StatefulSet (the bootstrap master StatefulSet adds one more Redis pod).
   * @default 2
   */
  readonly replicas?: number;

  /**
   * Sentinel pods. At least 3 and odd, unless `allowUnsafeSentinelCount`.
   * @default 3
   */
  readonly sentinels?: number;

  /**
   * Sentinels that must agree the master is down.
   * @default - quorumFor(sentinels): a strict majority
   */
  readonly quorum?: number;

  /**
   * Accept fewer than 3 Sentinels or an even count (no fault tolerance gained, or none at all).
   * @default false
   */
  readonly allowUnsafeSentinelCount?: boolean;

  /**
   * Accept a quorum below a majority of the Sentinels.
   * @default false
   */
  readonly allowMinorityQuorum?: boolean;

  /**
   * Sentinel `down-after-milliseconds`: how long the master may fail to answer before a Sentinel
   * considers it down.
   * @default Duration.seconds(5)
   */
  readonly downAfter?: Duration;

  /**
   * Sentinel `failover-timeout`. Must be at least `downAfter`.
   * @default Duration.seconds(10)
   */
  readonly failoverTimeout?: Duration;

  /**
   * Sentinel `parallel-syncs`: replicas resynchronised with a new master at the same time.
   * @default 1
   */
  readonly parallelSyncs?: number;

  /**
   * Redis `min-replicas-to-write`: the master refuses writes with fewer connected replicas than
   * this, which bounds the writes an isolated old master accepts. 0 turns it off.
   * @default - 1 with 2 or more replicas, else 0 (with one replica, any failover would leave the new master refusing writes)
   */
  readonly minReplicasToWrite?: number;

  /**
   * Redis `min-replicas-max-lag`: a replica counts as connected while its last ack is this recent.
   * @default Duration.seconds(10)
   */
  readonly minReplicasMaxLag?: Duration;

  /**
   * Persistent volume size of every Redis pod (AOF + RDB).
   * @default Size.gibibytes(10)
   */
  readonly storageSize?: Size;

  /**
   * StorageClass of the Redis volumes.
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;

  /**
   * Persistent volume size of every Sentinel pod (its config file with the current master and
   * epoch, so that a cold restart of everything resumes from the latest failover).
   * @default Size.gibibytes(1)
   */
  readonly sentinelStorageSize?: Size;

  /**
   * StorageClass of the Sentinel volumes.
   * @default - storageClassName
   */
  readonly sentinelStorageClassName?: string;

  /**
   * Container image for Redis, pinned to a tag or digest (`:latest` is refused).
   * @default 'redis:7.2.11-alpine'
   */
  readonly image?: string;

  /**
   * Container image for Sentinel.
   * @default - image
   */
  readonly sentinelImage?: string;

  /**
   * Image pull policy of every container.
   * @default ImagePullPolicy.IF_NOT_PRESENT
   */
  readonly imagePullPolicy?: ImagePullPolicy;

  /**
   * Names of image pull Secrets.
   * @default - none
   */
  readonly imagePullSecrets?: string[];

  /**
   * Resources of each Redis container.
   * @default - requests 250m CPU / 512Mi memory, limit 1Gi memory, no CPU limit
   */
  readonly redisResources?: ContainerResources;

  /**
   * Resources of each Sentinel container.
   * @default - requests 50m CPU / 64Mi memory, limit 128Mi memory, no CPU limit
   */
  readonly sentinelResources?: ContainerResources;

  /**
   * Redis `maxmemory`. Must not exceed the Redis container's memory limit.
   * @default - 70% of the Redis memory limit (room for fork copy-on-write and buffers); none without a limit
   */
  readonly maxmemory?: Size;

  /**
   * Redis `maxmemory-policy`.
   * @default MaxmemoryPolicy.NOEVICTION
   */
  readonly maxmemoryPolicy?: MaxmemoryPolicy;

  /**
   * Extra redis.conf directives. Directives the chart manages (port, replicaof, requirepass, ...) are refused.
   * @default - none
   */
  readonly redisConfig?: Record<string, string>;

  /**
   * Require a password (Redis `requirepass`/`masterauth`, Sentinel `requirepass`/`auth-pass`).
   * Turning it off must be explicit.
   * @default true
   */
  readonly auth?: boolean;

  /**
   * Existing Secret holding the password; the chart never creates it.
   * @default '<name>-auth'
   */
  readonly authSecretName?: string;

  /**
   * Key of the password in the Secret.
   * @default 'password'
   */
  readonly authSecretKey?: string;

  /** @default 6379 */
  readonly redisPort?: number;

  /** @default 26379 */
  readonly sentinelPort?: number;

  /**
   * Emit NetworkPolicies allowing only the traffic the deployment needs.
   * @default true
   */
  readonly networkPolicy?: boolean;

  /**
   * Labels of client pods (in the chart's namespace, or in `clientNamespaceLabels` namespaces)
   * allowed to reach Sentinel and Redis.
   * @default - { '<name>-client': 'true' }
   */
  readonly clientPodLabels?: Record<string, string>;

  /**
   * Labels of namespaces whose pods (with `clientPodLabels`) may reach Sentinel and Redis.
   * @default - only the chart's namespace
   */
  readonly clientNamespaceLabels?: Record<string, string>;

  /**
   * DNS port allowed for egress (UDP and TCP).
   * @default 53
   */
  readonly dnsPort?: number;

  /**
   * Anti-affinity of the pods of each StatefulSet on `kubernetes.io/hostname`.
   * @default AntiAffinity.REQUIRED
   */
  readonly antiAffinity?: AntiAffinity;

  /**
   * Spread pods over `topology.kubernetes.io/zone` (ScheduleAnyway, maxSkew 1).
   * @default true
   */
  readonly zoneSpread?: boolean;

  /**
   * Node selector of every pod.
   * @default - none
   */
  readonly nodeSelector?: Record<string, string>;

  /**
   * PriorityClass of every pod.
   * @default - none
   */
  readonly priorityClassName?: string;

  /**
   * Monitoring: a redis_exporter sidecar in every Redis and Sentinel pod, metrics Services, a
   * ServiceMonitor, a PrometheusRule with Redis and Sentinel alerts, and a Grafana dashboard
   * ConfigMap. Turn off for clusters without prometheus-operator.
   * @default true
   */
  readonly monitoring?: boolean;

  /**
   * redis_exporter image, pinned (>= v1.80.2 reports `redis_sentinel_master_config_epoch`).
   * @default 'oliver006/redis_exporter:v1.91.1'
   * @see https://github.com/oliver006/redis_exporter
   */
  readonly exporterImage?: string;

  /**
   * Resources of each exporter sidecar.
   * @default - requests 10m CPU / 32Mi memory, limit 64Mi memory
   */
  readonly exporterResources?: ContainerResources;

  /**
   * Port of the exporter sidecars (named `metrics`).
   * @default 9121
   */
  readonly metricsPort?: number;

  /**
   * Prometheus scrape interval of the ServiceMonitor.
   * @default Duration.seconds(15)
   */
  readonly scrapeInterval?: Duration;

  /**
   * Namespace of the ServiceMonitor, PrometheusRule and dashboard ConfigMap.
   * @default - namespace
   */
  readonly monitoringNamespace?: string;

  /**
   * Extra labels on the ServiceMonitor and PrometheusRule, for the Prometheus
   * `serviceMonitorSelector` / `ruleSelector` (kube-prometheus-stack: `{ release: '<its release>' }`).
   * @default - none
   */
  readonly monitoringLabels?: Record<string, string>;

  /**
   * Extra labels on every alert (e.g. a team for routing).
   * @default - none
   */
  readonly alertLabels?: Record<string, string>;

  /**
   * Labels of the Prometheus pods allowed to reach the metrics ports.
   * @default { 'app.kubernetes.io/name': 'prometheus' }
   */
  readonly prometheusPodLabels?: Record<string, string>;

  /**
   * Labels of the namespaces the Prometheus pods run in.
   * @default - any namespace
   */
  readonly prometheusNamespaceLabels?: Record<string, string>;

  /**
   * Labels of the dashboard ConfigMap, for the Grafana sidecar's discovery.
   * @default { grafana_dashboard: '1' }
   */
  readonly dashboardLabels?: Record<string, string>;

  /**
   * Backups: a CronJob that streams an RDB snapshot from a healthy replica (found through the
   * Sentinels; the master only when no replica is healthy) with `redis-cli --rdb`, checks it with
   * `redis-check-rdb` and keeps the newest `backupRetention` files on a PersistentVolumeClaim.
   * With monitoring on, the PrometheusRule alerts when the last successful backup is too old.
   * @default false
   */
  readonly backup?: boolean;

  /**
   * When backups run, in CronJob syntax (5 fields or `@daily`-style), checked at synth time.
   * @default '0 2 * * *' (02:00 every day)
   * @see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax
   */
  readonly backupSchedule?: string;

  /**
   * Time zone of `backupSchedule` (an IANA name such as 'Europe/Berlin'; CronJob `timeZone`).
   * @default - the kube-controller-manager's time zone (usually UTC)
   */
  readonly backupTimeZone?: string;

  /**
   * How many backups to keep; the oldest beyond that are deleted after each successful backup.
   * @default 7
   */
  readonly backupRetention?: number;

  /**
   * Size of the backup PersistentVolumeClaim: room for `backupRetention` + 1 snapshots (an RDB file
   * is usually smaller than the memory Redis uses).
   * @default - storageSize
   */
  readonly backupStorageSize?: Size;

  /**
   * StorageClass of the backup PersistentVolumeClaim.
   * @default - storageClassName
   */
  readonly backupStorageClassName?: string;

  /**
   * Use this existing PersistentVolumeClaim for backups instead of creating `<name>-backup`
   * (e.g. one whose volume outlives the chart: `kubectl delete -f dist/` deletes the chart's own).
   * @default - the chart creates `<name>-backup`
   */
  readonly backupExistingClaim?: string;

  /**
   * How long one backup may run before Kubernetes stops it (Job `activeDeadlineSeconds`).
   * @default Duration.hours(1)
   */
  readonly backupDeadline?: Duration;

  /**
   * Alert (RedisBackupTooOld) when the last successful backup is older than this.
   * @default - the longest interval between two scheduled runs plus backupDeadline
   */
  readonly backupMaxAge?: Duration;

  /**
   * Resources of the backup container.
   * @default - requests 50m CPU / 64Mi memory, limit 256Mi memory
   */
  readonly backupResources?: ContainerResources;

  /**
   * Restore a backup when the deployment starts for the first time: the bootstrap master's init
   * container loads this file (a name in the backup volume, or 'latest' for the newest backup)
   * when its data volume is empty and no Sentinel names another master; replicas then copy it.
   * Later starts never restore again (a marker file stays on the data volume).
   * @default - no restore
   */
  readonly restoreFrom?: string;

  /**
   * PersistentVolumeClaim holding the `restoreFrom` file.
   * @default - the backup claim (backupExistingClaim, or `<name>-backup`)
   */
  readonly restoreClaimName?: string;

  /**
   * UID the Redis and Sentinel processes run as (the official image's `redis` user).
   * @default 999
   */
  readonly runAsUser?: number;

  /**
   * GID the processes run as and own their volumes with (the alpine image's `redis` group).
   * @default 1000
   */
  readonly runAsGroup?: number;
}
