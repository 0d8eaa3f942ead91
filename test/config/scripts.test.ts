import { Duration } from 'cdk8s';
import * as fc from 'fast-check';
import {
  ScriptCommonOptions, renderPreStopScript, renderRedisProbeScript, renderRedisStartScript, renderSentinelProbeScript,
  renderSentinelStartScript,
} from '../../src/config/scripts';
import { RedisAuth, RedisSentinelChartProps } from '../../src';
import { PATHS, SCRIPT } from '../../src/settings';
import { renderFiles } from '../../src/shared-config';
import { find, settingsOf, synthChart } from '../support/synth';

/** The scripts ConfigMap of a chart with these props. */
const scriptsOfChart = (props: RedisSentinelChartProps): Record<string, string> => find(synthChart(props), 'ConfigMap', 'redis-scripts').data;

const common: ScriptCommonOptions = {
  masterName: 'mymaster',
  sentinelHosts: [0, 1, 2].map((i) => `redis-sentinel-${i}.redis-sentinel-headless.redis.svc.cluster.local`),
  sentinelPort: 26379,
  redisPort: 6379,
  authFile: '/etc/redis-auth/password',
  cliTimeoutSeconds: 3,
};

/** Every script of a deployment, by file name. */
function scriptsOf(o: ScriptCommonOptions): Record<string, string> {
  return {
    [SCRIPT.redisStart]: renderRedisStartScript({
      ...o, bootstrapMasterHost: 'redis-master-0.x', templateFile: '/etc/redis/redis.conf', configFile: '/run/redis/redis.conf', sentinelWaitSeconds: 20,
    }),
    [SCRIPT.sentinelStart]: renderSentinelStartScript({
      ...o, bootstrapMasterHost: 'redis-master-0.x', templateFile: '/etc/sentinel/sentinel.conf', configFile: '/data/sentinel.conf', resolveWaitSeconds: 30,
    }),
    [SCRIPT.preStop]: renderPreStopScript({ ...o, failoverWaitSeconds: 20 }),
    [SCRIPT.redisProbe]: renderRedisProbeScript(o),
    [SCRIPT.sentinelProbe]: renderSentinelProbeScript(o),
  };
}

