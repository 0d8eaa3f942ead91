import { Construct } from 'constructs';
import { RedisSentinelProps } from './props';
import { RedisStatefulSet } from './redis-statefulset';
import { Settings, resolveSettings } from './settings';
import { configChecksum } from './shared-config';

/** Props of {@link RedisMaster}: the deployment's settings. */
export interface RedisMasterProps extends RedisSentinelProps {}

/**
 * The bootstrap master: a StatefulSet of one Redis pod (`<name>-master-0`) that starts as master
 * only when no Sentinel knows a master (first install). After a failover it is an ordinary replica.
 * Expects the chart's shared ConfigMaps (see RedisSentinelChart).
 */
export class RedisMaster extends RedisStatefulSet {
  /** The resolved settings. */
  public readonly settings: Settings;

  constructor(scope: Construct, id: string, props: RedisMasterProps = {}) {
    const s = resolveSettings(props, props.name ?? 'redis');
    super(scope, id, s, {
      statefulSetName: s.names.master,
      headlessServiceName: s.names.masterHeadless,
      podCount: 1,
      configChecksum: configChecksum(s).redis,
      restore: true,
    });
    this.settings = s;
  }
}
