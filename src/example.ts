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
import { AntiAffinity } from './props';
import { CertificateSource } from './tls';
import { RedisSentinelChart, RedisSentinelChartProps } from './redis-sentinel-chart';

/** Chart id of the example deployment: the output file is dist/<id>.k8s.yaml. */
export const EXAMPLE_CHART_ID = 'redis-sentinel';

/** Chart id of the example's monitoring (the objects that need prometheus-operator's CRDs). */
export const EXAMPLE_MONITORING_CHART_ID = 'redis-sentinel-monitoring';

/** 1 master + 2 replicas, 3 Sentinels with quorum 2, the article's timings, volumes and resources. */
export const EXAMPLE_PROPS: RedisSentinelChartProps = {
  name: 'redis',
  namespace: 'redis',
  // The namespace is this deployment's alone: emit it, labelled for Pod Security "restricted".
  createNamespace: true,
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
  // <name>-master for clients that cannot ask Sentinel (HAProxy, 2 pods), and <name>-replicas for reads.
  masterEndpoint: {},
};

/**
 * The example's monitoring, every option at its default: redis_exporter sidecars, metrics Services,
 * ServiceMonitor, PrometheusRule, dashboard. {@link buildExampleApp} puts it in a Chart of its own;
 * `{ ...EXAMPLE_PROPS, monitoring: EXAMPLE_MONITORING }` is the same deployment in one Chart.
 */
export const EXAMPLE_MONITORING: MonitoringOptions = {};

/**
 * "Try it on one node" (examples/one-node/, written by src/main-one-node.ts): the example with what a
 * single-node cluster (kind, minikube, k3d) cannot satisfy relaxed. NOT for production: one node is
 * one failure domain, so losing it loses the master, every replica and every Sentinel at once.
 * - `antiAffinity: PREFERRED`: the default (REQUIRED, per StatefulSet on `kubernetes.io/hostname`)
 *   needs replicas + 1 nodes for Redis and `sentinels` nodes for Sentinel; on one node only one pod of
 *   each StatefulSet would run, and one Sentinel can never reach the quorum of 2.
 * - the library's default resources (requests 250m CPU / 512Mi per Redis pod, 50m / 64Mi per Sentinel)
 *   instead of the example's 500m / 1Gi and 100m / 128Mi, so that every pod together (3 Redis,
 *   3 Sentinels, their exporter sidecars, a backup Job) requests at most 2 CPUs and 4 GiB
 *   (test/one-node.test.ts sums them from the synthesized objects).
 * Everything else is the example's: zone spread stays (ScheduleAnyway: one zone satisfies it), there is
 * no nodeSelector, and the volumes ask the default StorageClass for the same sizes.
 */
export const ONE_NODE_OVERRIDES: RedisSentinelChartProps = {
  antiAffinity: AntiAffinity.PREFERRED,
  // undefined: the library's defaults.
  redisResources: undefined,
  sentinelResources: undefined,
};

/** Where src/main-one-node.ts writes the one-node example (not under dist/: `kubectl apply -f dist/` must not apply it). */
export const ONE_NODE_OUTDIR = 'examples/one-node';

/** Chart id of the secure example (dist/redis-secure.k8s.yaml). */
export const SECURE_CHART_ID = 'redis-secure';

/**
 * The secure example: the example's deployment with TLS on every connection and least-privilege ACL
 * users, in its own namespace `redis-secure`. The certificate comes from cert-manager (the file holds a
 * cert-manager Certificate, so applying it needs cert-manager), signed by a ClusterIssuer `redis-ca` that
 * you provide (a CA issuer: it must fill `ca.crt`). Clients verify the servers; the servers do not require
 * client certificates (`mutual: false`): your applications need the CA, not a certificate of their own.
 * Applications log in as `app` (password in the Secret `redis-app`): every key and channel, no dangerous
 * command; the deployment's own users' passwords are in the Secret `redis-acl` (the release is named `redis`).
 */
export const SECURE_PROPS: RedisSentinelChartProps = {
  ...EXAMPLE_PROPS,
  namespace: 'redis-secure',
  tls: {
    certificate: CertificateSource.fromCertManager({ issuerName: 'redis-ca', issuerKind: 'ClusterIssuer' }),
  },
  acl: { users: [{ name: 'app', secretName: 'redis-app' }] },
};

/** Builds the secure example (one Chart, {@link SECURE_PROPS}) into `app`. */
export function buildSecureExample(app: App): RedisSentinelChart {
  return new RedisSentinelChart(app, SECURE_CHART_ID, SECURE_PROPS);
}

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
