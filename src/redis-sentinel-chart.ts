import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { RedisSentinelProps } from './props';
import { RedisSentinel } from './redis-sentinel';

/** Props of {@link RedisSentinelChart}. */
export interface RedisSentinelChartProps extends RedisSentinelProps {}

/**
 * A Chart holding one {@link RedisSentinel} (its `Resource` child), for apps that give the
 * deployment a file of its own. Unlike the construct, it defaults `name` to the chart's id,
 * `namespace` to 'redis' and `createNamespace` to true (so `kubectl apply -f dist/` works on an
 * empty cluster).
 */
export class RedisSentinelChart extends Chart {
  /** The deployment. */
  public readonly redis: RedisSentinel;

  constructor(scope: Construct, id: string, props: RedisSentinelChartProps = {}) {
    // Every object names its namespace itself (the Namespace object must not carry one).
    super(scope, id, { disableResourceNameHashes: true });
    try {
      this.redis = new RedisSentinel(this, 'Resource', {
        ...props,
        name: props.name ?? id,
        namespace: props.namespace ?? 'redis',
        createNamespace: props.createNamespace ?? true,
      });
    } catch (e) {
      // Invalid props: no (empty) chart stays in the app, so nothing is written for it.
      scope.node.tryRemoveChild(id);
      throw e;
    }
  }
}
