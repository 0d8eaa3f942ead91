import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  PrometheusRule, PrometheusRuleSpecGroups, PrometheusRuleSpecGroupsRulesExpr, ServiceMonitor, ServiceMonitorSpecEndpointsScheme,
} from '../imports/monitoring.coreos.com';
import { RuleGroup, renderAlertRules } from './config/alerts';
import { renderBackupAlertRules } from './config/backup-alerts';
import { renderDashboard } from './config/dashboard';
import { Component, LABEL, componentSelector, objectLabels } from './names';
import { resourceRequirements } from './pod';
import { PATHS, Settings } from './settings';

/** The exporter image runs as this uid/gid (it has no shell or files to own). */
export const EXPORTER_UID = 59000;

/**
 * The redis_exporter sidecar of a Redis pod (scraping `redis://localhost:<redisPort>`) or a
 * Sentinel pod (`redis://localhost:<sentinelPort>`). The password reaches it as REDIS_PASSWORD
 * from the Secret (its --redis.password-file expects a JSON map of URIs, not the plain password).
 */
export function exporterContainer(s: Settings, component: Component): k8s.Container {
  const port = component === 'redis' ? s.redisPort : s.sentinelPort;
  return {
    name: 'metrics',
    image: s.exporterImage,
    imagePullPolicy: s.imagePullPolicy,
    args: [`--redis.addr=redis://localhost:${port}`, `--web.listen-address=:${s.metricsPort}`],
    ...(s.auth ? { env: [{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: s.authSecretName, key: s.authSecretKey } } }] } : {}),
    ports: [{ name: 'metrics', containerPort: s.metricsPort, protocol: 'TCP' }],
    resources: resourceRequirements(s.exporterResources),
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

/**
 * Monitoring that sees failover: headless metrics Services over the exporter sidecars, a
 * ServiceMonitor selecting them by label and by the port name `metrics`, a PrometheusRule whose
 * thresholds follow the chart's settings, and a Grafana dashboard ConfigMap.
 * The sidecars themselves are part of the Redis and Sentinel pods (see exporterContainer).
 */
export class RedisMonitoring extends Construct {
  public readonly redisMetricsService: k8s.KubeService;
  public readonly sentinelMetricsService: k8s.KubeService;
  public readonly serviceMonitor: ServiceMonitor;
  public readonly prometheusRule: PrometheusRule;
  public readonly dashboard: k8s.KubeConfigMap;

  constructor(scope: Construct, id: string, s: Settings) {
    super(scope, id);
    const n = s.names;
    const metricsSelector = { [LABEL.metrics]: s.name, [LABEL.instance]: s.name };

    const metricsService = (sid: string, name: string, component: Component) => new k8s.KubeService(this, sid, {
      metadata: { name, namespace: s.namespace, labels: objectLabels(s.name, component, metricsSelector) },
      spec: {
        clusterIp: 'None',
        // Scrape unready pods too: a replica that cannot sync is exactly what the alerts are for.
        publishNotReadyAddresses: true,
        selector: componentSelector(s.name, component),
        ports: [{ name: 'metrics', port: s.metricsPort, targetPort: k8s.IntOrString.fromString('metrics') }],
      },
    });
    this.redisMetricsService = metricsService('RedisMetrics', n.redisMetrics, 'redis');
    this.sentinelMetricsService = metricsService('SentinelMetrics', n.sentinelMetrics, 'sentinel');

    const labels = { ...s.monitoringLabels, ...objectLabels(s.name, undefined) };
    this.serviceMonitor = new ServiceMonitor(this, 'ServiceMonitor', {
      metadata: { name: n.serviceMonitor, namespace: s.monitoringNamespace, labels },
      spec: {
        selector: { matchLabels: metricsSelector },
        namespaceSelector: { matchNames: [s.namespace] },
        endpoints: [{
          port: 'metrics',
          scheme: ServiceMonitorSpecEndpointsScheme.HTTP,
          interval: `${s.scrapeIntervalSeconds}s`,
          scrapeTimeout: `${Math.min(10, s.scrapeIntervalSeconds)}s`,
        }],
      },
    });

    const redisPods = s.replicas + 1;
    const lastSaveInterval = Math.max(...s.savePoints.map(([seconds]) => seconds), 0);
    this.prometheusRule = new PrometheusRule(this, 'PrometheusRule', {
      metadata: { name: n.prometheusRule, namespace: s.monitoringNamespace, labels },
      spec: {
        groups: renderAlertRules({
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
          alertLabels: s.alertLabels,
          redisPort: s.redisPort,
          sentinelPort: s.sentinelPort,
          authFile: s.auth ? PATHS.authFile : false,
        }).concat(s.backup ? renderBackupAlertRules({
          namespace: s.namespace,
          cronJob: n.backup,
          maxAgeSeconds: s.backupMaxAgeSeconds,
          schedule: s.backupSchedule,
          groupName: `${s.namespace}/${n.backup}/backup`,
          alertLabels: s.alertLabels,
        }) : []).map(typedGroup),
      },
    });

    this.dashboard = new k8s.KubeConfigMap(this, 'Dashboard', {
      metadata: { name: n.dashboard, namespace: s.monitoringNamespace, labels: { ...s.dashboardLabels, ...objectLabels(s.name, undefined) } },
      data: {
        [`${s.name}-redis-sentinel.json`]: JSON.stringify(renderDashboard({
          namespace: s.namespace,
          masterName: s.masterName,
          redisMetricsService: n.redisMetrics,
          sentinelMetricsService: n.sentinelMetrics,
          title: `Redis Sentinel: ${s.namespace}/${s.name}`,
          uid: `redis-sentinel-${s.namespace}-${s.name}`.slice(0, 40),
        }), null, 2),
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
