/**
 * lib.sh's acl_reload (with `acl`: every 10 s in redis-start.sh and sentinel-start.sh) run for real:
 * busybox sh, the redis image's PATH, a real redis-server. The kubelet updates a Secret's files by
 * swapping them all at once; acl_reload reads one user's three files one after another, so a swap
 * can fall between two of those reads. What users rely on: a password rotation's step never leaves a
 * user without its new password for a round because of when the kubelet swapped the files.
 */
import { existsSync, writeFileSync } from 'fs';
import { join } from 'path';
import { spawnSync } from 'child_process';
import { PASSWORD, Sandbox, freePort, safeRead } from '../support/shell';

const IP = '127.0.0.1';
let box: Sandbox;
let port: number;

beforeAll(async () => {
  box = new Sandbox();
  port = await freePort([IP]);
});

afterAll(() => box?.stopAll());

/** redis-cli as <user> <password> on the server at port p: its output (or error). */
function cliAs(p: number, user: string, password: string, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-h', IP, '-p', String(p), '--no-auth-warning', '--user', user, '--pass', password, '--raw', ...args],
    { env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 3000 });
  return `${r.stdout}${r.stderr}`.trim();
}

/** AUTH <user> <password> on the first case's server: PONG, or its error. */
const auth = (user: string, password: string) => cliAs(port, user, password, 'PING');

/**
 * A real redis-server (name, port p, config lines) and the scripts (options) with reload.sh: load_auth then one
 * acl_reload, as the watchers run it, state in <name>/state. Resolves once user can log in with password.
 */
