/**
 * sentinel-start.sh and sentinel-probe.sh run for real (busybox sh, the redis image's PATH), auth
 * on, from the chart's rendered sentinel.conf template. redis-sentinel is stubbed on PATH to
 * capture the config the script writes (Sentinel rewrites its file as it starts), except in the
 * last test, which starts a real Sentinel through the script and probes it.
 */
import { createHash } from 'crypto';
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { renderSentinelConf } from '../../src/config/sentinel-conf';
import { Socket } from 'net';
import { PASSWORD, Sandbox, cli, confEscape, freePort, holdClientName, safeRead, waitFor } from '../support/shell';

const SELF = '127.0.4.1';
const PEER = '127.0.4.9';
const BOOT = 'redis-master-0.redis-master-headless.redis.svc.cluster.local';
// The one Redis pod of these tests: empty, answering on 6379 (a new install).
const EMPTY_REDIS = '127.0.4.20';
let box: Sandbox;
let sentinelPort: number;
let named: Socket | undefined;

beforeAll(async () => {
  box = new Sandbox();
  // The probe asks localhost, as in a pod.
  sentinelPort = await freePort([SELF, PEER, '127.0.0.1']);
  box.redisServer('empty-redis', EMPTY_REDIS, 6379);
  await waitFor('the empty Redis pod', () => cli(EMPTY_REDIS, 6379, 'PING') === 'PONG');
  // Its facts, as its start script publishes them: none yet.
  named = holdClientName(EMPTY_REDIS, 6379, 'rs-facts:none');
  await waitFor('its facts published', () => cli(EMPTY_REDIS, 6379, 'CLIENT', 'LIST').includes('name=rs-facts:none'));
});

afterAll(() => {
  named?.destroy();
  box?.stopAll();
});

const myid = (fqdn: string) => createHash('sha1').update(fqdn).digest('hex');
const pw = `"${confEscape(PASSWORD)}"`;

/** A Sentinel pod's scripts directory with the chart's sentinel.conf as its template. */
function pod(name: string, hosts: string[], bind?: string): string {
  const d = box.scripts(name, { redisPort: 6379, bootstrapMasterHost: BOOT, sentinelHosts: hosts, sentinelPort, redisHosts: [EMPTY_REDIS] });
  const conf = renderSentinelConf({
    port: sentinelPort, dataDir: box.dir(join(name, 'data')), masterName: 'mymaster', masterHost: BOOT, masterPort: 6379, quorum: 2,
    downAfterMilliseconds: 60_000, failoverTimeoutMilliseconds: 10_000, parallelSyncs: 1,
  });
  writeFileSync(join(box.root, name, 'sentinel.conf.template'), bind ? conf.replace(/^bind .*$/m, `bind ${bind}`) : conf);
  return d;
}

/** Runs the script with redis-sentinel stubbed; returns the config it would start with. */
function startStubbed(name: string, hosts: string[], saved?: string) {
  const d = pod(name, hosts);
  if (saved !== undefined) writeFileSync(join(box.root, name, 'sentinel.conf'), saved);
  const stub = box.stubs(`${name}-stub`, { 'redis-sentinel': `cp "$1" "${join(box.root, name, 'captured.conf')}"` });
  const r = box.run(d, 'sentinel-start.sh', [], box.env({ SELF_FQDN: SELF }, stub));
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
  const conf = safeRead(join(box.root, name, 'captured.conf'));
  // The script replaces the config file in place; the stub got the same file.
  expect(readFileSync(join(box.root, name, 'sentinel.conf'), 'utf8')).toBe(conf);
  const lines = conf.split('\n');
  return {
    log: r.stderr,
    monitor: lines.filter((l) => l.startsWith('sentinel monitor ')),
    // What the script appends after the template.
    appended: lines.slice(lines.findIndex((l) => l.startsWith('sentinel myid'))).filter((l) => l !== ''),
  };
}

