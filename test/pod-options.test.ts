/**
 * The pod knobs (src/pod-options.ts): what each does to the pods, how the deployment-level and the
 * per-component options merge, and one message per mistake (naming the prop, the value and the fix).
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart, Testing } from 'cdk8s';
import { PersistentVolumeAccessMode, k8s } from 'cdk8s-plus-27';
import * as ts from 'typescript';
import { AntiAffinity, RedisBackup, RedisSentinel, RedisSentinelChart, RedisSentinelChartProps, RedisSentinelConfigError } from '../src';
import { restrictedProblems } from '../src/pod-options';
import { restrictedContainer } from './support/chart-variants';
import { restrictedViolations } from './support/pod-security';
import { KubeObject, find, ofKind, synthChart, testApp } from './support/synth';

/** The problems a chart with these props is refused with (none: []). */
function problemsOf(props: RedisSentinelChartProps): string[] {
  try {
    new RedisSentinelChart(testApp(), 'redis', props);
    return [];
  } catch (e) {
    if (e instanceof RedisSentinelConfigError) return e.problems;
    throw e;
  }
}

const podOf = (objects: KubeObject[], kind: string, name: string) => {
  const o = find(objects, kind, name);
  return kind === 'CronJob' ? o.spec.jobTemplate.spec.template : o.spec.template;
};

describe('pod options at deployment level reach every pod; per component they extend or override', () => {
  const objects = synthChart({
    tolerations: [{ key: 'pool', operator: 'Equal', value: 'data', effect: 'NoSchedule' }],
    nodeSelector: { pool: 'data', arch: 'amd64' },
    podLabels: { team: 'a' },
    podAnnotations: { note: 'all' },
    priorityClassName: 'data',
    sentinelPod: { nodeSelector: { pool: 'small' }, tolerations: [{ key: 'small', operator: 'Exists' }], priorityClassName: 'small' },
    backup: { pod: { podLabels: { team: 'b' }, podAnnotations: { note: 'backup' } } },
  });

  test.each([['StatefulSet', 'redis-master'], ['StatefulSet', 'redis-replica'], ['CronJob', 'redis-backup']])('%s/%s gets the deployment-level values', (kind, name) => {
    const t = podOf(objects, kind, name);
    expect(t.spec.tolerations).toEqual([{ key: 'pool', operator: 'Equal', value: 'data', effect: 'NoSchedule' }]);
    expect(t.spec.nodeSelector).toEqual({ pool: 'data', arch: 'amd64' });
    expect(t.spec.priorityClassName).toBe('data');
  });

  test('the Sentinel pods: nodeSelector merged key by key, tolerations appended, priorityClassName replaced', () => {
    const t = podOf(objects, 'StatefulSet', 'redis-sentinel');
    expect(t.spec.nodeSelector).toEqual({ pool: 'small', arch: 'amd64' });
    expect(t.spec.tolerations).toEqual([{ key: 'pool', operator: 'Equal', value: 'data', effect: 'NoSchedule' }, { key: 'small', operator: 'Exists' }]);
    expect(t.spec.priorityClassName).toBe('small');
  });

  test('the backup pods: podLabels and podAnnotations overridden per key; selector labels untouched', () => {
    const t = podOf(objects, 'CronJob', 'redis-backup');
    expect(t.metadata.labels).toMatchObject({ team: 'b', 'app.kubernetes.io/component': 'backup' });
    expect(t.metadata.annotations).toEqual({ note: 'backup' });
    const redis = podOf(objects, 'StatefulSet', 'redis-master');
    expect(redis.metadata.labels.team).toBe('a');
    expect(redis.metadata.annotations).toMatchObject({ note: 'all' });
    expect(find(objects, 'StatefulSet', 'redis-master').spec.selector.matchLabels.team).toBeUndefined();
  });

  test('the ServiceAccount token stays unmounted, also with a serviceAccountName, unless asked', () => {
    const sa = synthChart({ serviceAccountName: 'redis', redisPod: { automountServiceAccountToken: true }, backup: {} });
    expect(podOf(sa, 'StatefulSet', 'redis-master').spec).toMatchObject({ serviceAccountName: 'redis', automountServiceAccountToken: true });
    expect(podOf(sa, 'StatefulSet', 'redis-sentinel').spec).toMatchObject({ serviceAccountName: 'redis', automountServiceAccountToken: false });
    expect(podOf(sa, 'CronJob', 'redis-backup').spec).toMatchObject({ serviceAccountName: 'redis', automountServiceAccountToken: false });
  });
});

