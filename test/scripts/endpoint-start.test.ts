/**
 * endpoint-start.sh (the master endpoint's HAProxy with TLS) with Debian's real haproxy 2.6: it runs
 * HAProxy in master-worker mode, reloads it when the certificate files change (a renewal), keeps
 * serving across the reload, and passes the kubelet's SIGTERM on.
 */
import { ChildProcess } from 'child_process';
import { readFileSync, writeFileSync } from 'fs';
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
  expect(text()).not.toMatch(/certificate files changed/);
  const before = workers();

  issue(tlsDir);
  await waitFor('the reload', () => /certificate files changed; reloading HAProxy/.test(text()) && workers() > before, 20, [log]);
  expect(text().match(/certificate files changed/g)).toHaveLength(1);
  await waitFor('HAProxy to listen after the reload', async () => (await accepts(port)) || undefined, 10, [log]);

  const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
  p.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 10_000))]);
  expect(typeof code === 'number' || code === null).toBe(true);
  expect(await accepts(port)).toBe(false);
});
