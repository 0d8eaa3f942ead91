/**
 * Monitoring as synthesized: the ServiceMonitor must provably select the metrics Services (labels,
 * namespace, port name), those Services must reach an exporter sidecar in every Redis and Sentinel
 * pod, the sidecars must scrape their own pod with the chart's password, and Prometheus (and only
 * Prometheus) may reach them.
 */
import { Duration } from 'cdk8s';
import { MonitoringOptions, RedisSentinelChartProps } from '../src';
import { KubeObject, find, ofKind, synthChart, testApp } from './support/synth';
import { RedisSentinelChart } from '../src';

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Services a ServiceMonitor selects, resolved the way prometheus-operator does. */
function selectedServices(objects: KubeObject[], sm: KubeObject): KubeObject[] {
  const namespaces: string[] = sm.spec.namespaceSelector?.matchNames ?? [sm.metadata.namespace];
  return ofKind(objects, 'Service').filter((svc) =>
    namespaces.includes(svc.metadata.namespace!) && matches(sm.spec.selector.matchLabels, svc.metadata.labels));
}

/** Pod templates of the StatefulSets a Service selects. */
function selectedPods(objects: KubeObject[], svc: KubeObject): Array<{ sts: string; spec: any }> {
  return ofKind(objects, 'StatefulSet')
    .filter((sts) => sts.metadata.namespace === svc.metadata.namespace && matches(svc.spec.selector, sts.spec.template.metadata.labels))
    .map((sts) => ({ sts: sts.metadata.name, spec: sts.spec.template.spec }));
}

