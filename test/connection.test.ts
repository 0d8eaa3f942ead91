/**
 * Typed client wiring: RedisSentinel.connection, connect() with cdk8s-plus workloads (same Chart,
 * another Chart in another namespace) and allowClients(). The NetworkPolicies are evaluated the way
 * the API server's NetworkPolicy semantics define (test/e2e/harness/selectors.ts' `matches`): which of
 * the App's pods may reach Redis and Sentinel.
 */
import { App, Chart, Testing } from 'cdk8s';
import * as plus from 'cdk8s-plus-27';
import { RedisAuth, RedisSentinel } from '../src';
import { matches } from './e2e/harness/selectors';
import { KubeObject, find, testApp } from './support/synth';

const IMAGE = 'ghcr.io/example/web:1.0.0';

/** A cdk8s-plus Deployment with one container, as an app would have it. */
function web(scope: Chart, id: string): plus.Deployment {
  const d = new plus.Deployment(scope, id, { replicas: 2 });
  d.addContainer({ image: IMAGE, name: 'web', portNumber: 8080 });
  return d;
}

/** The pod template of every workload among `objects`, with its namespace. */
function podsOf(objects: KubeObject[]): Array<{ owner: string; namespace: string; labels: Record<string, string>; spec: any }> {
  return objects.filter((o) => o.spec?.template?.metadata).map((o) => ({
    owner: `${o.kind}/${o.metadata.name}`,
    namespace: o.metadata.namespace ?? 'default',
    labels: o.spec.template.metadata.labels ?? {},
    spec: o.spec.template.spec,
  }));
}

/** Whether `policy` admits a pod (labels, namespace: its labels are `kubernetes.io/metadata.name` only) on `port`. */
function admits(policy: KubeObject, pod: { namespace: string; labels: Record<string, string> }, port: number): boolean {
  const nsLabels = { 'kubernetes.io/metadata.name': pod.namespace };
  return (policy.spec.ingress ?? []).some((rule: any) =>
    (rule.ports ?? []).some((p: any) => p.port === port)
    && (rule.from ?? []).some((peer: any) =>
      (peer.namespaceSelector ? matches(peer.namespaceSelector, nsLabels) : pod.namespace === policy.metadata.namespace)
      && matches(peer.podSelector, pod.labels)));
}

/** The workloads of `objects` (other than the deployment's own) whose pods `policy` admits on `port`. */
function admittedClients(objects: KubeObject[], policy: KubeObject, port: number): string[] {
  return podsOf(objects)
    .filter((p) => p.labels['app.kubernetes.io/part-of'] !== 'redis-sentinel' && p.labels['app.kubernetes.io/instance'] !== 'redis')
    .filter((p) => admits(policy, p, port))
    .map((p) => `${p.namespace}/${p.owner}`);
}

function envOf(objects: KubeObject[], kind: string, name: string): Record<string, any> {
  const c = find(objects, kind, name).spec.template.spec.containers[0];
  return Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
}

