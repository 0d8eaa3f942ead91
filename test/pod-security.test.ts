/**
 * Every pod the chart emits must be admitted under Pod Security "restricted" (the chart labels its
 * Namespace `enforce: restricted`), and must follow the project's own pod rules.
 */
import { CUSTOM_NETWORK_PROPS, CUSTOM_PROPS } from './support/chart-variants';
import {
  PodTemplate, ProjectRuleOptions, imageIsPinned, podTemplates, projectViolations, restrictedViolations,
} from './support/pod-security';
import { KubeObject, find, ofKind, synthChart } from './support/synth';
import { SECURE_PROPS } from '../src/example';

/** The redis_exporter image's user and group (its Dockerfile's USER 59000:59000). */
const EXPORTER_UID = 59000;

const COMPONENT = 'app.kubernetes.io/component';
/** Kinds that run pods; each object of these kinds must yield one pod template. */
const WORKLOAD_KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob'];

const CASES: Array<[string, () => KubeObject[], ProjectRuleOptions]> = [
  ['default chart', () => synthChart(), { runAsUser: 999, runAsGroup: 1000, exporterUid: EXPORTER_UID }],
  ['default chart with monitoring and backups', () => synthChart({ monitoring: {}, backup: {} }), { runAsUser: 999, runAsGroup: 1000, exporterUid: EXPORTER_UID }],
  ['customised chart (no auth, no NetworkPolicies, uid 1001 / gid 1002, ...)', () => synthChart(CUSTOM_PROPS),
    { runAsUser: CUSTOM_PROPS.runAsUser, runAsGroup: CUSTOM_PROPS.runAsGroup, exporterUid: EXPORTER_UID }],
  ['customised chart with custom auth Secret and NetworkPolicies', () => synthChart(CUSTOM_NETWORK_PROPS),
    { runAsUser: 999, runAsGroup: 1000, exporterUid: EXPORTER_UID }],
  ['the secure example (TLS, ACL users, with monitoring)', () => synthChart({ ...SECURE_PROPS, monitoring: {} }), { runAsUser: 999, runAsGroup: 1000, exporterUid: EXPORTER_UID }],
];

