/**
 * The loopback integration test (test/support/loopback.ts) with `acl`: every component logs in as its
 * own user, allowed exactly the rights src/acl.ts gives it: replicas as `replication`, the Sentinels as
 * `sentinel` on Redis and `sentinel-peer` on each other, the backup script as `backup`, the exporter as
 * `exporter`; an application user within its rules. Proof that the rights are enough: the deployment works
 * (bootstrap, a SIGKILL failover that needs the Sentinels' vote, a restarted Sentinel, a backup, a scrape)
 * and no server's ACL LOG holds a denial at the end.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { internalPasswordFile } from '../../src/acl';
import { SCRIPT } from '../../src/settings';
import { PASSWORD, aclPassword, describeBasics, loopback } from '../support/loopback';

const APP = { name: 'app', rules: '~app:* +@read +@write +info +role', secretName: 'app-redis' };
const lb = loopback({ ipBase: 220, props: { acl: { users: [APP] } } });
beforeAll(() => lb.setUp());
afterAll(() => lb.tearDown());
jest.setTimeout(60_000);

/** redis-cli as ACL user `user` with `password`, no default-user password; stdout+stderr. */
function as(inst: { ip: string; port: number }, user: string, password: string, ...args: string[]): string {
  try {
    return execFileSync('redis-cli', ['--user', user, '-h', inst.ip, '-p', String(inst.port), '--raw', ...args], {
      env: { PATH: process.env.PATH, REDISCLI_AUTH: password }, timeout: 3000, stdio: ['ignore', 'pipe', 'pipe'],
    }).toString().trim();
  } catch (e: any) {
    return `${e.stdout ?? ''}${e.stderr ?? ''}`.trim();
  }
}

/** `CLIENT LIST` of an instance as one record per connection. */
function clients(inst: Parameters<typeof lb.cli>[0]): Array<Record<string, string>> {
  return lb.cli(inst, 'CLIENT', 'LIST').split('\n').filter(Boolean)
    .map((line) => Object.fromEntries(line.trim().split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])));
}

const servers = () => lb.instances().filter((i) => /^(redis|sentinel)-/.test(i.name));

/** Every user's password file (the Secrets' mounted files, shared by every process here). */
function passwordFiles(): Record<string, string> {
  const root = lb.root();
  return {
    default: join(root, 'auth', 'password'),
    ...Object.fromEntries(['replication', 'sentinel', 'sentinel-peer', 'backup', 'endpoint'].map((u) => [u, join(root, 'acl', 'internal', u)])),
    app: join(root, 'acl', 'users', 'app', 'password'),
  };
}

/** The ACL LOG of each server that has entries (each one a refused command, key, channel or login). */
/** The default user's password now (the rotation test changes it). */
const admin = { pw: PASSWORD };
const denials = () => servers().map((i) => {
  const log = as(i, 'default', admin.pw, 'ACL', 'LOG');
  if (/^(WRONGPASS|NOAUTH|Could not connect)/m.test(log)) throw new Error(`cannot read the ACL LOG of ${i.name}: ${log}`);
  return { inst: i.name, log };
}).filter((x) => x.log !== '');

