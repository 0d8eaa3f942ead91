/**
 * Every exported construct, created on its own in a plain cdk8s Chart: it either emits everything
 * its pods reference (ConfigMaps, claims; the password Secret is the user's, by design) or fails
 * saying what is missing. Also: the escape hatch (`Resource` child + addJsonPatch) reaches the
 * objects, and backups/monitoring can live in a Chart of their own.
 */
import { ApiObject, App, Chart, JsonPatch, Testing } from 'cdk8s';
import { PersistentVolumeAccessMode } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  RedisBackup, RedisMaster, RedisMasterEndpoint, RedisMonitoring, RedisNetworkPolicies, RedisReplicaSet, RedisSentinel, RedisSentinelChart, SentinelQuorum,
} from '../src';
import { FULL } from './support/chart-variants';
import { KubeObject, find, ofKind, testApp } from './support/synth';

/** Every ConfigMap and claim a pod template of `objects` mounts, and whether `available` has it. */
function missingReferences(objects: KubeObject[], available: KubeObject[] = objects): string[] {
  const missing: string[] = [];
  for (const o of objects) {
    const template = o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template : o.spec?.template;
    if (!template?.spec) continue;
    const claimTemplates = (o.spec.volumeClaimTemplates ?? []).map((c: any) => c.metadata.name);
    const ns = o.metadata.namespace;
    for (const v of template.spec.volumes ?? []) {
      if (v.configMap && !available.some((a) => a.kind === 'ConfigMap' && a.metadata.name === v.configMap.name && a.metadata.namespace === ns)) {
        missing.push(`${o.kind}/${o.metadata.name}: ConfigMap ${v.configMap.name}`);
      }
      const claim = v.persistentVolumeClaim?.claimName;
      if (claim && !available.some((a) => a.kind === 'PersistentVolumeClaim' && a.metadata.name === claim && a.metadata.namespace === ns)) {
        missing.push(`${o.kind}/${o.metadata.name}: PersistentVolumeClaim ${claim}`);
      }
    }
    for (const c of template.spec.containers) {
      for (const m of c.volumeMounts ?? []) {
        const declared = (template.spec.volumes ?? []).some((v: any) => v.name === m.name) || claimTemplates.includes(m.name);
        if (!declared) missing.push(`${o.kind}/${o.metadata.name}: volume ${m.name} of container ${c.name}`);
      }
    }
  }
  return missing;
}

