/**
 * The per-release values of the scripts: constants.sh (renderScriptConstants) read back by sourcing
 * it in a real shell, and the backup and restore containers' env (backupEnv, restoreEnv) read back
 * with the kubelet's `$(VAR)` expansion. The scripts themselves run in test/scripts/.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Duration } from 'cdk8s';
import * as fc from 'fast-check';
import { ScriptConstantsOptions, backupEnv, renderScriptConstants, restoreEnv } from '../../src/config/scripts';
import { RedisAuth, RedisSentinelChartProps } from '../../src';
import { PATHS, SCRIPT } from '../../src/settings';
import { renderFiles } from '../../src/shared-config';
import { expand } from '../e2e/harness/env';
import { sourceConstants } from '../support/shell';
import { settingsOf } from '../support/synth';

const OPTIONS: ScriptConstantsOptions = {
  masterName: 'mymaster',
  sentinelHosts: [0, 1, 2].map((i) => `redis-sentinel-${i}.redis-sentinel-headless.redis.svc.cluster.local`),
  redisHosts: ['redis-master-0.redis-master-headless.redis.svc.cluster.local', 'redis-replica-0.redis-replica-headless.redis.svc.cluster.local'],
  sentinelPort: 26379,
  redisPort: 6379,
  authFile: '/etc/redis-auth/password',
  tlsDir: '/etc/redis-tls',
  cliTimeoutSeconds: 3,
  bootstrapMasterHost: 'redis-master-0.redis-master-headless.redis.svc.cluster.local',
  redisTemplateFile: '/etc/redis/redis.conf',
  redisConfigFile: '/run/redis/redis.conf',
  sentinelTemplateFile: '/etc/sentinel/sentinel.conf',
  sentinelConfigFile: '/data/sentinel.conf',
  sentinelWaitSeconds: 20,
  resolveWaitSeconds: 30,
  failoverWaitSeconds: 20,
  rollWaitSeconds: 90,
  rollDownWaitSeconds: 20,
};

/** Every variable constants.sh sets, with the option it comes from. */
const NAMES: Array<[string, (o: ScriptConstantsOptions) => string]> = [
  ['MASTER_NAME', (o) => o.masterName],
  ['SENTINEL_HOSTS', (o) => o.sentinelHosts.join(' ')],
  ['REDIS_HOSTS', (o) => o.redisHosts.join(' ')],
  ['SENTINEL_PORT', (o) => String(o.sentinelPort)],
  ['REDIS_PORT', (o) => String(o.redisPort)],
  ['AUTH_FILE', (o) => o.authFile ?? ''],
  ['TLS_DIR', (o) => o.tlsDir ?? ''],
  ['ACL_USERS_REDIS', (o) => o.acl?.redisUsers ?? ''],
  ['ACL_USERS_SENTINEL', (o) => o.acl?.sentinelUsers ?? ''],
  ['ACL_DIR', (o) => o.acl?.internalDir ?? ''],
  ['EXPORTER_AUTH_DIR', (o) => o.acl?.exporterAuthDir ?? ''],
  ['CLI_TIMEOUT', (o) => String(o.cliTimeoutSeconds)],
  ['BOOTSTRAP_MASTER_HOST', (o) => o.bootstrapMasterHost],
  ['REDIS_TEMPLATE', (o) => o.redisTemplateFile],
  ['REDIS_CONF', (o) => o.redisConfigFile],
  ['SENTINEL_TEMPLATE', (o) => o.sentinelTemplateFile],
  ['SENTINEL_CONF', (o) => o.sentinelConfigFile],
  ['SENTINEL_WAIT', (o) => String(o.sentinelWaitSeconds)],
  ['RESOLVE_WAIT', (o) => String(o.resolveWaitSeconds)],
  ['FAILOVER_WAIT', (o) => String(o.failoverWaitSeconds)],
  ['ROLL_WAIT', (o) => String(o.rollWaitSeconds)],
  ['ROLL_DOWN_WAIT', (o) => String(o.rollDownWaitSeconds)],
];
const names = NAMES.map(([n]) => n);
const expected = (o: ScriptConstantsOptions) => Object.fromEntries(NAMES.map(([n, f]) => [n, f(o)]));

/** A `requirepass`/`masterauth`/`auth-pass` directive followed by anything but a shell variable is a literal password. */
const LITERAL_PASSWORD = /(requirepass|masterauth|auth-pass(\s+\S+)?)\s+(?!\$)\S/;