async function reloadSetup(name: string, p: number, conf: string[], options: Parameters<Sandbox['scripts']>[1], user: string, password: string) {
  const state = box.dir(join(name, 'state'));
  box.redisServer(`${name}-redis`, IP, p, conf);
  const scripts = box.scripts(name, options);
  writeFileSync(join(scripts, 'reload.sh'), `#!/bin/sh\nset -eu\n. "$(dirname "$0")/lib.sh"\nload_auth\nacl_reload "$REDIS_PORT" "$ACL_USERS_REDIS" "${state}"\n`);
  for (let i = 0; cliAs(p, user, password, 'PING') !== 'PONG'; i++) {
    if (i > 100) throw new Error(`redis-server did not start: ${safeRead(join(box.root, `${name}-redis`, 'server.log'))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return scripts;
}

/**
 * The kubelet, as a `cat` in front of the image's: runs shell `swap` right after the second read of `file` (the
 * first is acl_files_sum's checksum, the second acl_read's), which is logged to `reads`.
 */
function kubeletAt(name: string, file: string, reads: string, swap: string): string {
  writeFileSync(reads, '');
  return box.stubs(name, {
    cat: [
      'busybox cat "$@"; s=$?',
      `if [ "$1" = "${file}" ]; then echo read >> "${reads}"; [ "$(busybox wc -l < "${reads}")" -ne 2 ] || { ${swap}; }; fi`,
      'exit $s',
    ].join('\n'),
  });
}

test('a Secret update that lands between the reads of one user\'s files (rotation step 2) is read again at once: the user takes the new password after that one call', async () => {
  const dir = box.dir('acl-reload');
  // Two users whose passwords come from two Secrets (two volumes: the kubelet updates each at its own moment).
  const appDir = box.dir(join('acl-reload', 'app-secret'));
  const backupDir = box.dir(join('acl-reload', 'acl-secret'));
  // Rotation step 1 is done for both: <key> (old) and <key>-next (new), and the server accepts both.
  for (const [d, user] of [[appDir, 'app'], [backupDir, 'backup']]) {
    writeFileSync(join(d, user), `old-${user}-password`);
    writeFileSync(join(d, `${user}-next`), `new-${user}-password`);
  }
  const users = join(dir, 'users');
  writeFileSync(users, `app ${join(appDir, 'app')} ~* +@all\nbackup ${join(backupDir, 'backup')} ~* +@all\n`);
  const scripts = await reloadSetup('acl-reload', port, ['app', 'backup'].map((u) => `user ${u} on >old-${u}-password >new-${u}-password ~* +@all`), {
    redisPort: port, redisHosts: [IP],
    acl: { redisUsers: users, sentinelUsers: users, internalDir: backupDir, exporterAuthDir: '' },
  }, 'app', 'old-app-password');
  // The first call loads the files as they are (the checksum later calls compare against).
  expect(box.run(scripts, 'reload.sh').status).toBe(0);

  // Step 2 (<key> new, <key>-previous old, <key>-next gone) reaches the backup Secret's files: the next call
  // sees a change and reads every user's files. The app Secret's files are swapped to step 2 by the "kubelet"
  // (a `cat` in front of the image's) right after that call has read `app` for acl_read (its second read of
  // `app`: the first is the checksum's), before it reads app-next and app-previous.
  const step2 = (d: string, user: string) => [
    `rm -f "${join(d, `${user}-next`)}"`,
    `printf %s old-${user}-password > "${join(d, `${user}-previous`)}"`,
    `printf %s new-${user}-password > "${join(d, user)}"`,
  ].join('; ');
  spawnSync('sh', ['-c', step2(backupDir, 'backup')]);
  const reads = join(dir, 'app-reads');
  const kubelet = kubeletAt('kubelet-swap', join(appDir, 'app'), reads, step2(appDir, 'app'));
  const second = box.run(scripts, 'reload.sh', [], box.env({}, kubelet));
  expect(second.status).toBe(0);
  // The swap did happen inside the call (the stub read `app` at least twice and step 2 is in place).
  expect({ appReads: safeRead(reads).split('\n').filter(Boolean).length >= 2, appNext: existsSync(join(appDir, 'app-next')) })
    .toEqual({ appReads: true, appNext: false });
  // Without the second reading, app would accept only its old password until the next call (10 s later).
  expect(['app', 'backup'].map((u) => [auth(u, `new-${u}-password`), auth(u, `old-${u}-password`)])).toEqual([['PONG', 'PONG'], ['PONG', 'PONG']]);
  expect(second.output).toContain('ACL: the password files changed while they were read (a Secret update): reading them again');
  // A third call finds nothing changed since the second.
  expect(box.run(scripts, 'reload.sh').output).not.toContain('ACL:');
});

test('a reading that drops the default user\'s password in use (a sync that skipped a step arriving mid-reading): the next reading logs in with one the server takes', async () => {
  const dir = box.dir('acl-reload-default');
  const secret = box.dir(join('acl-reload-default', 'secret'));
  const port2 = await freePort([IP]);
  const authFile = join(secret, 'default');
  writeFileSync(authFile, PASSWORD);
  writeFileSync(join(secret, 'app'), 'app-password');
  const users = join(dir, 'users');
  writeFileSync(users, `app ${join(secret, 'app')} ~* +@all\n`);
  const scripts = await reloadSetup('acl-reload-default', port2, ['user app on >app-password ~* +@all'], {
    redisPort: port2, redisHosts: [IP], authFile,
    acl: { redisUsers: users, sentinelUsers: users, internalDir: secret, exporterAuthDir: '' },
  }, 'app', 'app-password');
  expect(box.run(scripts, 'reload.sh').status).toBe(0);
  // Step 1 for the default user (<key>-next = the new password) reaches the files; while the next call reads
  // them (after its read of app's files, before the default user's, which come last), the next sync lands with
  // <key> = the new password alone: the scripts' password in use (the old one) is then dropped by that reading.
  writeFileSync(`${authFile}-next`, 'new-default-password');
  const kubelet = kubeletAt('kubelet-skip', join(secret, 'app'), join(dir, 'app-reads'),
    `rm -f "${authFile}-next"; printf %s new-default-password > "${authFile}"`);
  const second = box.run(scripts, 'reload.sh', [], box.env({}, kubelet));
  expect(second.status).toBe(0);
  expect(second.output).toContain('reading them again');
  expect(second.output).not.toContain('could not set');
  // The server takes the new password alone, and nobody was refused on the way (the scripts kept a password it takes).
  expect({ newPassword: cliAs(port2, 'default', 'new-default-password', 'PING'), oldPassword: cliAs(port2, 'default', PASSWORD, 'PING').includes('WRONGPASS') })
    .toEqual({ newPassword: 'PONG', oldPassword: true });
  const log = cliAs(port2, 'default', 'new-default-password', 'ACL', 'LOG');
  // The only refusal is this test's own check of the old password just above.
  expect((log.match(/^count$/gm) ?? []).length).toBe(1);
  expect(log).toMatch(/^count\n1\n/);
});
