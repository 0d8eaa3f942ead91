/**
 * docs/topology.svg (shown in the README) is drawn by scripts/topology.js from the synthesized
 * objects in dist/: it must be what the script draws now (run `npx projen topology` and commit it),
 * and what it draws must come from the objects (the NetworkPolicy flows derived from the rules, not
 * a list kept by hand).
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { KubeObject } from './support/synth';

const topology = require('../scripts/topology.js');

const ROOT = join(__dirname, '..');
const SVG = join(ROOT, 'docs', 'topology.svg');
const DIST = join(ROOT, 'dist');

/** The flows the model derives, by workload or outside-node name: `from -> to: ports`. */
function flows(entries: Array<{ file: string; object: KubeObject }>): string[] {
  const m = topology.model(entries);
  const name = (id: string) => (id.startsWith('outside/') ? m.outside.get(id).title : id.split('/').pop());
  return m.flows.map((f: { src: string; dst: string; ports: string[] }) => `${name(f.src)} -> ${name(f.dst)}: ${f.ports.join(' ')}`).sort();
}

/** The example's release (dist/ also holds the secure example, in namespace redis-secure). */
const entries = () => topology.loadDir(DIST, 'redis') as Array<{ file: string; object: KubeObject }>;

test('docs/topology.svg is what scripts/topology.js draws from dist/ now', () => {
  const dot = spawnSync('dot', ['-V'], { encoding: 'utf8' });
  if (dot.error) throw new Error('graphviz (dot) is not installed: run scripts/install-test-deps.sh as root');
  const out = mkdtempSync(join(tmpdir(), 'topology-'));
  try {
    const run = spawnSync(process.execPath, [join(ROOT, 'scripts', 'topology.js'), '--in', DIST, '--namespace', 'redis', '--out', join(out, 'topology.svg')], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const fresh = readFileSync(join(out, 'topology.svg'), 'utf8');
    const hint = 'docs/topology.svg is stale: run `npx projen topology` and commit it';
    expect(`${hint}\n${readFileSync(SVG, 'utf8')}`).toBe(`${hint}\n${fresh}`);
    // Nothing that changes from run to run.
    expect(fresh).not.toMatch(/\d{4}-\d{2}-\d{2}|CreationDate/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

describe('what the picture shows comes from the objects', () => {
  test('the flows are those the README lists under NetworkPolicies, derived from the rules', () => {
    expect(flows(entries())).toEqual([
      'app.kubernetes.io/name=prometheus -> redis-master: 9121/TCP',
      'app.kubernetes.io/name=prometheus -> redis-proxy: 8404/TCP',
      'app.kubernetes.io/name=prometheus -> redis-replica: 9121/TCP',
      'app.kubernetes.io/name=prometheus -> redis-sentinel: 9121/TCP',
      'redis-backup -> any address: 53/TCP 53/UDP',
      'redis-backup -> redis-master: 6379/TCP',
      'redis-backup -> redis-replica: 6379/TCP',
      'redis-backup -> redis-sentinel: 26379/TCP',
      'redis-client=true -> redis-master: 6379/TCP',
      'redis-client=true -> redis-proxy: 6379/TCP 6380/TCP',
      'redis-client=true -> redis-replica: 6379/TCP',
      'redis-client=true -> redis-sentinel: 26379/TCP',
      'redis-master -> any address: 53/TCP 53/UDP',
      'redis-master -> redis-master: 6379/TCP',
      'redis-master -> redis-replica: 6379/TCP',
      'redis-master -> redis-sentinel: 26379/TCP',
      'redis-proxy -> any address: 53/TCP 53/UDP',
      'redis-proxy -> redis-master: 6379/TCP',
      'redis-proxy -> redis-replica: 6379/TCP',
      'redis-proxy -> redis-sentinel: 26379/TCP',
      'redis-replica -> any address: 53/TCP 53/UDP',
      'redis-replica -> redis-master: 6379/TCP',
      'redis-replica -> redis-replica: 6379/TCP',
      'redis-replica -> redis-sentinel: 26379/TCP',
      'redis-sentinel -> any address: 53/TCP 53/UDP',
      'redis-sentinel -> redis-master: 6379/TCP',
      'redis-sentinel -> redis-replica: 6379/TCP',
      'redis-sentinel -> redis-sentinel: 26379/TCP',
    ]);
  });

  test('a flow needs both ends: without the Sentinels\' egress rule to Redis, Redis\' ingress rule alone draws no arrow', () => {
    const changed = entries().map((e) => {
      if (e.object.kind !== 'NetworkPolicy' || e.object.metadata.name !== 'redis-sentinel') return e;
      const o = JSON.parse(JSON.stringify(e.object));
      o.spec.egress = o.spec.egress.filter((r: any) => !r.ports.some((p: any) => p.port === 6379));
      return { ...e, object: o };
    });
    const before = flows(entries());
    const after = flows(changed);
    expect(before.filter((f) => !after.includes(f))).toEqual(['redis-sentinel -> redis-master: 6379/TCP', 'redis-sentinel -> redis-replica: 6379/TCP']);
    expect(after.filter((f) => !before.includes(f))).toEqual([]);
  });

  test('without NetworkPolicies nothing is drawn as allowed by them, and a workload without a policy gets no box', () => {
    const none = entries().filter((e) => e.object.kind !== 'NetworkPolicy');
    expect(flows(none)).toEqual([]);
    const dot: string = topology.toDot(topology.model(none));
    expect(dot).not.toContain('subgraph cluster_np');
    expect(dot).toContain('no NetworkPolicies: every pod may connect to every pod');
    expect(dot).toContain('StatefulSet/redis/redis-sentinel');
  });

  test('the picture names every workload with its pods, every Service, the Secret and the claims', () => {
    const dot: string = topology.toDot(topology.model(entries()));
    for (const text of [
      'redis-master', 'StatefulSet, 1 pod', 'redis-replica', 'StatefulSet, 2 pods', 'redis-sentinel', 'StatefulSet, 3 pods',
      "CronJob '0 2 * * *'", '1 Job pod per run',
      'redis-master-headless', 'redis-replica-headless', 'redis-sentinel-headless', 'redis-read', 'redis-metrics', 'redis-sentinel-metrics',
      'Secret redis-auth', 'you create it: in no file',
      'data-redis-master-0', 'data-redis-replica-{0..1}', 'data-redis-sentinel-{0..2}', '10Gi, PersistentVolumeClaim',
      'ServiceMonitor redis', 'PrometheusRule redis', 'ConfigMap redis-dashboard',
    ]) {
      expect(`${text}: ${dot.includes(text)}`).toBe(`${text}: true`);
    }
  });
});
