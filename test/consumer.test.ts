/**
 * The package as a consumer gets it: `npm pack` of a fresh jsii build (in a copy of the package, so the
 * work tree's lib/ is left alone), installed with `npm install --offline` into a scratch cdk8s app whose
 * peer dependencies (cdk8s, constructs, cdk8s-plus-27) are the ones `npm ci` installed here (linked; their
 * versions checked against the package's peer ranges; no registry, no npm cache), then test/consumer/app.ts compiled by
 * tsc with strict settings (test/consumer/tsconfig.json, library .d.ts files checked too) and run.
 */
import { spawnSync } from 'child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { KubeObject } from './support/synth';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'node_modules', '.bin');
const PEERS = ['cdk8s', 'constructs', 'cdk8s-plus-27'];
const TASKS = JSON.parse(readFileSync(join(ROOT, '.projen', 'tasks.json'), 'utf8')).tasks;

let dir: string;

/** Whether `version` satisfies a caret range `^x.y.z` (the form of this package's peer ranges; others fail). */
function satisfiesCaret(version: string, range: string): boolean {
  const m = /^\^([0-9]+)\.([0-9]+)\.([0-9]+)$/.exec(range);
  if (!m) return false;
  const [want, have] = [m.slice(1).map(Number), version.split('.').map(Number)];
  if (have[0] !== want[0]) return false;
  for (let i = 1; i < 3; i++) if (have[i] !== want[i]) return have[i] > want[i];
  return true;
}

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, PATH: `${BIN}:${process.env.PATH}` } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed with ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** The tarball `npm pack` makes of a fresh build (the compile task, as .projen/tasks.json has it). */
function packFreshBuild(): string {
  const pkg = join(dir, 'package');
  mkdirSync(pkg);
  for (const f of ['package.json', 'tsconfig.json', 'README.md', 'LICENSE', 'CHANGELOG.md', '.npmignore', 'src', 'imports']) {
    cpSync(join(ROOT, f), join(pkg, f), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  for (const step of TASKS.compile.steps) run('sh', ['-c', step.exec], pkg);
  const out = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dir], pkg));
  return join(dir, out[0].filename);
}