describe('rendered configs and scripts with ACL users and real redis-server and redis-sentinel', () => {
  describeBasics(lb);

  test('replicas log in as replication, the Sentinels as sentinel on Redis and as sentinel-peer on each other', async () => {
    const master = lb.redisIps.indexOf(lb.masterAddr(lb.sentinel(0)));
    expect(master).toBeGreaterThanOrEqual(0);
    await lb.waitFor('every replica and Sentinel connected to the master', () => {
      const c = clients(lb.redis(master));
      return c.filter((x) => x.flags === 'S').length === 2 && c.filter((x) => /^sentinel-.*-cmd$/.test(x.name)).length === 3;
    });
    const onMaster = clients(lb.redis(master));
    expect([...new Set(onMaster.filter((x) => x.flags === 'S').map((x) => x.user))]).toEqual(['replication']);
    expect([...new Set(onMaster.filter((x) => /^sentinel-/.test(x.name)).map((x) => x.user))]).toEqual(['sentinel']);
    const onSentinel = clients(lb.sentinel(0)).filter((x) => /^sentinel-.*-cmd$/.test(x.name));
    expect(onSentinel.length).toBeGreaterThanOrEqual(2);
    expect([...new Set(onSentinel.map((x) => x.user))]).toEqual(['sentinel-peer']);
  });

  test('the config files hold hashes of the users\' passwords; in plain text only those the process sends', () => {
    const redisConf = readFileSync(join(lb.redis(1).dir, 'run', 'redis.conf'), 'utf8');
    const sentinelConf = readFileSync(join(lb.sentinel(1).dir, 'data', 'sentinel.conf'), 'utf8');
    for (const user of ['replication', 'sentinel', 'exporter', 'backup', 'endpoint', 'app']) {
      expect(redisConf).toMatch(new RegExp(`^user ${user} on #[0-9a-f]{64} `, 'm'));
    }
    for (const user of ['sentinel-peer', 'exporter', 'backup', 'endpoint', 'app']) {
      expect(sentinelConf).toMatch(new RegExp(`^user ${user} on #[0-9a-f]{64} `, 'm'));
    }
    // In plain text only what the process sends: Redis masterauth (replication), Sentinel auth-pass
    // (sentinel) and sentinel-pass (sentinel-peer). No other user's password, in any quoting.
    const plain = (text: string, users: string[]) => users.filter((u) => text.includes(`${u} 'pw'`));
    expect(plain(redisConf, ['sentinel', 'sentinel-peer', 'backup', 'endpoint', 'app'])).toEqual([]);
    expect(plain(sentinelConf, ['replication', 'backup', 'endpoint', 'app'])).toEqual([]);
    const exporterPw = readFileSync(join(lb.redis(1).dir, 'exporter', 'password'), 'utf8');
    expect(exporterPw).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(redisConf).not.toContain(exporterPw);
    // Sentinel's CONFIG REWRITE (at a failover) may have quoted them.
    expect(redisConf).toMatch(/^masteruser "?replication"?$/m);
    expect(redisConf).toMatch(/^masterauth "replication 'pw' /m);
    expect(sentinelConf).toMatch(/^sentinel auth-user mymaster "?sentinel"?$/m);
    expect(sentinelConf).toMatch(/^sentinel sentinel-user "?sentinel-peer"?$/m);
  });

  test('no server refused the deployment anything (bootstrap, failover, a restarted Sentinel): every ACL LOG is empty', () => {
    expect(denials()).toEqual([]);
  });

  test('an application user works within its rules and is refused outside them, on Redis and on the Sentinels', () => {
    const master = lb.redisIps.indexOf(lb.masterAddr(lb.sentinel(0)));
    const pw = aclPassword('app');
    // Discovery through a Sentinel, as the app.
    expect(as(lb.sentinel(2), 'app', pw, 'SENTINEL', 'get-master-addr-by-name', lb.s.masterName).split('\n')[0]).toBe(lb.redisIps[master]);
    expect(as(lb.redis(master), 'app', pw, 'SET', 'app:1', 'v')).toBe('OK');
    expect(as(lb.redis(master), 'app', pw, 'GET', 'app:1')).toBe('v');
    expect(as(lb.redis(master), 'app', pw, 'SET', 'other:1', 'v')).toMatch(/NOPERM/);
    expect(as(lb.redis(master), 'app', pw, 'CONFIG', 'GET', 'masterauth')).toMatch(/NOPERM/);
    expect(as(lb.sentinel(0), 'app', pw, 'SENTINEL', 'RESET', '*')).toMatch(/NOPERM/);
    expect(as(lb.sentinel(0), 'app', pw, 'SENTINEL', 'CONFIG', 'GET', 'sentinel-pass')).toMatch(/NOPERM/);
    // A wrong password, and a user of the deployment used for what it is not for.
    expect(lb.rawCli(lb.redis(master), [], 'AUTH', 'app', 'wrong')).toMatch(/^WRONGPASS/);
    expect(lb.rawCli(lb.sentinel(0), [], 'AUTH', 'app', 'wrong')).toMatch(/^WRONGPASS/);
    expect(as(lb.redis(master), 'backup', aclPassword('backup'), 'SET', 'app:2', 'v')).toMatch(/NOPERM/);
    // Each pod's exporter password is its own: another pod's is refused.
    const other = readFileSync(join(lb.redis((master + 1) % 3).dir, 'exporter', 'password'), 'utf8');
    expect(lb.rawCli(lb.redis(master), [], 'AUTH', 'exporter', other)).toMatch(/^WRONGPASS/);
    expect(as(lb.redis(master), 'replication', aclPassword('replication'), 'KEYS', '*')).toMatch(/NOPERM/);
    // The default user keeps the auth password (the scripts use it).
    expect(as(lb.redis(master), 'default', PASSWORD, 'PING')).toBe('PONG');
    // These refusals were the test's: clear them for the last test.
    for (const inst of servers()) lb.cli(inst, 'ACL', 'LOG', 'RESET');
  });

  test('the backup script, as backup (the only password its pod mounts), writes a verified snapshot', () => {
    const pod = lb.otherPod('backup', '127.0.0.1', internalPasswordFile('backup').replace(/^\/etc\/redis-acl/, join(lb.root(), 'acl')));
    const dir = join(pod.dir, 'backup');
    mkdirSync(dir, { recursive: true });
    const r = lb.runScript(pod, SCRIPT.backup, [], {
      REDIS_USER: 'backup', BACKUP_DIR: dir, BACKUP_PREFIX: 'cache', BACKUP_RETAIN: '2', BACKUP_STALE_MINUTES: '10', WORK_DIR: join(pod.dir, 'run'),
    });
    expect({ status: r.status, output: r.output }).toEqual({ status: 0, output: expect.stringMatching(/backup ok: cache-.*, [0-9]+ keys, from the replica/) });
    expect(readdirSync(dir).filter((f) => /^cache-.*\.rdb$/.test(f))).toHaveLength(1);
  });

  test('the exporter, as exporter (with --config-command=-), scrapes Redis and a Sentinel without an error', async () => {
    const procs: ChildProcess[] = [];
    try {
      const targets = [[lb.redis(0), '127.0.0.228:9121'], [lb.sentinel(0), '127.0.0.229:9121']] as const;
      for (const [inst, listen] of targets) {
        const log = join(inst.dir, 'exporter.log');
        // The pod's own password, made by its init container (the pod's JSON map names localhost;
        // here the exporter reaches the instance at its loopback address).
        const map = JSON.parse(readFileSync(join(inst.dir, 'exporter', 'passwords.json'), 'utf8'));
        expect(Object.keys(map)).toEqual([`redis://localhost:${inst.port}`]);
        expect(map[`redis://localhost:${inst.port}`]).toBe(readFileSync(join(inst.dir, 'exporter', 'password'), 'utf8'));
        const file = join(inst.dir, 'exporter', 'loopback.json');
        writeFileSync(file, JSON.stringify({ [`redis://${inst.ip}:${inst.port}`]: Object.values(map)[0] }));
        procs.push(spawn('prometheus-redis-exporter', [`--redis.addr=redis://${inst.ip}:${inst.port}`, '--config-command=-', `--redis.password-file=${file}`, `--web.listen-address=${listen}`], {
          env: { PATH: process.env.PATH, REDIS_USER: 'exporter' }, stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')],
        }));
      }
      for (const [inst, listen] of targets) {
        const metrics = await lb.waitFor(`the exporter of ${inst.name} to answer`, () => {
          try {
            return execFileSync('busybox', ['wget', '-q', '-O', '-', `http://${listen}/metrics`], { timeout: 3000 }).toString();
          } catch {
            return undefined;
          }
        });
        expect(metrics).toMatch(/^redis_up 1$/m);
        expect(metrics).toMatch(/^redis_exporter_last_scrape_error\{err=""\} 0$/m);
        if (inst.name.startsWith('sentinel')) {
          expect(metrics).toMatch(/^redis_sentinel_master_ok_slaves\{.*\} 2$/m);
          expect(metrics).toMatch(/^redis_sentinel_master_ok_sentinels\{.*\} 3$/m);
        }
        const log = readFileSync(join(inst.dir, 'exporter.log'), 'utf8');
        // Against a Sentinel it logs once that LATENCY is an unknown command there (not a refusal); 1.45
        // logs loading its password file at level error.
        expect(log.split('\n').filter((l) => /level=error|NOPERM/.test(l) && !/unknown command 'LATENCY'|Loaded 1 entries from/.test(l))).toEqual([]);
      }
    } finally {
      for (const p of procs) p.kill('SIGKILL');
    }
  });

  test('rotation: every password (the default user\'s too) changes in three steps of the Secrets, with no failover and no dropped link', async () => {
    const files = passwordFiles();
    const users = Object.keys(files);
    const oldPw = (u: string) => (u === 'default' ? PASSWORD : aclPassword(u));
    const newPw = (u: string) => `${oldPw(u)} rotated`;
    const accepts = (inst: Parameters<typeof lb.rawCli>[0], u: string, pw: string) => lb.rawCli(inst, [], 'AUTH', u, pw) === 'OK';
    // Which users exist on which server.
    const on = (inst: { name: string }) => users.filter((u) => (inst.name.startsWith('redis') ? u !== 'sentinel-peer' : !['replication', 'sentinel'].includes(u)));
    const asAdmin = (inst: { ip: string; port: number }, ...args: string[]) => as(inst, 'default', admin.pw, ...args);
    const epoch = () => lb.fields(asAdmin(lb.sentinel(0), 'SENTINEL', 'MASTER', lb.s.masterName).split('\n'))['config-epoch'];
    const epochBefore = epoch();
    const master = lb.masterAddr(lb.sentinel(0));
    const replicaLinks = () => lb.redisIps.filter((ip) => ip !== master).map((ip) => {
      const info = asAdmin({ ip, port: lb.s.redisPort }, 'INFO', 'replication');
      return `${/master_link_status:(\w+)/.exec(info)?.[1]}`;
    });
    const t0 = Date.now();

    // Step 1: <key>-next holds the new password; every server comes to accept both.
    for (const u of users) writeFileSync(`${files[u]}-next`, newPw(u));
    for (const inst of servers()) {
      for (const u of on(inst)) await lb.waitFor(`${inst.name} to accept the new password of ${u}`, () => accepts(inst, u, newPw(u)) && accepts(inst, u, oldPw(u)), 40);
    }
    const step1 = Date.now() - t0;

    // Step 2: <key> the new one, <key>-previous the old one, -next gone. The processes send the new one.
    for (const u of users) {
      writeFileSync(files[u], newPw(u));
      writeFileSync(`${files[u]}-previous`, oldPw(u));
      rmSync(`${files[u]}-next`);
    }
    admin.pw = newPw('default');
    for (const i of [0, 1, 2]) {
      await lb.waitFor(`redis-${i} to send the new replication password`, () => asAdmin(lb.redis(i), 'CONFIG', 'GET', 'masterauth').split('\n')[1] === newPw('replication'), 40);
      await lb.waitFor(`sentinel-${i} to send its new passwords`, () => {
        const conf = readFileSync(join(lb.sentinel(i).dir, 'data', 'sentinel.conf'), 'utf8');
        // Sentinel writes both unquoted when it saves its config (sentinel.c); the start script
        // regenerates the file at every start, so a password with spaces still works.
        return /^sentinel auth-pass mymaster "?sentinel .*rotated"?$/m.test(conf) && /^sentinel sentinel-pass "?sentinel-peer .*rotated"?$/m.test(conf);
      }, 40);
    }
    const step2 = Date.now() - t0;

    // Step 3: -previous gone: the old passwords are refused everywhere, the new ones accepted.
    for (const u of users) rmSync(`${files[u]}-previous`);
    for (const inst of servers()) {
      for (const u of on(inst)) await lb.waitFor(`${inst.name} to refuse the old password of ${u}`, () => !accepts(inst, u, oldPw(u)) && accepts(inst, u, newPw(u)), 40);
    }
    const step3 = Date.now() - t0;
    expect(epoch()).toBe(epochBefore);
    expect(asAdmin(lb.sentinel(0), 'SENTINEL', 'get-master-addr-by-name', lb.s.masterName).split('\n')[0]).toBe(master);
    expect(replicaLinks()).toEqual(['up', 'up']);

    // New links log in with the new passwords: a replica's link cut, a Sentinel restarted.
    const replica = lb.instances().find((x) => x.ip === lb.redisIps.find((ip) => ip !== master))!;
    asAdmin(replica, 'CLIENT', 'KILL', 'TYPE', 'master');
    await lb.waitFor('the replica to sync again as replication', () => /master_link_status:up/.test(asAdmin(replica, 'INFO', 'replication')));
    lb.stop(lb.sentinel(1));
    lb.start(lb.sentinel(1), SCRIPT.sentinelStart);
    await lb.waitFor('the restarted Sentinel to see its peers and replicas', () => {
      const m = lb.fields(asAdmin(lb.sentinel(1), 'SENTINEL', 'MASTER', lb.s.masterName).split('\n'));
      return m['num-other-sentinels'] === '2' && m['num-slaves'] === '2' && m.flags === 'master';
    }, 40);
    expect(asAdmin(lb.sentinel(1), 'SENTINEL', 'CKQUORUM', lb.s.masterName)).toMatch(/^OK 3 usable/);
    expect(epoch()).toBe(epochBefore);
    // The refusals of the old passwords above were the test's own.
    for (const inst of servers()) asAdmin(inst, 'ACL', 'LOG', 'RESET');
    // eslint-disable-next-line no-console
    console.log(`[loopback acl] rotation of ${users.length} users: step 1 accepted everywhere after ${step1} ms, step 2 sent after ${step2} ms, step 3 old refused after ${step3} ms; no failover, replica links up throughout`);
   }, 240_000);

  // Seen in the e2e rotation: a pod's kubelet skipped a step of the Secret (<key> new, the old one gone at once)
  // and the scripts, which set the default user first while logging in with its old password, locked themselves out.
  test('the default user\'s files skip a step (<key>-next, then <key> alone): the scripts keep control and apply later changes', async () => {
    const files = passwordFiles();
    const asAdmin = (inst: { ip: string; port: number }, ...args: string[]) => as(inst, 'default', admin.pw, ...args);
    const accepts = (inst: Parameters<typeof lb.rawCli>[0], u: string, pw: string) => lb.rawCli(inst, [], 'AUTH', u, pw) === 'OK';
    const d1 = admin.pw;
    const d2 = `${d1} skipped`;
    writeFileSync(`${files.default}-next`, d2);
    for (const inst of servers()) await lb.waitFor(`${inst.name} to accept both default passwords`, () => accepts(inst, 'default', d2) && accepts(inst, 'default', d1), 40);
    // Straight to the last step: no <key>-previous holding the one the scripts log in with.
    writeFileSync(files.default, d2);
    rmSync(`${files.default}-next`);
    admin.pw = d2;
    for (const inst of servers()) await lb.waitFor(`${inst.name} to refuse the old default password`, () => !accepts(inst, 'default', d1) && accepts(inst, 'default', d2), 40);
    // A later change still reaches every server: the scripts did not lock themselves out.
    const appNext = `${aclPassword('app')} next`;
    writeFileSync(`${files.app}-next`, appNext);
    for (const inst of servers()) await lb.waitFor(`${inst.name} to accept app's next password`, () => accepts(inst, 'app', appNext), 40);
    rmSync(`${files.app}-next`);
    for (const inst of servers()) await lb.waitFor(`${inst.name} to refuse app's next password again`, () => !accepts(inst, 'app', appNext), 40);
    for (const inst of servers()) expect(readFileSync(inst.log, 'utf8')).not.toMatch(/could not set the passwords/);
    // The refusals above were the test's own.
    for (const inst of servers()) asAdmin(inst, 'ACL', 'LOG', 'RESET');
  }, 120_000);

  test('no server refused the backup or the exporter anything: every ACL LOG is empty (last test)', () => {
    expect(denials()).toEqual([]);
  });
});
