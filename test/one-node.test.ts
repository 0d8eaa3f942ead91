/**
 * "Try it on one node" (examples/one-node/, ONE_NODE_OVERRIDES in src/example.ts): nothing in it is
 * a scheduling constraint a single node cannot satisfy, and all its pods together request at most
 * 2 CPUs and 4 GiB. The production example (dist/) keeps what one node cannot give, and the README's
 * requirements table states it: checked here from the same objects.
 */
import { AntiAffinity } from '../src';
import { ONE_NODE_OVERRIDES } from '../src/example';
import { cpuMillis, memoryBytes, oneNodeProblems, podRequests, totalRequests, workloads } from './support/scheduling';
import { synthExample } from './support/synth';

const GIB = 2 ** 30;
const oneNode = synthExample(ONE_NODE_OVERRIDES);
const production = synthExample();

describe('the one-node example', () => {
  test('has no scheduling constraint a single node cannot satisfy', () => {
    expect(ONE_NODE_OVERRIDES.antiAffinity).toBe(AntiAffinity.PREFERRED);
    expect(oneNodeProblems(oneNode.all)).toEqual([]);
    // ...and still spreads where it can: preferred anti-affinity on the hostname, zone spread ScheduleAnyway.
    for (const w of workloads(oneNode.core).filter((x) => x.kind === 'StatefulSet')) {
      expect(w.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.map((t: any) => t.podAffinityTerm.topologyKey))
        .toContain('kubernetes.io/hostname');
      expect(w.spec.topologySpreadConstraints.map((c: any) => `${c.topologyKey} ${c.whenUnsatisfiable}`)).toEqual(['topology.kubernetes.io/zone ScheduleAnyway']);
    }
  });

  test('requests at most 2 CPUs and 4 GiB for all its pods together (Redis, Sentinels, exporter sidecars, a backup Job)', () => {
    const pods = workloads(oneNode.all).map((w) => `${w.kind}/${w.name} x${w.pods}`);
    expect(pods).toEqual(['StatefulSet/redis-master x1', 'StatefulSet/redis-replica x2', 'StatefulSet/redis-sentinel x3', 'CronJob/redis-backup x1', 'Deployment/redis-proxy x2']);
    // The exporter sidecars are counted: every Redis and Sentinel pod has one.
    for (const w of workloads(oneNode.all).filter((x) => x.kind === 'StatefulSet')) {
      expect(w.spec.containers.map((c: any) => c.name)).toContain('metrics');
    }
    const total = totalRequests(oneNode.all);
    expect(total.cpuMillis).toBeLessThanOrEqual(2000);
    expect(total.memoryBytes).toBeLessThanOrEqual(4 * GIB);
    // The figures the README gives.
    expect(workloads(oneNode.all).map((w) => {
      const r = podRequests(w.spec);
      return `${w.name}: ${r.cpuMillis}m ${r.memoryBytes / 2 ** 20}Mi`;
    })).toEqual(['redis-master: 260m 544Mi', 'redis-replica: 260m 544Mi', 'redis-sentinel: 65m 104Mi', 'redis-backup: 50m 64Mi', 'redis-proxy: 50m 64Mi']);
    expect([total.cpuMillis, total.memoryBytes / 2 ** 20]).toEqual([1125, 2136]);
  });

  test('is the production example but for the anti-affinity and the resources', () => {
    // REDIS_REVISION digests the Redis pod template, resources included.
    const strip = (o: any) => JSON.parse(JSON.stringify(o, (k, v) => (['affinity', 'resources', 'redis.conf', 'redis-sentinel.cdk8s.io/config-checksum'].includes(k) ? undefined
      : v?.name === 'REDIS_REVISION' ? { name: v.name } : v)));
    expect(oneNode.all.map(strip)).toEqual(production.all.map(strip));
  });
});

describe('what the production example needs from the cluster (README "Deploy")', () => {
  test('one node per pod of each StatefulSet: required anti-affinity on the hostname', () => {
    expect(oneNodeProblems(production.all)).toEqual([
      'StatefulSet/redis-master: required pod anti-affinity on kubernetes.io/hostname',
      'StatefulSet/redis-replica: required pod anti-affinity on kubernetes.io/hostname',
      'StatefulSet/redis-sentinel: required pod anti-affinity on kubernetes.io/hostname',
      'Deployment/redis-proxy: required pod anti-affinity on kubernetes.io/hostname',
    ]);
    // Each term selects its own StatefulSet's pods only: master and replicas may share nodes, so the
    // Redis pods need max(1, replicas) = 2 nodes by this rule, and preferred anti-affinity spreads all 3.
    for (const w of workloads(production.core).filter((x) => x.kind === 'StatefulSet')) {
      const [term] = w.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
      expect(term.labelSelector.matchLabels['redis-sentinel.cdk8s.io/statefulset']).toBe(w.name);
    }
  });

  test('per-pod requests and the total, as the README table gives them', () => {
    const perPod = workloads(production.all).map((w) => {
      const r = podRequests(w.spec);
      return `${w.name} x${w.pods}: ${r.cpuMillis}m ${r.memoryBytes / 2 ** 20}Mi`;
    });
    expect(perPod).toEqual([
      'redis-master x1: 510m 1056Mi',
      'redis-replica x2: 510m 1056Mi',
      'redis-sentinel x3: 115m 168Mi',
      'redis-backup x1: 50m 64Mi',
      'redis-proxy x2: 50m 64Mi',
    ]);
    const total = totalRequests(production.all);
    expect([total.cpuMillis, total.memoryBytes / 2 ** 20]).toEqual([2025, 3864]);
  });

  test('claims from the default StorageClass (no storageClassName)', () => {
    const claims = [
      ...production.core.filter((o) => o.kind === 'PersistentVolumeClaim').map((o) => o.spec),
      ...production.core.filter((o) => o.kind === 'StatefulSet').flatMap((o) => o.spec.volumeClaimTemplates.map((t: any) => t.spec)),
    ];
    expect(claims.map((c) => `${c.resources.requests.storage} ${c.storageClassName ?? 'default'}`).sort()).toEqual([
      '10Gi default', '10Gi default', '10Gi default', '1Gi default',
    ]);
  });
});

describe('quantities', () => {
  test.each([['250m', 250], ['1', 1000], ['0.5', 500], ['1000m', 1000], [2, 2000]])('cpu %s = %d millicores', (q, m) => {
    expect(cpuMillis(q)).toBe(m);
  });
  test.each([['512Mi', 512 * 2 ** 20], ['1Gi', GIB], ['64Ki', 65536], ['128M', 128e6], ['1073741824', GIB]])('memory %s = %d bytes', (q, b) => {
    expect(memoryBytes(q)).toBe(b);
  });
  test('fails on what it cannot read, rather than counting 0', () => {
    expect(() => cpuMillis('1 core')).toThrow(/not a CPU quantity/);
    expect(() => memoryBytes('1gb')).toThrow(/not a memory quantity/);
  });
  test('an init container larger than the sum of the containers sets the pod\'s request', () => {
    expect(podRequests({
      initContainers: [{ resources: { requests: { cpu: '1', memory: '1Gi' } } }],
      containers: [{ resources: { requests: { cpu: '100m', memory: '64Mi' } } }, { resources: { limits: { cpu: '200m', memory: '64Mi' } } }],
    })).toEqual({ cpuMillis: 1000, memoryBytes: GIB });
  });
});
