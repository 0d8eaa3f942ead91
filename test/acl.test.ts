/**
 * `acl`: what the deployment renders with ACL users on (the users files, the Secrets each pod mounts, the
 * exporter's own password, the backup Job's and the endpoint's users, typed wiring), and one clear error
 * per mistake. The rights themselves are proven with real servers in test/integration/loopback-acl.test.ts
 * and test/e2e/acl.test.ts.
 */
import { Chart, Testing } from 'cdk8s';
import * as plus from 'cdk8s-plus-27';
import { AclOptions, RedisAuth, RedisSentinel, RedisSentinelChartProps } from '../src';
import { INTERNAL_USERS, SECRET_USERS } from '../src/acl';
import { KubeObject, find, ofKind, synthChart, testApp } from './support/synth';

const ACL: AclOptions = { users: [{ name: 'app', rules: '~app:* +@read +@write', secretName: 'app-redis' }, { name: 'jobs', secretName: 'jobs-redis', secretKey: 'pw', sentinel: false }] };
const PROPS: RedisSentinelChartProps = { acl: ACL, monitoring: {}, backup: {}, masterEndpoint: {} };

const containers = (o: KubeObject) => [...o.spec.template.spec.initContainers ?? [], ...o.spec.template.spec.containers];
const container = (o: KubeObject, name: string) => containers(o).find((c: any) => c.name === name);
const volume = (o: KubeObject, name: string) => o.spec.template.spec.volumes.find((v: any) => v.name === name);