describe('RedisSentinel.connection', () => {
  test('names the Sentinel pods and Service, the master name, the read Service and the password Secret', () => {
    const chart = new Chart(testApp(), 'shop', { namespace: 'shop' });
    const redis = new RedisSentinel(chart, 'cache', { sentinels: 3, masterName: 'shop-master', clusterDomain: 'k8s.example' });
    expect(redis.connection).toEqual({
      namespace: 'shop',
      masterName: 'shop-master',
      sentinelPort: 26379,
      sentinelHosts: [0, 1, 2].map((i) => `cache-sentinel-${i}.cache-sentinel-headless.shop.svc.k8s.example`),
      sentinels: [0, 1, 2].map((i) => `cache-sentinel-${i}.cache-sentinel-headless.shop.svc.k8s.example:26379`),
      sentinelServiceHost: 'cache-sentinel.shop.svc.k8s.example',
      sentinelService: 'cache-sentinel.shop.svc.k8s.example:26379',
      redisPort: 6379,
      readHost: 'cache-read.shop.svc.k8s.example',
      readEndpoint: 'cache-read.shop.svc.k8s.example:6379',
      passwordSecretName: 'cache-auth',
      passwordSecretKey: 'password',
      tls: false,
      tlsSecretName: undefined,
      clientPodLabels: { 'cache-client': 'true' },
      clientNamespaceLabels: undefined,
    });
  });

  test('every host in it is a Service (or a pod of a headless Service) the deployment emits', () => {
    const chart = new Chart(testApp(), 'shop', { namespace: 'shop' });
    const redis = new RedisSentinel(chart, 'cache');
    const objects = Testing.synth(chart) as KubeObject[];
    const c = redis.connection;
    const service = (host: string) => find(objects, 'Service', host.split('.')[0]);
    expect(service(c.sentinelServiceHost).spec.ports[0].port).toBe(c.sentinelPort);
    expect(service(c.readHost).spec.ports[0].port).toBe(c.redisPort);
    for (const h of c.sentinelHosts) {
      const [pod, headless] = h.split('.');
      const sts = find(objects, 'StatefulSet', pod.replace(/-[0-9]+$/, ''));
      expect(sts.spec.serviceName).toBe(headless);
      expect(service(`${headless}.`).spec.clusterIP).toBe('None');
    }
  });

  test('follows auth, ports and client labels', () => {
    const chart = new Chart(testApp(), 'c', { namespace: 'data' });
    const redis = new RedisSentinel(chart, 'r', {
      auth: RedisAuth.none(), redisPort: 7000, sentinelPort: 27000, sentinels: 5,
      clientPodLabels: { role: 'cache-user' }, clientNamespaceLabels: { team: 'shop' },
    });
    const c = redis.connection;
    expect(c.passwordSecretName).toBeUndefined();
    expect(c.passwordSecretKey).toBeUndefined();
    expect(c.sentinels).toHaveLength(5);
    expect(c.sentinels[4]).toBe('r-sentinel-4.r-sentinel-headless.data.svc.cluster.local:27000');
    expect(c.readEndpoint).toBe('r-read.data.svc.cluster.local:7000');
    expect(c.clientPodLabels).toEqual({ role: 'cache-user' });
    expect(c.clientNamespaceLabels).toEqual({ team: 'shop' });
    const s = RedisAuth.fromSecret({ secretName: 'pw', secretKey: 'redis-password' });
    const other = new RedisSentinel(chart, 'q', { auth: s });
    expect([other.connection.passwordSecretName, other.connection.passwordSecretKey]).toEqual(['pw', 'redis-password']);
  });
});

