/**
 * sentinel-prestop.sh run for real (busybox sh, the redis image's PATH), auth on: a Sentinel that runs
 * no failover stops at once. (Held while it runs one: test/e2e/rolling-update.test.ts, where the
 * Sentinels roll during hand-overs.)
 */
import { Sandbox, cli, freePort, waitFor } from '../support/shell';

const LOCAL = '127.0.0.1';
let box: Sandbox;
let sentinelPort: number;

beforeAll(async () => {
  box = new Sandbox();
  sentinelPort = await freePort([LOCAL]);
});

afterAll(() => box?.stopAll());

const preStop = (name: string) =>
  box.run(box.scripts(name, { redisPort: 1, sentinelPort, failoverWaitSeconds: 5 }), 'sentinel-prestop.sh', [], box.env({}));

it('returns at once when this pod\'s Sentinel does not answer', () => {
  const r = preStop('down');
  expect({ status: r.status, log: r.stderr }).toEqual({ status: 0, log: '' });
});

it('returns at once when this Sentinel runs no failover', async () => {
  // A master nobody serves, never failed over within the test (down-after 60 s).
  box.sentinel('sentinel', LOCAL, sentinelPort, { host: '127.0.5.9', port: 1 });
  await waitFor('the Sentinel to answer', () => cli(LOCAL, sentinelPort, 'SENTINEL', 'MASTER', 'mymaster').includes('flags'));
  const r = preStop('idle');
  expect({ status: r.status, log: r.stderr }).toEqual({ status: 0, log: '' });
});
