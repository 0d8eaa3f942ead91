import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { parseAllDocuments } from 'yaml';
import { RedisAuth, RedisSentinelChart, RedisSentinelChartProps } from '../src';
import { EXAMPLE_CHART_ID, EXAMPLE_PROPS } from '../src/example';
import { AUTH_OFF, BACKUP_EXISTING_CLAIM, FULL } from './support/chart-variants';
import { KubeObject, find, ofKind, synthChart, testApp } from './support/synth';

// --- fixtures ----------------------------------------------------------------------------------

/** The props of the example app (src/main.ts synthesizes the same). */
const EXAMPLE = EXAMPLE_PROPS;

// --- helpers -----------------------------------------------------------------------------------

const REDIS_STATEFULSETS = ['redis-master', 'redis-replica'];
const ALL_STATEFULSETS = [...REDIS_STATEFULSETS, 'redis-sentinel'];

const podSpec = (sts: KubeObject) => sts.spec.template.spec;
/** The pod's main container (Redis or Sentinel); the others are the sidecars `metrics` (exporter) and `tidy` (Sentinel pods). */
const container = (sts: KubeObject) => {
  const main = podSpec(sts).containers.filter((c: any) => ['redis', 'sentinel', 'backup'].includes(c.name));
  expect(main).toHaveLength(1);
  return main[0];
};
const volume = (sts: KubeObject, name: string) => (podSpec(sts).volumes ?? []).find((v: any) => v.name === name);
const claim = (sts: KubeObject, name: string) => sts.spec.volumeClaimTemplates.find((c: any) => c.metadata.name === name);
const envValue = (sts: KubeObject, name: string) => (container(sts).env ?? []).find((e: any) => e.name === name)?.value;

/** Directive lines of a rendered config file. */
const directives = (conf: string) => conf.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));

/** `NAME='value'` assignment of the rendered constants.sh; undefined when it has none. */
function maybeScriptConstant(script: string, name: string): string | undefined {
  const line = script.split('\n').find((l) => l.startsWith(`${name}=`));
  if (line === undefined) return undefined;
  const raw = line.slice(name.length + 1);
  return raw.startsWith("'") ? raw.slice(1, -1) : raw;
}

/** `NAME='value'` assignment the rendered constants.sh must have. */
function scriptConstant(script: string, name: string): string {
  const value = maybeScriptConstant(script, name);
  expect({ name, defined: value !== undefined }).toEqual({ name, defined: true });
  return value!;
}

/** Calls `visit` for every key/value pair of every nested object, with its path. */
function walk(value: unknown, visit: (key: string, v: unknown, path: string) => void, at = ''): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, visit, `${at}[${i}]`));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      visit(k, v, `${at}.${k}`);
      walk(v, visit, `${at}.${k}`);
    }
  }
}

/** Every string anywhere in an object, with its path. */
function strings(o: unknown): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  walk(o, (_k, v, p) => {
    if (typeof v === 'string') out.push([p, v]);
  });
  return out;
}

type Peer = { podSelector?: { matchLabels?: Record<string, string> }; namespaceSelector?: { matchLabels?: Record<string, string> } };
type Rule = { from?: Peer[]; to?: Peer[]; ports?: Array<{ port: number; protocol: string }> };

/** True when some rule of `rules` admits a peer with exactly these pod labels (same namespace) on port/protocol. */
function admits(rules: Rule[], peers: 'from' | 'to', podLabels: Record<string, string> | undefined, port: number, protocol = 'TCP',
  namespaceLabels?: Record<string, string>): boolean {
  return rules.some((r) => {
    const portOk = !r.ports || r.ports.some((p) => p.port === port && (p.protocol ?? 'TCP') === protocol);
    if (!portOk) return false;
    const list = r[peers];
    if (podLabels === undefined) return list === undefined || list.length === 0; // any peer
    return (list ?? []).some((p) => JSON.stringify(p.podSelector?.matchLabels) === JSON.stringify(podLabels)
      && JSON.stringify(p.namespaceSelector?.matchLabels) === JSON.stringify(namespaceLabels));
  });
}

const REDIS_PODS = { 'app.kubernetes.io/component': 'redis', 'app.kubernetes.io/instance': 'redis', 'app.kubernetes.io/name': 'redis' };
const SENTINEL_PODS = { 'app.kubernetes.io/component': 'sentinel', 'app.kubernetes.io/instance': 'redis', 'app.kubernetes.io/name': 'redis-sentinel' };

// --- snapshots ---------------------------------------------------------------------------------