describe('connect: a cdk8s-plus Deployment in the same Chart', () => {
  function setup(options?: Parameters<RedisSentinel['connect']>[1]) {
    const app = testApp();
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    const redis = new RedisSentinel(chart, 'cache');
    const app1 = web(chart, 'web');
    web(chart, 'other'); // not connected
    redis.connect(app1, options);
    return { redis, objects: Testing.synth(chart) as KubeObject[] };
  }

  test('its pods get the client label, and the NetworkPolicies admit exactly those pods to Redis and Sentinel', () => {
    const { objects } = setup();
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name.startsWith('shop-web'))!;
    expect(deployment.spec.template.metadata.labels).toMatchObject({ 'cache-client': 'true' });
    expect(admittedClients(objects, find(objects, 'NetworkPolicy', 'cache'), 6379)).toEqual([`shop/Deployment/${deployment.metadata.name}`]);
    expect(admittedClients(objects, find(objects, 'NetworkPolicy', 'cache-sentinel'), 26379)).toEqual([`shop/Deployment/${deployment.metadata.name}`]);
    // Only labels: no env unless asked for.
    expect(deployment.spec.template.spec.containers[0].env).toBeUndefined();
  });

  test('env: true gives the container the Sentinels, the master name, the read endpoint and the password from the Secret', () => {
    const { objects } = setup({ env: true });
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name.startsWith('shop-web'))!;
    const env = envOf(objects, 'Deployment', deployment.metadata.name);
    expect(env).toEqual({
      REDIS_SENTINELS: [0, 1, 2].map((i) => `cache-sentinel-${i}.cache-sentinel-headless.shop.svc.cluster.local:26379`).join(','),
      REDIS_SENTINEL_SERVICE: 'cache-sentinel.shop.svc.cluster.local:26379',
      REDIS_MASTER_NAME: 'mymaster',
      REDIS_READ_ENDPOINT: 'cache-read.shop.svc.cluster.local:6379',
      REDIS_PASSWORD: { secretKeyRef: { name: 'cache-auth', key: 'password' } },
    });
    // The password is referenced, never written: no Secret object is emitted for it.
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  test('envPrefix names the variables; without a password there is no PASSWORD variable', () => {
    const app = testApp();
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    const sessions = new RedisSentinel(chart, 'sessions', { auth: RedisAuth.none() });
    const cache = new RedisSentinel(chart, 'cache');
    const d = web(chart, 'web');
    sessions.connect(d, { env: true, envPrefix: 'SESSIONS_' });
    cache.connect(d, { env: true });
    const objects = Testing.synth(chart) as KubeObject[];
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const env = envOf(objects, 'Deployment', deployment.metadata.name);
    expect(Object.keys(env).sort()).toEqual([
      'REDIS_MASTER_NAME', 'REDIS_PASSWORD', 'REDIS_READ_ENDPOINT', 'REDIS_SENTINELS', 'REDIS_SENTINEL_SERVICE',
      'SESSIONS_MASTER_NAME', 'SESSIONS_READ_ENDPOINT', 'SESSIONS_SENTINELS', 'SESSIONS_SENTINEL_SERVICE',
    ]);
    expect(deployment.spec.template.metadata.labels).toMatchObject({ 'cache-client': 'true', 'sessions-client': 'true' });
    expect(admittedClients(objects, find(objects, 'NetworkPolicy', 'sessions'), 6379)).toEqual([`shop/Deployment/${deployment.metadata.name}`]);
  });

  test('works for a StatefulSet, a Job and a plain Pod too', () => {
    const chart = new Chart(testApp(), 'shop', { namespace: 'shop' });
    const redis = new RedisSentinel(chart, 'cache');
    const sts = new plus.StatefulSet(chart, 'worker', { service: new plus.Service(chart, 'worker-svc', { clusterIP: 'None', ports: [{ port: 80 }] }) });
    sts.addContainer({ image: IMAGE, name: 'w' });
    const job = new plus.Job(chart, 'migrate');
    job.addContainer({ image: IMAGE, name: 'm' });
    const pod = new plus.Pod(chart, 'debug');
    pod.addContainer({ image: IMAGE, name: 'd' });
    for (const w of [sts, job, pod]) redis.connect(w, { env: true });
    const objects = Testing.synth(chart) as KubeObject[];
    const policy = find(objects, 'NetworkPolicy', 'cache');
    for (const [kind, id] of [['StatefulSet', 'worker'], ['Job', 'migrate']]) {
      const o = objects.find((x) => x.kind === kind && x.metadata.name.startsWith(`shop-${id}`))!;
      expect(admits(policy, { namespace: 'shop', labels: o.spec.template.metadata.labels }, 6379)).toBe(true);
      expect(envOf(objects, kind, o.metadata.name).REDIS_MASTER_NAME).toBe('mymaster');
    }
    const p = objects.find((x) => x.kind === 'Pod')!;
    expect(admits(policy, { namespace: 'shop', labels: p.metadata.labels }, 6379)).toBe(true);
    expect(p.spec.containers[0].env.map((e: any) => e.name)).toContain('REDIS_SENTINELS');
  });
});

