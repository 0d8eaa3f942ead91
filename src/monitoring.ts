import { ApiObject, Duration, Lazy, Size } from 'cdk8s';
import { ContainerResources, Cpu, k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  PrometheusRule, PrometheusRuleSpecGroups, PrometheusRuleSpecGroupsRulesExpr, ServiceMonitor, ServiceMonitorSpecEndpointsScheme,
} from '../imports/monitoring.coreos.com';
import { RuleGroup, renderAlertRules } from './config/alerts';
import { renderBackupAlertRules } from './config/backup-alerts';
import { renderDashboard } from './config/dashboard';
import { renderEndpointAlertRules } from './config/endpoint-alerts';
import { Component, LABEL, componentSelector, objectLabels } from './names';
import { resourceRequirements } from './pod';
import { deploymentOf } from './part';
import type { RedisSentinel } from './redis-sentinel';
import { DeploymentSettings, PATHS } from './settings';
import { Problems, checkImage, checkLabels, checkPort, checkResources, checkSeconds, isDnsLabel } from './validation';

/** Default redis_exporter image (>= v1.80.2 has redis_sentinel_master_config_epoch). */
export const DEFAULT_EXPORTER_IMAGE = 'oliver006/redis_exporter:v1.91.1';

/** Options of monitoring ({@link RedisSentinelProps.monitoring}, {@link RedisMonitoring}). */
export interface MonitoringOptions {
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
   * @default - the deployment's namespace
   */
  readonly namespace?: string;

  /**
   * Extra labels on the ServiceMonitor and PrometheusRule, for the Prometheus
   * `serviceMonitorSelector` / `ruleSelector` (kube-prometheus-stack: `{ release: '<its release>' }`).
   * @default - none
   */
  readonly labels?: Record<string, string>;

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
}

/** Props of {@link RedisMonitoring}. */
export interface RedisMonitoringProps extends MonitoringOptions {
  /** The deployment to monitor (in any Chart): exporter sidecars are added to its pods. */
  readonly deployment: RedisSentinel;
}

/** MonitoringOptions resolved to values. */
export interface ResolvedMonitoring {
  readonly exporterImage: string;
  readonly exporterResources: ContainerResources;
  readonly metricsPort: number;
  readonly scrapeIntervalSeconds: number;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly alertLabels: Record<string, string>;
  readonly prometheusPodLabels: Record<string, string>;
  readonly prometheusNamespaceLabels: Record<string, string>;
  readonly dashboardLabels: Record<string, string>;
}

/** Checks and resolves monitoring options; `prop` prefixes every message (e.g. 'monitoring.'). */
export function resolveMonitoringOptions(p: Problems, o: MonitoringOptions, s: DeploymentSettings, prop: string): ResolvedMonitoring {
  const exporterImage = o.exporterImage ?? DEFAULT_EXPORTER_IMAGE;
  checkImage(p, `${prop}exporterImage`, exporterImage, DEFAULT_EXPORTER_IMAGE);
  // RedisSentinelFailover reads redis_sentinel_master_config_epoch, which redis_exporter has since
  // v1.80.2: an older pinned exporter would leave that alert silent for good.
  const exporterTag = /:v?(\d+)\.(\d+)\.(\d+)(?:@sha256:[0-9a-f]+)?$/.exec(exporterImage);
  if (exporterTag) {
    const [major, minor, patch] = exporterTag.slice(1).map(Number);
    p.check(major > 1 || (major === 1 && (minor > 80 || (minor === 80 && patch >= 2))),
      `${prop}exporterImage ('${exporterImage}') is older than redis_exporter v1.80.2, which added redis_sentinel_master_config_epoch: the RedisSentinelFailover alert could never fire; use '${DEFAULT_EXPORTER_IMAGE}' or newer`);
  }
  const exporterResources: ContainerResources = o.exporterResources ?? {
    cpu: { request: Cpu.millis(10) },
    memory: { request: Size.mebibytes(32), limit: Size.mebibytes(64) },
  };
  checkResources(p, `${prop}exporterResources`, exporterResources);
  const metricsPort = o.metricsPort ?? 9121;
  if (checkPort(p, `${prop}metricsPort`, metricsPort)) {
    for (const [key, port] of [['redisPort', s.redisPort], ['sentinelPort', s.sentinelPort]] as const) {
      p.check(metricsPort !== port, `${prop}metricsPort and ${key} are both ${port}: the exporter sidecar shares the pod's network, use another port, e.g. 9121`);
    }
  }
  const scrapeMs = (o.scrapeInterval ?? Duration.seconds(15)).toMilliseconds();
  checkSeconds(p, `${prop}scrapeInterval`, scrapeMs, 1, 'Duration.seconds(15)');
  const namespace = o.namespace ?? s.namespace;
  p.check(isDnsLabel(namespace), `${prop}namespace ('${namespace}') must be a DNS-1123 label of at most 63 characters`);
  const prometheusPodLabels = o.prometheusPodLabels ?? { 'app.kubernetes.io/name': 'prometheus' };
  p.check(Object.keys(prometheusPodLabels).length > 0,
    `${prop}prometheusPodLabels is empty: that would let every pod reach the metrics ports; e.g. { 'app.kubernetes.io/name': 'prometheus' }`);
  const dashboardLabels = o.dashboardLabels ?? { grafana_dashboard: '1' };
  for (const [key, labels] of [['labels', o.labels], ['alertLabels', o.alertLabels], ['prometheusPodLabels', prometheusPodLabels],
    ['prometheusNamespaceLabels', o.prometheusNamespaceLabels], ['dashboardLabels', dashboardLabels]] as const) {
    checkLabels(p, `${prop}${key}`, labels);
  }
  return {
    exporterImage, exporterResources, metricsPort, scrapeIntervalSeconds: scrapeMs / 1000, namespace,
    labels: o.labels ?? {}, alertLabels: o.alertLabels ?? {}, prometheusPodLabels,
    prometheusNamespaceLabels: o.prometheusNamespaceLabels ?? {}, dashboardLabels,
  };
}

