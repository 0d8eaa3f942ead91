/**
 * Snapshots, one per construct of the deployment and per fixture, small enough to review. Script
 * bodies and the dashboard JSON are reduced to a digest here: the dist check (test/dist.test.ts)
 * pins their text, and the script and dashboard tests check what they do.
 * Snapshots never update in CI (`jest --ci`); they change only in a commit that says why.
 */
import { createHash } from 'crypto';
import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { RedisSentinelChart, RedisSentinelChartProps } from '../src';
import { AUTH_OFF, FULL } from './support/chart-variants';
import { KubeObject, testApp } from './support/synth';

/** ConfigMap values that are whole programs or documents: digest and size instead of text. */
const DIGESTED = /\.(sh|json|lua|cfg)$/;

function digest(o: KubeObject): KubeObject {
  if (o.kind !== 'ConfigMap') return o;
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.data as Record<string, string>)) {
    data[k] = DIGESTED.test(k) ? `sha256:${createHash('sha256').update(v).digest('hex').slice(0, 16)} (${v.split('\n').length} lines)` : v;
  }
  return { ...o, data };
}

/** The objects a construct emits itself (not those of its child constructs with their own snapshot). */
function objectsOf(c: IConstruct, skip: IConstruct[]): KubeObject[] {
  return c.node.findAll()
    .filter((x): x is ApiObject => x instanceof ApiObject && !skip.some((s) => x.node.path.startsWith(s.node.path + '/')))
    .map((x) => digest(x.toJson() as KubeObject));
}

describe.each<[string, RedisSentinelChartProps]>([
  ['defaults', {}],
  ['every prop non-default', FULL],
  ['auth and NetworkPolicies off', AUTH_OFF],
])('%s', (_label, props) => {
  const chart = new RedisSentinelChart(testApp(), 'redis', props);
  const r = chart.redis;
  const parts: Array<[string, IConstruct | undefined]> = [
    ['RedisMaster', r.master], ['RedisReplicaSet', r.replicaSet], ['SentinelQuorum', r.sentinels],
    ['RedisNetworkPolicies', r.networkPolicies], ['RedisBackup', r.backup], ['RedisMonitoring', r.monitoring],
    ['RedisMasterEndpoint', r.masterEndpoint],
  ];
  const present = parts.filter((p): p is [string, IConstruct] => p[1] !== undefined);

  test.each(present)('%s', (_name, part) => {
    expect(objectsOf(part, [])).toMatchSnapshot();
  });

  test('RedisSentinel (its own objects: Namespace, ConfigMaps, read Service, PodDisruptionBudget)', () => {
    expect(objectsOf(r, present.map((p) => p[1]))).toMatchSnapshot();
  });
});