/** The Secrets pods reference (volumes and env). */
function secretsReferenced(objects: KubeObject[]): string[] {
  const text = JSON.stringify(objects);
  return [...new Set([...text.matchAll(/"secretName":"([^"]+)"|"secretKeyRef":\{"key":"[^"]+","name":"([^"]+)"/g)].map((m) => m[1] ?? m[2]))];
}

const appChart = (namespace?: string) => new Chart(testApp(), 'app', { namespace });

describe('RedisSentinel', () => {
  test('alone in a plain Chart: takes the Chart namespace and emits everything its pods reference but the password Secret', () => {
    const chart = appChart('apps');
    new RedisSentinel(chart, 'cache', { backup: {}, monitoring: {}, restore: { file: 'latest' } });
    const objects = Testing.synth(chart) as KubeObject[];
    expect(objects.every((o) => o.metadata.namespace === 'apps')).toBe(true);
    expect(ofKind(objects, 'StatefulSet').map((s) => s.metadata.name).sort()).toEqual(['cache-master', 'cache-replica', 'cache-sentinel']);
    expect(missingReferences(objects)).toEqual([]);
    expect(secretsReferenced(objects)).toEqual(['cache-auth']);
    // Embedded in someone else's namespace, it does not emit (and relabel) the Namespace.
    expect(ofKind(objects, 'Namespace')).toEqual([]);
  });

  test('with every prop (FULL but the Chart-only labels) in a plain Chart: its pods reference only what it emits, the password Secret and the user\'s own ConfigMap for extraVolumes', () => {
    const chart = new Chart(testApp(), 'app', { namespace: 'apps', labels: { 'example.com/app': 'shop' } });
    const { labels: _chartOnly, ...props } = FULL;
    new RedisSentinel(chart, 'cache', props);
    const objects = Testing.synth(chart) as KubeObject[];
    // Backups go to the claim FULL.restore names, an existing one (like the Secret and corp-ca, the user's).
    expect([...new Set(missingReferences(objects))].sort()).toEqual([
      'CronJob/cache-backup: ConfigMap corp-ca',
      'StatefulSet/cache-master: ConfigMap corp-ca', 'StatefulSet/cache-master: PersistentVolumeClaim cache-old-backups',
      'StatefulSet/cache-replica: ConfigMap corp-ca', 'StatefulSet/cache-sentinel: ConfigMap corp-ca',
    ]);
    for (const o of objects) expect(o.metadata.labels).toMatchObject({ 'example.com/app': 'shop', 'example.com/team': 'data' });
  });

  test('fails when neither it nor its Chart has a namespace, saying what to set', () => {
    expect(() => new RedisSentinel(appChart(), 'cache')).toThrow(/at app\/cache:\n[^\n]*namespace is not set and the Chart 'app' has none/);
  });

  test('its own namespace prop wins over the Chart\'s', () => {
    const chart = appChart('apps');
    new RedisSentinel(chart, 'cache', { namespace: 'data' });
    expect((Testing.synth(chart) as KubeObject[]).every((o) => o.metadata.namespace === 'data')).toBe(true);
  });

  test('an invalid one leaves nothing behind in the Chart', () => {
    const chart = appChart('apps');
    expect(() => new RedisSentinel(chart, 'cache', { sentinels: 2 })).toThrow(/sentinels \(2\)/);
    expect(chart.node.children).toEqual([]);
  });

  test('the escape hatch: each StatefulSet is its part\'s `Resource` child, and a JSON patch reaches the output', () => {
    const chart = appChart('apps');
    const redis = new RedisSentinel(chart, 'cache');
    for (const part of [redis.master, redis.replicaSet, redis.sentinels]) {
      expect(part.node.defaultChild).toBe(part.statefulSet);
      ApiObject.of(part.node.defaultChild as Construct).addJsonPatch(JsonPatch.add('/spec/template/spec/tolerations', [{ key: 'dedicated', operator: 'Exists' }]));
    }
    for (const sts of ofKind(Testing.synth(chart) as KubeObject[], 'StatefulSet')) {
      expect(sts.spec.template.spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Exists' }]);
    }
  });
});

describe('RedisSentinelChart', () => {
  test('alone in an App: emits everything its pods reference but the password Secret, and its Namespace when asked', () => {
    const chart = new RedisSentinelChart(testApp(), 'redis', { backup: {}, monitoring: {}, createNamespace: true });
    const objects = Testing.synth(chart) as KubeObject[];
    expect(missingReferences(objects)).toEqual([]);
    expect(secretsReferenced(objects)).toEqual(['redis-auth']);
    expect(find(objects, 'Namespace', 'redis').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(chart.redis.node.id).toBe('Resource');
  });
});

describe('RedisBackup', () => {
  test('in a Chart of its own for a deployment elsewhere: emits its CronJob, claim and policy; the deployment ships its script and admits its pods', () => {
    const app: App = testApp();
    const core = new Chart(app, 'core', { namespace: 'data' });
    const redis = new RedisSentinel(core, 'cache');
    const backups = new Chart(app, 'backups');
    const backup = new RedisBackup(backups, 'Backup', {
      deployment: redis, retention: 3, storageAccessModes: [PersistentVolumeAccessMode.READ_WRITE_MANY], pod: { podLabels: { 'example.com/job': 'backup' } },
    });
    expect(redis.backup).toBe(backup);
    expect(backup.node.defaultChild).toBe(backup.cronJob);
    const own = Testing.synth(backups) as KubeObject[];
    const deployment = Testing.synth(core) as KubeObject[];
    expect(own.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`).sort())
      .toEqual(['CronJob/data/cache-backup', 'NetworkPolicy/data/cache-backup', 'PersistentVolumeClaim/data/cache-backup']);
    expect(missingReferences(own, [...own, ...deployment])).toEqual([]);
    expect(Object.keys(find(deployment, 'ConfigMap', 'cache-scripts').data)).toContain('redis-backup.sh');
    const ingress = find(deployment, 'NetworkPolicy', 'cache').spec.ingress[0].from.map((p: any) => p.podSelector.matchLabels['app.kubernetes.io/component']);
    expect(ingress).toContain('backup');
    expect(find(own, 'PersistentVolumeClaim', 'cache-backup').spec.accessModes).toEqual(['ReadWriteMany']);
    expect(find(own, 'CronJob', 'cache-backup').spec.jobTemplate.spec.template.metadata.labels['example.com/job']).toBe('backup');
  });

  test('fails without a deployment, saying so', () => {
    expect(() => new RedisBackup(appChart('apps'), 'B', {} as any)).toThrow(/RedisBackup at app\/B needs props\.deployment/);
  });

  test('fails when the deployment already has backups', () => {
    const redis = new RedisSentinel(appChart('apps'), 'cache', { backup: {} });
    expect(() => new RedisBackup(redis.node.scope!, 'More', { deployment: redis }))
      .toThrow(/already has its RedisBackup \(at app\/cache\/Backup\)/);
  });

  test('checks its own options, naming itself', () => {
    const redis = new RedisSentinel(appChart('apps'), 'cache');
    expect(() => new RedisBackup(redis.node.scope!, 'Backup', { deployment: redis, retention: 0 })).toThrow(/at app\/Backup:\n[^\n]*retention \(0\)/);
  });
});

describe('RedisMonitoring', () => {
  test('in a Chart of its own (the CRD objects apart): emits ServiceMonitor, PrometheusRule, dashboard and metrics Services; sidecars join the deployment\'s pods', () => {
    const app: App = testApp();
    const core = new Chart(app, 'core', { namespace: 'data' });
    const redis = new RedisSentinel(core, 'cache');
    const crds = new Chart(app, 'monitoring');
    const monitoring = new RedisMonitoring(crds, 'Monitoring', { deployment: redis, namespace: 'observability', exporterExtraArgs: ['--is-tile38=false'] });
    expect(redis.monitoring).toBe(monitoring);
    expect(monitoring.node.defaultChild).toBe(monitoring.serviceMonitor);
    const own = Testing.synth(crds) as KubeObject[];
    expect(own.map((o) => `${o.kind}/${o.metadata.namespace}`).sort()).toEqual([
      'ConfigMap/observability', 'PrometheusRule/observability', 'Service/data', 'Service/data', 'ServiceMonitor/observability',
    ]);
    const deployment = Testing.synth(core) as KubeObject[];
    for (const sts of ofKind(deployment, 'StatefulSet')) {
      expect(sts.spec.template.spec.containers.map((c: any) => c.name)).toContain('metrics');
      expect(sts.spec.template.spec.containers.find((c: any) => c.name === 'metrics').args).toContain('--is-tile38=false');
    }
    expect(find(deployment, 'NetworkPolicy', 'cache').spec.ingress.some((r: any) => r.ports[0].port === 9121)).toBe(true);
  });

  test('fails without a deployment, and when the deployment already has monitoring', () => {
    expect(() => new RedisMonitoring(appChart('apps'), 'M', {} as any)).toThrow(/RedisMonitoring at app\/M needs props\.deployment/);
    const redis = new RedisSentinel(appChart('apps'), 'cache', { monitoring: {} });
    expect(() => new RedisMonitoring(redis.node.scope!, 'More', { deployment: redis })).toThrow(/already has its RedisMonitoring/);
  });
});

describe('RedisMasterEndpoint', () => {
  test('in a Chart of its own for a deployment elsewhere: emits its Deployment, ConfigMap, Services, budget and policy; the deployment admits its pods', () => {
    const app: App = testApp();
    const core = new Chart(app, 'core', { namespace: 'data' });
    const redis = new RedisSentinel(core, 'cache');
    const proxies = new Chart(app, 'proxies');
    const endpoint = new RedisMasterEndpoint(proxies, 'Endpoint', { deployment: redis });
    expect(redis.masterEndpoint).toBe(endpoint);
    expect(endpoint.node.defaultChild).toBe(endpoint.proxyDeployment);
    const own = Testing.synth(proxies) as KubeObject[];
    const deployment = Testing.synth(core) as KubeObject[];
    expect(own.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/data/cache-proxy', 'Deployment/data/cache-proxy', 'NetworkPolicy/data/cache-proxy', 'PodDisruptionBudget/data/cache-proxy',
      'Service/data/cache-master', 'Service/data/cache-proxy-metrics', 'Service/data/cache-replicas',
    ]);
    expect(missingReferences(own, [...own, ...deployment])).toEqual([]);
    for (const policy of ['cache', 'cache-sentinel']) {
      const from = find(deployment, 'NetworkPolicy', policy).spec.ingress[0].from.map((p: any) => p.podSelector.matchLabels['app.kubernetes.io/component']);
      expect(from).toContain('proxy');
    }
  });

  test('fails without a deployment, and when the deployment already has one', () => {
    expect(() => new RedisMasterEndpoint(appChart('apps'), 'E', {} as any)).toThrow(/RedisMasterEndpoint at app\/E needs props\.deployment/);
    const redis = new RedisSentinel(appChart('apps'), 'cache', { masterEndpoint: {} });
    expect(() => new RedisMasterEndpoint(redis.node.scope!, 'More', { deployment: redis })).toThrow(/already has its RedisMasterEndpoint \(at app\/cache\/MasterEndpoint\)/);
  });

  test('checks its own options, naming itself', () => {
    const redis = new RedisSentinel(appChart('apps'), 'cache');
    expect(() => new RedisMasterEndpoint(redis.node.scope!, 'Endpoint', { deployment: redis, replicas: 0 })).toThrow(/at app\/Endpoint:\n[^\n]*replicas \(0\)/);
  });
});

describe.each([
  ['RedisMaster', (s: Construct, p: any) => new RedisMaster(s, 'X', p)],
  ['RedisReplicaSet', (s: Construct, p: any) => new RedisReplicaSet(s, 'X', p)],
  ['SentinelQuorum', (s: Construct, p: any) => new SentinelQuorum(s, 'X', p)],
  ['RedisNetworkPolicies', (s: Construct, p: any) => new RedisNetworkPolicies(s, 'X', p)],
])('%s', (kind, make) => {
  test('alone in a Chart: fails saying it needs a deployment (a RedisSentinel creates it)', () => {
    expect(() => make(appChart('apps'), {})).toThrow(new RegExp(`${kind} at app/X needs props\\.deployment`));
  });

  test('a second one for a deployment fails instead of emitting duplicate objects', () => {
    const redis = new RedisSentinel(appChart('apps'), 'cache');
    expect(() => make(redis.node.scope!, { deployment: redis })).toThrow(new RegExp(`already has its ${kind}`));
  });
});