describe('renderScriptConstants', () => {
  it('sets every value, and only assignments besides comments', () => {
    const text = renderScriptConstants(OPTIONS);
    expect(sourceConstants(text, names)).toEqual(expected(OPTIONS));
    const lines = text.trimEnd().split('\n').filter((l) => !l.startsWith('#'));
    expect(lines.map((l) => l.split('=')[0])).toEqual(names);
    expect(text.split('\n')[0]).toBe('# shellcheck shell=sh disable=SC2034');
  });

  it('leaves AUTH_FILE empty when auth is off', () => {
    expect(sourceConstants(renderScriptConstants({ ...OPTIONS, authFile: undefined }), ['AUTH_FILE'])).toEqual({ AUTH_FILE: '' });
  });

  it("quotes a master name with a quote in it: sh -c '. constants.sh; echo \"$MASTER_NAME\"' prints it", () => {
    const dir = mkdtempSync(join(tmpdir(), 'constants-'));
    try {
      writeFileSync(join(dir, 'constants.sh'), renderScriptConstants({ ...OPTIONS, masterName: "it's $(rm -rf /) `x` \"q\"" }));
      for (const shell of ['sh', 'busybox sh', 'bash']) {
        const [cmd, ...pre] = shell.split(' ');
        const r = spawnSync(cmd, [...pre, '-c', '. ./constants.sh; echo "$MASTER_NAME"'], { cwd: dir, encoding: 'utf8' });
        expect({ shell, out: r.stdout, status: r.status }).toEqual({ shell, out: "it's $(rm -rf /) `x` \"q\"\n", status: 0 });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('round-trips any value through busybox sh', () => {
    // Shell variables hold any bytes but NUL.
    const text = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0'));
    const options = fc.record({
      masterName: text,
      sentinelHosts: fc.array(text.filter((s) => s !== '' && !/\s/.test(s)), { minLength: 1, maxLength: 5 }),
      redisHosts: fc.array(text.filter((s) => s !== '' && !/\s/.test(s)), { minLength: 1, maxLength: 5 }),
      sentinelPort: fc.integer({ min: 1, max: 65535 }),
      redisPort: fc.integer({ min: 1, max: 65535 }),
      authFile: fc.option(text, { nil: undefined }),
      cliTimeoutSeconds: fc.integer({ min: 1, max: 30 }),
      bootstrapMasterHost: text,
      redisTemplateFile: text,
      redisConfigFile: text,
      sentinelTemplateFile: text,
      sentinelConfigFile: text,
      sentinelWaitSeconds: fc.nat(600),
      resolveWaitSeconds: fc.nat(600),
      failoverWaitSeconds: fc.nat(600),
      rollWaitSeconds: fc.nat(600),
      rollDownWaitSeconds: fc.nat(600),
    });
    fc.assert(fc.property(options, (o) => {
      expect(sourceConstants(renderScriptConstants(o), names)).toEqual(expected(o));
    }), { numRuns: 60 });
  });
});

describe('constants.sh of a release', () => {
  const constantsOf = (props: RedisSentinelChartProps) => {
    const s = settingsOf(props);
    return { s, c: sourceConstants(renderFiles(s).scripts[SCRIPT.constants], names) };
  };

  it('holds the chart defaults', () => {
    const { s, c } = constantsOf({});
    expect(c).toEqual({
      MASTER_NAME: 'mymaster', SENTINEL_HOSTS: s.sentinelFqdns.join(' '), REDIS_HOSTS: s.redisFqdns.join(' '), SENTINEL_PORT: '26379', REDIS_PORT: '6379', AUTH_FILE: PATHS.authFile, TLS_DIR: '', ACL_USERS_REDIS: '', ACL_USERS_SENTINEL: '', ACL_DIR: '', EXPORTER_AUTH_DIR: '',
      CLI_TIMEOUT: '3', BOOTSTRAP_MASTER_HOST: 'redis-master-0.redis-master-headless.redis.svc.cluster.local',
      REDIS_TEMPLATE: PATHS.redisTemplate, REDIS_CONF: PATHS.redisRuntimeConf, SENTINEL_TEMPLATE: PATHS.sentinelTemplate, SENTINEL_CONF: PATHS.sentinelConf,
      SENTINEL_WAIT: '20', RESOLVE_WAIT: '30', FAILOVER_WAIT: String(s.failoverWaitSeconds),
      ROLL_WAIT: String(s.rollWaitSeconds), ROLL_DOWN_WAIT: '20',
    });
    expect(s.redisFqdns).toEqual(['redis-master-0.redis-master-headless.redis.svc.cluster.local',
      'redis-replica-0.redis-replica-headless.redis.svc.cluster.local', 'redis-replica-1.redis-replica-headless.redis.svc.cluster.local']);
  });

  it('gives the preStop at least down-after + failover-timeout', () => {
    const { s, c } = constantsOf({ downAfter: Duration.seconds(7), failoverTimeout: Duration.seconds(30) });
    expect(Number(c.FAILOVER_WAIT)).toBe(s.failoverWaitSeconds);
    expect(s.failoverWaitSeconds).toBeGreaterThanOrEqual(7 + 30);
  });

  it('for sentinel counts 3..15 (odd), SENTINEL_HOSTS lists every Sentinel FQDN exactly once', () => {
    const oddSentinels = fc.integer({ min: 1, max: 7 }).map((k) => 2 * k + 1);
    fc.assert(fc.property(oddSentinels, fc.constantFrom('redis', 'cache', 'a', 'session-store'), fc.constantFrom('redis', 'data', 'prod-1'),
      (sentinels, name, namespace) => {
        const { c } = constantsOf({ sentinels, name, namespace });
        const hosts = c.SENTINEL_HOSTS.split(' ');
        expect(hosts).toHaveLength(sentinels);
        for (let i = 0; i < sentinels; i++) {
          expect(hosts.filter((h) => h === `${name}-sentinel-${i}.${name}-sentinel-headless.${namespace}.svc.cluster.local`)).toHaveLength(1);
        }
      }), { numRuns: 30 });
  });

  it('never holds a password, whatever the settings: only the path of the password file (auth on), nothing (auth off)', () => {
    const props = fc.record({
      authSecretName: fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/),
      authSecretKey: fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/),
      masterName: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/),
      auth: fc.boolean(),
    });
    fc.assert(fc.property(props, (p) => {
      const auth = p.auth ? RedisAuth.fromSecret({ secretName: p.authSecretName, secretKey: p.authSecretKey }) : RedisAuth.none();
      const files = renderFiles(settingsOf({ masterName: p.masterName, auth, backup: {}, restore: { file: 'latest' } })).scripts;
      // Per line: a line may end with the directive when the password comes from stdin (redis-cli -x).
      for (const text of Object.values(files)) expect(text.split('\n').filter((l) => LITERAL_PASSWORD.test(l))).toEqual([]);
      expect(sourceConstants(files[SCRIPT.constants], ['AUTH_FILE']).AUTH_FILE).toBe(p.auth ? PATHS.authFile : '');
      if (!p.auth) expect(files[SCRIPT.constants]).not.toContain(PATHS.authFile);
    }), { numRuns: 40 });
  });
});

describe('backup and restore env', () => {
  /** The container env as the kubelet builds it. */
  const envOf = (vars: Array<{ name: string; value?: string }>) => Object.fromEntries(vars.map((v) => [v.name, expand(v.value!, () => undefined)]));

  it('backupEnv: what redis-backup.sh reads', () => {
    expect(envOf(backupEnv({ backupDir: '/backup', filePrefix: 'redis', retention: 7, staleMinutes: 61, workDir: '/tmp' }))).toEqual({
      BACKUP_DIR: '/backup', BACKUP_PREFIX: 'redis', BACKUP_RETAIN: '7', BACKUP_STALE_MINUTES: '61', WORK_DIR: '/tmp',
    });
  });

  it('restoreEnv: what redis-restore.sh reads', () => {
    expect(envOf(restoreEnv({ sourceDir: '/restore', file: 'latest', filePrefix: 'redis', dataDir: '/data', workDir: '/tmp' }))).toEqual({
      RESTORE_FROM: 'latest', RESTORE_DIR: '/restore', BACKUP_PREFIX: 'redis', DATA_DIR: '/data', WORK_DIR: '/tmp',
    });
  });

  it('survive the kubelet\'s $(VAR) expansion unchanged, whatever the value', () => {
    const value = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('$(BACKUP_DIR)', '$$(BACKUP_DIR)', 'a$', '$$', '$(X'));
    fc.assert(fc.property(value, value, (file, dir) => {
      // Even where an earlier variable of the referenced name exists.
      const lookup = (n: string) => (n === 'BACKUP_DIR' ? 'EXPANDED' : undefined);
      const env = (vars: Array<{ name: string; value?: string }>) => Object.fromEntries(vars.map((v) => [v.name, expand(v.value!, lookup)]));
      expect(env(backupEnv({ backupDir: dir, filePrefix: file, retention: 1, staleMinutes: 2, workDir: dir }))).toEqual({
        BACKUP_DIR: dir, BACKUP_PREFIX: file, BACKUP_RETAIN: '1', BACKUP_STALE_MINUTES: '2', WORK_DIR: dir,
      });
      expect(env(restoreEnv({ sourceDir: dir, file, filePrefix: file, dataDir: dir, workDir: dir }))).toEqual({
        RESTORE_FROM: file, RESTORE_DIR: dir, BACKUP_PREFIX: file, DATA_DIR: dir, WORK_DIR: dir,
      });
    }), { numRuns: 200 });
    expect(backupEnv({ backupDir: '/b$(BACKUP_DIR)$$', filePrefix: 'p', retention: 1, staleMinutes: 2, workDir: '/t' })[0].value).toBe('/b$$(BACKUP_DIR)$$$$');
  });
});
