/**
 * endpoint-start.sh (the master endpoint's HAProxy with TLS) with Debian's real haproxy 2.6: it runs
 * HAProxy in master-worker mode, reloads it when the certificate files change (a renewal), keeps
 * serving across the reload, and passes the kubelet's SIGTERM on.
 */
import { ChildProcess, execFileSync } from 'child_process';
import { readFileSync, writeFileSync } from 'fs';
import * as http from 'http';
import * as net from 'net';
import { join } from 'path';
import { issue, makeCerts } from '../support/certs';
import { Sandbox, freePort, waitFor } from '../support/shell';

jest.setTimeout(60_000);
const box = new Sandbox();
afterAll(() => box.stopAll());

/** Resolves when a TCP connection to 127.0.0.1:port is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

test('reloads HAProxy when the certificate files change, serving throughout; SIGTERM stops it', async () => {
  const d = box.scripts('endpoint', { redisPort: 6379 });
  const tlsDir = join(box.dir('endpoint'), 'tls');
  makeCerts(tlsDir);
  const port = await freePort(['127.0.0.1']);
  const cfg = join(box.dir('endpoint'), 'haproxy.cfg');
  // What the chart's config does with TLS: the client certificate (key beside it) and the CA, read at start.
  writeFileSync(cfg, [
    'global', '  ssl-load-extra-del-ext', '  ssl-load-extra-files key',
    'defaults', '  mode tcp', '  timeout connect 1s', '  timeout client 10s', '  timeout server 10s',
    'frontend fe', `  bind 127.0.0.1:${port}`, '  default_backend be',
    'backend be', `  server s1 127.0.0.1:1 check-ssl verify required ca-file ${tlsDir}/ca.crt crt ${tlsDir}/tls.crt`, '',
  ].join('\n'));
  const log = join(box.dir('endpoint'), 'out.log');
  const env = { ...box.env({ TLS_DIR: tlsDir, TLS_CHECK_SECONDS: '1' }), PATH: `${box.bin}:/usr/sbin:/usr/bin` };
  const p: ChildProcess = box.spawn('busybox', ['sh', join(d, 'endpoint-start.sh'), cfg], env, log);
  const text = () => readFileSync(log, 'utf8');
  await waitFor('HAProxy to listen', async () => (await accepts(port)) || undefined, 20, [log]);
  const workers = () => (text().match(/New worker/gi) ?? []).length;
  expect(text()).not.toMatch(/files changed/);
  const before = workers();

  issue(tlsDir);
  await waitFor('the reload', () => /certificate or password files changed; reloading HAProxy/.test(text()) && workers() > before, 20, [log]);
  expect(text().match(/certificate or password files changed/g)).toHaveLength(1);
  await waitFor('HAProxy to listen after the reload', async () => (await accepts(port)) || undefined, 10, [log]);

  const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
  p.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 10_000))]);
  expect(typeof code === 'number' || code === null).toBe(true);
  // HAProxy's master can exit before its workers have finished exiting (seen with a SIGTERM right after a
  // reload: the script had reaped the master while a worker still held the listener). In a pod they all go
  // with the container; here the port closes once the workers are gone.
  await waitFor('HAProxy\'s workers to close the port', async () => !(await accepts(port)) || undefined, 10,
    [log]);
});

/** The status of GET http://127.0.0.1:<port>/ (0 when nothing answers). */
function httpStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', timeout: 1000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', () => resolve(0));
    req.on('timeout', () => { req.destroy(); resolve(0); });
  });
}

/** Two different free ports on 127.0.0.1 (a port is free until something binds it: ask again on a repeat). */
async function twoFreePorts(): Promise<[number, number]> {
  const a = await freePort(['127.0.0.1']);
  let b = await freePort(['127.0.0.1']);
  while (b === a) b = await freePort(['127.0.0.1']);
  return [a, b];
}