/** The exporter image runs as this uid/gid (it has no shell or files to own). */
export const EXPORTER_UID = 59000;

/**
 * The redis_exporter sidecar of a Redis pod (scraping `redis://localhost:<redisPort>`) or a
 * Sentinel pod (`redis://localhost:<sentinelPort>`). The password reaches it as REDIS_PASSWORD
 * from the Secret (its --redis.password-file expects a JSON map of URIs, not the plain password).
 */
export function exporterContainer(s: DeploymentSettings, m: ResolvedMonitoring, component: Component): k8s.Container {
  const port = component === 'redis' ? s.redisPort : s.sentinelPort;
  return {
    name: 'metrics',
    image: m.exporterImage,
    imagePullPolicy: s.imagePullPolicy,
    args: [`--redis.addr=redis://localhost:${port}`, `--web.listen-address=:${m.metricsPort}`],
    ...(s.auth ? { env: [{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: s.authSecretName, key: s.authSecretKey } } }] } : {}),
    ports: [{ name: 'metrics', containerPort: m.metricsPort, protocol: 'TCP' }],
    resources: resourceRequirements(m.exporterResources),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: EXPORTER_UID,
      runAsGroup: EXPORTER_UID,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    livenessProbe: {
      httpGet: { path: '/health', port: k8s.IntOrString.fromString('metrics') },
      periodSeconds: 20,
      timeoutSeconds: 5,
      failureThreshold: 3,
    },
  };
}

/** The exporter sidecar of a component's pods, when the deployment has monitoring (attached at any time before synth). */
export function exporters(deployment: RedisSentinel, component: Component): k8s.Container[] {
  const m = deployment.monitoring?._resolved;
  return m ? [exporterContainer(deployment._settings, m, component)] : [];
}

/**
 * Monitoring that sees failover, for a {@link RedisSentinel} in any Chart (e.g. a Chart of its own
 * for the objects that need prometheus-operator's CRDs): a redis_exporter sidecar in every Redis and
 * Sentinel pod of the deployment, headless metrics Services over them (in the deployment's
 * namespace), a ServiceMonitor selecting them by label and by the port name `metrics`, a
 * PrometheusRule whose thresholds follow the deployment's settings (with RedisBackupTooOld when the
 * deployment has a {@link RedisBackup}), and a Grafana dashboard ConfigMap. With the deployment's
 * NetworkPolicies on, they admit the Prometheus pods to the metrics port.
 */
export class RedisMonitoring extends Construct {
  public readonly redisMetricsService: k8s.KubeService;
  public readonly sentinelMetricsService: k8s.KubeService;
  /**
   * The ServiceMonitor (the construct's `Resource` child; typed as ApiObject so the API does not
   * carry the generated prometheus-operator bindings).
   */
  public readonly serviceMonitor: ApiObject;
  /** The PrometheusRule. */
  public readonly prometheusRule: ApiObject;
  public readonly dashboard: k8s.KubeConfigMap;
  /** The deployment monitored. */
  public readonly deployment: RedisSentinel;
  /** @internal */
  public readonly _resolved: ResolvedMonitoring;