it('with no live peer, no saved state and every (empty) Redis pod answering: monitors the bootstrap master, writes myid, announce-ip, auth and epoch 0', () => {
  const c = startStubbed('bootstrap', [SELF, PEER]);
  expect(c.monitor).toEqual([`sentinel monitor mymaster ${BOOT} 6379 2`]);
  expect(c.appended).toEqual([
    `sentinel myid ${myid(SELF)}`,
    `sentinel announce-ip ${SELF}`,
    `requirepass ${pw}`,
    `sentinel auth-pass mymaster ${pw}`,
    'sentinel config-epoch mymaster 0',
    'sentinel current-epoch 0',
  ]);
  expect(c.log).toContain(`monitoring mymaster at ${BOOT}:6379 (config epoch 0), from what the Redis pods hold (no Sentinel had state)`);
});

it('with saved state only: monitors the saved master with its epochs', () => {
  const saved = ['sentinel monitor mymaster 10.0.0.7 6380 2', 'sentinel config-epoch mymaster 7', 'sentinel current-epoch 9', ''].join('\n');
  const c = startStubbed('saved', [SELF, PEER], saved);
  expect(c.monitor).toEqual(['sentinel monitor mymaster 10.0.0.7 6380 2']);
  expect(c.appended.slice(-2)).toEqual(['sentinel config-epoch mymaster 7', 'sentinel current-epoch 9']);
  expect(c.log).toContain('from its own saved state');
});

describe('with a live peer Sentinel', () => {
  beforeAll(async () => {
    box.sentinel('peer', PEER, sentinelPort, { host: '127.0.4.5', port: 6390 }, ['sentinel config-epoch mymaster 4']);
    await waitFor('the peer Sentinel', () => cli(PEER, sentinelPort, 'PING') === 'PONG');
  });

  it('follows the peer over older saved state (highest config epoch wins), never asking itself', () => {
    const saved = ['sentinel monitor mymaster 10.0.0.7 6380 2', 'sentinel config-epoch mymaster 2', 'sentinel current-epoch 3', ''].join('\n');
    const c = startStubbed('peer-wins', [SELF, PEER], saved);
    expect(c.monitor).toEqual(['sentinel monitor mymaster 127.0.4.5 6390 2']);
    expect(c.appended.slice(-2)).toEqual(['sentinel config-epoch mymaster 4', 'sentinel current-epoch 4']);
    expect(c.log).toContain('monitoring mymaster at 127.0.4.5:6390 (config epoch 4), from the live Sentinels');
  });

  it('keeps newer saved state over the peer', () => {
    const saved = ['sentinel monitor mymaster 10.0.0.8 6379 2', 'sentinel config-epoch mymaster 6', 'sentinel current-epoch 6', ''].join('\n');
    expect(startStubbed('saved-wins', [SELF, PEER], saved).monitor).toEqual(['sentinel monitor mymaster 10.0.0.8 6379 2']);
  });

  it('starts a real Sentinel that keeps its stable myid and passes sentinel-probe.sh', async () => {
    const d = pod('real', [SELF, PEER], `${SELF} 127.0.0.1`);
    const log = join(box.root, 'real', 'out.log');
    box.start(d, 'sentinel-start.sh', box.env({ SELF_FQDN: SELF }), log);
    await waitFor('the Sentinel to answer', () => cli(SELF, sentinelPort, 'PING') === 'PONG', 20, [log]);
    expect(cli(SELF, sentinelPort, 'SENTINEL', 'MYID')).toBe(myid(SELF));
    expect(cli(SELF, sentinelPort, 'SENTINEL', 'get-master-addr-by-name', 'mymaster')).toBe('127.0.4.5\n6390');
    expect(box.run(d, 'sentinel-probe.sh')).toMatchObject({ status: 0, output: '' });
  });
});

it('sentinel-probe.sh fails when the Sentinel does not answer', async () => {
  const d = box.scripts('probe-closed', { redisPort: 6379, sentinelPort: await freePort(['127.0.0.1']) });
  expect(box.run(d, 'sentinel-probe.sh')).toMatchObject({ status: 1, stdout: "PING answered ''\n" });
});