describe.each<[string, RedisSentinelChartProps, MonitoringOptions]>([
  ['default chart with monitoring: {}', {}, {}],
  ['custom ports, namespaces and labels', { name: 'cache', namespace: 'data', redisPort: 6380, sentinelPort: 26380 }, {
    metricsPort: 9200, namespace: 'monitoring', labels: { release: 'kps' }, scrapeInterval: Duration.seconds(30),
  }],
])('%s', (_label, props, m) => {
  const objects = synthChart({ ...props, monitoring: m });
  const name = props.name ?? 'redis';
  const ns = props.namespace ?? 'redis';
  // Outside the release's namespace, the name carries it (unique per release).
  const sm = find(objects, 'ServiceMonitor', m.namespace && m.namespace !== ns ? `${ns}.${name}` : name);

  test('the ServiceMonitor selects exactly the two metrics Services, by label, namespace and port name', () => {
    const services = selectedServices(objects, sm);
    expect(services.map((s) => s.metadata.name).sort()).toEqual([`${name}-metrics`, `${name}-sentinel-metrics`]);
    for (const svc of services) {
      const portNames = svc.spec.ports.map((p: any) => p.name);
      for (const ep of sm.spec.endpoints) expect(portNames).toContain(ep.port);
    }
    expect(sm.metadata.namespace).toBe(m.namespace ?? ns);
    expect(sm.metadata.labels).toMatchObject(m.labels ?? {});
    expect(sm.spec.endpoints[0].interval).toBe(`${m.scrapeInterval?.toSeconds() ?? 15}s`);
  });

  test('each metrics Service reaches an exporter sidecar in every pod of its component', () => {
    const expected: Record<string, string[]> = {
      [`${name}-metrics`]: [`${name}-master`, `${name}-replica`],
      [`${name}-sentinel-metrics`]: [`${name}-sentinel`],
    };
    for (const svc of selectedServices(objects, sm)) {
      const pods = selectedPods(objects, svc);
      expect(pods.map((p) => p.sts).sort()).toEqual(expected[svc.metadata.name].sort());
      const port = svc.spec.ports.find((p: any) => p.name === 'metrics');
      for (const pod of pods) {
        const exporter = pod.spec.containers.find((c: any) => c.name === 'metrics');
        const named = exporter.ports.find((p: any) => p.name === port.targetPort);
        expect(named?.containerPort).toBe(port.port);
        expect(exporter.args).toContain(`--web.listen-address=:${m.metricsPort ?? 9121}`);
      }
    }
  });

  test('every exporter scrapes its own pod\'s Redis or Sentinel port, with the password from the chart\'s Secret', () => {
    for (const sts of ofKind(objects, 'StatefulSet')) {
      const spec = sts.spec.template.spec;
      const main = spec.containers.find((c: any) => c.name !== 'metrics');
      const exporter = spec.containers.find((c: any) => c.name === 'metrics');
      expect(exporter.args).toContain(`--redis.addr=redis://localhost:${main.ports[0].containerPort}`);
      const auth = spec.volumes.find((v: any) => v.name === 'auth').secret;
      const pw = exporter.env.find((e: any) => e.name === 'REDIS_PASSWORD').valueFrom.secretKeyRef;
      expect(pw).toEqual({ name: auth.secretName, key: auth.items[0].key });
      expect(exporter.image).toMatch(/^oliver006\/redis_exporter:v1\.(8\d|9\d|\d{3,})\.\d+$/);
    }
  });

  test('NetworkPolicies let Prometheus pods reach the metrics port, and add nothing else', () => {
    for (const np of ofKind(objects, 'NetworkPolicy')) {
      const metricsRules = np.spec.ingress.filter((r: any) => r.ports.some((p: any) => p.port === (m.metricsPort ?? 9121)));
      expect(metricsRules).toHaveLength(1);
      expect(metricsRules[0].from).toEqual([{ namespaceSelector: {}, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }]);
      expect(metricsRules[0].ports).toHaveLength(1);
    }
  });

  test('the dashboard ConfigMap is labelled for the Grafana sidecar and holds a dashboard JSON', () => {
    const cm = find(objects, 'ConfigMap', m.namespace && m.namespace !== ns ? `${ns}.${name}-dashboard` : `${name}-dashboard`);
    expect(cm.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    const [file] = Object.keys(cm.data);
    // The Grafana sidecar puts the files of every namespace into one folder: the file name names the release's namespace.
    expect(file).toBe(`${ns}.${name}-redis-sentinel.json`);
    const dashboard = JSON.parse(cm.data[file]);
    expect(dashboard.panels.length).toBeGreaterThan(5);
  });
});

test('alert thresholds follow the chart: 5 Sentinels with quorum 3', () => {
  const objects = synthChart({ sentinels: 5, quorum: 3, monitoring: {} });
  const rules = find(objects, 'PrometheusRule', 'redis').spec.groups.flatMap((g: any) => g.rules);
  const exprs = rules.map((r: any) => r.expr).join('\n');
  expect(exprs).toMatch(/<\s*3\b/);
  expect(exprs).toMatch(/<\s*5\b/);
  for (const r of rules) {
    expect(r.labels.severity).toMatch(/^(critical|warning|info)$/);
    expect(r.annotations.summary.length).toBeGreaterThan(10);
    expect(r.annotations.description.length).toBeGreaterThan(20);
  }
});

test('without monitoring there are no sidecars, metrics Services, ServiceMonitor, PrometheusRule, dashboard or metrics NetworkPolicy rule', () => {
  const objects = synthChart({});
  for (const kind of ['ServiceMonitor', 'PrometheusRule']) expect(ofKind(objects, kind)).toEqual([]);
  expect(objects.filter((o) => /-metrics$|-dashboard$/.test(o.metadata.name))).toEqual([]);
  for (const sts of ofKind(objects, 'StatefulSet')) {
    expect(sts.spec.template.spec.containers.map((c: any) => c.name)).not.toContain('metrics');
  }
  for (const np of ofKind(objects, 'NetworkPolicy')) expect(np.spec.ingress).toHaveLength(1);
});

describe('monitoring props are validated', () => {
  const make = (props: RedisSentinelChartProps) => () => new RedisSentinelChart(testApp(), 'redis', props);
  test('fails when metricsPort collides with redisPort', () => {
    expect(make({ monitoring: { metricsPort: 6379 } })).toThrow(/monitoring\.metricsPort \(6379\) is also redisPort: /);
  });
  test('fails when metricsPort collides with both redisPort and sentinelPort, with one message', () => {
    expect(make({ redisPort: 7000, sentinelPort: 7000, monitoring: { metricsPort: 7000 } }))
      .toThrow(/:\n  - redisPort and sentinelPort are both 7000[^\n]*\n  - monitoring\.metricsPort \(7000\) is also redisPort and sentinelPort: [^\n]*$/);
  });
  test('fails when exporterExtraArgs set what the library sets, or exporterExtraEnv sets REDIS_PASSWORD', () => {
    expect(make({ monitoring: { exporterExtraArgs: ['--web.listen-address=:9999'] } }))
      .toThrow(/monitoring\.exporterExtraArgs entry '--web\.listen-address=:9999' sets what the library sets/);
    expect(make({ monitoring: { exporterExtraEnv: [{ name: 'REDIS_PASSWORD', value: 'x' }] } }))
      .toThrow(/monitoring\.exporterExtraEnv entry 'REDIS_PASSWORD' is the library's/);
  });
  test('fails when exporterImage is :latest', () => {
    expect(make({ monitoring: { exporterImage: 'oliver006/redis_exporter:latest' } })).toThrow(/monitoring\.exporterImage \('oliver006\/redis_exporter:latest'\)/);
  });
  test('fails when monitoring.namespace is not a DNS label', () => {
    expect(make({ monitoring: { namespace: 'Monitoring' } })).toThrow(/monitoring\.namespace \('Monitoring'\)/);
  });
  test('fails when prometheusPodLabels is empty', () => {
    expect(make({ monitoring: { prometheusPodLabels: {} } })).toThrow(/monitoring\.prometheusPodLabels is empty/);
  });
  test('fails when scrapeInterval is not whole seconds', () => {
    expect(make({ monitoring: { scrapeInterval: Duration.millis(1500) } })).toThrow(/monitoring\.scrapeInterval \(1500 ms\)/);
  });
});