test('with PASSWORD_FILE: the checks log in with the file\'s password (quotes, $ and \\ in it), and again after it changes (a rotation)', async () => {
  const d = box.scripts('endpoint-pw', { redisPort: 6379 });
  const dir = box.dir('endpoint-pw');
  const [redisPort, port] = await twoFreePorts();
  const oldPw = 'old "pw" $HOME \\ x';
  const newPw = 'new \'pw\' ${PATH} \\\\';
  box.spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { PATH: '/usr/bin:/bin' }, join(dir, 'redis.log'));
  const cli = (...args: string[]) => execFileSync('redis-cli', ['-p', String(redisPort), ...args]).toString().trim();
  await waitFor('redis-server', () => { try { return cli('PING') === 'PONG' || undefined; } catch { return undefined; } }, 10, [join(dir, 'redis.log')]);
  expect(cli('ACL', 'SETUSER', 'endpoint', 'on', `>${oldPw}`, 'resetchannels', '-@all', '+ping', '+info')).toBe('OK');
  const pwFile = join(dir, 'password');
  writeFileSync(pwFile, oldPw);
  const cfg = join(dir, 'haproxy.cfg');
  // The library's check: AUTH <user> $REDIS_PASSWORD, RESP-framed (renderHaproxyConfig's authSteps).
  writeFileSync(cfg, [
    'defaults', '  mode tcp', '  timeout connect 1s', '  timeout client 10s', '  timeout server 10s', '  timeout check 1s',
    // 200 while the server's check passes, 503 once it fails (fall 1).
    'frontend ready', '  mode http', `  bind 127.0.0.1:${port}`, '  http-request return status 200 if { nbsrv(be) ge 1 }', '  http-request return status 503',
    'backend be', '  option tcp-check', '  tcp-check connect',
    '  tcp-check send-lf "*3\\r\\n\\$4\\r\\nAUTH\\r\\n\\$8\\r\\nendpoint\\r\\n\\$%[env(REDIS_PASSWORD),length]\\r\\n%[env(REDIS_PASSWORD)]\\r\\n"',
    '  tcp-check expect string +OK',
    `  server s1 127.0.0.1:${redisPort} check inter 200ms rise 1 fall 1`, '',
  ].join('\n'));
  const log = join(dir, 'out.log');
  const env = { ...box.env({ PASSWORD_FILE: pwFile, RUN_DIR: dir, TLS_CHECK_SECONDS: '1' }), PATH: `${box.bin}:/usr/sbin:/usr/bin` };
  box.spawn('busybox', ['sh', join(d, 'endpoint-start.sh'), cfg], env, log);
  await waitFor('HAProxy to answer', async () => (await httpStatus(port)) !== 0 || undefined, 20, [log]);
  // A server starts UP; a check every 200 ms with fall 1 would have taken it down by now if AUTH failed.
  await new Promise((r) => setTimeout(r, 1500));
  expect(await httpStatus(port)).toBe(200);
  // The password is in the run directory's file only, never on a command line or in haproxy.cfg.
  expect(readFileSync(cfg, 'utf8')).not.toContain('old');
  expect(readFileSync(join(dir, 'auth.cfg'), 'utf8')).toContain('setenv REDIS_PASSWORD');

  // Redis takes the new password only: the checks fail (the control: they do log in with the file's password).
  expect(cli('ACL', 'SETUSER', 'endpoint', 'resetpass', `>${newPw}`)).toBe('OK');
  await waitFor('the server DOWN', async () => (await httpStatus(port)) === 503 || undefined, 10, [log]);
  // The file follows (the kubelet's update of the Secret): HAProxy reloads and its checks pass again.
  writeFileSync(pwFile, newPw);
  await waitFor('the reload', () => /password files changed; reloading HAProxy/.test(readFileSync(log, 'utf8')) || undefined, 20, [log]);
  await waitFor('the server UP with the new password', async () => (await httpStatus(port)) === 200 || undefined, 20, [log]);
});

test('a state file left by an earlier run of the container (RUN_DIR outlives it) is not loaded at start: only a reload uses the saved states', async () => {
  const d = box.scripts('endpoint-state', { redisPort: 6379 });
  const dir = box.dir('endpoint-state');
  const [port, statsPort] = await twoFreePorts();
  const pwFile = join(dir, 'password');
  writeFileSync(pwFile, 'pw');
  // What a reload before a container restart saved: its server down (a master since demoted, say).
  const state = join(dir, 'servers.state');
  writeFileSync(state, '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n'
    + '3 be 1 s1 127.0.0.1 0 0 1 1 100 8 2 0 6 0 0 0 - 1 - 0 0 - - 0\n');
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, [
    'global', `  stats socket ipv4@127.0.0.1:${statsPort} level user`, `  server-state-file ${state}`,
    'defaults', '  mode tcp', '  timeout connect 1s', '  timeout client 10s', '  timeout server 10s', '  load-server-state-from-file global',
    'frontend ready', '  mode http', `  bind 127.0.0.1:${port}`, '  http-request return status 200 if { nbsrv(be) ge 1 }', '  http-request return status 503',
    'backend be', `  server s1 127.0.0.1:${port}`, '',
  ].join('\n'));
  const log = join(dir, 'out.log');
  const env = { ...box.env({ PASSWORD_FILE: pwFile, RUN_DIR: dir, STATS_PORT: String(statsPort), TLS_CHECK_SECONDS: '1' }), PATH: `${box.bin}:/usr/sbin:/usr/bin` };
  box.spawn('busybox', ['sh', join(d, 'endpoint-start.sh'), cfg], env, log);
  await waitFor('HAProxy to answer', async () => (await httpStatus(port)) !== 0 || undefined, 20, [log]);
  // Started from no state: the server (no check) is up, and HAProxy says it found no state file.
  expect(await httpStatus(port)).toBe(200);
  expect(readFileSync(log, 'utf8')).toMatch(/Can't open global server state file/);
});
