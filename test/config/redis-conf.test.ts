import { Duration, Size } from 'cdk8s';
import * as fc from 'fast-check';
import { MaxmemoryPolicy } from '../../src';
import { RedisConfOptions, renderRedisConf } from '../../src/config/redis-conf';
import { settingsOf } from '../support/synth';
import { renderFiles } from '../../src/shared-config';

/** The directive lines of a config file (no comments, no blanks). */
function directives(conf: string): string[] {
  return conf.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/** The directive names of a config file, in order. */
function directiveNames(conf: string): string[] {
  return directives(conf).map((l) => l.split(/\s+/)[0]);
}

function duplicates(items: string[]): string[] {
  return items.filter((x, i) => items.indexOf(x) !== i);
}

const base: RedisConfOptions = {
  port: 6379,
  dataDir: '/data',
  minReplicasToWrite: 1,
  minReplicasMaxLagSeconds: 10,
  maxmemoryBytes: 751619276,
  maxmemoryPolicy: 'noeviction',
  savePoints: [[3600, 1], [300, 100], [60, 10000]],
};

describe('renderRedisConf', () => {
  it('renders the port, data dir, persistence and replication safety', () => {
    const conf = renderRedisConf(base);
    const lines = directives(conf);
    expect(lines).toContain('port 6379');
    expect(lines).toContain('dir /data');
    expect(lines).toContain('appendonly yes');
    expect(lines).toContain('appendfsync everysec');
    expect(lines).toContain('save 3600 1 300 100 60 10000');
    expect(lines).toContain('replica-read-only yes');
    expect(lines).toContain('min-replicas-to-write 1');
    expect(lines).toContain('min-replicas-max-lag 10');
    expect(lines).toContain('maxmemory 751619276');
    expect(lines).toContain('maxmemory-policy noeviction');
    expect(lines).toContain('logfile ""');
    expect(conf.endsWith('\n')).toBe(true);
  });

  it('turns RDB snapshots off with an empty save list', () => {
    expect(directives(renderRedisConf({ ...base, savePoints: [] }))).toContain('save ""');
  });

  it('has no maxmemory line without a limit, but keeps the policy', () => {
    const names = directiveNames(renderRedisConf({ ...base, maxmemoryBytes: undefined }));
    expect(names).not.toContain('maxmemory');
    expect(names).toContain('maxmemory-policy');
  });

  it('renders min-replicas-to-write 0 (check off) explicitly', () => {
    expect(directives(renderRedisConf({ ...base, minReplicasToWrite: 0 }))).toContain('min-replicas-to-write 0');
  });

  it('appends extra directives in order, after the managed ones', () => {
    const conf = renderRedisConf({ ...base, extraDirectives: [['maxclients', '20000'], ['hz', '20']] });
    const lines = directives(conf);
    expect(lines.slice(-2)).toEqual(['maxclients 20000', 'hz 20']);
  });

  it('never contains replicaof, requirepass or masterauth (they are appended at runtime)', () => {
    const names = directiveNames(renderRedisConf(base));
    for (const d of ['replicaof', 'slaveof', 'requirepass', 'masterauth']) expect(names).not.toContain(d);
  });

  it('has no indented lines', () => {
    for (const line of renderRedisConf(base).split('\n')) expect(line).toBe(line.trimStart());
  });
});

// --- property tests ----------------------------------------------------------------------------

const managedNames = new Set(directiveNames(renderRedisConf(base)));
const extraDirective = fc.tuple(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/).filter((k) => !managedNames.has(k) && !['replicaof', 'slaveof', 'requirepass', 'masterauth'].includes(k)),
  fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/),
);

const redisConfOptions: fc.Arbitrary<RedisConfOptions> = fc.record({
  port: fc.integer({ min: 1, max: 65535 }),
  dataDir: fc.constantFrom('/data', '/var/lib/redis'),
  minReplicasToWrite: fc.integer({ min: 0, max: 20 }),
  minReplicasMaxLagSeconds: fc.integer({ min: 1, max: 3600 }),
  maxmemoryBytes: fc.option(fc.integer({ min: 1, max: 2 ** 40 }), { nil: undefined }),
  maxmemoryPolicy: fc.constantFrom(...MaxmemoryPolicy.all().map((m) => m.value)),
  savePoints: fc.array(fc.tuple(fc.integer({ min: 1, max: 86400 }), fc.integer({ min: 1, max: 100000 })), { maxLength: 4 }),
  extraDirectives: fc.uniqueArray(extraDirective, { selector: ([k]) => k, maxLength: 5 }),
});