/** The value of a `NAME='...'` (or `NAME=...`) assignment line, unquoted; undefined when the script has none. */
function maybeAssignment(script: string, name: string): string | undefined {
  const lines = script.split('\n').filter((l) => l.startsWith(`${name}=`));
  expect(lines.length).toBeLessThanOrEqual(1);
  if (lines.length === 0) return undefined;
  const raw = lines[0].slice(name.length + 1);
  // Undo the renderer's single-quoting: 'a'"'"'b' -> a'b.
  return raw.startsWith("'") ? raw.slice(1, -1).replace(/'"'"'/g, "'") : raw;
}

/** The value of an assignment the script must have. */
function assignment(script: string, name: string): string {
  const value = maybeAssignment(script, name);
  expect({ name, defined: value !== undefined }).toEqual({ name, defined: true });
  return value!;
}

/** The scripts that ask the Sentinels who the master is: they need the master name and every Sentinel. */
const ASKS_SENTINELS = [SCRIPT.redisStart, SCRIPT.sentinelStart, SCRIPT.preStop];

/** The constants the renderer may define. */
const CONSTANTS = ['MASTER_NAME', 'SENTINEL_HOSTS', 'SENTINEL_PORT', 'REDIS_PORT', 'AUTH_FILE', 'CLI_TIMEOUT'];

/** A `requirepass`/`masterauth`/`auth-pass` directive followed by anything but a shell variable is a literal password. */
const LITERAL_PASSWORD = /(requirepass|masterauth|auth-pass(\s+\S+)?)\s+(?!\$)\S/;

describe('the literal-password detector used below', () => {
  it('flags literal passwords and accepts runtime variables', () => {
    for (const bad of ['requirepass hunter2', 'echo "masterauth s3cret"', 'sentinel auth-pass mymaster s3cret', 'requirepass "x"']) {
      expect(bad).toMatch(LITERAL_PASSWORD);
    }
    for (const ok of ['echo "requirepass $pw"', 'echo "masterauth $pw"', 'echo "sentinel auth-pass $MASTER_NAME $pw"']) {
      expect(ok).not.toMatch(LITERAL_PASSWORD);
    }
  });
});

describe('every script', () => {
  // Backup on and a restore configured: every script is rendered.
  const everything: RedisSentinelChartProps = { backup: {}, restore: { file: 'latest' } };
  const scripts = scriptsOfChart(everything);

  it('is rendered, one per file name', () => {
    expect(Object.keys(scripts).sort()).toEqual(Object.values(SCRIPT).sort());
  });

  it.each(Object.values(SCRIPT))('%s starts with #!/bin/sh on its first line', (file) => {
    expect(scripts[file].startsWith('#!/bin/sh\n')).toBe(true);
  });

  it.each(Object.values(SCRIPT))('%s has no indented shebang and no shebang after line 1', (file) => {
    const lines = scripts[file].split('\n');
    for (const line of lines) expect(line).not.toMatch(/^\s+#!/);
    expect(lines.slice(1).some((l) => l.includes('#!'))).toBe(false);
  });

  it.each(Object.values(SCRIPT))('%s defines every constant it uses (set -u would abort otherwise)', (file) => {
    for (const c of CONSTANTS) {
      const used = new RegExp(`\\$(${c}\\b|\\{${c}\\b)`).test(scripts[file]);
      if (used) expect({ file, constant: c, defined: maybeAssignment(scripts[file], c) !== undefined }).toEqual({ file, constant: c, defined: true });
    }
  });

  it.each(ASKS_SENTINELS)('%s knows the master name and every Sentinel', (file) => {
    expect(assignment(scripts[file], 'MASTER_NAME')).toBe('mymaster');
    expect(assignment(scripts[file], 'SENTINEL_HOSTS').split(' ')).toHaveLength(3);
  });

  it.each(Object.values(SCRIPT))('%s stops on errors and unset variables (set -eu)', (file) => {
    expect(scripts[file].split('\n')).toContain('set -eu');
  });

  it.each(Object.values(SCRIPT))('%s has no CR characters and ends with a newline', (file) => {
    expect(scripts[file]).not.toMatch(/\r/);
    expect(scripts[file].endsWith('\n')).toBe(true);
  });

  it.each(Object.values(SCRIPT))('%s reads the password from the file, never holds one (auth on)', (file) => {
    expect(assignment(scripts[file], 'AUTH_FILE')).toBe(PATHS.authFile);
    expect(scripts[file]).not.toMatch(LITERAL_PASSWORD);
  });

  it.each(Object.values(SCRIPT))('%s has an empty AUTH_FILE when auth is off', (file) => {
    const off = scriptsOfChart({ ...everything, auth: RedisAuth.none() });
    expect(assignment(off[file], 'AUTH_FILE')).toBe('');
    expect(off[file]).not.toContain(PATHS.authFile);
  });
});

describe('the Redis start script', () => {
  const script = scriptsOf(common)[SCRIPT.redisStart];

  it('writes requirepass and masterauth at runtime from the password file only', () => {
    expect(script).toContain('REDISCLI_AUTH=$(cat "$AUTH_FILE")');
    expect(script).toContain('echo "requirepass $pw"');
    expect(script).toContain('echo "masterauth $pw"');
    expect(script).not.toMatch(LITERAL_PASSWORD);
  });

  it('announces the pod DNS name and only adds replicaof when another pod is master', () => {
    expect(script).toContain('echo "replica-announce-ip $SELF_FQDN"');
    expect(script).toMatch(/if \[ "\$host" != "\$SELF_FQDN" \]; then\n\s+echo "replicaof \$host \$port"/);
  });

  it('execs redis-server on the runtime config', () => {
    expect(script.trimEnd().split('\n').pop()).toBe('exec redis-server "$CONF_FILE"');
  });

  it('requires SELF_FQDN', () => {
    expect(script).toMatch(/\$\{SELF_FQDN:\?/);
  });
});

describe('the Sentinel start script', () => {
  const script = scriptsOf(common)[SCRIPT.sentinelStart];

  it('derives a stable myid from the pod name and execs redis-sentinel', () => {
    expect(script).toContain("MYID=$(printf '%s' \"$SELF_FQDN\" | sha1sum | cut -c1-40)");
    expect(script).toContain('echo "sentinel myid $MYID"');
    expect(script.trimEnd().split('\n').pop()).toBe('exec redis-sentinel "$CONF_FILE"');
  });

  it('writes requirepass and auth-pass at runtime from the password file only', () => {
    expect(script).toContain('echo "requirepass $pw"');
    expect(script).toContain('echo "sentinel auth-pass $MASTER_NAME $pw"');
    expect(script).not.toMatch(LITERAL_PASSWORD);
  });
});

describe('the preStop script', () => {
  it('waits the failover wait of the settings', () => {
    const s = settingsOf({ downAfter: Duration.seconds(7), failoverTimeout: Duration.seconds(30) }, 'redis');
    const script = renderFiles(s).scripts[SCRIPT.preStop];
    expect(assignment(script, 'WAIT')).toBe(String(s.failoverWaitSeconds));
    // At least down-after + failover-timeout.
    expect(s.failoverWaitSeconds).toBeGreaterThanOrEqual(7 + 30);
  });

  it('asks the Sentinels for a failover and pauses writes meanwhile', () => {
    const script = scriptsOf(common)[SCRIPT.preStop];
    expect(script).toContain('SENTINEL FAILOVER "$MASTER_NAME"');
    expect(script).toContain('CLIENT PAUSE');
  });

  it('once another master is named: becomes its replica, closes client connections, then lifts the pause', () => {
    const lines = scriptsOf(common)[SCRIPT.preStop].split('\n');
    const named = lines.findIndex((l) => l.includes('log "preStop: the Sentinels name $1:$2 as master"'));
    const after = (cmd: string) => named + lines.slice(named).findIndex((l) => l.includes(`cli -p "$REDIS_PORT" ${cmd}`));
    expect(named).toBeGreaterThan(0);
    const order = [after('REPLICAOF "$1" "$2"'), after('CLIENT KILL TYPE normal'), after('CLIENT UNPAUSE')];
    expect(order.every((i) => i > named)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});

describe('constants', () => {
  it('quotes the master name safely', () => {
    const scripts = scriptsOf({ ...common, masterName: "it's" });
    for (const [file, script] of Object.entries(scripts)) {
      if (!ASKS_SENTINELS.includes(file as any) && maybeAssignment(script, 'MASTER_NAME') === undefined) continue;
      expect(script.split('\n')).toContain(`MASTER_NAME='it'"'"'s'`);
      expect(assignment(script, 'MASTER_NAME')).toBe("it's");
    }
  });

  it('renders the ports and the cli timeout', () => {
    const scripts = scriptsOf({ ...common, redisPort: 6380, sentinelPort: 26380, cliTimeoutSeconds: 5 });
    for (const script of Object.values(scripts)) {
      expect(assignment(script, 'CLI_TIMEOUT')).toBe('5');
      for (const [c, v] of [['REDIS_PORT', '6380'], ['SENTINEL_PORT', '26380']]) {
        const value = maybeAssignment(script, c);
        if (value !== undefined) expect(value).toBe(v);
      }
    }
    // Those that talk to Redis or to the Sentinels have the port.
    for (const f of [SCRIPT.redisStart, SCRIPT.preStop, SCRIPT.redisProbe]) expect(assignment(scripts[f], 'REDIS_PORT')).toBe('6380');
    for (const f of [SCRIPT.redisStart, SCRIPT.sentinelStart, SCRIPT.preStop, SCRIPT.sentinelProbe]) expect(assignment(scripts[f], 'SENTINEL_PORT')).toBe('26380');
  });
});

// --- property tests ----------------------------------------------------------------------------

describe('script properties', () => {
  const oddSentinels = fc.integer({ min: 1, max: 7 }).map((k) => 2 * k + 1); // 3..15

  it('for sentinel counts 3..15 (odd), SENTINEL_HOSTS of each script (all that ask the Sentinels) lists every Sentinel FQDN exactly once', () => {
    fc.assert(fc.property(oddSentinels, fc.constantFrom('redis', 'cache', 'a', 'session-store'), fc.constantFrom('redis', 'data', 'prod-1'),
      (sentinels, name, namespace) => {
        const s = settingsOf({ sentinels, name, namespace }, 'redis');
        expect(s.sentinelFqdns).toHaveLength(sentinels);
        const scripts = renderFiles(s).scripts;
        for (const file of ASKS_SENTINELS) expect({ file, hasHosts: maybeAssignment(scripts[file], 'SENTINEL_HOSTS') !== undefined }).toEqual({ file, hasHosts: true });
        for (const [file, script] of Object.entries(scripts)) {
          const value = maybeAssignment(script, 'SENTINEL_HOSTS');
          if (value === undefined) continue; // a probe: never asks the Sentinels
          const hosts = value.split(' ');
          expect({ file, hosts: [...hosts].sort() }).toEqual({ file, hosts: [...s.sentinelFqdns].sort() });
          for (const fqdn of s.sentinelFqdns) expect(hosts.filter((h) => h === fqdn)).toHaveLength(1);
          for (let i = 0; i < sentinels; i++) {
            expect(hosts).toContain(`${name}-sentinel-${i}.${name}-sentinel-headless.${namespace}.svc.cluster.local`);
          }
        }
      }), { numRuns: 60 });
  });

  it('every script starts with #!/bin/sh and no line starts with whitespace followed by #!, for arbitrary options', () => {
    const options = fc.record({
      masterName: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/),
      sentinelHosts: fc.array(fc.stringMatching(/^[a-z][a-z0-9.-]{0,40}$/), { minLength: 1, maxLength: 15 }),
      sentinelPort: fc.integer({ min: 1, max: 65535 }),
      redisPort: fc.integer({ min: 1, max: 65535 }),
      authFile: fc.option(fc.constant(PATHS.authFile), { nil: undefined }),
      cliTimeoutSeconds: fc.integer({ min: 1, max: 30 }),
    });
    fc.assert(fc.property(options, (o) => {
      for (const script of Object.values(scriptsOf(o))) {
        expect(script.startsWith('#!/bin/sh\n')).toBe(true);
        expect(script).not.toMatch(/^\s+#!/m);
        expect(script).not.toMatch(LITERAL_PASSWORD);
      }
    }), { numRuns: 100 });
  });

  it('scripts never contain a password even when auth is on, whatever the settings', () => {
    const props = fc.record({
      authSecretName: fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/),
      authSecretKey: fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/),
      masterName: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/),
    });
    fc.assert(fc.property(props, (p) => {
      const s = settingsOf({ masterName: p.masterName, auth: RedisAuth.fromSecret({ secretName: p.authSecretName, secretKey: p.authSecretKey }) }, 'redis');
      for (const script of Object.values(renderFiles(s).scripts)) {
        expect(assignment(script, 'AUTH_FILE')).toBe(PATHS.authFile);
        expect(script).not.toMatch(LITERAL_PASSWORD);
      }
    }), { numRuns: 100 });
  });
});
