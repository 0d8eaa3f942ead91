/**
 * dist/ is committed and applied with `kubectl apply -f dist/`: it must equal a fresh synth of the
 * example app (src/main.ts); so must examples/one-node/ (src/main-one-node.ts). Run `npx projen synth`
 * and commit both when this fails.
 *
 * The core file (the deployment) must apply on any cluster, so it holds no object whose kind comes
 * from a CRD; those are in the monitoring file, which holds exactly the example's RedisMonitoring.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ApiObject } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { EXAMPLE_CHART_ID, EXAMPLE_MONITORING_CHART_ID, ONE_NODE_OUTDIR, SECURE_CHART_ID, buildExampleApp } from '../src/example';
import { RedisMonitoring } from '../src/monitoring';
import { apiGroup, needsCrd } from './support/api-groups';
import { KubeObject, testApp } from './support/synth';

const ROOT = join(__dirname, '..');
const CORE_FILE = `${EXAMPLE_CHART_ID}.k8s.yaml`;
const MONITORING_FILE = `${EXAMPLE_MONITORING_CHART_ID}.k8s.yaml`;
const SECURE_FILE = `${SECURE_CHART_ID}.k8s.yaml`;

/**
 * Runs an example entry point (`src/main`) with CDK8S_OUTDIR set to a temporary directory and
 * expects `dir` to hold exactly the same files, byte for byte.
 */
function expectFreshSynth(entry: string, dir: string, regenerate: string): string[] {
  const out = mkdtempSync(join(tmpdir(), 'synth-'));
  const previous = process.env.CDK8S_OUTDIR;
  try {
    process.env.CDK8S_OUTDIR = out;
    jest.isolateModules(() => {
      require(entry);
    });
    const fresh = readdirSync(out).sort();
    const hint = `(${regenerate} rewrites ${dir}/; commit it)`;
    expect(`${dir}/ ${hint}: ${readdirSync(join(ROOT, dir)).sort().join(' ')}`).toBe(`${dir}/ ${hint}: ${fresh.join(' ')}`);
    for (const f of fresh) {
      expect(`${dir}/${f} ${hint}:\n${readFileSync(join(ROOT, dir, f), 'utf8')}`).toBe(`${dir}/${f} ${hint}:\n${readFileSync(join(out, f), 'utf8')}`);
    }
    return fresh;
  } finally {
    if (previous === undefined) delete process.env.CDK8S_OUTDIR;
    else process.env.CDK8S_OUTDIR = previous;
    rmSync(out, { recursive: true, force: true });
  }
}

function load(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(join(ROOT, 'dist', file), 'utf8')).map((d) => d.toJSON() as KubeObject);
}

const id = (o: KubeObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

test('dist/ equals a fresh synth of the example app', () => {
  expect(expectFreshSynth('../src/main', 'dist', 'npx projen synth')).toEqual([SECURE_FILE, MONITORING_FILE, CORE_FILE]);
});

test('examples/one-node/ equals a fresh synth of the one-node example', () => {
  expect(expectFreshSynth('../src/main-one-node', ONE_NODE_OUTDIR, 'npx projen synth')).toEqual([MONITORING_FILE, CORE_FILE]);
});

test('the secure example in dist/ has TLS and ACL users on, and no kind from a CRD but cert-manager\'s Certificate', () => {
  const objects = load(SECURE_FILE);
  expect(objects.filter((o) => needsCrd(o)).map(id)).toEqual(['Certificate/redis-secure/redis']);
  expect(apiGroup(objects.find((o) => o.kind === 'Certificate')!.apiVersion)).toBe('cert-manager.io');
  const redisConf = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.namespace === 'redis-secure' && o.metadata.name === 'redis-config')!.data;
  expect(redisConf['redis.conf']).toMatch(/^tls-port 6379$/m);
  expect(redisConf['acl-users']).toMatch(/^app \/etc\/redis-acl\/users\/app\/password /m);
  // The other two files do not know this release.
  expect([...load(CORE_FILE), ...load(MONITORING_FILE)].filter((o) => o.metadata.namespace === 'redis-secure').map(id)).toEqual([]);
});

describe('the core file applies without CRDs; the monitoring file holds what needs them', () => {
  const core = load(CORE_FILE);
  const monitoring = load(MONITORING_FILE);

  test('the core file has no object whose kind comes from a CRD', () => {
    expect(core.filter(needsCrd).map((o) => `${o.apiVersion} ${o.kind}/${o.metadata.name}`)).toEqual([]);
    // The deployment is all there: its workloads and the exporter sidecars monitoring adds to them.
    expect(core.filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata.name).sort()).toEqual(['redis-master', 'redis-replica', 'redis-sentinel']);
    for (const sts of core.filter((o) => o.kind === 'StatefulSet')) {
      expect(sts.spec.template.spec.containers.map((c: { name: string }) => c.name)).toContain('metrics');
    }
  });

  test('the monitoring file holds exactly the example\'s RedisMonitoring objects', () => {
    expect(monitoring.map(id).sort()).toEqual([
      'ConfigMap/redis/redis-dashboard',
      'PrometheusRule/redis/redis',
      'Service/redis/redis-metrics',
      'Service/redis/redis-sentinel-metrics',
      'ServiceMonitor/redis/redis',
    ]);
    // ...which are the objects under the RedisMonitoring construct, and nothing of the deployment's.
    const app = buildExampleApp(testApp());
    const construct = app.monitoring.node.findAll().find((c) => c instanceof RedisMonitoring)!;
    const owned = construct.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map((o) => id(o.toJson()));
    expect(monitoring.map(id).sort()).toEqual(owned.sort());
    expect(monitoring.filter(needsCrd).map((o) => apiGroup(o.apiVersion))).toEqual(['monitoring.coreos.com', 'monitoring.coreos.com']);
  });

  test('the CRD check knows the built-in groups from the CRD ones', () => {
    expect([
      { apiVersion: 'v1' }, { apiVersion: 'apps/v1' }, { apiVersion: 'batch/v1' }, { apiVersion: 'policy/v1' },
      { apiVersion: 'networking.k8s.io/v1' }, { apiVersion: 'storage.k8s.io/v1' },
    ].filter(needsCrd)).toEqual([]);
    expect([
      { apiVersion: 'monitoring.coreos.com/v1' }, { apiVersion: 'cert-manager.io/v1' },
      { apiVersion: 'snapshot.storage.k8s.io/v1' }, { apiVersion: 'gateway.networking.k8s.io/v1' },
    ].every(needsCrd)).toBe(true);
  });
});
