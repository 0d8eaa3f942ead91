import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { RedisBackup } from './backup';
import { componentSelector, objectLabels } from './names';
import { RedisMonitoring } from './monitoring';
import { RedisNetworkPolicies } from './network-policies';
import { RedisSentinelProps } from './props';
import { RedisMaster } from './redis-master';
import { RedisReplicaSet } from './redis-replica-set';
import { SentinelQuorum } from './sentinel-quorum';
import { Settings, resolveSettings } from './settings';
import { renderFiles } from './shared-config';

/** Props of {@link RedisSentinelChart}. */
export interface RedisSentinelChartProps extends RedisSentinelProps {}

/**
 * A complete Redis + Sentinel deployment with automatic failover: the bootstrap master, the replica
 * set, the Sentinel quorum, their ConfigMaps, Services, PodDisruptionBudgets and NetworkPolicies.
 * The password comes from an existing Secret (`<name>-auth`, key `password`, by default).
 */
export class RedisSentinelChart extends Chart {
  /** Every prop resolved to its value. */
  public readonly settings: Settings;
  public readonly master: RedisMaster;
  public readonly replicaSet: RedisReplicaSet;
  public readonly sentinels: SentinelQuorum;
  /** ClusterIP Service over every ready Redis pod (master or replica), for reads. */
  public readonly readService: k8s.KubeService;
  public readonly redisConfigMap: k8s.KubeConfigMap;
  public readonly scriptsConfigMap: k8s.KubeConfigMap;
  public readonly redisPodDisruptionBudget: k8s.KubePodDisruptionBudget;
  public readonly networkPolicies?: RedisNetworkPolicies;
  /** Metrics Services, ServiceMonitor, PrometheusRule and dashboard, when `monitoring` is on. */
  public readonly monitoring?: RedisMonitoring;
  /** The backup CronJob and its volume, when `backup` is on. */
  public readonly backup?: RedisBackup;

  constructor(scope: Construct, id: string, props: RedisSentinelChartProps = {}) {
    // Validate before creating anything: bad props throw here and nothing is emitted.
    // The constructs below get this same props object, so settings resolve (and files render) once.
    const all: RedisSentinelProps = { ...props, name: props.name ?? id };
    const s = resolveSettings(all, all.name!);
    // Every object names its namespace itself (the Namespace object must not carry one).
    super(scope, id, { disableResourceNameHashes: true });
    this.settings = s;
    const n = s.names;
    const files = renderFiles(s);

    if (s.createNamespace) {
      new k8s.KubeNamespace(this, 'Namespace', {
        metadata: {
          name: s.namespace,
          labels: {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/warn': 'restricted',
            'pod-security.kubernetes.io/audit': 'restricted',
          },
        },
      });
    }

    this.redisConfigMap = new k8s.KubeConfigMap(this, 'RedisConfig', {
      metadata: { name: n.redisConfig, namespace: s.namespace, labels: objectLabels(s.name, 'redis') },
      data: { 'redis.conf': files.redisConf },
    });
    this.scriptsConfigMap = new k8s.KubeConfigMap(this, 'Scripts', {
      metadata: { name: n.scripts, namespace: s.namespace, labels: objectLabels(s.name, undefined) },
      data: files.scripts,
    });

    this.master = new RedisMaster(this, 'Master', all);
    this.replicaSet = new RedisReplicaSet(this, 'Replicas', all);
    this.sentinels = new SentinelQuorum(this, 'Sentinels', all);

    this.readService = new k8s.KubeService(this, 'ReadService', {
      metadata: { name: n.readService, namespace: s.namespace, labels: objectLabels(s.name, 'redis') },
      spec: {
        type: 'ClusterIP',
        selector: componentSelector(s.name, 'redis'),
        ports: [{ name: 'redis', port: s.redisPort, targetPort: k8s.IntOrString.fromString('redis') }],
      },
    });

    // One budget over master and replicas: a drain never takes two Redis pods at once.
    this.redisPodDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'RedisPdb', {
      metadata: { name: n.redisPdb, namespace: s.namespace, labels: objectLabels(s.name, 'redis') },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: componentSelector(s.name, 'redis') } },
    });

    if (s.backup) {
      this.backup = new RedisBackup(this, 'Backup', all);
    }

    if (s.monitoring) {
      this.monitoring = new RedisMonitoring(this, 'Monitoring', s);
    }

    if (s.networkPolicy) {
      this.networkPolicies = new RedisNetworkPolicies(this, 'NetworkPolicies', s);
    }
  }
}
