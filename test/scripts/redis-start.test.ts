/**
 * redis-start.sh run for real (busybox sh, the redis image's PATH), auth on:
 * - no Sentinel answers: the bootstrap pod really starts redis-server, fenced (how it leaves the
 *   fence, and the facts it keeps: cold-start.test.ts);
 * - real Sentinels answer: the pod follows the master they name, with redis-server stubbed on PATH
 *   to capture the config it would run (the master they name need not exist).
 */
import { execFileSync } from 'child_process';
import { readFileSync, statSync, writeFileSync } from 'fs';
import { join } from 'path';
import { PASSWORD, Sandbox, cli, confEscape, freePort, redisTemplate, safeRead, waitFor } from '../support/shell';

const BOOT = '127.0.3.1';
const OTHER = '127.0.3.2';
const S1 = '127.0.3.9';
const S2 = '127.0.3.10';
let box: Sandbox;
let port: number;
let sentinelPort: number;

beforeAll(async () => {
  box = new Sandbox();
  port = await freePort([BOOT, OTHER]);
  sentinelPort = await freePort([S1, S2]);
});

afterAll(() => box?.stopAll());

/** A pod's scripts directory and its redis.conf template (what the chart mounts read-only). */
function pod(name: string, ip: string, constants: Record<string, unknown> = {}): string {
  const d = box.scripts(name, { redisPort: port, bootstrapMasterHost: BOOT, ...constants });
  writeFileSync(join(box.root, name, 'redis.conf.template'), [...redisTemplate(ip, port, box.dir(join(name, 'data'))), ''].join('\n'));
  return d;
}

const runtimeConf = (name: string) => readFileSync(join(box.root, name, 'redis.conf'), 'utf8');
const appended = (name: string) => runtimeConf(name).split('\n').filter((l) => /^(replica-announce|requirepass|masterauth|replicaof)/.test(l));
const pw = `"${confEscape(PASSWORD)}"`;

describe('with no Sentinel answering', () => {
  it('the bootstrap pod starts fenced (a read-only replica of nothing, never promoted), the password from the file', async () => {
    const d = pod('boot', BOOT);
    const log = join(box.root, 'boot', 'out.log');
    box.start(d, 'redis-start.sh', box.env({ SELF_FQDN: BOOT }), log);
    await waitFor('the bootstrap pod to run fenced', () => cli(BOOT, port, 'INFO', 'replication').includes('master_port:1\r'), 20, [log]);
    expect(appended('boot')).toEqual([
      `replica-announce-ip ${BOOT}`, `replica-announce-port ${port}`, `requirepass ${pw}`, `masterauth ${pw}`, 'replicaof 127.0.0.1 1',
    ]);
    expect(runtimeConf('boot')).toMatch(/\nreplica-priority 0\n$/);
    // umask 077: the runtime config holds the password.
    expect(statSync(join(box.root, 'boot', 'redis.conf')).mode & 0o777).toBe(0o600);
    expect(safeRead(log)).toContain('no Sentinel answered: starting fenced (read-only replica of nothing, never promoted) until one names the master');
    expect(cli(BOOT, port, 'SET', 'k', 'v')).toMatch(/^READONLY/);
    // The password works (redis-cli with it), and nothing is served without it.
    expect(cli(BOOT, port, 'PING')).toBe('PONG');
    expect(execFileSync('redis-cli', ['-h', BOOT, '-p', String(port), 'PING'], { env: {} }).toString()).toMatch(/NOAUTH/);
  });

  it('refuses a password that spans lines', () => {
    const d = box.scripts('bad-password', { redisPort: port, authFile: join(box.root, 'two-lines') });
    writeFileSync(join(box.root, 'two-lines'), 'a\nb\n');
    writeFileSync(join(box.root, 'bad-password', 'redis.conf.template'), 'port 0\n');
    const r = box.run(d, 'redis-start.sh', [], box.env({ SELF_FQDN: BOOT }));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the password in .*two-lines is empty or spans lines: Redis cannot use it\n$/);
  });

  it('fails clearly without SELF_FQDN or a value of constants.sh', () => {
    const d = pod('unnamed', BOOT);
    const r = box.run(d, 'redis-start.sh');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/SELF_FQDN: SELF_FQDN must be set to the DNS name of this pod/);
    writeFileSync(join(d, 'constants.sh'), readFileSync(join(d, 'constants.sh'), 'utf8').replace(/^SENTINEL_WAIT=.*\n/m, ''));
    const r2 = box.run(d, 'redis-start.sh', [], box.env({ SELF_FQDN: BOOT }));
    expect(r2.status).not.toBe(0);
    expect(r2.stderr).toMatch(/SENTINEL_WAIT: missing from constants\.sh \(scripts ConfigMap\)/);
  });
});

describe('with Sentinels answering (redis-server stubbed)', () => {
  const stubbed = (name: string, self: string, hosts: string[]) => {
    const d = box.scripts(name, { redisPort: port, bootstrapMasterHost: BOOT, sentinelHosts: hosts, sentinelPort });
    writeFileSync(join(box.root, name, 'redis.conf.template'), 'port 0\n');
    const stub = box.stubs(`${name}-stub`, { 'redis-server': `cp "$1" "${join(box.root, name, 'captured.conf')}"` });
    const r = box.run(d, 'redis-start.sh', [], box.env({ SELF_FQDN: self }, stub));
    const captured = safeRead(join(box.root, name, 'captured.conf')).split('\n').filter((l) => /^replica(of|-announce-ip)/.test(l));
    return { ...r, captured };
  };

  beforeAll(async () => {
    // Two Sentinels at the same config epoch that disagree (a failover spreading): S1 names .5, S2 names .6.
    box.sentinel('s1', S1, sentinelPort, { host: '127.0.3.5', port }, ['sentinel config-epoch mymaster 4']);
    box.sentinel('s2', S2, sentinelPort, { host: '127.0.3.6', port }, ['sentinel config-epoch mymaster 4']);
    for (const s of [S1, S2]) await waitFor(`Sentinel ${s}`, () => cli(s, sentinelPort, 'PING') === 'PONG');
  });

  it('the bootstrap pod starts as replica of the master the Sentinels name', () => {
    const r = stubbed('boot-follows', BOOT, [S1]);
    expect(r.status).toBe(0);
    expect(r.captured).toEqual([`replica-announce-ip ${BOOT}`, `replicaof 127.0.3.5 ${port}`]);
    expect(r.stderr).toContain(`the Sentinels name 127.0.3.5:${port} as master of mymaster (config epoch 4)`);
  });

  it('a pod the Sentinels name starts as master', () => {
    const r = stubbed('named', '127.0.3.5', [S1]);
    expect(r.captured).toEqual(['replica-announce-ip 127.0.3.5']);
    expect(r.stderr).toContain('starting as master');
  });

  it('when Sentinels at the highest epoch disagree, a pod never takes the master role', () => {
    expect(stubbed('ambiguous-5', '127.0.3.5', [S1, S2]).captured).toContain(`replicaof 127.0.3.6 ${port}`);
    expect(stubbed('ambiguous-6', '127.0.3.6', [S1, S2]).captured).toContain(`replicaof 127.0.3.5 ${port}`);
  });
});