describe('connect: a Deployment in another Chart and namespace', () => {
  function setup(redisProps = {}) {
    const app = testApp();
    const data = new Chart(app, 'data', { namespace: 'redis' });
    const redis = new RedisSentinel(data, 'redis', redisProps);
    const shop = new Chart(app, 'shop', { namespace: 'shop' });
    const d = web(shop, 'web');
    const decoy = new Chart(app, 'decoy', { namespace: 'decoy' });
    // Same label, other namespace, not connected: must stay out.
    const other = web(decoy, 'web');
    other.podMetadata.addLabel('redis-client', 'true');
    return { app, redis, data, shop, d };
  }
  const all = (app: App) => app.charts.flatMap((c) => Testing.synth(c) as KubeObject[]);

  test('the NetworkPolicies admit its pods by their namespace\'s kubernetes.io/metadata.name label, and no other namespace', () => {
    const { app, redis, d } = setup();
    redis.connect(d);
    const objects = all(app);
    const shopDeployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.namespace === 'shop')!;
    expect(shopDeployment.spec.template.metadata.labels).toMatchObject({ 'redis-client': 'true' });
    for (const [policy, port] of [['redis', 6379], ['redis-sentinel', 26379]] as const) {
      expect(admittedClients(objects, find(objects, 'NetworkPolicy', policy), port)).toEqual([`shop/Deployment/${shopDeployment.metadata.name}`]);
    }
    const peers = find(objects, 'NetworkPolicy', 'redis').spec.ingress[0].from;
    expect(peers).toContainEqual({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } },
      podSelector: { matchLabels: { 'redis-client': 'true' } },
    });
  });

  test('connecting two workloads of one namespace adds one rule', () => {
    const { redis, shop, d, app } = setup();
    redis.connect(d);
    redis.connect(web(shop, 'api'));
    const peers = find(all(app), 'NetworkPolicy', 'redis').spec.ingress[0].from;
    expect(peers.filter((p: any) => p.namespaceSelector)).toHaveLength(1);
  });

  test('with clientNamespaceLabels set, they admit it (the namespace must carry them) and no rule is added', () => {
    const { app, redis, d } = setup({ clientNamespaceLabels: { 'redis-access': 'true' } });
    redis.connect(d);
    const peers = find(all(app), 'NetworkPolicy', 'redis').spec.ingress[0].from;
    expect(peers.filter((p: any) => p.namespaceSelector)).toEqual([
      { namespaceSelector: { matchLabels: { 'redis-access': 'true' } }, podSelector: { matchLabels: { 'redis-client': 'true' } } },
    ]);
  });

  test('env: true reads the password from the copy in its own namespace', () => {
    const { app, redis, d } = setup();
    redis.connect(d, { env: true, passwordSecret: { secretName: 'redis-password-copy' } });
    const shopDeployment = all(app).find((o) => o.kind === 'Deployment' && o.metadata.namespace === 'shop')!;
    const env = shopDeployment.spec.template.spec.containers[0].env;
    expect(env.find((e: any) => e.name === 'REDIS_PASSWORD').valueFrom).toEqual({ secretKeyRef: { name: 'redis-password-copy', key: 'password' } });
    expect(env.find((e: any) => e.name === 'REDIS_SENTINELS').value).toContain('redis-sentinel-0.redis-sentinel-headless.redis.svc.cluster.local:26379');
  });

  test('fails when env: true has no Secret in the workload\'s namespace to read the password from', () => {
    const { redis, d } = setup();
    expect(() => redis.connect(d, { env: true })).toThrow(
      "connect: the workload at shop/web runs in namespace 'shop', the password Secret 'redis-auth' of the RedisSentinel at data/redis is in 'redis', and a pod reads only Secrets of its own namespace: copy the password into a Secret in 'shop' and pass env: true, passwordSecret: { secretName: '<its name>' }");
    // Nothing changed.
    expect(d.podMetadata.getLabel('redis-client')).toBeUndefined();
    expect(redis._clientPeers).toEqual([]);
  });
});