  constructor(scope: Construct, id: string, props: RedisMonitoringProps) {
    super(scope, id);
    const deployment = deploymentOf(this, 'RedisMonitoring', props?.deployment, 'the RedisSentinel to monitor');
    this.deployment = deployment;
    const s = deployment._settings;
    const p = new Problems();
    const m = resolveMonitoringOptions(p, props, s, '');
    p.throwIfAny(this.node.path);
    this._resolved = m;
    deployment._attachMonitoring(this);
    const n = s.names;
    const metricsSelector = { [LABEL.metrics]: s.name, [LABEL.instance]: s.name };

    const metricsService = (sid: string, name: string, component: Component) => new k8s.KubeService(this, sid, {
      metadata: { name, namespace: s.namespace, labels: objectLabels(s.name, component, metricsSelector) },
      spec: {
        clusterIp: 'None',
        // Scrape unready pods too: a replica that cannot sync is exactly what the alerts are for.
        publishNotReadyAddresses: true,
        selector: componentSelector(s.name, component),
        ports: [{ name: 'metrics', port: m.metricsPort, targetPort: k8s.IntOrString.fromString('metrics') }],
      },
    });
    this.redisMetricsService = metricsService('RedisMetrics', n.redisMetrics, 'redis');
    this.sentinelMetricsService = metricsService('SentinelMetrics', n.sentinelMetrics, 'sentinel');

    const labels = { ...m.labels, ...objectLabels(s.name, undefined) };
    this.serviceMonitor = new ServiceMonitor(this, 'Resource', {
      metadata: { name: n.serviceMonitor, namespace: m.namespace, labels },
      spec: {
        selector: { matchLabels: metricsSelector },
        namespaceSelector: { matchNames: [s.namespace] },
        endpoints: [{
          port: 'metrics',
          scheme: ServiceMonitorSpecEndpointsScheme.HTTP,
          interval: `${m.scrapeIntervalSeconds}s`,
          scrapeTimeout: `${Math.min(10, m.scrapeIntervalSeconds)}s`,
        }],
      },
    });

    const redisPods = s.replicas + 1;
    const lastSaveInterval = Math.max(...s.savePoints.map(([seconds]) => seconds), 0);
    const redisGroups = renderAlertRules({
      namespace: s.namespace,
      masterName: s.masterName,
      redisMetricsService: n.redisMetrics,
      sentinelMetricsService: n.sentinelMetrics,
      redisPods,
      sentinels: s.sentinels,
      quorum: s.quorum,
      minReplicasToWrite: s.minReplicasToWrite,
      minReplicasMaxLagSeconds: s.minReplicasMaxLagSeconds,
      // Two save periods without a snapshot while keys change means saving is broken.
      rdbMaxAgeSeconds: 2 * (lastSaveInterval || 3600),
      alertLabels: m.alertLabels,
      redisPort: s.redisPort,
      sentinelPort: s.sentinelPort,
      authFile: s.auth ? PATHS.authFile : false,
    });
    // A backup may be attached after this construct: its alert is added at synth time.
    const backupGroups = (): RuleGroup[] => {
      const b = deployment.backup?._resolved;
      return b ? renderBackupAlertRules({
        namespace: s.namespace,
        cronJob: n.backup,
        maxAgeSeconds: b.maxAgeSeconds,
        schedule: b.schedule,
        groupName: `${s.namespace}/${n.backup}/backup`,
        alertLabels: m.alertLabels,
      }) : [];
    };
    // So may a master endpoint: its alerts and panels too.
    const endpointGroups = (): RuleGroup[] => deployment.masterEndpoint ? renderEndpointAlertRules({
      namespace: s.namespace,
      metricsService: n.proxyMetrics,
      proxy: n.proxy,
      masterService: n.masterEndpoint,
      sentinels: s.sentinels,
      groupName: `${s.namespace}/${n.proxy}/master-endpoint`,
      alertLabels: m.alertLabels,
    }) : [];
    this.prometheusRule = new PrometheusRule(this, 'PrometheusRule', {
      metadata: { name: n.prometheusRule, namespace: m.namespace, labels },
      spec: {
        groups: Lazy.any({ produce: () => redisGroups.concat(backupGroups(), endpointGroups()).map(typedGroup) }),
      },
    });

    this.dashboard = new k8s.KubeConfigMap(this, 'Dashboard', {
      metadata: { name: n.dashboard, namespace: m.namespace, labels: { ...m.dashboardLabels, ...objectLabels(s.name, undefined) } },
      data: {
        [`${s.name}-redis-sentinel.json`]: Lazy.any({ produce: () => JSON.stringify(renderDashboard({
          namespace: s.namespace,
          masterName: s.masterName,
          redisMetricsService: n.redisMetrics,
          sentinelMetricsService: n.sentinelMetrics,
          title: `Redis Sentinel: ${s.namespace}/${s.name}`,
          uid: `redis-sentinel-${s.namespace}-${s.name}`.slice(0, 40),
          ...(deployment.masterEndpoint ? { endpoint: { metricsService: n.proxyMetrics, sentinels: s.sentinels } } : {}),
        }), null, 2) }),
      },
    });
  }
}

/** A rendered rule group in the generated PrometheusRule types. */
function typedGroup(g: RuleGroup): PrometheusRuleSpecGroups {
  return {
    name: g.name,
    ...(g.interval ? { interval: g.interval } : {}),
    rules: g.rules.map((r) => ({
      alert: r.alert,
      expr: PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr),
      ...(r.for ? { for: r.for } : {}),
      labels: r.labels,
      annotations: { ...r.annotations },
    })),
  };
}
