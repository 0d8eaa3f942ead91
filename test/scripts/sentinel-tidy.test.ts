/**
 * sentinel-tidy.sh run for real (busybox sh, the redis image's PATH), auth on, beside three real
 * Sentinels (quorum 2) watching a real master and two replicas on 127.0.7.x. Names are the
 * addresses themselves here; which "pods" no longer exist is told by a stubbed `getent`/`nslookup`
 * (a file of gone names), standing in for the headless Service's DNS. The scale suite
 * (test/e2e/scale.test.ts) runs it in pods, with the cluster DNS.
 */
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { PASSWORD, Sandbox, cli, confEscape, freePort, safeRead, waitFor } from '../support/shell';

const MASTER = '127.0.7.1';
const R1 = '127.0.7.2';
const R2 = '127.0.7.3';
const S = ['127.0.7.11', '127.0.7.12', '127.0.7.13'];
let box: Sandbox;
let port: number;
let gone: string;
let stubs: string;
const tidyLogs: Record<string, string> = {};

/** A replica of MASTER on `ip`. */
const replica = (name: string, ip: string) => box.redisServer(name, ip, port, [`replicaof ${MASTER} ${port}`, `replica-announce-ip ${ip}`]);

/** A real Sentinel on `ip`, quorum 2, never failing over during the test (down-after 60 s). */
function sentinel(ip: string) {
  const d = box.dir(`sentinel-${ip}`);
  const conf = join(d, 'sentinel.conf');
  const pw = `"${confEscape(PASSWORD)}"`;
  writeFileSync(conf, [
    `port ${port}`, `bind ${ip}`, `dir ${d}`, 'protected-mode no', `sentinel announce-ip ${ip}`, `requirepass ${pw}`,
    `sentinel monitor mymaster ${MASTER} ${port} 2`, `sentinel auth-pass mymaster ${pw}`,
    'sentinel down-after-milliseconds mymaster 60000', '',
  ].join('\n'));
  return box.spawn('redis-sentinel', [conf], box.env(), join(d, 'sentinel.log'));
}

/** What Sentinel `ip` lists: its replicas and its peers (addresses, sorted). */
function tables(ip: string) {
  const addrs = (reply: string) => reply.split('\n').filter((_, i, a) => i > 0 && a[i - 1] === 'ip').sort();
  return { replicas: addrs(cli(ip, port, 'SENTINEL', 'REPLICAS', 'mymaster')), sentinels: addrs(cli(ip, port, 'SENTINEL', 'SENTINELS', 'mymaster')) };
}

/** The log lines of the tidy loop beside Sentinel `ip` that match `re`. */
const lines = (ip: string, re: RegExp) => safeRead(tidyLogs[ip]).split('\n').filter((l) => re.test(l));

beforeAll(async () => {
  box = new Sandbox();
  port = await freePort([MASTER, R1, R2, ...S]);
  gone = join(box.root, 'gone');
  writeFileSync(gone, '');
  stubs = box.stubs('dns', {
    getent: `grep -qxF "$2" '${gone}' && exit 2\nexit 0`,
    nslookup: 'exit 1',
  });
  box.redisServer('master', MASTER, port);
  replica('r1', R1);
  replica('r2', R2);
  S.forEach(sentinel);
  await waitFor('every Sentinel to know 2 replicas and 2 peers', () => S.every((ip) => {
    const t = tables(ip);
    return t.replicas.length === 2 && t.sentinels.length === 2;
  }), 30);
});

afterAll(() => box?.stopAll());

it('forgets a removed replica and a removed Sentinel, one Sentinel at a time, only once every existing replica is back', async () => {
  for (const ip of S) {
    const d = box.scripts(`tidy-${ip}`, { redisPort: port, sentinelPort: port, sentinelHosts: S });
    tidyLogs[ip] = join(box.root, `tidy-${ip}.log`);
    box.start(d, 'sentinel-tidy.sh', box.env({ SELF_FQDN: ip, TIDY_INTERVAL: '0.5', TIDY_GRACE: '2' }, stubs), tidyLogs[ip]);
  }
  // Scale-down: R2 and the third Sentinel go for good; R1 is only down (restarting).
  writeFileSync(gone, `${R2}\n${S[2]}\n`);
  for (const ip of [R2, R1, S[2]]) cli(ip, port, 'SHUTDOWN', 'NOSAVE');
  await waitFor('both tidy loops to wait for R1', () => S.slice(0, 2).every((ip) => lines(ip, new RegExp(`waiting: replica ${R1} is flagged slave,.*disconnected`)).length > 0), 20, S.map((ip) => tidyLogs[ip]));
  expect(S.slice(0, 2).map((ip) => lines(ip, /SENTINEL RESET/))).toEqual([[], []]);
  expect(tables(S[0])).toEqual({ replicas: [R1, R2], sentinels: [S[1], S[2]] });

  replica('r1', R1);
  await waitFor('exact tables on the remaining Sentinels', () => S.slice(0, 2).every((ip, i) => {
    const t = tables(ip);
    return t.replicas.join() === R1 && t.sentinels.join() === S[1 - i];
  }), 60, S.map((ip) => tidyLogs[ip]));

  // Each remaining Sentinel reset once; the second only after the first knew everyone again.
  const at = (l: string) => Date.parse(l.split(' ')[0]);
  const first = lines(S[0], /SENTINEL RESET mymaster done/);
  const second = lines(S[1], /SENTINEL RESET mymaster done/);
  expect([first.length, second.length]).toEqual([1, 1]);
  expect(first[0]).toContain(`forgetting ${R2} ${S[2]}`);
  const back = lines(S[0], /every live replica and Sentinel known again/);
  expect(back.length).toBe(1);
  // Reset just before Sentinel's next INFO of the master: it lists the replica again at once.
  expect(back[0]).toMatch(/ again [0-2]s after the reset$/);
  expect(at(second[0])).toBeGreaterThanOrEqual(at(back[0]));
  // Seen gone, the grace, then the wait for R1: no line names a reset before R1 was back.
  expect(readFileSync(tidyLogs[S[0]], 'utf8')).toMatch(new RegExp(`${R2.replace(/\./g, '\\.')} no longer resolves`));
});

it('does not judge names while its own name does not resolve; waits while fewer Sentinels than the quorum exist', async () => {
  writeFileSync(gone, `${S[0]}\n`);
  await waitFor('the DNS note', () => lines(S[0], /does not resolve: not judging other names/).length > 0, 10, [tidyLogs[S[0]]]);
  await waitFor('the quorum note', () => lines(S[1], /waiting: only 1 Sentinels exist, fewer than the quorum \(2\)/).length > 0, 10, [tidyLogs[S[1]]]);
  expect(S.slice(0, 2).map((ip) => lines(ip, /SENTINEL RESET mymaster done/).length)).toEqual([1, 1]);
  expect(tables(S[1])).toEqual({ replicas: [R1], sentinels: [S[0]] });
  writeFileSync(gone, '');
});
