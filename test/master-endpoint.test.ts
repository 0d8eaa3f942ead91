/**
 * RedisMasterEndpoint: the objects it emits (HAProxy Deployment, Services, ConfigMap, budget,
 * NetworkPolicies and their admission by the Redis/Sentinel policies, monitoring), its defaults and
 * its validation. haproxy.cfg itself: test/config/haproxy-cfg.test.ts; behaviour: test/integration
 * and test/e2e/master-endpoint.test.ts.
 */
import { Duration } from 'cdk8s';
import { RedisAuth } from '../src';
import { DEFAULT_HAPROXY_IMAGE, HAPROXY_UID } from '../src/master-endpoint';
import { KubeObject, find, ofKind, synthChart } from './support/synth';

const objects = synthChart({ masterEndpoint: {}, monitoring: {} });
const deployment = find(objects, 'Deployment', 'redis-proxy');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];

const components = (policy: KubeObject, direction: 'ingress' | 'egress') =>
  policy.spec[direction].flatMap((r: any) => (r.from ?? r.to ?? []).map((p: any) => p.podSelector?.matchLabels?.['app.kubernetes.io/component'] ?? 'any'));

describe('RedisMasterEndpoint', () => {
  test('two HAProxy pods of the pinned 2.6 image, rolled one at a time, kept apart, with a budget', () => {
    expect(DEFAULT_HAPROXY_IMAGE).toBe('haproxy:2.6.18-alpine');
    expect(deployment.spec.replicas).toBe(2);
    expect(container.image).toBe(DEFAULT_HAPROXY_IMAGE);
    expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]).toEqual({
      topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: deployment.spec.selector.matchLabels },
    });
    expect(find(objects, 'PodDisruptionBudget', 'redis-proxy').spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: deployment.spec.selector.matchLabels } });
  });

  test('runs as the image\'s haproxy user (99), restricted, read-only root, no service-account token, no secret in files', () => {
    expect(HAPROXY_UID).toBe(99);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 99, runAsGroup: 99 });
    expect(container.securityContext).toMatchObject({ runAsUser: 99, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(container.env).toEqual([{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'redis-auth', key: 'password' } } }]);
    const cm = find(objects, 'ConfigMap', 'redis-proxy');
    expect(Object.keys(cm.data).sort()).toEqual(['endpoint-fence.lua', 'haproxy.cfg']);
    expect(cm.data['haproxy.cfg']).toContain('%[env(REDIS_PASSWORD)]');
    // Neither do the Redis pods get a token now.
    for (const sts of ofKind(objects, 'StatefulSet')) expect(sts.spec.template.spec.automountServiceAccountToken).toBe(false);
  });

  test('probes: alive on /healthz, ready on /ready (a Sentinel majority names a master); a config change rolls the pods', () => {
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'metrics' });
    const other = find(synthChart({ masterEndpoint: { checkInterval: Duration.millis(300) } }), 'Deployment', 'redis-proxy');
    const checksum = (d: KubeObject) => d.spec.template.metadata.annotations['redis-sentinel.cdk8s.io/config-checksum'];
    expect(checksum(other)).not.toBe(checksum(deployment));
  });

  test('Services: <name>-master and <name>-replicas on the Redis port, the metrics Service selected by the ServiceMonitor', () => {
    const master = find(objects, 'Service', 'redis-master');
    const replicas = find(objects, 'Service', 'redis-replicas');
    expect(master.spec.ports).toEqual([{ name: 'redis', port: 6379, targetPort: 'redis' }]);
    expect(replicas.spec.ports).toEqual([{ name: 'redis', port: 6379, targetPort: 'replicas' }]);
    expect(container.ports.map((p: any) => [p.name, p.containerPort])).toEqual([['redis', 6379], ['replicas', 6380], ['metrics', 8404]]);
    for (const svc of [master, replicas]) expect(svc.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    const sm = find(objects, 'ServiceMonitor', 'redis');
    const metrics = find(objects, 'Service', 'redis-proxy-metrics');
    expect(metrics.metadata.labels).toMatchObject(sm.spec.selector.matchLabels);
    expect(metrics.spec.ports[0].name).toBe(sm.spec.endpoints[0].port);
  });

  test('NetworkPolicies: clients -> proxy; proxy -> Redis, Sentinel, DNS; Prometheus -> metrics; the Redis and Sentinel policies admit the proxy', () => {
    const own = find(objects, 'NetworkPolicy', 'redis-proxy');
    expect(own.spec.ingress[0]).toEqual({ from: [{ podSelector: { matchLabels: { 'redis-client': 'true' } } }], ports: [{ protocol: 'TCP', port: 6379 }, { protocol: 'TCP', port: 6380 }] });
    expect(own.spec.ingress[1].ports).toEqual([{ protocol: 'TCP', port: 8404 }]);
    expect(own.spec.egress.map((r: any) => [r.to?.[0].podSelector.matchLabels['app.kubernetes.io/component'] ?? 'dns', r.ports.map((p: any) => p.port)])).toEqual([
      ['redis', [6379]], ['sentinel', [26379]], ['dns', [53, 53]],
    ]);
    expect(components(find(objects, 'NetworkPolicy', 'redis'), 'ingress')).toContain('proxy');
    expect(components(find(objects, 'NetworkPolicy', 'redis-sentinel'), 'ingress')).toContain('proxy');
    const plain = synthChart();
    expect(components(find(plain, 'NetworkPolicy', 'redis'), 'ingress')).not.toContain('proxy');
  });

  test('monitoring: the endpoint alerts and dashboard panels join the deployment\'s', () => {
    const rule = find(objects, 'PrometheusRule', 'redis');
    const alerts = rule.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert));
    expect(alerts).toEqual(expect.arrayContaining(['RedisMasterEndpointNoMaster', 'RedisMasterEndpointMultipleMasters']));
    const dashboard = JSON.parse(Object.values(find(objects, 'ConfigMap', 'redis-dashboard').data)[0] as string);
    expect(dashboard.panels.some((p: any) => p.title.startsWith('Master endpoint'))).toBe(true);
    const without = synthChart({ monitoring: {} });
    expect(JSON.stringify(find(without, 'PrometheusRule', 'redis'))).not.toContain('MasterEndpoint');
  });

  test('without auth: no password variable and no AUTH in the checks', () => {
    const noAuth = synthChart({ masterEndpoint: {}, auth: RedisAuth.none() });
    expect(find(noAuth, 'Deployment', 'redis-proxy').spec.template.spec.containers[0].env).toBeUndefined();
    expect(find(noAuth, 'ConfigMap', 'redis-proxy').data['haproxy.cfg']).not.toContain('AUTH');
  });

  test('fails when options are out of range, naming each', () => {
    expect(() => synthChart({
      masterEndpoint: { replicas: 0, image: 'haproxy:2.4.22', checkInterval: Duration.millis(50), metricsPort: 6380, idleTimeout: Duration.millis(1500) },
    })).toThrow(new RegExp([
      'masterEndpoint.replicas \\(0\\) must be a whole number of HAProxy pods between 1 and 20',
      "masterEndpoint.image \\('haproxy:2.4.22'\\) is older than HAProxy 2.6",
      'masterEndpoint.checkInterval \\(50 ms\\) must be a whole number of milliseconds between 100 and 10000',
      'masterEndpoint.idleTimeout \\(1500 ms\\) must be a whole number of seconds, at least 10',
      'masterEndpoint.metricsPort \\(6380\\) collides with the HAProxy pods\' Redis ports 6379 and 6380',
    ].join('[^]*')));
    expect(() => synthChart({ masterEndpoint: { image: 'haproxy:latest' } })).toThrow(/masterEndpoint\.image/);
    // The loopback runtime API port (the servers' states saved before a reload) is taken.
    expect(() => synthChart({ masterEndpoint: { metricsPort: 8405 } })).toThrow(/masterEndpoint\.metricsPort \(8405\) is the HAProxy pods' loopback runtime API port \(8405/);
    expect(() => synthChart({ redisPort: 8404, masterEndpoint: { metricsPort: 9404 } })).toThrow(/redisPort \(8404\) puts the HAProxy pods' Redis ports \(8404, 8405\) on their loopback runtime API port 8405: use another redisPort, e\.g\. 6379, or no masterEndpoint/);
  });

  test('with TLS or ACL users: HAProxy runs under endpoint-start.sh and saves its servers\' states before a reload, through a loopback-only runtime API', () => {
    for (const props of [{ tls: {} }, { acl: {} }]) {
      const objects = synthChart({ masterEndpoint: {}, ...props });
      const cfg: string = find(objects, 'ConfigMap', 'redis-proxy').data['haproxy.cfg'];
      expect(cfg).toContain('  stats socket ipv4@127.0.0.1:8405 level user\n  server-state-file /run/haproxy/servers.state\n');
      // The old worker (no checks, no fence once stopping) is ended two check intervals (500 ms) after a reload, at least 1 s.
      expect(cfg).toContain('\n  hard-stop-after 1000ms\n');
      expect(cfg).toContain('\n  load-server-state-from-file global\n');
      const pod = find(objects, 'Deployment', 'redis-proxy').spec.template.spec;
      const env = Object.fromEntries(pod.containers[0].env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
      expect(env).toMatchObject({ RUN_DIR: '/run/haproxy', STATS_PORT: '8405' });
      expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'run', mountPath: '/run/haproxy' });
      expect(pod.volumes.find((v: any) => v.name === 'run').emptyDir).toMatchObject({ medium: 'Memory' });
    }
    // Without them HAProxy is never reloaded: no runtime API.
    expect(find(synthChart({ masterEndpoint: {} }), 'ConfigMap', 'redis-proxy').data['haproxy.cfg']).not.toContain('stats socket');
  });
});
