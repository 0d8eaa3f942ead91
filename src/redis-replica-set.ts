import { Construct } from 'constructs';
import { RedisSentinelProps } from './props';
import { RedisStatefulSet } from './redis-statefulset';
import { Settings, resolveSettings } from './settings';
import { configChecksum } from './shared-config';

/** Props of {@link RedisReplicaSet}: the deployment's settings (`replicas` is its size). */
export interface RedisReplicaSetProps extends RedisSentinelProps {}

/**
 * The replica StatefulSet (`<name>-replica-<i>`, `replicas` pods). Its pods replicate whichever
 * pod the Sentinels name as master, and any of them may be promoted.
 * Expects the chart's shared ConfigMaps (see RedisSentinelChart).
 */
export class RedisReplicaSet extends RedisStatefulSet {
  /** The resolved settings. */
  public readonly settings: Settings;

  constructor(scope: Construct, id: string, props: RedisReplicaSetProps = {}) {
    const s = resolveSettings(props, props.name ?? 'redis');
    super(scope, id, s, {
      statefulSetName: s.names.replica,
      headlessServiceName: s.names.replicaHeadless,
      podCount: s.replicas,
      configChecksum: configChecksum(s).redis,
    });
    this.settings = s;
  }
}