describe('allowClients', () => {
  test('admits pods by labels, in the deployment\'s namespace or in the given namespaces', () => {
    const app = testApp();
    const chart = new Chart(app, 'data', { namespace: 'redis' });
    const redis = new RedisSentinel(chart, 'redis');
    redis.allowClients({ podLabels: { 'app.kubernetes.io/name': 'legacy' } });
    redis.allowClients({ podLabels: { app: 'batch' }, namespaceLabels: { 'kubernetes.io/metadata.name': 'jobs' } });
    const policy = find(Testing.synth(chart) as KubeObject[], 'NetworkPolicy', 'redis');
    expect(admits(policy, { namespace: 'redis', labels: { 'app.kubernetes.io/name': 'legacy' } }, 6379)).toBe(true);
    expect(admits(policy, { namespace: 'other', labels: { 'app.kubernetes.io/name': 'legacy' } }, 6379)).toBe(false);
    expect(admits(policy, { namespace: 'jobs', labels: { app: 'batch' } }, 6379)).toBe(true);
    expect(admits(policy, { namespace: 'redis', labels: { app: 'batch' } }, 6379)).toBe(false);
    expect(admits(policy, { namespace: 'redis', labels: {} }, 6379)).toBe(false);
  });

  test('fails when podLabels or namespaceLabels is empty', () => {
    const chart = new Chart(testApp(), 'data', { namespace: 'redis' });
    const redis = new RedisSentinel(chart, 'redis');
    expect(() => redis.allowClients({ podLabels: {} })).toThrow(
      "Invalid Redis Sentinel configuration at data/redis:\n  - allowClients: podLabels is empty: that would admit every pod; give the labels of the client pods, e.g. { app: 'web' }");
    expect(() => redis.allowClients({ podLabels: { app: 'x' }, namespaceLabels: {} })).toThrow(
      "allowClients: namespaceLabels is empty: that would admit the pods of every namespace; name one, e.g. { 'kubernetes.io/metadata.name': 'team-a' }");
  });
});

describe('connect failures', () => {
  function setup() {
    const chart = new Chart(testApp(), 'shop', { namespace: 'shop' });
    return { chart, redis: new RedisSentinel(chart, 'cache') };
  }

  test('fails when env: true is asked of a workload without containers', () => {
    const { chart, redis } = setup();
    const d = new plus.Deployment(chart, 'empty');
    expect(() => redis.connect(d, { env: true })).toThrow(
      'connect: the workload at shop/empty has no container yet, so env: true has nothing to set: call connect after addContainer');
  });

  test('fails when the container already has the variables', () => {
    const { chart, redis } = setup();
    const d = web(chart, 'web');
    redis.connect(d, { env: true });
    expect(() => redis.connect(d, { env: true })).toThrow(
      "connect: container 'web' of the workload at shop/web already has REDIS_SENTINELS, REDIS_SENTINEL_SERVICE, REDIS_MASTER_NAME, REDIS_READ_ENDPOINT, REDIS_PASSWORD: give each deployment a pod connects to its own envPrefix, e.g. envPrefix: 'CACHE_'");
  });

  test('fails when envPrefix is not a variable name', () => {
    const { chart, redis } = setup();
    expect(() => redis.connect(web(chart, 'web'), { env: true, envPrefix: '1-x' })).toThrow(
      "connect: envPrefix ('1-x') of the workload at shop/web must be letters, digits and '_', not starting with a digit: e.g. 'REDIS_'");
  });

  test('fails when the pods already carry the client label with another value', () => {
    const { chart, redis } = setup();
    const d = web(chart, 'web');
    d.podMetadata.addLabel('cache-client', 'no');
    expect(() => redis.connect(d)).toThrow(
      'connect: the pods of the workload at shop/web already have the label cache-client=no, and the RedisSentinel at shop/cache admits cache-client=true (clientPodLabels): use another clientPodLabels');
  });

  test('fails when the workload has no namespace', () => {
    const app = testApp();
    const redis = new RedisSentinel(new Chart(app, 'data', { namespace: 'redis' }), 'redis');
    const d = web(new Chart(app, 'nons'), 'web');
    expect(() => redis.connect(d)).toThrow(
      "connect: the workload at nons/web has no namespace (neither its metadata nor its Chart sets one), so the NetworkPolicies of the RedisSentinel at data/redis cannot admit it: set the Chart's namespace, e.g. new Chart(app, 'web', { namespace: 'redis' })");
  });
});