let objects: Record<string, KubeObject[]>;
let files: string[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'consumer-'));
  const tarball = packFreshBuild();
  files = readdirSync(dir);
  const app = join(dir, 'app');
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  const versions: Record<string, string> = {};
  for (const p of PEERS) {
    symlinkSync(join(ROOT, 'node_modules', p), join(app, 'node_modules', p));
    versions[p] = JSON.parse(readFileSync(join(ROOT, 'node_modules', p, 'package.json'), 'utf8')).version;
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, dependencies: versions }));
  // --legacy-peer-deps: npm resolves peers through registry metadata, which a fresh CI machine's cache (filled by
  // `npm ci` with tarballs only) does not hold offline; the peer ranges are checked below instead.
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', '--legacy-peer-deps', tarball], app);
  cpSync(join(__dirname, 'consumer', 'app.ts'), join(app, 'app.ts'));
  cpSync(join(__dirname, 'consumer', 'tsconfig.json'), join(app, 'tsconfig.json'));
  run(join(BIN, 'tsc'), ['-p', 'tsconfig.json'], app);
  run(process.execPath, [join('lib', 'app.js')], app);
  objects = {};
  for (const f of readdirSync(join(app, 'dist'))) {
    objects[f] = parseAllDocuments(readFileSync(join(app, 'dist', f), 'utf8')).map((d) => d.toJSON()).filter(Boolean);
  }
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds the library, its types, the jsii assembly and the changelog; no example app, no source maps', () => {
  const tarball = files.find((f) => f.endsWith('.tgz'))!;
  const list = run('tar', ['tzf', join(dir, tarball)], dir).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
  expect(list).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', '.jsii',
    'lib/src/index.js', 'lib/src/index.d.ts', 'lib/imports/monitoring.coreos.com.js', 'lib/imports/monitoring.coreos.com.d.ts']));
  expect(list.filter((f) => /(^|\/)(main|main-one-node|example)\.(js|d\.ts)$/.test(f))).toEqual([]);
  expect(list.filter((f) => f.endsWith('.map') || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  expect(list.filter((f) => /^(dist|examples|bench|scripts|test|src)\//.test(f))).toEqual([]);
  const pkg = join(dir, 'app', 'node_modules', 'cdk8s-redis-sentinel');
  for (const f of ['lib/src/index.js', 'lib/src/redis-sentinel.js']) {
    expect(readFileSync(join(pkg, f), 'utf8')).not.toMatch(/sourceMappingURL/);
  }
});

test('the linked cdk8s, constructs and cdk8s-plus-27 satisfy the package\'s peer dependency ranges', () => {
  const pkg = JSON.parse(readFileSync(join(dir, 'app', 'node_modules', 'cdk8s-redis-sentinel', 'package.json'), 'utf8'));
  expect(Object.keys(pkg.peerDependencies).sort()).toEqual([...PEERS].sort());
  for (const p of PEERS) {
    const version = JSON.parse(readFileSync(join(dir, 'app', 'node_modules', p, 'package.json'), 'utf8')).version;
    expect(`${p}@${version} satisfies ${pkg.peerDependencies[p]}: ${satisfiesCaret(version, pkg.peerDependencies[p])}`).toBe(`${p}@${version} satisfies ${pkg.peerDependencies[p]}: true`);
  }
  expect(pkg.dependencies ?? {}).toEqual({});
});

test('the version is a real one (not 0.0.0) with a changelog entry', () => {
  const pkg = JSON.parse(readFileSync(join(dir, 'app', 'node_modules', 'cdk8s-redis-sentinel', 'package.json'), 'utf8'));
  expect(pkg.version).toMatch(/^[0-9]+\.[0-9]+\.[0-9]+$/);
  expect(pkg.version).not.toBe('0.0.0');
  expect(readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8')).toContain(`\n## ${pkg.version}\n`);
});

test('the strict TypeScript app compiles and synthesizes one file per Chart', () => {
  expect(Object.keys(objects).sort()).toEqual(['sessions-monitoring.k8s.yaml', 'sessions.k8s.yaml', 'shop.k8s.yaml']);
  const shop = objects['shop.k8s.yaml'];
  expect(shop.filter((o) => o.kind === 'StatefulSet').map((o) => o.metadata.name).sort()).toEqual(['cache-master', 'cache-replica', 'cache-sentinel']);
  expect(objects['sessions-monitoring.k8s.yaml'].map((o) => o.kind).sort()).toEqual(['ConfigMap', 'PrometheusRule', 'Service', 'Service', 'ServiceMonitor']);
});

test('every customization knob lands in the synthesized YAML', () => {
  const sessions = objects['sessions.k8s.yaml'];
  const named = (kind: string, name: string) => sessions.find((o) => o.kind === kind && o.metadata.name === name)!;
  for (const o of sessions) {
    expect([o.kind, o.metadata.labels?.['example.com/cost-center'], o.metadata.labels?.['example.com/stack']]).toEqual([o.kind, 'c42', 'shop']);
    expect([o.kind, o.metadata.annotations?.['example.com/owner']]).toEqual([o.kind, 'data-team']);
  }
  const redis = named('StatefulSet', 'sessions-replica').spec;
  const sentinel = named('StatefulSet', 'sessions-sentinel').spec;
  const backup = named('CronJob', 'sessions-backup').spec.jobTemplate.spec.template.spec;
  expect(redis.template.metadata.labels['example.com/team']).toBe('data');
  expect(redis.template.metadata.annotations['example.com/logs']).toBe('json');
  expect(redis.template.spec.nodeSelector).toEqual({ 'node-pool': 'redis-large' });
  expect(redis.template.spec.tolerations.map((t: any) => t.key)).toEqual(['dedicated', 'redis-only']);
  expect(redis.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key).toBe('kubernetes.io/arch');
  expect(redis.template.spec.topologySpreadConstraints.map((c: any) => c.whenUnsatisfiable)).toEqual(['DoNotSchedule']);
  expect(redis.template.spec.priorityClassName).toBe('data-critical');
  expect(redis.template.spec.serviceAccountName).toBe('sessions');
  expect(redis.template.spec.containers.map((c: any) => c.name)).toContain('log-shipper');
  expect(redis.template.spec.initContainers.map((c: any) => c.name)).toContain('wait');
  expect(redis.template.spec.volumes.map((v: any) => v.name)).toContain('corp-ca');
  expect(redis.template.spec.containers.find((c: any) => c.name === 'redis').volumeMounts.map((m: any) => m.mountPath)).toContain('/etc/ssl/corp');
  expect(redis.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Delete' });
  expect(redis.volumeClaimTemplates[0].spec.accessModes).toEqual(['ReadWriteOncePod']);
  expect(sentinel.template.spec.serviceAccountName).toBe('sessions-sentinel');
  expect(sentinel.template.spec.priorityClassName).toBe('small');
  expect(sentinel.volumeClaimTemplates[0].spec.accessModes).toEqual(['ReadWriteOnce']);
  expect(backup.tolerations.map((t: any) => t.key)).toEqual(['dedicated', 'batch']);
  expect(named('PersistentVolumeClaim', 'sessions-backup').spec.accessModes).toEqual(['ReadWriteMany']);
  expect(named('ConfigMap', 'sessions-config').data['redis.conf']).toContain('maxmemory-policy allkeys-lru');
  expect(named('Deployment', 'sessions-proxy').spec.replicas).toBeGreaterThanOrEqual(2);
  expect(named('Service', 'sessions-master').spec.ports[0].port).toBe(6379);
  expect(redis.template.spec.containers.find((c: any) => c.name === 'metrics').args).toContain('--include-system-metrics');
  // tls (mutual, an existing Secret): Redis serves TLS only and asks clients for a certificate; every pod mounts the Secret.
  expect(named('ConfigMap', 'sessions-config').data['redis.conf']).toMatch(/^port 0\n(.*\n)*tls-port 6379\n(.*\n)*tls-auth-clients yes$/m);
  const pods: [string, string, any][] = [
    ['sessions-master', 'redis', named('StatefulSet', 'sessions-master').spec.template.spec],
    ['sessions-replica', 'redis', redis.template.spec],
    ['sessions-sentinel', 'sentinel', sentinel.template.spec],
    ['sessions-proxy', 'haproxy', named('Deployment', 'sessions-proxy').spec.template.spec],
    ['sessions-backup', 'backup', backup],
  ];
  for (const [name, container, pod] of pods) {
    const volume = pod.volumes.find((v: any) => v.secret?.secretName === 'sessions-certs');
    const mounts = pod.containers.find((c: any) => c.name === container).volumeMounts.filter((vm: any) => vm.name === volume?.name);
    expect([name, mounts.map((vm: any) => vm.mountPath)]).toEqual([name, ['/etc/redis-tls']]);
  }
});

test('the app\'s Deployment and Job are wired: client labels, env, admitted by the NetworkPolicies', () => {
  const shop = objects['shop.k8s.yaml'];
  const web = shop.find((o) => o.kind === 'Deployment')!;
  expect(web.spec.template.metadata.labels['cache-client']).toBe('true');
  const env = Object.fromEntries(web.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
  expect(env.REDIS_MASTER_NAME).toBe('mymaster');
  // With acl: the workload logs in as its own user, with that user's password (never the default user's).
  expect(env.REDIS_USERNAME).toBe('web');
  expect(env.REDIS_PASSWORD).toEqual({ secretKeyRef: { name: 'cache-web', key: 'password' } });
  // The users' passwords come from their Secrets, mounted into the Redis and Sentinel pods; no password in any file.
  const sts = shop.filter((o) => o.kind === 'StatefulSet');
  for (const o of sts) {
    const secrets = o.spec.template.spec.volumes.filter((v: any) => v.secret).map((v: any) => v.secret.secretName);
    expect([o.metadata.name, secrets]).toEqual([o.metadata.name, expect.arrayContaining(['cache-internal-users', 'cache-web', 'cache-reports'])]);
  }
  // Each user's rules reach Redis as written, beside the file its password is read from at start.
  const users = shop.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'cache-config')!.data['acl-users'].split('\n');
  expect(users).toContain('web /etc/redis-acl/users/web/password ~web:* &* +@all -@dangerous +info +role');
  expect(users).toContain('reports /etc/redis-acl/users/reports/pw ~* +@read +info +role');
  const job = shop.find((o) => o.kind === 'Job')!;
  expect(job.spec.template.metadata.labels['sessions-client']).toBe('true');
  const jobEnv = Object.fromEntries(job.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
  expect(jobEnv.SESSIONS_MASTER_ENDPOINT).toBe('sessions-master.data.svc.cluster.local:6379');
  expect(jobEnv.SESSIONS_TLS).toBe('true');
  const peers = objects['sessions.k8s.yaml'].find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'sessions')!.spec.ingress[0].from;
  expect(peers).toContainEqual({
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } },
    podSelector: { matchLabels: { 'sessions-client': 'true' } },
  });
  expect(peers).toContainEqual({
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'legacy' } },
    podSelector: { matchLabels: { app: 'legacy' } },
  });
  expect(existsSync(join(dir, 'app', 'lib', 'app.js'))).toBe(true);
});

test('loading the package loads cdk8s-plus-27\'s L1 module, not its index (test/imports.test.ts)', () => {
  const script = "require('cdk8s-redis-sentinel'); const f = Object.keys(require.cache).filter((f) => f.includes('cdk8s-plus-27')).map((f) => f.replace(/.*cdk8s-plus-27\\//, '')); console.log(JSON.stringify(f));";
  const loaded = JSON.parse(run(process.execPath, ['-e', script], join(dir, 'app')));
  expect(loaded).toEqual(['lib/imports/k8s.js']);
});
