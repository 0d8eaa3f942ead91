import { EXPORTER_AUTH_DIR, EXPORTER_PASSWORD_FILE } from './acl';
import { Duration, Lazy, Size } from 'cdk8s';
import type { ContainerResources } from 'cdk8s-plus-27';
import * as k8s from './k8s';
import { Construct } from 'constructs';
import {
  PrometheusRule, PrometheusRuleSpecGroups, PrometheusRuleSpecGroupsRulesExpr, ServiceMonitor, ServiceMonitorSpecEndpointsScheme,
} from '../imports/monitoring.coreos.com';
import { RuleGroup, renderAlertRules } from './config/alerts';
import { renderBackupAlertRules } from './config/backup-alerts';
import { renderDashboard } from './config/dashboard';
import { renderEndpointAlertRules } from './config/endpoint-alerts';
import { Component, LABEL, componentSelector, objectLabels, sharedName } from './names';
import { resourceRequirements, tlsMount } from './pod';
import { applyCommonMetadata, deploymentOf } from './part';
import type { RedisSentinel } from './redis-sentinel';
import { DeploymentSettings, PATHS } from './settings';
import { TLS_DIR, TLS_FILES } from './tls';
import { Problems, checkImage, checkLabels, checkPort, checkResources, checkSeconds, cpuMillis, isDnsLabel } from './validation';

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

  /**
   * Extra arguments of the exporter sidecars (e.g. `--include-system-metrics`); `--redis.addr` and
   * `--web.listen-address` are the library's.
   * @default - none
   * @see https://github.com/oliver006/redis_exporter#command-line-flags
   */
  readonly exporterExtraArgs?: string[];

  /**
   * Extra environment variables of the exporter sidecars (`REDIS_PASSWORD` is the library's).
   * @default - none
   */
  readonly exporterExtraEnv?: k8s.EnvVar[];
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
  readonly exporterExtraArgs: string[];
  readonly exporterExtraEnv: k8s.EnvVar[];
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
    cpu: { request: cpuMillis(10) },
    memory: { request: Size.mebibytes(32), limit: Size.mebibytes(64) },
  };
  checkResources(p, `${prop}exporterResources`, exporterResources);
  const metricsPort = o.metricsPort ?? 9121;
  if (checkPort(p, `${prop}metricsPort`, metricsPort)) {
    const clash = ([['redisPort', s.redisPort], ['sentinelPort', s.sentinelPort]] as const).filter(([, port]) => port === metricsPort).map(([key]) => key);
    p.check(clash.length === 0,
      `${prop}metricsPort (${metricsPort}) is also ${clash.join(' and ')}: the exporter sidecar shares the pod's network, use another port, e.g. 9121`);
  }
  const exporterExtraArgs = o.exporterExtraArgs ?? [];
  for (const arg of exporterExtraArgs) {
    p.check(!/^--?(redis\.addr|redis\.user|redis\.password|redis\.password-file|config-command|web\.listen-address|tls-ca-cert-file|tls-client-cert-file|tls-client-key-file)(=|$)/.test(arg),
      `${prop}exporterExtraArgs entry '${arg}' sets what the library sets (--redis.addr from redisPort/sentinelPort, --redis.user, --redis.password, --redis.password-file and --config-command from auth and acl, --web.listen-address from metricsPort, the --tls-* files from tls): remove it`);
  }
  const exporterExtraEnv = o.exporterExtraEnv ?? [];
  for (const env of exporterExtraEnv) {
    p.check(env.name !== 'REDIS_PASSWORD' && env.name !== 'REDIS_USER',
      `${prop}exporterExtraEnv entry '${env.name}' is the library's (from the auth Secret, or the acl Secret's exporter user): remove it`);
  }
  const scrapeMs = (o.scrapeInterval ?? Duration.seconds(15)).toMilliseconds();
  checkSeconds(p, `${prop}scrapeInterval`, scrapeMs, 1, 'Duration.seconds(15)');
  const namespace = o.namespace ?? s.namespace;
  // The default is the deployment's namespace, checked (and reported) on its own.
  if (o.namespace !== undefined) p.check(isDnsLabel(namespace), `${prop}namespace ('${namespace}') must be a DNS-1123 label of at most 63 characters`);
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
    prometheusNamespaceLabels: o.prometheusNamespaceLabels ?? {}, dashboardLabels, exporterExtraArgs, exporterExtraEnv,
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
    args: [
      `--redis.addr=${s.tls ? 'rediss' : 'redis'}://localhost:${port}`,
      // With TLS it verifies the server (the certificate names localhost) and presents the client certificate.
      ...(s.tls ? [
        `--tls-ca-cert-file=${TLS_DIR}/${TLS_FILES.ca}`, `--tls-client-cert-file=${TLS_DIR}/${TLS_FILES.cert}`, `--tls-client-key-file=${TLS_DIR}/${TLS_FILES.key}`,
      ] : []),
      // With ACL users: its user may not run CONFIG GET (which would show masterauth); the metrics it
      // gives (redis_config_*) are not used by the alerts or the dashboard.
      ...(s.acl ? ['--config-command=-', `--redis.password-file=${EXPORTER_PASSWORD_FILE}`] : []),
      `--web.listen-address=:${m.metricsPort}`, ...m.exporterExtraArgs,
    ],
    ...(s.tls || s.acl ? { volumeMounts: [...tlsMount(s), ...s.acl ? [{ name: 'exporter-auth', mountPath: EXPORTER_AUTH_DIR, readOnly: true }] : []] } : {}),
    ...(s.auth || m.exporterExtraEnv.length ? { env: [
      // With ACL users: the pod's own exporter password, from the JSON map its init container wrote.
      ...(s.acl ? [{ name: 'REDIS_USER', value: 'exporter' }] : s.auth ? [{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: s.authSecretName, key: s.authSecretKey } } }] : []),
      ...m.exporterExtraEnv,
    ] } : {}),
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
  /** The ServiceMonitor (the construct's `Resource` child), typed by the exported `prometheusOperator` bindings. */
  public readonly serviceMonitor: ServiceMonitor;
  /** The PrometheusRule. */
  public readonly prometheusRule: PrometheusRule;
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
      metadata: { name: sharedName(s.namespace, m.namespace, n.serviceMonitor), namespace: m.namespace, labels },
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
      metadata: { name: sharedName(s.namespace, m.namespace, n.prometheusRule), namespace: m.namespace, labels },
      spec: {
        groups: Lazy.any({ produce: () => redisGroups.concat(backupGroups(), endpointGroups()).map(typedGroup) }),
      },
    });

    this.dashboard = new k8s.KubeConfigMap(this, 'Dashboard', {
      metadata: { name: sharedName(s.namespace, m.namespace, n.dashboard), namespace: m.namespace, labels: { ...m.dashboardLabels, ...objectLabels(s.name, undefined) } },
      data: {
        // The Grafana sidecar puts every dashboard file of every namespace into one folder: the file name names the namespace too.
        [`${s.namespace}.${s.name}-redis-sentinel.json`]: Lazy.any({ produce: () => JSON.stringify(renderDashboard({
          namespace: s.namespace,
          masterName: s.masterName,
          redisMetricsService: n.redisMetrics,
          sentinelMetricsService: n.sentinelMetrics,
          title: `Redis Sentinel: ${s.namespace}/${s.name}`,
          // Grafana keeps one dashboard per uid: a truncated one could be another release's; when too long, the renderer hashes namespace/Service.
          uid: `redis-sentinel-${s.namespace}-${s.name}`.length <= 40 ? `redis-sentinel-${s.namespace}-${s.name}` : undefined,
          ...(deployment.masterEndpoint ? { endpoint: { metricsService: n.proxyMetrics, sentinels: s.sentinels } } : {}),
        }), null, 2) }),
      },
    });
    applyCommonMetadata(this, s);
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