describe('affinity and topology spread combine with the presets', () => {
  const nodeAffinity: k8s.NodeAffinity = {
    requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['data'] }] }] },
  };
  const zoneTerm: k8s.PodAffinityTerm = { topologyKey: 'topology.kubernetes.io/zone', labelSelector: { matchLabels: { app: 'x' } } };

  test('user terms are added to the REQUIRED preset, which stays', () => {
    const t = podOf(synthChart({ affinity: { nodeAffinity, podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [zoneTerm] } } }), 'StatefulSet', 'redis-replica');
    expect(t.spec.affinity.nodeAffinity).toEqual(nodeAffinity);
    expect(t.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution.map((x: any) => x.topologyKey))
      .toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
  });

  test('AntiAffinity.NONE leaves only the user\'s terms (or no affinity at all)', () => {
    const own = podOf(synthChart({ antiAffinity: AntiAffinity.NONE, affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [zoneTerm] } } }),
      'StatefulSet', 'redis-replica');
    expect(own.spec.affinity).toEqual({ podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [zoneTerm] } });
    expect(podOf(synthChart({ antiAffinity: AntiAffinity.NONE }), 'StatefulSet', 'redis-replica').spec.affinity).toBeUndefined();
  });

  test('a topology spread constraint is added to the zone preset, with the StatefulSet\'s own selector when it has none', () => {
    const sts = find(synthChart({ topologySpreadConstraints: [{ maxSkew: 2, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule' }] }),
      'StatefulSet', 'redis-sentinel');
    expect(sts.spec.template.spec.topologySpreadConstraints).toEqual([
      expect.objectContaining({ topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' }),
      { maxSkew: 2, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: sts.spec.selector.matchLabels } },
    ]);
  });

  test('fails when a constraint repeats the zone preset (the API server refuses the pair), saying to turn the preset off', () => {
    expect(problemsOf({ topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' }] }))
      .toEqual([expect.stringMatching(/^topologySpreadConstraints\[0\] repeats the zoneSpread preset [^\n]*set zoneSpread: false/)]);
  });
});

describe('extra containers, init containers, volumes and mounts', () => {
  const objects = synthChart({
    extraVolumes: [{ name: 'certs', secret: { secretName: 'certs' } }],
    extraVolumeMounts: [{ name: 'certs', mountPath: '/etc/certs', readOnly: true }],
    extraContainers: [restrictedContainer('proxy')],
    extraInitContainers: [restrictedContainer('init-perms')],
    backup: {},
  });

  test('Redis and Sentinel pods run them; the backup Job pod takes the volumes, mounts and init containers, not the sidecars', () => {
    for (const name of ['redis-master', 'redis-sentinel']) {
      const t = podOf(objects, 'StatefulSet', name);
      expect(t.spec.containers.map((c: any) => c.name)).toContain('proxy');
      expect(t.spec.initContainers.map((c: any) => c.name)).toEqual(['init-perms']);
    }
    const backup = podOf(objects, 'CronJob', 'redis-backup');
    expect(backup.spec.containers.map((c: any) => c.name)).toEqual(['backup']);
    expect(backup.spec.initContainers.map((c: any) => c.name)).toEqual(['init-perms']);
    expect(backup.spec.containers[0].volumeMounts).toContainEqual({ name: 'certs', mountPath: '/etc/certs', readOnly: true });
  });

  test('every pod still passes Pod Security "restricted"', () => {
    for (const o of [...ofKind(objects, 'StatefulSet'), ...ofKind(objects, 'CronJob')]) {
      const t = podOf(objects, o.kind, o.metadata.name);
      expect(restrictedViolations(t.spec, t.metadata)).toEqual([]);
    }
  });

  test('the synth-time check refuses every container the test checker flags (and passes the compliant one)', () => {
    const good = restrictedContainer('x');
    expect(restrictedProblems(good)).toEqual([]);
    const bad: Array<Partial<k8s.SecurityContext> | undefined> = [
      undefined, { ...good.securityContext, privileged: true }, { ...good.securityContext, allowPrivilegeEscalation: true },
      { ...good.securityContext, capabilities: { drop: ['NET_RAW'] } }, { ...good.securityContext, capabilities: { drop: ['ALL'], add: ['SYS_ADMIN'] } },
      { ...good.securityContext, runAsUser: 0 }, { ...good.securityContext, runAsNonRoot: false },
      { ...good.securityContext, seccompProfile: { type: 'Unconfined' } },
    ];
    const basePod = podOf(synthChart(), 'StatefulSet', 'redis-master');
    for (const sc of bad) {
      const c = { ...good, securityContext: sc };
      const spec = { ...basePod.spec, containers: [...basePod.spec.containers, c] };
      expect(restrictedViolations(spec, basePod.metadata).length).toBeGreaterThan(0);
      expect(restrictedProblems(c).length).toBeGreaterThan(0);
    }
  });

  test('fails when an extra container would be rejected under Pod Security "restricted", with one message saying what to set', () => {
    expect(problemsOf({ extraContainers: [{ name: 'shell', image: 'busybox:1.36.1' }] })).toEqual([
      expect.stringMatching(/^extraContainers\[0\] \('shell'\) would be rejected under Pod Security "restricted" \(allowPrivilegeEscalation is not false; capabilities\.drop lacks 'ALL'\): set securityContext: \{ allowPrivilegeEscalation: false, capabilities: \{ drop: \['ALL'\] \} \}/),
    ]);
  });

  test('fails when an extra container uses a library container name, or an unpinned image', () => {
    expect(problemsOf({ redisPod: { extraContainers: [restrictedContainer('metrics')] } }))
      .toEqual([expect.stringMatching(/^redisPod\.extraContainers\[0\] \('metrics'\) has the name of a container of the library \(redis, sentinel, tidy, metrics, restore, backup, exporter-credential\): rename it$/)]);
    expect(problemsOf({ extraInitContainers: [{ ...restrictedContainer('init'), image: 'busybox:latest' }] }))
      .toEqual([expect.stringMatching(/^extraInitContainers\[0\] \('init'\) image \('busybox:latest'\) must be pinned/)]);
  });

  test('fails when two extra containers share a name, within a level or across levels, once each', () => {
    expect(problemsOf({ extraContainers: [restrictedContainer('a')], extraInitContainers: [restrictedContainer('a')] }))
      .toEqual(["extraContainers/extraInitContainers: 'a' is used more than once; names must be unique within a pod"]);
    expect(problemsOf({ extraContainers: [restrictedContainer('a')], sentinelPod: { extraContainers: [restrictedContainer('a')] } }))
      .toEqual([expect.stringMatching(/^sentinelPod\.extraContainers\/extraInitContainers: 'a' is also a deployment-level extra container/)]);
  });

  test('fails when an extra volume uses a library volume name, a type "restricted" refuses, or a name twice', () => {
    expect(problemsOf({ extraVolumes: [{ name: 'config', emptyDir: {} }] }))
      .toEqual([expect.stringMatching(/^extraVolumes\[0\] \('config'\) has the name of a volume of the library \([^)]*\): rename it$/)]);
    expect(problemsOf({ extraVolumes: [{ name: 'host', hostPath: { path: '/var/run' } }] }))
      .toEqual([expect.stringMatching(/^extraVolumes\[0\] \('host'\) must have exactly one volume type admitted by Pod Security "restricted" [^\n]*; it has hostPath$/)]);
    expect(problemsOf({ extraVolumes: [{ name: 'v', emptyDir: {} }, { name: 'v', emptyDir: {} }] }))
      .toEqual(["extraVolumes: 'v' is used more than once; names must be unique within a pod"]);
    expect(problemsOf({ extraVolumes: [{ name: 'v', emptyDir: {} }], redisPod: { extraVolumes: [{ name: 'v', emptyDir: {} }] } }))
      .toEqual([expect.stringMatching(/^redisPod\.extraVolumes: 'v' is also a deployment-level extra volume/)]);
  });

  test('fails once (naming every kind of pod it breaks) when a mount names a volume the pods do not have', () => {
    expect(problemsOf({ extraVolumeMounts: [{ name: 'nope', mountPath: '/x' }], backup: {} }))
      .toEqual(["extraVolumeMounts[0] mounts volume 'nope', which the Redis pods and Sentinel pods do not have: add it to extraVolumes"]);
    expect(problemsOf({ sentinelPod: { extraVolumeMounts: [{ name: 'v', mountPath: '/x' }] }, redisPod: { extraVolumes: [{ name: 'v', emptyDir: {} }] } }))
      .toEqual(["sentinelPod.extraVolumeMounts[0] mounts volume 'v', which the Sentinel pods do not have: add it to sentinelPod.extraVolumes"]);
    // 'run' is a volume of the Redis pods only: one message (the backup pods lack it too, but the mistake is one).
    expect(problemsOf({ extraVolumeMounts: [{ name: 'run', mountPath: '/x' }], backup: {} }))
      .toEqual(["extraVolumeMounts[0] mounts volume 'run', which the Sentinel pods do not have: add it to extraVolumes"]);
    // 'data' is in the Redis and Sentinel pods, not in the backup pods: the backup reports it.
    expect(problemsOf({ extraVolumeMounts: [{ name: 'data', mountPath: '/x' }], backup: {} }))
      .toEqual(["extraVolumeMounts[0] mounts volume 'data', which the backup pods do not have: add it to extraVolumes"]);
  });

  test('fails when a mount uses a path the library mounts', () => {
    expect(problemsOf({ extraVolumes: [{ name: 'v', emptyDir: {} }], extraVolumeMounts: [{ name: 'v', mountPath: '/data' }] }))
      .toEqual(["extraVolumeMounts[0] mountPath '/data' is where the library mounts a volume of its own in the Redis pods and Sentinel pods: choose another path"]);
  });

  test('fails when backup.pod has extraContainers: a Job pod ends only when every container exits', () => {
    expect(problemsOf({ backup: { pod: { extraContainers: [restrictedContainer('sidecar')] } } }))
      .toEqual([expect.stringMatching(/^backup\.pod\.extraContainers \(sidecar\) are not run in backup Job pods: [^\n]*use backup\.pod\.extraInitContainers$/)]);
    // A non-compliant one too: one message, not also the Pod Security one.
    expect(problemsOf({ backup: { pod: { extraContainers: [{ name: 'side', image: 'busybox:1.36.1' }] } } })).toHaveLength(1);
  });
});

test('fails when a toleration has an unknown operator or effect, or a value with Exists', () => {
  expect(problemsOf({ tolerations: [{ key: 'a', operator: 'In' }] })).toEqual(["tolerations[0].operator ('In') must be 'Equal' or 'Exists'"]);
  expect(problemsOf({ sentinelPod: { tolerations: [{ key: 'a', operator: 'Exists', value: 'x' }] } }))
    .toEqual([expect.stringMatching(/^sentinelPod\.tolerations\[0\] has operator 'Exists' and value 'x'/)]);
  expect(problemsOf({ backup: { pod: { tolerations: [{ key: 'a', effect: 'NoRun' }] } } }))
    .toEqual([expect.stringMatching(/^backup\.pod\.tolerations\[0\]\.effect \('NoRun'\) must be NoSchedule/)]);
});

describe('labels and annotations', () => {
  test('commonLabels and commonAnnotations reach every object of the deployment, its backups and monitoring in other Charts too', () => {
    const app: App = testApp();
    const core = new Chart(app, 'core', { namespace: 'data', labels: { 'example.com/chart': 'core', 'example.com/team': 'chart-level' } });
    const redis = new RedisSentinel(core, 'cache', { commonLabels: { 'example.com/team': 'data' }, commonAnnotations: { owner: 'data' }, monitoring: {} });
    const other = new Chart(app, 'backups');
    new RedisBackup(other, 'Backup', { deployment: redis });
    const objects = [...Testing.synth(core), ...Testing.synth(other)] as KubeObject[];
    for (const o of objects) {
      expect(o.metadata.labels['example.com/team']).toBe('data');
      expect(o.metadata.annotations).toEqual({ owner: 'data' });
    }
    // cdk8s puts the Chart's labels on the objects of that Chart (not on pods); commonLabels go to pods too.
    expect(find(objects, 'StatefulSet', 'cache-master').metadata.labels['example.com/chart']).toBe('core');
    expect(find(objects, 'CronJob', 'cache-backup').metadata.labels['example.com/chart']).toBeUndefined();
    expect(find(objects, 'StatefulSet', 'cache-master').spec.template.metadata.labels['example.com/team']).toBe('data');
  });

  test('RedisSentinelChart passes its labels to cdk8s (every object) and checks them', () => {
    const objects = synthChart({ labels: { 'example.com/stack': 'shop' } });
    for (const o of objects) expect(o.metadata.labels['example.com/stack']).toBe('shop');
    expect(() => synthChart({ labels: { 'bad key': 'x' } })).toThrow(/at redis\/Resource:\n  - labels key 'bad key' is not a valid Kubernetes label key/);
    // With the deployment's own mistakes, in one error.
    expect(problemsOf({ labels: { 'bad key': 'x' }, sentinels: 2 })).toEqual([
      expect.stringMatching(/^labels key 'bad key'/), expect.stringMatching(/^sentinels \(2\)/),
    ]);
  });

  test.each([
    ['commonLabels', { commonLabels: { 'app.kubernetes.io/instance': 'other' } }],
    ['podLabels', { podLabels: { 'app.kubernetes.io/component': 'x' } }],
    ['redisPod.podLabels', { redisPod: { podLabels: { 'redis-sentinel.cdk8s.io/statefulset': 'x' } } }],
  ])('fails when %s uses a key of the library (its selectors use it)', (prop, props) => {
    expect(problemsOf(props as RedisSentinelChartProps)).toEqual([expect.stringMatching(new RegExp(`^${prop.replace('.', '\\.')} key '[^']+' is set by the library \\(its selectors and identity use it\\): remove it, or use a key of your own`))]);
  });

  test('fails when a label value, a label key or an annotation key is invalid, or podAnnotations sets the config checksum', () => {
    expect(problemsOf({ podLabels: { team: 'a b' } })).toEqual([expect.stringMatching(/^podLabels\['team'\] value 'a b' is not a valid label value/)]);
    expect(problemsOf({ commonAnnotations: { '-bad': 'x' } })).toEqual([expect.stringMatching(/^commonAnnotations key '-bad' is not a valid annotation key/)]);
    expect(problemsOf({ sentinelPod: { podAnnotations: { 'redis-sentinel.cdk8s.io/config-checksum': 'x' } } }))
      .toEqual(["sentinelPod.podAnnotations key 'redis-sentinel.cdk8s.io/config-checksum' is set by the library: remove it"]);
  });
});

describe('claims', () => {
  test('access modes per claim and the retention policy on every StatefulSet', () => {
    const objects = synthChart({
      storageAccessModes: [PersistentVolumeAccessMode.READ_WRITE_ONCE_POD],
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' },
      backup: { storageAccessModes: [PersistentVolumeAccessMode.READ_WRITE_MANY] },
    });
    for (const sts of ofKind(objects, 'StatefulSet')) {
      expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Delete', whenScaled: 'Delete' });
      expect(sts.spec.volumeClaimTemplates[0].spec.accessModes).toEqual(['ReadWriteOncePod']);
    }
    expect(find(objects, 'PersistentVolumeClaim', 'redis-backup').spec.accessModes).toEqual(['ReadWriteMany']);
    // Defaults: ReadWriteOnce, and no policy (Kubernetes keeps the claims).
    const defaults = synthChart({ backup: {} });
    expect(find(defaults, 'StatefulSet', 'redis-master').spec.persistentVolumeClaimRetentionPolicy).toBeUndefined();
    expect(find(defaults, 'PersistentVolumeClaim', 'redis-backup').spec.accessModes).toEqual(['ReadWriteOnce']);
  });

  test('fails when access modes are read-only, mix ReadWriteOncePod, or the policy is not Retain/Delete', () => {
    expect(problemsOf({ storageAccessModes: [PersistentVolumeAccessMode.READ_ONLY_MANY] }))
      .toEqual([expect.stringMatching(/^storageAccessModes \(ReadOnlyMany\) must include a writable mode/)]);
    expect(problemsOf({ sentinelStorageAccessModes: [PersistentVolumeAccessMode.READ_WRITE_ONCE_POD, PersistentVolumeAccessMode.READ_WRITE_ONCE] }))
      .toEqual([expect.stringMatching(/^sentinelStorageAccessModes \(ReadWriteOncePod, ReadWriteOnce\): ReadWriteOncePod cannot be combined/)]);
    expect(problemsOf({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Keep' } }))
      .toEqual(["persistentVolumeClaimRetentionPolicy.whenDeleted ('Keep') must be 'Retain' or 'Delete'"]);
    expect(problemsOf({ backup: { existingClaim: 'mine', storageAccessModes: [PersistentVolumeAccessMode.READ_WRITE_MANY] } }))
      .toEqual([expect.stringMatching(/^backup\.storageAccessModes is set but backup\.existingClaim \('mine'\) names a claim the library does not create/)]);
  });
});

describe("the README's Customizing example", () => {
  test('runs as written (imports pointed at src) and every pod it emits passes Pod Security "restricted"', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Customizing'));
    const code = /```ts\n([\s\S]*?)```/.exec(section)![1];
    const js = ts.transpileModule(code.replace(/'cdk8s-redis-sentinel'/g, "'../src'"), { compilerOptions: { module: ts.ModuleKind.CommonJS } }).outputText;
    const chart = new Chart(testApp(), 'shop', { namespace: 'shop' });
    new Function('require', 'exports', 'chart', js)((m: string) => require(m.startsWith('../') ? path.join(__dirname, m) : m), {}, chart);
    const objects = Testing.synth(chart) as KubeObject[];
    const workloads = [...ofKind(objects, 'StatefulSet'), ...ofKind(objects, 'CronJob')];
    expect(workloads).toHaveLength(4);
    for (const o of workloads) {
      const t = podOf(objects, o.kind, o.metadata.name);
      expect(restrictedViolations(t.spec, t.metadata)).toEqual([]);
    }
  });
});