describe('renderRedisConf properties', () => {
  it('every directive appears once, min-replicas lines carry the values, no replicaof/requirepass', () => {
    fc.assert(fc.property(redisConfOptions, (o) => {
      const conf = renderRedisConf(o);
      const names = directiveNames(conf);
      expect(duplicates(names)).toEqual([]);
      const lines = directives(conf);
      expect(lines).toContain(`min-replicas-to-write ${o.minReplicasToWrite}`);
      expect(lines).toContain(`min-replicas-max-lag ${o.minReplicasMaxLagSeconds}`);
      expect(lines).toContain(`port ${o.port}`);
      expect(lines).toContain(`maxmemory-policy ${o.maxmemoryPolicy}`);
      expect(names.includes('maxmemory')).toBe(o.maxmemoryBytes !== undefined);
      // (The header comment mentions replicaof and the password in prose; no directive may.)
      for (const d of ['replicaof', 'slaveof', 'requirepass', 'masterauth']) expect(names).not.toContain(d);
      expect(directives(conf).join('\n')).not.toMatch(/requirepass|masterauth|replicaof/);
    }), { numRuns: 300 });
  });
});

/** Real redis.conf directives a user may well put in `redisConfig`. */
const userDirective = fc.constantFrom(
  'maxclients', 'hz', 'timeout', 'tcp-keepalive', 'appendfsync', 'save', 'repl-diskless-sync', 'repl-backlog-size',
  'replica-serve-stale-data', 'latency-monitor-threshold', 'slowlog-log-slower-than', 'notify-keyspace-events',
  'lazyfree-lazy-eviction', 'io-threads',
);

describe('redis.conf of the chart (settingsOf + renderFiles) properties', () => {
  it('for any accepted props, each directive appears once, with the min-replicas lines and no password', () => {
    const props = fc.record({
      replicas: fc.integer({ min: 0, max: 10 }),
      minReplicasMaxLagSeconds: fc.integer({ min: 1, max: 600 }),
      maxmemoryMi: fc.option(fc.integer({ min: 1, max: 1024 }), { nil: undefined }),
      redisPort: fc.integer({ min: 1, max: 65535 }),
      redisConfig: fc.dictionary(userDirective, fc.constantFrom('yes', 'no', '10', '300', '1mb', 'everysec', '900 1'), { maxKeys: 4 }),
    });
    fc.assert(fc.property(props, fc.nat(), (p, seed) => {
      const minReplicasToWrite = p.replicas === 0 ? 0 : seed % (p.replicas + 1);
      const s = settingsOf({
        replicas: p.replicas,
        minReplicasToWrite,
        minReplicasMaxLag: Duration.seconds(p.minReplicasMaxLagSeconds),
        maxmemory: p.maxmemoryMi === undefined ? undefined : Size.mebibytes(p.maxmemoryMi),
        redisPort: p.redisPort,
        sentinelPort: p.redisPort === 26379 ? 26380 : 26379,
        redisConfig: p.redisConfig,
      }, 'redis');
      const conf = renderFiles(s).redisConf;
      const names = directiveNames(conf);
      expect(duplicates(names)).toEqual([]);
      expect(directives(conf)).toContain(`min-replicas-to-write ${minReplicasToWrite}`);
      expect(directives(conf)).toContain(`min-replicas-max-lag ${p.minReplicasMaxLagSeconds}`);
      for (const d of ['replicaof', 'slaveof', 'requirepass', 'masterauth']) expect(names).not.toContain(d);
      expect(directives(conf).join('\n')).not.toMatch(/requirepass|masterauth|replicaof/);
    }), { numRuns: 300 });
  });

  it('the default chart renders min-replicas-to-write 1 / max-lag 10 and maxmemory 70% of 1Gi', () => {
    const conf = renderFiles(settingsOf({}, 'redis')).redisConf;
    expect(directives(conf)).toEqual(expect.arrayContaining([
      'min-replicas-to-write 1', 'min-replicas-max-lag 10', `maxmemory ${Math.floor(1024 ** 3 * 0.7)}`, 'maxmemory-policy noeviction', 'port 6379',
    ]));
  });

  // A directive the chart renders itself must not be rendered twice: redisConfig must either be
  // refused for it or replace the chart's line (Redis accumulates repeated `save` lines).
  it.each([
    ['save', '900 1'], ['appendfsync', 'always'], ['tcp-keepalive', '300'], ['repl-diskless-sync', 'no'], ['replica-serve-stale-data', 'no'],
  ])("redisConfig['%s'] is either refused or rendered exactly once with the user's value", (key, value) => {
    let conf: string;
    try {
      conf = renderFiles(settingsOf({ redisConfig: { [key]: value } }, 'redis')).redisConf;
    } catch (e) {
      expect((e as Error).message).toContain(`redisConfig['${key}']`);
      return;
    }
    const lines = directives(conf).filter((l) => l.split(/\s+/)[0] === key);
    expect(lines).toEqual([`${key} ${value}`]);
  });

  it('redisConfig directives land in redis.conf', () => {
    const conf = renderFiles(settingsOf({ redisConfig: { maxclients: '20000' } }, 'redis')).redisConf;
    expect(directives(conf)).toContain('maxclients 20000');
  });
});
