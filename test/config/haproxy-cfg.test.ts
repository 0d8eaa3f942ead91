/**
 * haproxy.cfg of the master endpoint: what is routed where, the checks, no secret, and the file
 * accepted by the real haproxy 2.6 (`haproxy -c`). Behaviour with real servers: test/integration/master-endpoint.test.ts.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as fc from 'fast-check';
import { HaproxyConfigOptions, renderHaproxyConfig, sentinelMajority } from '../../src/config/haproxy-cfg';
import { makeCerts } from '../support/certs';
import { SHELL_FILES } from '../../src/scripts/embedded.generated';

const O: HaproxyConfigOptions = {
  masterName: 'mymaster',
  redis: ['redis-master-0', 'redis-replica-0', 'redis-replica-1'].map((name) => ({ name, address: `${name}.h.redis.svc.cluster.local` })),
  sentinels: [0, 1, 2].map((i) => ({ name: `redis-sentinel-${i}`, address: `redis-sentinel-${i}.sh.redis.svc.cluster.local` })),
  redisPort: 6379,
  sentinelPort: 26379,
  masterListenPort: 6379,
  replicasListenPort: 6380,
  metricsPort: 8404,
  auth: true,
  checkIntervalMs: 500,
  fenceLuaPath: '/usr/local/etc/haproxy/endpoint-fence.lua',
  resolvers: true,
  idleTimeoutSeconds: 3600,
};
const cfg = renderHaproxyConfig(O);

/** The lines of one section (`frontend x`, `backend y`). */
function section(text: string, header: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(header);
  if (start < 0) throw new Error(`no section ${header}`);
  const end = lines.findIndex((l, i) => i > start && /^\S/.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).filter((l) => l.trim());
}

