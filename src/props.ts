import { Duration, Size } from 'cdk8s';
import type { ContainerResources, ImagePullPolicy, PersistentVolumeAccessMode } from 'cdk8s-plus-27';
import type * as k8s from './k8s';
import { RedisAuth } from './auth';
import { BackupOptions, RestoreOptions } from './backup';
import { MasterEndpointOptions } from './master-endpoint';
import { MonitoringOptions } from './monitoring';
import { PodOptions } from './pod-options';
import { TlsOptions } from './tls';
import { AclOptions } from './acl';

/** How strictly pods of one StatefulSet are kept off the same node (the library's anti-affinity preset). */
export enum AntiAffinity {
  /** Pods of one StatefulSet never share a node (unschedulable when nodes run out). */
  REQUIRED = 'required',
  /** The scheduler avoids putting pods of one StatefulSet on one node, but may. */
  PREFERRED = 'preferred',
  /** No preset: only the pod anti-affinity given in `affinity` (if any). */
  NONE = 'none',
}

/**
 * A Redis `maxmemory-policy`: `MaxmemoryPolicy.ALLKEYS_LRU`, or `MaxmemoryPolicy.of('allkeys-lru')`
 * with the name redis.conf uses (checked at synth). A class rather than a string enum: TypeScript
 * then never offers a wrong member for a string, and `of()` takes the redis.conf spelling.
 * @see https://redis.io/docs/latest/develop/reference/eviction/
 */
export class MaxmemoryPolicy {
  /** Refuse writes that need more memory (the default: a cache of record loses nothing silently). */
  public static readonly NOEVICTION = new MaxmemoryPolicy('noeviction');
  /** Evict the least recently used keys. */
  public static readonly ALLKEYS_LRU = new MaxmemoryPolicy('allkeys-lru');
  /** Evict the least frequently used keys. */
  public static readonly ALLKEYS_LFU = new MaxmemoryPolicy('allkeys-lfu');
  /** Evict random keys. */
  public static readonly ALLKEYS_RANDOM = new MaxmemoryPolicy('allkeys-random');
  /** Evict the least recently used keys that have a TTL. */
  public static readonly VOLATILE_LRU = new MaxmemoryPolicy('volatile-lru');
  /** Evict the least frequently used keys that have a TTL. */
  public static readonly VOLATILE_LFU = new MaxmemoryPolicy('volatile-lfu');
  /** Evict random keys that have a TTL. */
  public static readonly VOLATILE_RANDOM = new MaxmemoryPolicy('volatile-random');
  /** Evict the keys with the nearest expiry. */
  public static readonly VOLATILE_TTL = new MaxmemoryPolicy('volatile-ttl');

  /** Every policy Redis accepts. */
  public static all(): MaxmemoryPolicy[] {
    return [
      MaxmemoryPolicy.NOEVICTION, MaxmemoryPolicy.ALLKEYS_LRU, MaxmemoryPolicy.ALLKEYS_LFU, MaxmemoryPolicy.ALLKEYS_RANDOM,
      MaxmemoryPolicy.VOLATILE_LRU, MaxmemoryPolicy.VOLATILE_LFU, MaxmemoryPolicy.VOLATILE_RANDOM, MaxmemoryPolicy.VOLATILE_TTL,
    ];
  }

  /**
   * A policy by its redis.conf name, e.g. 'allkeys-lru' (an unknown name fails at synth, listing the valid ones).
   * @param value the `maxmemory-policy` value
   */
  public static of(value: string): MaxmemoryPolicy {
    return MaxmemoryPolicy.all().find((m) => m.value === value) ?? new MaxmemoryPolicy(value);
  }

  private constructor(
    /** The `maxmemory-policy` value in redis.conf. */
    public readonly value: string,
  ) {}

  /** The redis.conf value. */
  public toString(): string {
    return this.value;
  }
}

/**
 * Props of {@link RedisSentinel}: the core settings are flat, optional features are option objects
 * whose presence turns them on. Every prop has a default, so `{}` works. The pod knobs of
 * {@link PodOptions} (tolerations, affinity, nodeSelector, podLabels, ...) given here apply to every
 * pod of the deployment; `redisPod`, `sentinelPod` and `backup.pod` extend or override them per component.
 */
export interface RedisSentinelProps extends PodOptions {
  /**
   * Prefix of every resource name (`<name>-master`, `<name>-sentinel`, ...).
   * @default - the construct's id
   */
  readonly name?: string;

  /**
   * Namespace of every object.
   * @default - the Chart's namespace (an error when the Chart has none)
   */
  readonly namespace?: string;

  /**
   * Emit the Namespace object (labelled for Pod Security "restricted"). Off by default, also in
   * {@link RedisSentinelChart}: a namespace is often someone else's (an app's own), and `kubectl apply`
   * of a Namespace object relabels it, which can get that app's pods rejected; deleting the manifests
   * would delete it with everything in it. Turn it on when the namespace belongs to this deployment alone.
   * @default false
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
   * Extra redis.conf directives. Directives the library manages (port, replicaof, requirepass, ...) are refused.
   * @default - none
   */
  readonly redisConfig?: Record<string, string>;

  /**
   * How everything authenticates: `RedisAuth.fromSecret()` (a password from an existing Secret) or,
   * explicitly, `RedisAuth.none()`.
   * @default RedisAuth.fromSecret() - key `password` of the Secret `<name>-auth`
   */
  readonly auth?: RedisAuth;

