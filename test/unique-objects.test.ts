/**
 * Safe sharing: objects that land outside a release's namespace carry it in their name, and the
 * App-wide check fails synth when two objects of any Charts would be the same Kubernetes object.
 */
import { App, Chart, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { RedisSentinel, RedisSentinelChart } from '../src';
import { UNIQUE_OBJECTS_ID } from '../src/unique-objects';
import { KubeObject, testApp } from './support/synth';

const key = (o: KubeObject) => `${o.apiVersion.split('/').slice(0, -1).join('/')}|${o.kind}|${o.metadata.namespace ?? ''}|${o.metadata.name}`;

describe('two releases named redis in team-a and team-b, monitored from one shared namespace', () => {
  const app: App = testApp();
  const a = new RedisSentinelChart(app, 'team-a-redis', { name: 'redis', namespace: 'team-a', monitoring: { namespace: 'monitoring' }, backup: {} });
  const b = new RedisSentinelChart(app, 'team-b-redis', { name: 'redis', namespace: 'team-b', monitoring: { namespace: 'monitoring' }, backup: {} });

  test('synthesize, with no object in common', () => {
    const objects = [...Testing.synth(a), ...Testing.synth(b)] as KubeObject[];
    const keys = objects.map(key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(() => app.synthYaml()).not.toThrow();
  });

  test('their objects in the monitoring namespace are named after their own namespace', () => {
    const shared = [...Testing.synth(a), ...Testing.synth(b)].filter((o: KubeObject) => o.metadata.namespace === 'monitoring') as KubeObject[];
    expect(shared.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/team-a.redis-dashboard', 'ConfigMap/team-b.redis-dashboard',
      'PrometheusRule/team-a.redis', 'PrometheusRule/team-b.redis',
      'ServiceMonitor/team-a.redis', 'ServiceMonitor/team-b.redis',
    ]);
  });

  test('the check is registered once for the App', () => {
    expect(app.node.children.filter((c) => c.node.id === UNIQUE_OBJECTS_ID)).toHaveLength(1);
  });
});

describe('the App-wide check', () => {
  test('fails when two releases of two Charts emit the same objects, naming both Charts', () => {
    const app: App = testApp();
    new RedisSentinelChart(app, 'first', { name: 'redis', namespace: 'shared' });
    new RedisSentinelChart(app, 'second', { name: 'redis', namespace: 'shared' });
    let message = '';
    try {
      app.synthYaml();
    } catch (e) {
      message = (e as Error).message;
    }
    // One mistake, one message: every object clashes, the message counts them and shows the first few.
    const lines = message.split('\n').filter((l) => l.includes('[RedisSentinelUniqueObjects]'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /Chart 'first' and Chart 'second' both emit \d+ objects ConfigMap shared\/redis-config \(first\/Resource\/RedisConfig and second\/Resource\/RedisConfig\), [^\n]* and \d+ more; applying both, the second replaces the first[^\n]*give one of them another name or namespace$/);
  });

  test('fails when an object of any other Chart collides with one of a release (API group, kind, namespace, name)', () => {
    const app: App = testApp();
    const mine = new Chart(app, 'mine', { namespace: 'data' });
    new k8s.KubeConfigMap(mine, 'Cfg', { metadata: { name: 'cache-config' } });
    const core = new Chart(app, 'core', { namespace: 'data' });
    new RedisSentinel(core, 'cache');
    expect(() => Testing.synth(core)).toThrow(/Chart 'mine' and Chart 'core' both emit the object ConfigMap data\/cache-config \(mine\/Cfg and core\/cache\/RedisConfig\); /);
  });

  test('fails when two releases in one namespace both emit the Namespace, saying to emit it once', () => {
    const app: App = testApp();
    new RedisSentinelChart(app, 'one', { namespace: 'redis', createNamespace: true });
    new RedisSentinelChart(app, 'two', { namespace: 'redis', createNamespace: true });
    expect(() => app.synthYaml()).toThrow(/Chart 'one' and Chart 'two' both emit the object Namespace redis \(one\/Resource\/Namespace and two\/Resource\/Namespace\); [^\n]*createNamespace: false on the others/);
  });

  test('passes for the same name in another namespace, or another API group', () => {
    const app: App = testApp();
    const chart = new Chart(app, 'c');
    new RedisSentinel(chart, 'cache', { namespace: 'a' });
    new RedisSentinel(chart, 'cache2', { name: 'cache', namespace: 'b' });
    new k8s.KubeConfigMap(chart, 'Other', { metadata: { name: 'cache-config', namespace: 'c' } });
    expect(() => Testing.synth(chart)).not.toThrow();
  });
});

test('two releases whose names only differ past the 40th character of the dashboard uid get different Grafana uids', () => {
  const uid = (namespace: string) => {
    const cm = (Testing.synth(new RedisSentinelChart(testApp(), 'redis', { namespace, monitoring: {} })) as KubeObject[])
      .find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'redis-dashboard')!;
    return JSON.parse(Object.values(cm.data as Record<string, string>)[0]).uid as string;
  };
  const a = uid('team-payments-production-a');
  expect(a).not.toBe(uid('team-payments-production-b'));
  expect(a.length).toBeLessThanOrEqual(40);
  expect(uid('redis')).toBe('redis-sentinel-redis-redis');
});
