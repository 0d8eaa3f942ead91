/**
 * lib.sh's current_master (what the Redis pods record as their facts, and follow) run for real: busybox
 * sh, the redis image's PATH, a real master, replica and Sentinel, auth on. During a failover a Sentinel
 * reports the new config epoch and the promoted replica's address at one moment, but the scripts read
 * them with two calls (SENTINEL MASTER, then get-master-addr-by-name). What users rely on: a pod never
 * records a master paired with an epoch it was not named at (the facts decide, after a cold restart,
 * which pod holds the newest data).
 */
import { writeFileSync } from 'fs';
import { join } from 'path';
import { Sandbox, cli, freePort, replyFields, safeRead, waitFor } from '../support/shell';

const MASTER = '127.0.8.1';
const REPLICA = '127.0.8.2';
const SENTINEL = '127.0.8.9';
let box: Sandbox;
let port: number;
let sentinelPort: number;

beforeAll(async () => {
  box = new Sandbox();
  port = await freePort([MASTER, REPLICA]);
  sentinelPort = await freePort([SENTINEL]);
});

afterAll(() => box?.stopAll());

test('the promotion landing between SENTINEL MASTER and get-master-addr-by-name: no answer from that Sentinel (not the old epoch with the new master); asked again, the new epoch with the new master', async () => {
  box.redisServer('master', MASTER, port);
  box.redisServer('replica', REPLICA, port, [`replicaof ${MASTER} ${port}`, `replica-announce-ip ${REPLICA}`]);
  box.sentinel('sentinel', SENTINEL, sentinelPort, { host: MASTER, port }, ['sentinel failover-timeout mymaster 60000']);
  const field = (name: string) => replyFields(cli(SENTINEL, sentinelPort, 'SENTINEL', 'MASTER', 'mymaster').split('\n'))[name];
  // A replica Sentinel can promote: connected, with a runid (its INFO seen).
  await waitFor('the Sentinel to know the replica', () => {
    // The one replica's entry (its field/value lines; nothing before the Sentinel has seen it).
    const r = replyFields(cli(SENTINEL, sentinelPort, 'SENTINEL', 'REPLICAS', 'mymaster').split('\n'));
    return r.ip === REPLICA && r.flags === 'slave' && r['master-link-status'] === 'ok' && !!r.runid;
  }, 30);

  // The replica stopped: the failover waits for its promotion (SLAVEOF NO ONE sent, not executed) at epoch 0.
  const replicaPid = Number(cli(REPLICA, port, 'INFO', 'server').match(/^process_id:(\d+)/m)?.[1]);
  expect(replicaPid).toBeGreaterThan(0);
  process.kill(replicaPid, 'SIGSTOP');
  expect(cli(SENTINEL, sentinelPort, 'SENTINEL', 'FAILOVER', 'mymaster')).toBe('OK');
  await waitFor('the failover to wait for the promotion', () => field('flags')?.includes('failover_in_progress') && field('failover-state') === 'wait_promotion', 10);
  expect(field('config-epoch')).toBe('0');

  // A stand-in redis-cli: the first get-master-addr-by-name resumes the replica and waits (polling the
  // real Sentinel) until the promotion is seen (epoch 1), then asks the real Sentinel.
  const dir = box.dir('current-master');
  const marks = join(dir, 'marks');
  const stub = box.stubs('promotion-between-calls', {
    'redis-cli': [
      `case "$*" in *get-master-addr-by-name*) if [ ! -e "${marks}" ]; then`,
      `  echo resumed > "${marks}"; kill -CONT ${replicaPid}`,
      '  i=0',
      `  until "${box.bin}/redis-cli" -h ${SENTINEL} -p ${sentinelPort} --raw SENTINEL MASTER mymaster | busybox tr -d "\\r" | busybox awk 'NR % 2 == 1 { k = $0; next } k == "config-epoch" && $0 == 1 { f = 1 } END { exit !f }'; do`,
      '    i=$((i + 1)); [ $i -lt 100 ] || break; busybox sleep 0.1',
      '  done',
      `  echo "epoch 1 seen after $i polls" >> "${marks}"`,
      'fi ;; esac',
      `exec "${box.bin}/redis-cli" "$@"`,
    ].join('\n'),
  });
  const scripts = box.scripts('current-master', { redisPort: port, redisHosts: [MASTER, REPLICA], sentinelHosts: [SENTINEL], sentinelPort, cliTimeoutSeconds: 15 });
  const ask = `#!/bin/sh\nset -eu\n. "$(dirname "$0")/lib.sh"\nload_auth\ncurrent_master "" ""\n`;
  writeFileSync(join(scripts, 'ask.sh'), ask);
  const first = box.run(scripts, 'ask.sh', [], box.env({}, stub), 30_000);
  // The transition did fall between the calls.
  expect(safeRead(marks)).toMatch(/^resumed\nepoch 1 seen after \d+ polls\n$/);
  expect({ status: first.status, answer: first.stdout.trim(), log: first.stderr }).toEqual({ status: 0, answer: '', log: '' });
  const second = box.run(scripts, 'ask.sh', [], box.env({}, stub), 30_000);
  expect({ status: second.status, answer: second.stdout.trim() }).toEqual({ status: 0, answer: `1 ${REPLICA} ${port}` });
});
