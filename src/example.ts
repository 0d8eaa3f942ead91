/**
 * The example app: the article in shared/seed, done right. src/main.ts synthesizes it into dist/;
 * the tests and the benchmarks build the same app with {@link buildExampleApp}.
 *
 * Two Charts, so that `kubectl apply` of the core file works on any cluster: the deployment
 * (`redis-sentinel`, dist/redis-sentinel.k8s.yaml) and its monitoring (`redis-sentinel-monitoring`,
 * dist/redis-sentinel-monitoring.k8s.yaml: the metrics Services, the ServiceMonitor and PrometheusRule,
 * which need prometheus-operator's CRDs, and the dashboard ConfigMap). The exporter sidecars and the
 * NetworkPolicy rules for Prometheus are in the deployment's own objects, so they are in the core file.
 */
import { App, Chart, Cron, Duration, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import { MonitoringOptions, RedisMonitoring } from './monitoring';
import { RedisSentinelChart, RedisSentinelChartProps } from './redis-sentinel-chart';

/** Chart id of the example deployment: the output file is dist/<id>.k8s.yaml. */
export const EXAMPLE_CHART_ID = 'redis-sentinel';

/** Chart id of the example's monitoring (the objects that need prometheus-operator's CRDs). */
export const EXAMPLE_MONITORING_CHART_ID = 'redis-sentinel-monitoring';

/** 1 master + 2 replicas, 3 Sentinels with quorum 2, the article's timings, volumes and resources. */
export const EXAMPLE_PROPS: RedisSentinelChartProps = {
  name: 'redis',
  namespace: 'redis',
  masterName: 'mymaster',
  replicas: 2,
  sentinels: 3,
  quorum: 2,
  downAfter: Duration.seconds(5),
  failoverTimeout: Duration.seconds(10),
  parallelSyncs: 1,
  storageSize: Size.gibibytes(10),
  sentinelStorageSize: Size.gibibytes(1),
  redisResources: {
    cpu: { request: Cpu.millis(500), limit: Cpu.millis(1000) },
    memory: { request: Size.gibibytes(1), limit: Size.gibibytes(2) },
  },
  sentinelResources: {
    cpu: { request: Cpu.millis(100), limit: Cpu.millis(200) },
    memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
  },
  // The article's schedule (02:00 daily); a week of snapshots.
  backup: {
    schedule: Cron.schedule({ minute: '0', hour: '2' }),
    retention: 7,
  },
};

/**
 * The example's monitoring, every option at its default: redis_exporter sidecars, metrics Services,
 * ServiceMonitor, PrometheusRule, dashboard. {@link buildExampleApp} puts it in a Chart of its own;
 * `{ ...EXAMPLE_PROPS, monitoring: EXAMPLE_MONITORING }` is the same deployment in one Chart.
 */
export const EXAMPLE_MONITORING: MonitoringOptions = {};

/** The example app's Charts. */
export interface ExampleApp {
  /** The deployment (dist/redis-sentinel.k8s.yaml): only built-in Kubernetes kinds. */
  readonly core: RedisSentinelChart;
  /** Its monitoring (dist/redis-sentinel-monitoring.k8s.yaml): needs prometheus-operator's CRDs. */
  readonly monitoring: Chart;
}

/**
 * Builds the whole example app into `app`: the deployment with EXAMPLE_PROPS (`overrides` replace
 * single props, e.g. other timings for a benchmark, or ONE_NODE_OVERRIDES) and, in a Chart of its own,
 * a RedisMonitoring for it with EXAMPLE_MONITORING.
 */
export function buildExampleApp(app: App, overrides: RedisSentinelChartProps = {}): ExampleApp {
  const core = new RedisSentinelChart(app, EXAMPLE_CHART_ID, { ...EXAMPLE_PROPS, ...overrides });
  // No namespace of its own: the metrics Services go to the deployment's namespace, the rest to
  // EXAMPLE_MONITORING.namespace (default: the deployment's).
  const monitoring = new Chart(app, EXAMPLE_MONITORING_CHART_ID, { disableResourceNameHashes: true });
  new RedisMonitoring(monitoring, 'Monitoring', { ...EXAMPLE_MONITORING, deployment: core.redis });
  return { core, monitoring };
}