describe('the fixtures', () => {
  it('the customised fixture sets every prop of src/props.ts', () => {
    const source = fs.readFileSync(path.join(__dirname, '..', 'src', 'props.ts'), 'utf8');
    const body = source.slice(source.indexOf('export interface RedisSentinelProps'));
    // RedisSentinelProps extends PodOptions: its props are flat props too.
    const podSource = fs.readFileSync(path.join(__dirname, '..', 'src', 'pod-options.ts'), 'utf8');
    const podBody = podSource.slice(podSource.indexOf('export interface PodOptions'), podSource.indexOf('\n}', podSource.indexOf('export interface PodOptions')));
    const chartSource = fs.readFileSync(path.join(__dirname, '..', 'src', 'redis-sentinel-chart.ts'), 'utf8');
    const props = [body, podBody, chartSource].flatMap((b) => [...b.matchAll(/^\s+readonly (\w+)\?:/gm)].map((m) => m[1]));
    expect(props.length).toBeGreaterThan(60);
    expect(props.filter((p) => !(p in FULL) && !(p in BACKUP_EXISTING_CLAIM))).toEqual([]);
  });

  it.each<[string, string, object | undefined, string[]]>([
    // s3: test/backup.test.ts ('backup.s3', 'restore.s3'); a restore reads a claim or S3, not both.
    ['src/backup.ts', 'BackupOptions', FULL.backup, ['existingClaim', 's3']],
    ['src/backup.ts', 'RestoreOptions', FULL.restore, ['s3']],
    ['src/monitoring.ts', 'MonitoringOptions', FULL.monitoring, []],
    ['src/tls.ts', 'TlsOptions', FULL.tls, []],
  ])('the customised fixture sets every option of %s %s (but %j, covered apart)', (file, iface, options, apart) => {
    const source = fs.readFileSync(path.join(__dirname, '..', file), 'utf8');
    const start = source.indexOf(`export interface ${iface} {`);
    const body = source.slice(start, source.indexOf('\n}', start));
    const names = [...body.matchAll(/^\s+readonly (\w+)\??:/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !(n in (options as object)) && !apart.includes(n))).toEqual([]);
  });
});

// --- documented defaults -----------------------------------------------------------------------