describe.each(CASES)('%s', (_label, synth, expected) => {
  let objects: KubeObject[];
  let templates: PodTemplate[];
  beforeAll(() => {
    objects = synth();
    templates = podTemplates(objects);
  });

  test('every workload yields a pod template (the Redis master, replica and Sentinel StatefulSets at least)', () => {
    const workloads = objects.filter((o) => WORKLOAD_KINDS.includes(o.kind));
    expect(templates.map((t) => t.owner)).toEqual(workloads.map((o) => `${o.kind}/${o.metadata.name}`));
    expect(ofKind(objects, 'StatefulSet').length).toBe(3);
  });

  test('every pod template satisfies Pod Security "restricted"', () => {
    const violations = templates.flatMap((t) => restrictedViolations(t.spec, t.metadata).map((v) => `${t.owner}: ${v}`));
    expect(violations).toEqual([]);
  });

  test('every pod template follows the project rules (read-only root, no SA token, IfNotPresent, pinned images)', () => {
    const violations = templates.flatMap((t) => projectViolations(t.spec).map((v) => `${t.owner}: ${v}`));
    expect(violations).toEqual([]);
  });

  test(`Redis and Sentinel pods run as uid ${expected.runAsUser} / gid ${expected.runAsGroup}`, () => {
    const redisAndSentinel = templates.filter((t) => ['redis', 'sentinel'].includes(t.metadata.labels?.[COMPONENT] ?? ''));
    // Both components are there, and every StatefulSet is one of them: the check is not vacuous.
    expect(new Set(redisAndSentinel.map((t) => t.metadata.labels![COMPONENT]))).toEqual(new Set(['redis', 'sentinel']));
    expect(redisAndSentinel.length).toBeGreaterThanOrEqual(ofKind(objects, 'StatefulSet').length);
    const violations = redisAndSentinel.flatMap((t) => projectViolations(t.spec, expected)
      .filter((v) => / runs as [ug]id /.test(v)).map((v) => `${t.owner}: ${v}`));
    expect(violations).toEqual([]);
  });

  test('the Namespace, when emitted, enforces Pod Security "restricted"', () => {
    for (const ns of ofKind(objects, 'Namespace')) {
      expect(ns.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    }
  });
});

describe('the checker flags bad pods', () => {
  /** A fresh copy of a compliant pod spec: the default chart's bootstrap master. */
  const goodTemplate = (): { spec: any; metadata: any } => {
    const sts = find(synthChart({ monitoring: {} }), 'StatefulSet', 'redis-master');
    return JSON.parse(JSON.stringify(sts.spec.template));
  };
  const container = (spec: any) => spec.containers.find((c: any) => c.name === 'redis');

  test('the unmodified pod passes (control)', () => {
    const t = goodTemplate();
    expect(restrictedViolations(t.spec, t.metadata)).toEqual([]);
    expect(projectViolations(t.spec, { runAsUser: 999, runAsGroup: 1000, exporterUid: EXPORTER_UID })).toEqual([]);
  });

  const RESTRICTED_CASES: Array<[string, (t: { spec: any; metadata: any }) => void, string]> = [
    ['a privileged container', ({ spec }) => { container(spec).securityContext.privileged = true; }, "container 'redis' is privileged"],
    ['hostNetwork', ({ spec }) => { spec.hostNetwork = true; }, 'pod sets hostNetwork: true'],
    ['hostPID', ({ spec }) => { spec.hostPID = true; }, 'pod sets hostPID: true'],
    ['hostIPC', ({ spec }) => { spec.hostIPC = true; }, 'pod sets hostIPC: true'],
    ['a hostPath volume', ({ spec }) => { spec.volumes.push({ name: 'host', hostPath: { path: '/' } }); }, "volume 'host' is a hostPath volume"],
    ['an nfs volume', ({ spec }) => { spec.volumes.push({ name: 'share', nfs: { server: 'nfs', path: '/' } }); }, "volume 'share' has the disallowed type nfs"],
    ['a hostPort', ({ spec }) => { container(spec).ports[0].hostPort = 6379; }, "container 'redis' uses hostPort 6379"],
    ['allowPrivilegeEscalation unset', ({ spec }) => { delete container(spec).securityContext.allowPrivilegeEscalation; },
      "container 'redis' does not set allowPrivilegeEscalation: false"],
    ['an init container allowing privilege escalation', ({ spec }) => {
      spec.initContainers = [{ ...JSON.parse(JSON.stringify(container(spec))), name: 'init' }];
      spec.initContainers[0].securityContext.allowPrivilegeEscalation = true;
    }, "initContainer 'init' does not set allowPrivilegeEscalation: false"],
    ['a privileged ephemeral container', ({ spec }) => {
      spec.ephemeralContainers = [{ ...JSON.parse(JSON.stringify(container(spec))), name: 'debug' }];
      spec.ephemeralContainers[0].securityContext.privileged = true;
    }, "ephemeralContainer 'debug' is privileged"],
    ['runAsNonRoot unset on pod and container', ({ spec }) => {
      delete spec.securityContext.runAsNonRoot;
      delete container(spec).securityContext.runAsNonRoot;
    }, "container 'redis' does not run with runAsNonRoot: true"],
    ['a container overriding runAsNonRoot with false', ({ spec }) => { container(spec).securityContext.runAsNonRoot = false; },
      "container 'redis' does not run with runAsNonRoot: true"],
    ['runAsUser 0 on the container', ({ spec }) => { container(spec).securityContext.runAsUser = 0; }, "container 'redis' sets runAsUser: 0"],
    ['runAsUser 0 on the pod', ({ spec }) => { spec.securityContext.runAsUser = 0; }, 'pod sets runAsUser: 0'],
    ['capabilities not dropped', ({ spec }) => { container(spec).securityContext.capabilities = { drop: ['NET_RAW'] }; },
      "container 'redis' does not drop ALL capabilities"],
    ['an added capability other than NET_BIND_SERVICE', ({ spec }) => { container(spec).securityContext.capabilities.add = ['NET_ADMIN']; },
      "container 'redis' adds the capability NET_ADMIN"],
    ['no seccomp profile', ({ spec }) => {
      delete spec.securityContext.seccompProfile;
      delete container(spec).securityContext.seccompProfile;
    }, "container 'redis' seccompProfile is unset"],
    ['an Unconfined container seccomp profile', ({ spec }) => { container(spec).securityContext.seccompProfile = { type: 'Unconfined' }; },
      "container 'redis' seccompProfile is Unconfined"],
    ['an Unconfined pod seccomp profile', ({ spec }) => { spec.securityContext.seccompProfile = { type: 'Unconfined' }; },
      "pod seccompProfile.type 'Unconfined'"],
    ['an SELinux type that is not a container type', ({ spec }) => { container(spec).securityContext.seLinuxOptions = { type: 'spc_t' }; },
      "container 'redis' seLinuxOptions.type 'spc_t' is not allowed"],
    ['an unmasked /proc', ({ spec }) => { container(spec).securityContext.procMount = 'Unmasked'; }, "container 'redis' sets procMount Unmasked"],
    ['an unsafe sysctl', ({ spec }) => { spec.securityContext.sysctls = [{ name: 'kernel.msgmax', value: '65536' }]; },
      'pod sets the unsafe sysctl kernel.msgmax'],
    ['an unconfined AppArmor annotation', ({ metadata }) => {
      metadata.annotations['container.apparmor.security.beta.kubernetes.io/redis'] = 'unconfined';
    }, 'is not runtime/default or localhost/*'],
    ['a Windows host process', ({ spec }) => { spec.securityContext.windowsOptions = { hostProcess: true }; }, 'pod sets windowsOptions.hostProcess'],
  ];

  test.each(RESTRICTED_CASES)('restricted: %s', (_name, mutate, violation) => {
    const t = goodTemplate();
    mutate(t);
    expect(restrictedViolations(t.spec, t.metadata)).toEqual([expect.stringContaining(violation)]);
  });

  test('restricted allows NET_BIND_SERVICE and a Localhost seccomp profile', () => {
    const t = goodTemplate();
    container(t.spec).securityContext.capabilities.add = ['NET_BIND_SERVICE'];
    t.spec.securityContext.seccompProfile = { type: 'Localhost', localhostProfile: 'profiles/redis.json' };
    delete container(t.spec).securityContext.seccompProfile;
    expect(restrictedViolations(t.spec, t.metadata)).toEqual([]);
  });

  const PROJECT_CASES: Array<[string, (spec: any) => void, string]> = [
    ['a writable root filesystem', (spec) => { container(spec).securityContext.readOnlyRootFilesystem = false; },
      "container 'redis' does not set readOnlyRootFilesystem: true"],
    ['a mounted service account token', (spec) => { delete spec.automountServiceAccountToken; },
      'pod does not set automountServiceAccountToken: false'],
    ['imagePullPolicy Always', (spec) => { container(spec).imagePullPolicy = 'Always'; }, "container 'redis' imagePullPolicy is Always"],
    ['an image tagged latest', (spec) => { container(spec).image = 'redis:latest'; }, "image 'redis:latest' is not pinned"],
    ['an untagged image', (spec) => { container(spec).image = 'redis'; }, "image 'redis' is not pinned"],
    ['an untagged image from a registry with a port', (spec) => { container(spec).image = 'registry.example.com:5000/redis'; },
      "image 'registry.example.com:5000/redis' is not pinned"],
    ['another uid on the container', (spec) => { container(spec).securityContext.runAsUser = 1000; },
      "container 'redis' runs as uid 1000, expected 999"],
    ['another gid on the pod only', (spec) => {
      spec.securityContext.runAsGroup = 0;
      delete container(spec).securityContext.runAsGroup;
    }, "container 'redis' runs as gid 0, expected 1000"],
    ['no uid at all (the image default)', (spec) => {
      delete spec.securityContext.runAsUser;
      delete container(spec).securityContext.runAsUser;
    }, "container 'redis' runs as uid (image default), expected 999"],
    ['the exporter sidecar running as the Redis uid', (spec) => {
      spec.containers.find((c: any) => c.name === 'metrics').securityContext.runAsUser = 999;
    }, "container 'metrics' runs as uid 999, expected 59000"],
  ];

  test.each(PROJECT_CASES)('project rules: %s', (_name, mutate, violation) => {
    const { spec } = goodTemplate();
    mutate(spec);
    expect(projectViolations(spec, { runAsUser: 999, runAsGroup: 1000, exporterUid: EXPORTER_UID })).toEqual([expect.stringContaining(violation)]);
  });

  test.each([
    ['redis:7.2.11-alpine', true],
    ['registry.example.com:5000/mirror/redis:7.2.11-alpine', true],
    [`redis@sha256:${'a'.repeat(64)}`, true],
    [`redis:7.2@sha256:${'a'.repeat(64)}`, true],
    ['redis', false],
    ['redis:latest', false],
    ['docker.io/library/redis:latest', false],
    ['registry.example.com:5000/redis', false],
    ['redis:', false],
    ['redis@sha256:short', false],
    [`redis:latest@sha256:${'a'.repeat(64)}`, false],
    ['', false],
  ])('imageIsPinned(%p) is %p', (image, pinned) => {
    expect(imageIsPinned(image)).toBe(pinned);
  });

  test('pod templates are found in CronJobs, Jobs and Pods; unknown kinds with containers are refused', () => {
    const { spec } = goodTemplate();
    const objects = [
      { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'backup' }, spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: { spec } } } } },
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'once' }, spec: { template: { spec } } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pod' }, spec },
    ] as KubeObject[];
    expect(podTemplates(objects).map((t) => t.owner)).toEqual(['CronJob/backup', 'Job/once', 'Pod/pod']);
    const unknown = { apiVersion: 'example.com/v1', kind: 'RedisFailover', metadata: { name: 'x' }, spec: { pod: { containers: [] } } } as KubeObject;
    expect(() => podTemplates([unknown])).toThrow(/does not know where its pod template is/);
    const empty = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: {} } as KubeObject;
    expect(() => podTemplates([empty])).toThrow(/no pod spec/);
  });
});