describe('acl: what is rendered', () => {
  const objects = synthChart(PROPS);
  const redisUsers: string = find(objects, 'ConfigMap', 'redis-config').data['acl-users'];
  const sentinelUsers: string = find(objects, 'ConfigMap', 'redis-sentinel-config').data['acl-users'];

  test('the users files: each user of the deployment with its rules, on the side it talks to; application users on Redis and (unless sentinel: false) on the Sentinels', () => {
    const users = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' ')[0]);
    expect(users(redisUsers)).toEqual(['replication', 'sentinel', 'exporter', 'backup', 'endpoint', 'app', 'jobs']);
    expect(users(sentinelUsers)).toEqual(['sentinel-peer', 'exporter', 'backup', 'endpoint', 'app']);
    expect(redisUsers).toContain(`replication /etc/redis-acl/internal/replication ${INTERNAL_USERS.replication.redis}`);
    expect(redisUsers).toContain('exporter /run/exporter/password ');
    expect(redisUsers).toContain('app /etc/redis-acl/users/app/password ~app:* +@read +@write');
    expect(redisUsers).toContain('jobs /etc/redis-acl/users/jobs/pw ~* &* +@all -@dangerous +info +role');
    expect(sentinelUsers).toMatch(/^app \/etc\/redis-acl\/users\/app\/password resetchannels &\+switch-master -@all .*\+sentinel\|get-master-addr-by-name/m);
    // Every user starts from nothing (-@all or explicit rules) and has no channel unless given one.
    for (const name of Object.keys(INTERNAL_USERS)) {
      for (const side of ['redis', 'sentinel'] as const) {
        const rules = INTERNAL_USERS[name as keyof typeof INTERNAL_USERS][side];
        if (rules) expect(rules).toMatch(/^resetchannels (&\S+ )?-@all /);
      }
    }
  });

  test('no object holds a password or a hash: only names of Secrets and keys', () => {
    expect(JSON.stringify(objects).match(/#[0-9a-f]{64}/g) ?? []).toEqual([]);
    // No ACL password rule (>pw, #hash, nopass) in the users files.
    for (const text of [redisUsers, sentinelUsers]) {
      const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
      expect(lines.flatMap((l) => l.split(' ')).filter((t) => /^[>#<!]|^nopass$/.test(t))).toEqual([]);
    }
    expect(ofKind(objects, 'Secret')).toEqual([]);
  });

  test('Redis and Sentinel pods mount the acl Secret and the application users\' Secrets whole (for <key>-next/-previous), the auth Secret with its rotation keys', () => {
    const redis = find(objects, 'StatefulSet', 'redis-master');
    const sentinel = find(objects, 'StatefulSet', 'redis-sentinel');
    expect(volume(redis, 'acl').secret).toEqual({ secretName: 'redis-acl', defaultMode: 0o440 });
    expect(volume(redis, 'acl-user-0').secret.secretName).toBe('app-redis');
    expect(volume(redis, 'acl-user-1').secret.secretName).toBe('jobs-redis');
    expect(container(redis, 'redis').volumeMounts).toEqual(expect.arrayContaining([
      { name: 'acl', mountPath: '/etc/redis-acl/internal', readOnly: true },
      { name: 'acl-user-0', mountPath: '/etc/redis-acl/users/app', readOnly: true },
      { name: 'acl-user-1', mountPath: '/etc/redis-acl/users/jobs', readOnly: true },
    ]));
    // jobs has sentinel: false: the Sentinels do not mount its Secret.
    expect(volume(sentinel, 'acl-user-0').secret.secretName).toBe('app-redis');
    expect(volume(sentinel, 'acl-user-1')).toBeUndefined();
    expect(volume(redis, 'auth').secret).toEqual({
      secretName: 'redis-auth', optional: true, defaultMode: 0o440,
      items: [{ key: 'password', path: 'password' }, { key: 'password-next', path: 'password-next' }, { key: 'password-previous', path: 'password-previous' }],
    });
  });

  test('each Redis and Sentinel pod makes its own exporter password (init container, memory volume); the exporter logs in with it, without CONFIG', () => {
    for (const [name, port] of [['redis-master', 6379], ['redis-replica', 6379], ['redis-sentinel', 26379]] as const) {
      const sts = find(objects, 'StatefulSet', name);
      const init = sts.spec.template.spec.initContainers[0];
      expect(init.name).toBe('exporter-credential');
      expect(init.command).toEqual(['sh', '/opt/redis-sentinel/exporter-credential.sh', String(port)]);
      expect(volume(sts, 'exporter-auth').emptyDir.medium).toBe('Memory');
      const metrics = container(sts, 'metrics');
      expect(metrics.args).toEqual(expect.arrayContaining(['--config-command=-', '--redis.password-file=/run/exporter/passwords.json']));
      expect(metrics.env).toEqual([{ name: 'REDIS_USER', value: 'exporter' }]);
      expect(metrics.volumeMounts).toEqual([{ name: 'exporter-auth', mountPath: '/run/exporter', readOnly: true }]);
    }
  });

  test('the backup Job logs in as backup and mounts that password only; the endpoint\'s checks as endpoint, from a file', () => {
    const job = find(objects, 'CronJob', 'redis-backup').spec.jobTemplate;
    const backup = job.spec.template.spec.containers.find((c: any) => c.name === 'backup');
    expect(backup.env).toEqual(expect.arrayContaining([{ name: 'REDIS_USER', value: 'backup' }]));
    expect(job.spec.template.spec.volumes.find((v: any) => v.name === 'auth').secret)
      .toEqual({ secretName: 'redis-acl', items: [{ key: 'backup', path: 'password' }], defaultMode: 0o440 });
    const proxy = find(objects, 'Deployment', 'redis-proxy');
    const haproxy = container(proxy, 'haproxy');
    expect(haproxy.command[1]).toMatch(/endpoint-start\.sh$/);
    expect(haproxy.env).toEqual([{ name: 'PASSWORD_FILE', value: '/etc/redis-auth/password' }, { name: 'RUN_DIR', value: '/run/haproxy' }, { name: 'STATS_PORT', value: '8405' }]);
    expect(volume(proxy, 'auth').secret.items).toEqual([{ key: 'endpoint', path: 'password' }]);
    const cfg: string = find(objects, 'ConfigMap', 'redis-proxy').data['haproxy.cfg'];
    expect(cfg).toContain('AUTH\\r\\n\\$8\\r\\nendpoint\\r\\n');
  });

  test('the Secret keys the deployment needs are the users of SECRET_USERS (the exporter needs none)', () => {
    expect([...SECRET_USERS]).toEqual(['replication', 'sentinel', 'sentinel-peer', 'backup', 'endpoint']);
    const redis = find(objects, 'StatefulSet', 'redis-master');
    expect(JSON.stringify(redis)).not.toContain('"key":"exporter"');
  });
});

describe('acl: typed wiring', () => {
  test('connection lists the application users; connect(user) gives USERNAME and the user\'s password Secret', () => {
    const app = testApp();
    const chart = new Chart(app, 'c', { namespace: 'shop' });
    const redis = new RedisSentinel(chart, 'cache', { acl: ACL });
    expect(redis.connection.users).toEqual([
      { name: 'app', passwordSecretName: 'app-redis', passwordSecretKey: 'password' },
      { name: 'jobs', passwordSecretName: 'jobs-redis', passwordSecretKey: 'pw' },
    ]);
    const web = new plus.Deployment(chart, 'web');
    web.addContainer({ image: 'web:1', portNumber: 8080 });
    redis.connect(web, { env: true, user: 'app' });
    const objects = Testing.synth(chart) as KubeObject[];
    const env = objects.find((o) => o.kind === 'Deployment' && o.metadata.name.includes('web'))!.spec.template.spec.containers[0].env;
    expect(env).toEqual(expect.arrayContaining([
      { name: 'REDIS_USERNAME', value: 'app' },
      { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'app-redis', key: 'password' } } },
    ]));
  });

  test('with ACL users, connect with env needs a user of the deployment (the default user\'s password is the scripts\')', () => {
    const app = testApp();
    const chart = new Chart(app, 'c', { namespace: 'shop' });
    const redis = new RedisSentinel(chart, 'cache', { acl: ACL });
    const web = new plus.Deployment(chart, 'web');
    web.addContainer({ image: 'web:1', portNumber: 8080 });
    expect(() => redis.connect(web, { env: true })).toThrow(/has ACL users.*give the workload at .* user: one of 'app', 'jobs'/);
    expect(() => redis.connect(web, { env: true, user: 'nobody' })).toThrow(/user \('nobody'\).*not an ACL user.*one of 'app', 'jobs'/);
    expect(() => redis.connect(web, { user: 'app' })).toThrow(/user \('app'\).*pass env: true/);
    const plain = new RedisSentinel(new Chart(app, 'd', { namespace: 'x' }), 'cache', {});
    const other = new plus.Deployment(Chart.of(plain), 'web');
    other.addContainer({ image: 'web:1', portNumber: 8080 });
    expect(() => plain.connect(other, { env: true, user: 'app' })).toThrow(/needs ACL users.*has none/);
  });
});

describe('acl: fails when', () => {
  const make = (acl: AclOptions, extra: RedisSentinelChartProps = {}) => () => synthChart({ acl, ...extra });

  test('auth is off', () => {
    expect(make({}, { auth: RedisAuth.none() })).toThrow(/acl needs auth[^\n]*RedisAuth\.none\(\)/);
  });

  test('a user name is invalid, reserved or given twice (one message each)', () => {
    const u = (name: string) => ({ name, secretName: 's' });
    expect(make({ users: [u('bad name')] })).toThrow(/acl\.users\[0\]\.name \('bad name'\) must be letters/);
    expect(make({ users: [u('replication')] })).toThrow(/acl\.users\[0\]\.name \('replication'\) is one of the deployment's own users/);
    expect(make({ users: [u('default')] })).toThrow(/acl\.users\[0\]\.name \('default'\) is one of the deployment's own users/);
    expect(make({ users: [u('a'), u('a')] })).toThrow(/acl\.users\[1\]\.name \('a'\) is given twice/);
  });

  test('rules hold a password, on/off, an unknown category, a selector or something else', () => {
    const r = (rules: string) => make({ users: [{ name: 'a', secretName: 's', rules }] });
    expect(r('~* +@all >secret')).toThrow(/acl\.users\[0\]\.rules: '>secret': passwords and on\/off are the library's/);
    expect(r('~* +@all nopass')).toThrow(/'nopass': passwords/);
    expect(r('~* +@all off')).toThrow(/'off': passwords/);
    expect(r('~* +@reads')).toThrow(/'@reads' is not an ACL category/);
    expect(r('~* (+get ~x)')).toThrow(/not an ACL rule|selectors are not supported/);
    expect(r('')).toThrow(/acl\.users\[0\]\.rules \(''\) must be one line of ACL rules/);
    // A good line passes: patterns, categories, subcommands, resets.
    expect(r('resetkeys ~app:* %R~cache:* &orders +@read +@write -@dangerous +client|setname allchannels')).not.toThrow();
  });

  test('a Secret name or key is invalid', () => {
    expect(make({ secretName: 'Bad_Name' })).toThrow(/acl\.secretName \('Bad_Name'\) must be a Secret name/);
    expect(make({ users: [{ name: 'a', secretName: 'UPPER' }] })).toThrow(/acl\.users\[0\]\.secretName \('UPPER'\) must be a Secret name/);
    expect(make({ users: [{ name: 'a', secretName: 's', secretKey: 'a b' }] })).toThrow(/acl\.users\[0\]\.secretKey \('a b'\) must be a Secret key/);
  });

  test('an extra volume takes the name of an application user\'s Secret volume', () => {
    expect(make({ users: [{ name: 'a', secretName: 's' }] }, { redisPod: { extraVolumes: [{ name: 'acl-user-0', emptyDir: {} }] } }))
      .toThrow(/'acl-user-0'\)? has the name of a volume of the library/);
  });
});