  /**
   * TLS on every connection (see {@link TlsOptions}): present turns it on; `{}` uses the existing
   * kubernetes.io/tls Secret `<name>-tls`. The plaintext ports are then closed: `redisPort` and
   * `sentinelPort` speak TLS.
   * @default - no TLS
   */
  readonly tls?: TlsOptions;

  /**
   * Least-privilege ACL users (see {@link AclOptions}): present turns them on; `{}` gives the deployment's
   * own components their users (passwords from the existing Secret `<name>-acl`) and no application user.
   * Needs `auth` (the default user keeps its password and serves only the deployment's scripts).
   * @default - no ACL users: everything authenticates as the default user with the `auth` password
   */
  readonly acl?: AclOptions;

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
   * Labels of client pods (in the deployment's namespace, or in `clientNamespaceLabels` namespaces)
   * allowed to reach Sentinel and Redis.
   * @default - { '<name>-client': 'true' }
   */
  readonly clientPodLabels?: Record<string, string>;

  /**
   * Labels of namespaces whose pods (with `clientPodLabels`) may reach Sentinel and Redis.
   * @default - only the deployment's namespace
   */
  readonly clientNamespaceLabels?: Record<string, string>;

  /**
   * DNS port allowed for egress (UDP and TCP).
   * @default 53
   */
  readonly dnsPort?: number;

  /**
   * The anti-affinity preset: pods of each StatefulSet on different `kubernetes.io/hostname`s
   * (required or preferred), and all Redis pods preferably apart. Terms in `affinity.podAntiAffinity`
   * are added to it; `AntiAffinity.NONE` leaves only those.
   * @default AntiAffinity.REQUIRED
   */
  readonly antiAffinity?: AntiAffinity;

  /**
   * The zone spread preset: each StatefulSet's pods over `topology.kubernetes.io/zone`
   * (ScheduleAnyway, maxSkew 1). `topologySpreadConstraints` are added to it; false leaves only those.
   * @default true
   */
  readonly zoneSpread?: boolean;

  /**
   * Pod options of the Redis pods (bootstrap master and replicas), merged over the deployment-level
   * ones (see {@link PodOptions} for how).
   * @default - the deployment-level pod options
   */
  readonly redisPod?: PodOptions;

  /**
   * Pod options of the Sentinel pods, merged over the deployment-level ones.
   * @default - the deployment-level pod options
   */
  readonly sentinelPod?: PodOptions;

  /**
   * Labels on every object of the deployment (its backups and monitoring included) and on its pods;
   * not on the StatefulSets' volumeClaimTemplates (immutable: a change would make `kubectl apply`
   * fail). The library's own label keys are refused. Labels of the enclosing cdk8s Chart
   * (`ChartProps.labels`) reach every object too (not the pods), under these.
   * @default - none
   */
  readonly commonLabels?: Record<string, string>;

  /**
   * Annotations on every object of the deployment (not on the pods: see `podAnnotations`).
   * @default - none
   */
  readonly commonAnnotations?: Record<string, string>;

  /**
   * What happens to the Redis and Sentinel claims when their StatefulSet is deleted or scaled down
   * (`whenDeleted`, `whenScaled`: 'Retain' or 'Delete'; Kubernetes 1.27+ with StatefulSetAutoDeletePVC).
   * @default - not set: Kubernetes keeps the claims (Retain, Retain)
   * @see https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#persistentvolumeclaim-retention
   */
  readonly persistentVolumeClaimRetentionPolicy?: k8s.StatefulSetPersistentVolumeClaimRetentionPolicy;

  /**
   * Access modes of the Redis volumes. Fixed at the first apply (volumeClaimTemplates are immutable).
   * @default [PersistentVolumeAccessMode.READ_WRITE_ONCE]
   */
  readonly storageAccessModes?: PersistentVolumeAccessMode[];

  /**
   * Access modes of the Sentinel volumes.
   * @default - storageAccessModes
   */
  readonly sentinelStorageAccessModes?: PersistentVolumeAccessMode[];

  /**
   * Monitoring: a redis_exporter sidecar in every Redis and Sentinel pod, metrics Services, a
   * ServiceMonitor, a PrometheusRule with Redis and Sentinel alerts, and a Grafana dashboard
   * ConfigMap (needs prometheus-operator's CRDs). Present turns it on; `{}` uses every default.
   * The same as adding a {@link RedisMonitoring} for this deployment.
   * @default - no monitoring
   */
  readonly monitoring?: MonitoringOptions;

  /**
   * Backups: a CronJob that streams an RDB snapshot from a healthy replica (found through the
   * Sentinels; the master only when no replica is healthy), checks it with `redis-check-rdb` and
   * keeps the newest on a PersistentVolumeClaim. Present turns it on; `{}` uses every default.
   * The same as adding a {@link RedisBackup} for this deployment.
   * @default - no backups
   */
  readonly backup?: BackupOptions;

  /**
   * Restore a backup when the deployment starts for the first time (see {@link RestoreOptions}).
   * @default - no restore
   */
  readonly restore?: RestoreOptions;

  /**
   * A master endpoint for clients that do not speak Sentinel: HAProxy pods behind a Service
   * `<name>-master` that leads only to the master a majority of the Sentinels name (nowhere while they
   * disagree), and `<name>-replicas` over the replicas in sync. Present turns it on; `{}` uses every
   * default. The same as adding a {@link RedisMasterEndpoint} for this deployment.
   * @default - no master endpoint: clients ask the Sentinels
   */
  readonly masterEndpoint?: MasterEndpointOptions;

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
