import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { RedisSentinelProps } from './props';
import { RedisSentinel } from './redis-sentinel';
import { Problems, RedisSentinelConfigError, checkLabels } from './validation';

/** Props of {@link RedisSentinelChart}. */
export interface RedisSentinelChartProps extends RedisSentinelProps {
  /**
   * Labels of the Chart (cdk8s `ChartProps.labels`): cdk8s puts them on every object of the chart,
   * under the objects' own labels and `commonLabels` (not on pods: use `commonLabels` or `podLabels`).
   * @default - none
   */
  readonly labels?: Record<string, string>;
}

/**
 * A Chart holding one {@link RedisSentinel} (its `Resource` child), for apps that give the
 * deployment a file of its own. Unlike the construct, it defaults `name` to the chart's id and
 * `namespace` to 'redis'. Like the construct, it emits no Namespace object unless `createNamespace:
 * true` (a namespace you name may be an app's own, which a Namespace object would relabel).
 */
export class RedisSentinelChart extends Chart {
  /** The deployment. */
  public readonly redis: RedisSentinel;

  constructor(scope: Construct, id: string, props: RedisSentinelChartProps = {}) {
    // Every object names its namespace itself (the Namespace object must not carry one).
    super(scope, id, { disableResourceNameHashes: true, labels: props.labels });
    // The Chart's own prop, reported in the same error as the deployment's props.
    const p = new Problems();
    checkLabels(p, 'labels', props.labels);
    try {
      this.redis = new RedisSentinel(this, 'Resource', {
        ...props,
        name: props.name ?? id,
        namespace: props.namespace ?? 'redis',
      });
      p.throwIfAny(this.redis.node.path);
    } catch (e) {
      // Invalid props: no (empty) chart stays in the app, so nothing is written for it.
      scope.node.tryRemoveChild(id);
      if (e instanceof RedisSentinelConfigError && p.list.length > 0 && e.problems !== p.list) {
        throw new RedisSentinelConfigError(e.constructPath, [...p.list, ...e.problems]);
      }
      throw e;
    }
  }
}