describe('defaults (src/props.ts @default)', () => {
  const objects = synthChart();
  const files = find(objects, 'ConfigMap', 'redis-config').data['redis.conf'] as string;
  const sentinelConf = find(objects, 'ConfigMap', 'redis-sentinel-config').data['sentinel.conf'] as string;
  const scripts = find(objects, 'ConfigMap', 'redis-scripts').data as Record<string, string>;

  it("name defaults to the chart id", () => {
    const other = synthChart({}, 'cache');
    for (const name of ['cache-master', 'cache-replica', 'cache-sentinel']) expect(find(other, 'StatefulSet', name)).toBeDefined();
  });

  it("namespace is 'redis' on every object, and createNamespace is false: no Namespace object (the namespace may be someone else's)", () => {
    expect(ofKind(objects, 'Namespace')).toEqual([]);
    for (const o of objects) expect(o.metadata.namespace).toBe('redis');
  });

  it("masterName is 'mymaster'", () => {
    expect(directives(sentinelConf)).toContainEqual(expect.stringMatching(/^sentinel monitor mymaster /));
    expect(scriptConstant(scripts['constants.sh'], 'MASTER_NAME')).toBe('mymaster');
  });

  it("clusterDomain is 'cluster.local'", () => {
    expect(envValue(find(objects, 'StatefulSet', 'redis-sentinel'), 'SELF_FQDN')).toBe('$(POD_NAME).redis-sentinel-headless.redis.svc.cluster.local');
    expect(directives(sentinelConf)).toContainEqual(expect.stringContaining(' redis-master-0.redis-master-headless.redis.svc.cluster.local 6379 '));
  });

  it('replicas is 2 (plus the bootstrap master)', () => {
    expect(find(objects, 'StatefulSet', 'redis-replica').spec.replicas).toBe(2);
    expect(find(objects, 'StatefulSet', 'redis-master').spec.replicas).toBe(1);
  });

  it('sentinels is 3', () => {
    expect(find(objects, 'StatefulSet', 'redis-sentinel').spec.replicas).toBe(3);
  });

  it('quorum is 2 (a majority of 3)', () => {
    expect(directives(sentinelConf)).toContainEqual(expect.stringMatching(/^sentinel monitor mymaster \S+ 6379 2$/));
  });

  it('down-after-milliseconds is 5000', () => {
    expect(directives(sentinelConf)).toContain('sentinel down-after-milliseconds mymaster 5000');
  });

  it('failover-timeout is 10000', () => {
    expect(directives(sentinelConf)).toContain('sentinel failover-timeout mymaster 10000');
  });

  it('parallel-syncs is 1', () => {
    expect(directives(sentinelConf)).toContain('sentinel parallel-syncs mymaster 1');
  });

  it('min-replicas-to-write is 1 and min-replicas-max-lag is 10', () => {
    expect(directives(files)).toEqual(expect.arrayContaining(['min-replicas-to-write 1', 'min-replicas-max-lag 10']));
  });

  it.each([[0, 0], [1, 0], [2, 1], [5, 1]])('min-replicas-to-write defaults to %s replicas -> %s (a promoted replica must keep one)', (replicas, expected) => {
    const conf = find(synthChart({ replicas }), 'ConfigMap', 'redis-config').data['redis.conf'];
    expect(directives(conf)).toContain(`min-replicas-to-write ${expected}`);
  });

  it('maxmemory is 70% of the 1Gi memory limit, policy noeviction', () => {
    expect(directives(files)).toEqual(expect.arrayContaining([`maxmemory ${Math.floor(1024 ** 3 * 0.7)}`, 'maxmemory-policy noeviction']));
  });

  it('Redis storage is 10Gi, Sentinel storage 1Gi, default StorageClass', () => {
    for (const name of REDIS_STATEFULSETS) {
      const data = claim(find(objects, 'StatefulSet', name), 'data');
      expect(data.spec.resources.requests.storage).toBe('10Gi');
      expect(data.spec.storageClassName).toBeUndefined();
    }
    const sentinelData = claim(find(objects, 'StatefulSet', 'redis-sentinel'), 'data');
    expect(sentinelData.spec.resources.requests.storage).toBe('1Gi');
    expect(sentinelData.spec.storageClassName).toBeUndefined();
  });

  it('image is redis:7.2.11-alpine with pull policy IfNotPresent (Sentinel too)', () => {
    for (const name of ALL_STATEFULSETS) {
      const c = container(find(objects, 'StatefulSet', name));
      expect(c.image).toBe('redis:7.2.11-alpine');
      expect(c.imagePullPolicy).toBe('IfNotPresent');
    }
  });

  it('resources: Redis 250m/512Mi requests, 1Gi limit, no CPU limit; Sentinel 50m/64Mi, 128Mi limit', () => {
    for (const name of REDIS_STATEFULSETS) {
      expect(container(find(objects, 'StatefulSet', name)).resources).toEqual({ requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } });
    }
    expect(container(find(objects, 'StatefulSet', 'redis-sentinel')).resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } });
  });

  it("auth is on, from Secret '<name>-auth' key 'password'", () => {
    for (const name of ALL_STATEFULSETS) {
      const sts = find(objects, 'StatefulSet', name);
      expect(volume(sts, 'auth').secret).toMatchObject({ secretName: 'redis-auth', items: [{ key: 'password', path: 'password' }] });
      expect(container(sts).volumeMounts).toContainEqual({ name: 'auth', mountPath: '/etc/redis-auth', readOnly: true });
    }
    expect(volume(find(synthChart({}, 'cache'), 'StatefulSet', 'cache-master'), 'auth').secret.secretName).toBe('cache-auth');
    expect(scriptConstant(scripts['constants.sh'], 'AUTH_FILE')).toBe('/etc/redis-auth/password');
  });

  it('every Sentinel pod runs the tidy sidecar (sentinel-tidy.sh: forgets scaled-down pods), with the scripts, the password and its own identity', () => {
    const sts = find(objects, 'StatefulSet', 'redis-sentinel');
    const tidy = podSpec(sts).containers.find((c: any) => c.name === 'tidy');
    expect(tidy.command).toEqual(['sh', '/opt/redis-sentinel/sentinel-tidy.sh']);
    expect(tidy.image).toBe(container(sts).image);
    expect(Object.fromEntries(tidy.env.map((e: any) => [e.name, e.value]))).toMatchObject({
      SELF_FQDN: '$(POD_NAME).redis-sentinel-headless.redis.svc.cluster.local', TIDY_INTERVAL: '2', TIDY_GRACE: '10',
    });
    expect(tidy.volumeMounts.map((m: any) => m.mountPath).sort()).toEqual(['/etc/redis-auth', '/opt/redis-sentinel']);
    expect(tidy.volumeMounts.every((m: any) => m.readOnly)).toBe(true);
    expect(tidy.securityContext).toEqual(container(sts).securityContext);
    expect(find(objects, 'ConfigMap', 'redis-scripts').data['sentinel-tidy.sh']).toMatch(/SENTINEL RESET/);
    for (const name of REDIS_STATEFULSETS) expect(podSpec(find(objects, 'StatefulSet', name)).containers.map((c: any) => c.name)).not.toContain('tidy');
  });

  it('ports are 6379 (Redis) and 26379 (Sentinel)', () => {
    for (const name of REDIS_STATEFULSETS) {
      expect(container(find(objects, 'StatefulSet', name)).ports).toEqual([{ name: 'redis', containerPort: 6379, protocol: 'TCP' }]);
    }
    expect(container(find(objects, 'StatefulSet', 'redis-sentinel')).ports).toEqual([{ name: 'sentinel', containerPort: 26379, protocol: 'TCP' }]);
    expect(directives(files)).toContain('port 6379');
    expect(directives(sentinelConf)).toContain('port 26379');
  });

  it('antiAffinity is required on kubernetes.io/hostname for every StatefulSet', () => {
    for (const name of ALL_STATEFULSETS) {
      const sts = find(objects, 'StatefulSet', name);
      const required = podSpec(sts).affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
      expect(required).toEqual([{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: sts.spec.selector.matchLabels } }]);
    }
  });

  it('zone spread is on (ScheduleAnyway, maxSkew 1) for every StatefulSet', () => {
    for (const name of ALL_STATEFULSETS) {
      const sts = find(objects, 'StatefulSet', name);
      expect(podSpec(sts).topologySpreadConstraints).toEqual([{
        maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: sts.spec.selector.matchLabels },
      }]);
    }
  });

  it('runs as uid 999 / gid 1000, non-root', () => {
    for (const name of ALL_STATEFULSETS) {
      const spec = podSpec(find(objects, 'StatefulSet', name));
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, runAsGroup: 1000, fsGroup: 1000 });
    }
  });

  it('NetworkPolicies are on, clients are pods labelled <name>-client=true, DNS on 53', () => {
    const policy = find(objects, 'NetworkPolicy', 'redis');
    expect(admits(policy.spec.ingress, 'from', { 'redis-client': 'true' }, 6379)).toBe(true);
    expect(admits(policy.spec.egress, 'to', undefined, 53, 'UDP')).toBe(true);
  });

  it('no imagePullSecrets, nodeSelector or priorityClassName', () => {
    for (const name of ALL_STATEFULSETS) {
      const spec = podSpec(find(objects, 'StatefulSet', name));
      expect(spec.imagePullSecrets).toBeUndefined();
      expect(spec.nodeSelector).toBeUndefined();
      expect(spec.priorityClassName).toBeUndefined();
    }
  });
});