/** `haproxy -c` on a rendered file (the Lua path pointed at the shipped file). */
function haproxyCheck(text: string): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-cfg-'));
  try {
    writeFileSync(join(dir, 'endpoint-fence.lua'), SHELL_FILES['endpoint-fence.lua']);
    writeFileSync(join(dir, 'haproxy.cfg'), text.split('/usr/local/etc/haproxy/endpoint-fence.lua').join(join(dir, 'endpoint-fence.lua')));
    const r = spawnSync('haproxy', ['-c', '-f', join(dir, 'haproxy.cfg')], { encoding: 'utf8', env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin`, REDIS_PASSWORD: 'x' } });
    if (r.error) throw new Error(`haproxy does not run (${r.error.message}): install the Debian package haproxy (scripts/install-test-deps.sh)`);
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('renderHaproxyConfig', () => {
  it('with TLS: checks connect as the server line says, verify the CA and the server name, present the client certificate; accepted by haproxy -c', () => {
    const dir = mkdtempSync(join(tmpdir(), 'haproxy-tls-'));
    try {
      const certs = makeCerts(dir);
      const text = renderHaproxyConfig({ ...O, tls: { caFile: certs.ca, certFile: certs.cert } });
      for (const name of ['named_redis-master-0', 'master_redis-master-0', 'replicas']) expect(section(text, `backend ${name}`)).toContain('  tcp-check connect default');
      const servers = text.split('\n').filter((l) => l.startsWith('  server '));
      expect(servers.length).toBe(O.redis.length * 2 + O.redis.length * O.sentinels.length);
      for (const l of servers) {
        const address = l.split(' ')[4].split(':')[0];
        expect(l).toContain(`check-ssl verify required ca-file ${certs.ca} crt ${certs.cert} check-sni ${address} verifyhost ${address}`);
      }
      expect(text).toContain('  ssl-load-extra-del-ext\n  ssl-load-extra-files key');
      const r = haproxyCheck(text);
      expect({ status: r.status, out: r.out }).toEqual({ status: 0, out: expect.stringContaining('Configuration file is valid') });
      // Without TLS nothing of it.
      expect(cfg).not.toMatch(/check-ssl|connect default|ssl-load/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is accepted by haproxy 2.6 (haproxy -c), with and without auth and resolvers', () => {
    // Without resolvers, names are resolved once at start (libc): loopback IPs here.
    const ips = (list: HaproxyConfigOptions['redis'], base: number) => list.map((x, i) => ({ name: x.name, address: `127.0.0.${base + i}` }));
    for (const o of [O, { ...O, auth: false, resolvers: false, redis: ips(O.redis, 10), sentinels: ips(O.sentinels, 20) }]) {
      const r = haproxyCheck(renderHaproxyConfig(o));
      expect({ status: r.status, out: r.out }).toEqual({ status: 0, out: expect.stringContaining('Configuration file is valid') });
    }
  });

  it('routes a new connection to a pod only when a majority names it, no other pod has a majority, and it says role:master', () => {
    const fe = section(cfg, 'frontend master');
    expect(fe).toContain('  bind :6379');
    // The count of Sentinels naming redis-replica-0 (the second pod): each Sentinel's server in its backend, UP or not.
    expect(fe.filter((l) => l.includes('set-var(txn.named1)'))).toEqual([
      '  tcp-request content set-var(txn.named1) int(0)',
      ...[0, 1, 2].map((i) => `  tcp-request content set-var(txn.named1) srv_is_up(named_redis-replica-0/redis-sentinel-${i}),add(txn.named1)`),
    ]);
    expect(fe).toContain('  acl named_redis-replica-0 var(txn.named1) -m int ge 2');
    // Not nbsrv(): a worker stopping after a reload counts 0 servers in its stopped backends.
    expect(cfg).not.toContain('nbsrv(');
    expect(fe).toContain('  use_backend master_redis-replica-0 if named_redis-replica-0 !named_redis-master-0 !named_redis-replica-1 { srv_is_up(master_redis-replica-0/redis-replica-0) }');
    expect(fe.filter((l) => l.includes('use_backend'))).toHaveLength(3);
    expect(fe[fe.length - 1]).toBe('  default_backend no_master');
    expect(section(cfg, 'backend no_master').some((l) => l.includes('server '))).toBe(false);
  });

  it('asks every Sentinel whether it names the pod, exactly (name and port), closing the connection so a mismatch is final at once', () => {
    const be = section(cfg, 'backend named_redis-replica-1');
    expect(be.filter((l) => l.includes(' server '))).toEqual([0, 1, 2].map((i) =>
      `  server redis-sentinel-${i} redis-sentinel-${i}.sh.redis.svc.cluster.local:26379 check inter 500ms fastinter 100ms rise 1 fall 2 resolvers cluster resolve-prefer ipv4 init-addr last,none`));
    expect(be).toContain('  tcp-check send "*3\\r\\n\\$8\\r\\nSENTINEL\\r\\n\\$23\\r\\nget-master-addr-by-name\\r\\n\\$8\\r\\nmymaster\\r\\n\\"\\r\\n"');
    expect(be).toContain('  tcp-check expect string "\\r\\nredis-replica-1.h.redis.svc.cluster.local\\r\\n\\$4\\r\\n6379\\r\\n"');
  });

  it('checks role:master on each pod and closes its sessions (with a reset) when it is marked down', () => {
    const be = section(cfg, 'backend master_redis-master-0');
    expect(be).toContain('  option nolinger');
    expect(be).toContain('  tcp-check expect string "\\r\\nrole:master\\r\\n"');
    expect(be.find((l) => l.includes(' server '))).toMatch(/ on-marked-down shutdown-sessions$/);
    expect(be.join('\n')).toContain('QUIT');
  });

  it('the replicas port balances over replicas with the link up and no sync, never a master', () => {
    expect(section(cfg, 'frontend replicas')).toContain('  bind :6380');
    const be = section(cfg, 'backend replicas');
    for (const s of ['role:slave', 'master_link_status:up', 'master_sync_in_progress:0']) expect(be).toContain(`  tcp-check expect string "\\r\\n${s}\\r\\n"`);
    expect(be.filter((l) => l.includes(' server '))).toHaveLength(3);
    expect(be.filter((l) => l.includes(' server ')).every((l) => l.endsWith('on-marked-down shutdown-sessions'))).toBe(true);
  });

  it('authenticates checks from $REDIS_PASSWORD, RESP-framed by length; without auth no AUTH step; no password in the file', () => {
    expect(cfg).toContain('tcp-check send-lf "*2\\r\\n\\$4\\r\\nAUTH\\r\\n\\$%[env(REDIS_PASSWORD),length]\\r\\n%[env(REDIS_PASSWORD)]\\r\\n"');
    expect(cfg.match(/AUTH/g)).toHaveLength(3 * 2 + 1);
    expect(renderHaproxyConfig({ ...O, auth: false })).not.toContain('AUTH');
  });

  it('serves /metrics, /healthz and /ready (200 only while a Sentinel majority names some pod) on the metrics port', () => {
    const st = section(cfg, 'frontend stats');
    expect(st).toContain('  bind :8404');
    expect(st).toContain('  http-request use-service prometheus-exporter if { path /metrics }');
    expect(st).toContain('  monitor-uri /healthz');
    expect(st).toContain('  http-request set-var(txn.named0) srv_is_up(named_redis-master-0/redis-sentinel-2),add(txn.named0) if { path /ready }');
    expect(st.find((l) => l.includes('status 200'))).toContain('{ path /ready } { var(txn.named0) -m int ge 2 } || { path /ready } { var(txn.named1) -m int ge 2 }');
  });

  it('re-resolves pod names every second, drops a name at once on NXDOMAIN but keeps the last address while the DNS does not answer; loads the fence', () => {
    expect(section(cfg, 'resolvers cluster')).toEqual(expect.arrayContaining(['  parse-resolv-conf', '  hold valid 1s', '  timeout resolve 1s', '  hold nx 1s',
      '  hold timeout 30s', '  hold refused 30s', '  hold other 30s']));
    expect(cfg).toContain('  lua-load /usr/local/etc/haproxy/endpoint-fence.lua');
    expect(renderHaproxyConfig({ ...O, resolvers: false })).not.toContain('resolvers');
  });

  it('a strict majority of the Sentinels: two pods can never both have one', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 99 }), (n) => 2 * sentinelMajority(n) > n && sentinelMajority(n) <= n));
    expect([1, 3, 5, 7].map(sentinelMajority)).toEqual([1, 2, 3, 4]);
  });

  it('fails when given no servers, names a check could not carry, or clashing ports', () => {
    expect(() => renderHaproxyConfig({ ...O, redis: [] })).toThrow(/at least one Redis pod/);
    expect(() => renderHaproxyConfig({ ...O, masterName: 'a b' })).toThrow(/masterName \('a b'\)/);
    expect(() => renderHaproxyConfig({ ...O, redis: [{ name: 'x y', address: 'h' }] })).toThrow(/server 'x y'/);
    expect(() => renderHaproxyConfig({ ...O, metricsPort: 6380 })).toThrow(/listen ports 6379, 6380, 6380 must differ/);
  });
});