// --- what users rely on ------------------------------------------------------------------------

describe('Services', () => {
  const objects = synthChart();

  it.each(['redis-master-headless', 'redis-replica-headless', 'redis-sentinel-headless'])(
    'headless Service %s has clusterIP None and publishNotReadyAddresses true', (name) => {
      const svc = find(objects, 'Service', name);
      expect(svc.spec.clusterIP).toBe('None');
      expect(svc.spec.publishNotReadyAddresses).toBe(true);
    });

  it('every StatefulSet names its own headless Service', () => {
    for (const name of ALL_STATEFULSETS) {
      const sts = find(objects, 'StatefulSet', name);
      const svc = find(objects, 'Service', `${name}-headless`);
      expect(sts.spec.serviceName).toBe(`${name}-headless`);
      expect(svc.spec.selector).toEqual(sts.spec.selector.matchLabels);
    }
  });

  it('the Sentinel Service exposes 26379 to the Sentinel pods', () => {
    const svc = find(objects, 'Service', 'redis-sentinel');
    expect(svc.spec.type).toBe('ClusterIP');
    expect(svc.spec.ports).toEqual([{ name: 'sentinel', port: 26379, targetPort: 'sentinel' }]);
    expect(svc.spec.selector).toEqual(find(objects, 'StatefulSet', 'redis-sentinel').spec.selector.matchLabels);
  });

  it('the read Service exposes 6379 over every Redis pod (master and replicas)', () => {
    const svc = find(objects, 'Service', 'redis-read');
    expect(svc.spec.ports).toEqual([{ name: 'redis', port: 6379, targetPort: 'redis' }]);
    for (const name of REDIS_STATEFULSETS) {
      const labels = find(objects, 'StatefulSet', name).spec.template.metadata.labels;
      expect(labels).toMatchObject(svc.spec.selector);
    }
  });
});

describe('Redis pods', () => {
  it.each([
    ['defaults', {}],
    ['slow failover', { downAfter: Duration.seconds(30), failoverTimeout: Duration.minutes(3) }],
    ['fast failover', { downAfter: Duration.millis(1500), failoverTimeout: Duration.millis(1500) }],
  ] as Array<[string, RedisSentinelChartProps]>)('have a preStop hook and a grace period longer than the failover wait (%s)', (_label, props) => {
    const objects = synthChart(props);
    const constants = find(objects, 'ConfigMap', 'redis-scripts').data['constants.sh'] as string;
    const wait = Number(scriptConstant(constants, 'FAILOVER_WAIT'));
    const downAfterMs = (props.downAfter ?? Duration.seconds(5)).toMilliseconds();
    const failoverMs = (props.failoverTimeout ?? Duration.seconds(10)).toMilliseconds();
    expect(wait * 1000).toBeGreaterThanOrEqual(downAfterMs + failoverMs);
    for (const name of REDIS_STATEFULSETS) {
      const sts = find(objects, 'StatefulSet', name);
      expect(container(sts).lifecycle.preStop.exec.command).toEqual(['sh', '/opt/redis-sentinel/redis-prestop.sh']);
      expect(podSpec(sts).terminationGracePeriodSeconds).toBeGreaterThan(wait);
    }
  });

  it('start as the start script (role decided at every start), never with a replicaof in the ConfigMap', () => {
    const objects = synthChart();
    for (const name of REDIS_STATEFULSETS) {
      expect(container(find(objects, 'StatefulSet', name)).command).toEqual(['sh', '/opt/redis-sentinel/redis-start.sh']);
    }
    expect(directives(find(objects, 'ConfigMap', 'redis-config').data['redis.conf']).filter((l) => /^(replicaof|slaveof)\b/.test(l))).toEqual([]);
  });
});

describe('PodDisruptionBudgets', () => {
  const objects = synthChart();

  it.each(['redis', 'redis-sentinel'])('%s has maxUnavailable 1', (name) => {
    expect(find(objects, 'PodDisruptionBudget', name).spec.maxUnavailable).toBe(1);
  });

  it('the Redis budget covers master and replicas; the Sentinel budget the Sentinels', () => {
    const redis = find(objects, 'PodDisruptionBudget', 'redis').spec.selector.matchLabels;
    for (const name of REDIS_STATEFULSETS) expect(find(objects, 'StatefulSet', name).spec.template.metadata.labels).toMatchObject(redis);
    const sentinel = find(objects, 'PodDisruptionBudget', 'redis-sentinel').spec.selector.matchLabels;
    expect(find(objects, 'StatefulSet', 'redis-sentinel').spec.template.metadata.labels).toMatchObject(sentinel);
  });
});

describe('NetworkPolicies', () => {
  const objects = synthChart();
  const redis = find(objects, 'NetworkPolicy', 'redis');
  const sentinel = find(objects, 'NetworkPolicy', 'redis-sentinel');

  it('select the Redis and the Sentinel pods, for ingress and egress', () => {
    expect(redis.spec.podSelector.matchLabels).toEqual(REDIS_PODS);
    expect(sentinel.spec.podSelector.matchLabels).toEqual(SENTINEL_PODS);
    for (const p of [redis, sentinel]) expect(p.spec.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  it('allow Sentinel <-> Sentinel on 26379', () => {
    expect(admits(sentinel.spec.ingress, 'from', SENTINEL_PODS, 26379)).toBe(true);
    expect(admits(sentinel.spec.egress, 'to', SENTINEL_PODS, 26379)).toBe(true);
  });

  it('allow Sentinel -> Redis on 6379', () => {
    expect(admits(sentinel.spec.egress, 'to', REDIS_PODS, 6379)).toBe(true);
    expect(admits(redis.spec.ingress, 'from', SENTINEL_PODS, 6379)).toBe(true);
  });

  it('allow Redis <-> Redis on 6379 (replication)', () => {
    expect(admits(redis.spec.ingress, 'from', REDIS_PODS, 6379)).toBe(true);
    expect(admits(redis.spec.egress, 'to', REDIS_PODS, 6379)).toBe(true);
  });

  it('allow Redis -> Sentinel on 26379 (the start and preStop scripts ask for the master)', () => {
    expect(admits(redis.spec.egress, 'to', SENTINEL_PODS, 26379)).toBe(true);
    expect(admits(sentinel.spec.ingress, 'from', REDIS_PODS, 26379)).toBe(true);
  });

  it('allow DNS on UDP and TCP 53 from both', () => {
    for (const p of [redis, sentinel]) {
      expect(admits(p.spec.egress, 'to', undefined, 53, 'UDP')).toBe(true);
      expect(admits(p.spec.egress, 'to', undefined, 53, 'TCP')).toBe(true);
    }
  });

  it('allow clients by label to Redis 6379 and Sentinel 26379', () => {
    expect(admits(redis.spec.ingress, 'from', { 'redis-client': 'true' }, 6379)).toBe(true);
    expect(admits(sentinel.spec.ingress, 'from', { 'redis-client': 'true' }, 26379)).toBe(true);
  });

  it('do not allow unlabelled pods or other ports in', () => {
    for (const p of [redis, sentinel]) {
      for (const rule of p.spec.ingress as Rule[]) {
        expect(rule.from && rule.from.length).toBeTruthy();
        for (const peer of rule.from!) expect(Object.keys(peer.podSelector?.matchLabels ?? {}).length).toBeGreaterThan(0);
      }
    }
    expect(admits(redis.spec.ingress, 'from', { 'redis-client': 'true' }, 26379)).toBe(false);
  });

  it('use custom client labels, client namespaces, ports and DNS port', () => {
    const full = synthChart(FULL);
    const r = find(full, 'NetworkPolicy', 'cache');
    const s = find(full, 'NetworkPolicy', 'cache-sentinel');
    const clients = FULL.clientPodLabels;
    expect(admits(r.spec.ingress, 'from', clients, 6380)).toBe(true);
    expect(admits(s.spec.ingress, 'from', clients, 26380)).toBe(true);
    expect(admits(r.spec.ingress, 'from', clients, 6380, 'TCP', FULL.clientNamespaceLabels)).toBe(true);
    expect(admits(s.spec.ingress, 'from', clients, 26380, 'TCP', FULL.clientNamespaceLabels)).toBe(true);
    for (const p of [r, s]) {
      expect(admits(p.spec.egress, 'to', undefined, 5353, 'UDP')).toBe(true);
      expect(admits(p.spec.egress, 'to', undefined, 5353, 'TCP')).toBe(true);
    }
  });

  it('are absent with networkPolicy false', () => {
    expect(ofKind(synthChart({ networkPolicy: false }), 'NetworkPolicy')).toEqual([]);
  });
});

describe('no password in any object', () => {
  /** The committed secure example (TLS, ACL users), as kubectl applies it. */
  const secureDist = parseAllDocuments(fs.readFileSync(path.join(__dirname, '..', 'dist', 'redis-secure.k8s.yaml'), 'utf8')).map((d) => d.toJSON() as KubeObject);
  const charts: Array<[string, KubeObject[]]> = [
    ['default', synthChart()], ['customised', synthChart(FULL)], ['auth off', synthChart(AUTH_OFF)], ['dist/redis-secure.k8s.yaml', secureDist],
  ];

  it.each(charts)('%s: no Secret object is emitted', (_label, objects) => {
    expect(ofKind(objects, 'Secret')).toEqual([]);
  });

  it.each(charts)('%s: no password-like field anywhere', (_label, objects) => {
    const bad: string[] = [];
    for (const o of objects) {
      walk(o, (key, v, p) => {
        if (/^(password|passwd|pass|requirepass|masterauth|auth-?pass|token|stringData)$/i.test(key)) bad.push(`${o.kind}/${o.metadata.name}${p}`);
        // Env vars with a literal value must not look like secrets.
        if (key === 'env' && Array.isArray(v)) {
          // A path (PASSWORD_FILE: where the mounted Secret's file is) is no password.
          for (const e of v) if (/PASS|SECRET|TOKEN|AUTH/i.test(e.name) && !/_FILE$/.test(e.name) && 'value' in e) bad.push(`${o.kind}/${o.metadata.name}${p} env ${e.name}`);
        }
      });
    }
    expect(bad).toEqual([]);
  });

  it.each(charts)('%s: no key or certificate material (TLS files come from a mounted Secret)', (_label, objects) => {
    const pem = objects.flatMap((o) => strings(o).filter(([, s]) => /-----BEGIN [A-Z ]+-----/.test(s)).map(([p]) => `${o.kind}/${o.metadata.name}${p}`));
    expect(pem).toEqual([]);
  });

  it.each(charts)('%s: requirepass/masterauth/auth-pass only appear in scripts, written at runtime from a variable', (_label, objects) => {
    for (const o of objects) {
      for (const [p, s] of strings(o)) {
        const isScript = o.kind === 'ConfigMap' && o.metadata.name.endsWith('-scripts');
        for (const line of s.split('\n')) {
          if (!/requirepass|masterauth|auth-pass/.test(line)) continue;
          expect({ where: `${o.kind}/${o.metadata.name}${p}`, isScript }).toEqual({ where: `${o.kind}/${o.metadata.name}${p}`, isScript: true });
          // A comment; a config line written from a variable; or (ACL rotation) redis-cli -x, the password from stdin.
          expect(line).toMatch(/^\s*(#.*|echo "(requirepass|masterauth|sentinel auth-pass \$MASTER_NAME) \$(pw|mpw|spw)"|(.*\|\| )?acl_send_when_accepted .* (CONFIG SET masterauth|SENTINEL SET "\$MASTER_NAME" auth-pass))$/);
        }
      }
    }
  });
});

describe('RedisAuth.none()', () => {
  const objects = synthChart({ auth: RedisAuth.none() });

  it('removes the auth volume and mount from every pod', () => {
    for (const name of ALL_STATEFULSETS) {
      const sts = find(objects, 'StatefulSet', name);
      expect(volume(sts, 'auth')).toBeUndefined();
      expect(container(sts).volumeMounts.map((m: any) => m.name)).not.toContain('auth');
    }
  });

  it('leaves AUTH_FILE empty for the scripts and references no Secret', () => {
    const scripts = find(objects, 'ConfigMap', 'redis-scripts').data as Record<string, string>;
    expect(scriptConstant(scripts['constants.sh'], 'AUTH_FILE')).toBe('');
    for (const script of Object.values(scripts)) expect(script).not.toContain('/etc/redis-auth');
    const secretRefs: string[] = [];
    for (const o of objects) walk(o, (key, _v, p) => { if (/^secret(Name|KeyRef)?$/.test(key)) secretRefs.push(`${o.metadata.name}${p}`); });
    expect(secretRefs).toEqual([]);
  });
});

describe('the example app (props of src/main.ts)', () => {
  const objects = synthChart(EXAMPLE, EXAMPLE_CHART_ID);

  it('has 1 master + 2 replicas + 3 sentinels', () => {
    expect(find(objects, 'StatefulSet', 'redis-master').spec.replicas).toBe(1);
    expect(find(objects, 'StatefulSet', 'redis-replica').spec.replicas).toBe(2);
    expect(find(objects, 'StatefulSet', 'redis-sentinel').spec.replicas).toBe(3);
    expect(ofKind(objects, 'StatefulSet')).toHaveLength(3);
  });

  it('uses its resources and quorum 2', () => {
    expect(container(find(objects, 'StatefulSet', 'redis-master')).resources).toEqual({
      requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '1000m', memory: '2Gi' },
    });
    expect(container(find(objects, 'StatefulSet', 'redis-sentinel')).resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '200m', memory: '256Mi' },
    });
    const conf = find(objects, 'ConfigMap', 'redis-sentinel-config').data['sentinel.conf'];
    expect(directives(conf)).toContainEqual(expect.stringMatching(/^sentinel monitor mymaster \S+ 6379 2$/));
  });
});

// --- fully customised ----------------------------------------------------------------------------

describe('fully customised chart', () => {
  const objects = synthChart(FULL);

  it('emits the Namespace with createNamespace, puts everything in the namespace, and the monitoring objects in monitoring.namespace under names unique per release', () => {
    expect(find(objects, 'Namespace', 'data').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const monitoring = [find(objects, 'ServiceMonitor', 'data.cache'), find(objects, 'PrometheusRule', 'data.cache'), find(objects, 'ConfigMap', 'data.cache-dashboard')];
    for (const o of monitoring) expect(o.metadata.namespace).toBe('monitoring');
    for (const o of objects.filter((x) => !monitoring.includes(x) && x.kind !== 'Namespace')) expect(o.metadata.namespace).toBe('data');
  });

  it('renders the Sentinel settings into sentinel.conf', () => {
    const conf = directives(find(objects, 'ConfigMap', 'cache-sentinel-config').data['sentinel.conf']);
    expect(conf).toEqual(expect.arrayContaining([
      'port 0', 'tls-port 26380', 'tls-replication yes', 'tls-auth-clients yes',
      'sentinel monitor primary cache-master-0.cache-master-headless.data.svc.k8s.example.com 6380 4',
      'sentinel down-after-milliseconds primary 8000',
      'sentinel failover-timeout primary 30000',
      'sentinel parallel-syncs primary 2',
    ]));
  });

  it('renders the Redis settings into redis.conf', () => {
    const conf = directives(find(objects, 'ConfigMap', 'cache-config').data['redis.conf']);
    expect(conf).toEqual(expect.arrayContaining([
      'port 0', 'tls-port 6380', 'tls-replication yes', 'tls-auth-clients yes', 'min-replicas-to-write 2', 'min-replicas-max-lag 20', `maxmemory ${3 * 1024 ** 3}`, 'maxmemory-policy allkeys-lru',
      'maxclients 20000', 'hz 20',
    ]));
  });

  it('lists the 5 Sentinels in the scripts', () => {
    const scripts = find(objects, 'ConfigMap', 'cache-scripts').data as Record<string, string>;
    const expected = [0, 1, 2, 3, 4].map((i) => `cache-sentinel-${i}.cache-sentinel-headless.data.svc.k8s.example.com`).join(' ');
    expect(scriptConstant(scripts['constants.sh'], 'SENTINEL_HOSTS')).toBe(expected);
  });
});

// --- each part of the deployment -----------------------------------------------------------------

describe('the parts of a deployment with every prop, each emitting its own objects', () => {
  /** The objects a part of the deployment (and only it) emits. */
  function synthOf(part: (chart: RedisSentinelChart) => Construct): KubeObject[] {
    const chart = new RedisSentinelChart(testApp(), 'standalone', FULL);
    return part(chart).node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map((o) => o.toJson() as KubeObject);
  }

  function expectRedisPod(sts: KubeObject, headless: string) {
    const spec = podSpec(sts);
    const c = container(sts);
    expect(c.image).toBe('redis:7.2.10-alpine');
    expect(c.imagePullPolicy).toBe('Always');
    expect(c.ports).toEqual([{ name: 'redis', containerPort: 6380, protocol: 'TCP' }]);
    expect(c.resources).toEqual({ requests: { cpu: '500m', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } });
    expect(envValue(sts, 'SELF_FQDN')).toBe(`$(POD_NAME).${headless}.data.svc.k8s.example.com`);
    // With acl (the customised fixture), the rotation keys too, in an optional volume.
    expect(volume(sts, 'auth').secret).toMatchObject({ secretName: 'cache-password', optional: true, items: [
      { key: 'redis-password', path: 'password' }, { key: 'redis-password-next', path: 'password-next' }, { key: 'redis-password-previous', path: 'password-previous' },
    ] });
    expect(spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    // redisPod over the deployment level: maps merged (the component wins), lists appended, single values replaced.
    expect(spec.nodeSelector).toEqual({ 'node-pool': 'redis-data' });
    expect(spec.priorityClassName).toBe('redis-critical');
    expect(spec.tolerations).toEqual([
      { key: 'dedicated', operator: 'Equal', value: 'redis', effect: 'NoSchedule' }, { key: 'redis-only', operator: 'Exists' },
    ]);
    expect(spec.serviceAccountName).toBe('cache');
    expect(spec.automountServiceAccountToken).toBe(true);
    expect(sts.spec.template.metadata.labels).toMatchObject({
      'example.com/tier': 'data', 'example.com/role': 'redis', 'example.com/team': 'data', 'app.kubernetes.io/component': 'redis',
    });
    expect(sts.spec.template.metadata.annotations).toMatchObject({ 'example.com/scrape-logs': 'true' });
    expect(spec.securityContext).toMatchObject({ runAsUser: 1001, runAsGroup: 1001, fsGroup: 1001 });
    // affinity field by field: the deployment's nodeAffinity stays; the preset (PREFERRED) plus redisPod's anti-affinity term.
    expect(spec.affinity.nodeAffinity).toEqual(FULL.affinity!.nodeAffinity);
    expect(spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
    const preferred = spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
    expect(preferred.map((t: any) => t.weight)).toEqual([100, 50, 10]);
    // zoneSpread is off: only the user's constraint, with the StatefulSet's own selector filled in.
    expect(spec.topologySpreadConstraints).toEqual([{
      maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: sts.spec.selector.matchLabels },
    }]);
    expect(spec.containers.map((x: any) => x.name)).toEqual(['redis', 'metrics', 'log-shipper']);
    // exporter-credential: acl's (the pod's own exporter password), first.
    expect(spec.initContainers.map((x: any) => x.name)).toEqual(sts.metadata.name === 'cache-master' ? ['exporter-credential', 'restore', 'prepare'] : ['exporter-credential', 'prepare']);
    expect(spec.volumes.map((v: any) => v.name)).toEqual(expect.arrayContaining(['shared', 'corp-ca']));
    expect(c.volumeMounts).toContainEqual({ name: 'corp-ca', mountPath: '/etc/ssl/corp', readOnly: true });
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Delete' });
    expect(sts.metadata.labels).toMatchObject({ 'example.com/team': 'data', 'example.com/chart': 'cache' });
    expect(sts.metadata.annotations).toEqual({ 'example.com/owner': 'data-team@example.com' });
    const data = claim(sts, 'data');
    expect(data.spec.resources.requests.storage).toBe('50Gi');
    expect(data.spec.storageClassName).toBe('fast-ssd');
    expect(data.spec.accessModes).toEqual(['ReadWriteOncePod']);
    // volumeClaimTemplates are immutable: commonLabels stay off them.
    expect(data.metadata.labels['example.com/team']).toBeUndefined();
    const metrics = spec.containers.find((x: any) => x.name === 'metrics');
    expect(metrics.args).toContain('--include-system-metrics');
    expect(metrics.env).toContainEqual({ name: 'REDIS_EXPORTER_LOG_FORMAT', value: 'json' });
    expect(c.lifecycle.preStop.exec.command).toEqual(['sh', '/opt/redis-sentinel/redis-prestop.sh']);
  }

  it('RedisMaster', () => {
    const objects = synthOf((chart) => chart.redis.master);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['Service/cache-master-headless', 'StatefulSet/cache-master']);
    const sts = find(objects, 'StatefulSet', 'cache-master');
    expect(sts.metadata.namespace).toBe('data');
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.serviceName).toBe('cache-master-headless');
    expectRedisPod(sts, 'cache-master-headless');
    const svc = find(objects, 'Service', 'cache-master-headless');
    expect(svc.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, ports: [{ port: 6380 }] });
  });

  it('RedisReplicaSet', () => {
    const objects = synthOf((chart) => chart.redis.replicaSet);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['Service/cache-replica-headless', 'StatefulSet/cache-replica']);
    const sts = find(objects, 'StatefulSet', 'cache-replica');
    expect(sts.metadata.namespace).toBe('data');
    expect(sts.spec.replicas).toBe(4);
    expect(sts.spec.serviceName).toBe('cache-replica-headless');
    expectRedisPod(sts, 'cache-replica-headless');
  });

  it('SentinelQuorum', () => {
    const objects = synthOf((chart) => chart.redis.sentinels);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/cache-sentinel-config', 'PodDisruptionBudget/cache-sentinel', 'Service/cache-sentinel', 'Service/cache-sentinel-headless',
      'StatefulSet/cache-sentinel',
    ]);
    const sts = find(objects, 'StatefulSet', 'cache-sentinel');
    const spec = podSpec(sts);
    const c = container(sts);
    expect(sts.spec.replicas).toBe(5);
    expect(c.image).toBe(FULL.sentinelImage);
    expect(c.imagePullPolicy).toBe('Always');
    expect(c.ports).toEqual([{ name: 'sentinel', containerPort: 26380, protocol: 'TCP' }]);
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '200m', memory: '256Mi' } });
    expect(envValue(sts, 'SELF_FQDN')).toBe('$(POD_NAME).cache-sentinel-headless.data.svc.k8s.example.com');
    // With acl (the customised fixture), the rotation keys too, in an optional volume.
    expect(volume(sts, 'auth').secret).toMatchObject({ secretName: 'cache-password', optional: true, items: [
      { key: 'redis-password', path: 'password' }, { key: 'redis-password-next', path: 'password-next' }, { key: 'redis-password-previous', path: 'password-previous' },
    ] });
    expect(spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(spec.nodeSelector).toEqual({ 'node-pool': 'redis' });
    expect(spec.priorityClassName).toBe('high-priority');
    expect(spec.tolerations).toEqual(FULL.tolerations);
    expect(spec.serviceAccountName).toBe('cache-sentinel');
    expect(sts.spec.template.metadata.annotations['example.com/scrape-logs']).toBe('false');
    expect(spec.containers.map((x: any) => x.name)).toEqual(['sentinel', 'tidy', 'metrics', 'log-shipper', 'sentinel-sidecar']);
    expect(spec.securityContext).toMatchObject({ runAsUser: 1001, runAsGroup: 1001 });
    expect(spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
    expect(spec.topologySpreadConstraints).toHaveLength(1);
    const data = claim(sts, 'data');
    expect(data.spec.resources.requests.storage).toBe('2Gi');
    expect(data.spec.storageClassName).toBe('standard');
    expect(data.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(find(objects, 'Service', 'cache-sentinel').spec.ports).toEqual([{ name: 'sentinel', port: 26380, targetPort: 'sentinel' }]);
    expect(find(objects, 'Service', 'cache-sentinel-headless').spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(find(objects, 'PodDisruptionBudget', 'cache-sentinel').spec.maxUnavailable).toBe(1);
    const conf = directives(find(objects, 'ConfigMap', 'cache-sentinel-config').data['sentinel.conf']);
    expect(conf).toContain('sentinel monitor primary cache-master-0.cache-master-headless.data.svc.k8s.example.com 6380 4');
    expect(conf).toContain('sentinel down-after-milliseconds primary 8000');
  });
});

