/**
 * redis-probe.sh run for real (busybox sh, the redis image's PATH) against real redis-servers on
 * loopback, auth on: a master, its replica, a replica chained behind that replica, a replica whose
 * master is gone, and a port nobody listens on. Exit codes are what the kubelet acts on.
 */
import { Sandbox, cli, freePort, waitFor } from '../support/shell';

const IP = '127.0.0.1';
let box: Sandbox;
let ports: { master: number; replica: number; chained: number; orphan: number; closed: number };
const dirs: Record<string, string> = {};

const probe = (pod: keyof typeof ports, ...args: string[]) => box.run(dirs[pod], 'redis-probe.sh', args);

beforeAll(async () => {
  box = new Sandbox();
  ports = { master: await freePort([IP]), replica: await freePort([IP]), chained: await freePort([IP]), orphan: await freePort([IP]), closed: await freePort([IP]) };
  for (const pod of Object.keys(ports) as Array<keyof typeof ports>) dirs[pod] = box.scripts(pod, { redisPort: ports[pod] });
  box.redisServer('master', IP, ports.master);
  box.redisServer('replica', IP, ports.replica, [`replicaof ${IP} ${ports.master}`]);
  box.redisServer('chained', IP, ports.chained, [`replicaof ${IP} ${ports.replica}`]);
  // Its master's port is closed: the link stays down.
  box.redisServer('orphan', IP, ports.orphan, [`replicaof ${IP} ${ports.closed}`]);
  const linkUp = (port: number) => cli(IP, port, 'INFO', 'replication').includes('master_link_status:up');
  await waitFor('the replica to sync', () => linkUp(ports.replica));
  await waitFor('the chained replica to sync', () => linkUp(ports.chained));
  await waitFor('the orphan replica to answer', () => cli(IP, ports.orphan, 'PING') === 'PONG');
});

afterAll(() => box?.stopAll());

describe('readiness', () => {
  it('passes for a master answering PONG', () => {
    expect(probe('master', 'readiness')).toMatchObject({ status: 0, output: '' });
  });

  it('passes for a replica with its link up and no sync in progress', () => {
    expect(probe('replica', 'readiness')).toMatchObject({ status: 0, output: '' });
  });

  it('fails for a replica whose master link is down', () => {
    const r = probe('orphan', 'readiness');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^replica not ready: master_link_status=down master_sync_in_progress=0\n$/);
  });

  it('fails when Redis does not answer', () => {
    expect(probe('closed', 'readiness')).toMatchObject({ status: 1, stdout: 'no role reported\n' });
  });
});

describe('liveness', () => {
  it('passes for a master and for a replica of the master', () => {
    expect(probe('master', 'liveness')).toMatchObject({ status: 0, output: '' });
    expect(probe('replica', 'liveness')).toMatchObject({ status: 0, output: '' });
  });

  it('passes for a replica whose master is down (it is alive; readiness keeps it out)', () => {
    expect(probe('orphan', 'liveness')).toMatchObject({ status: 0, output: '' });
  });

  it('fails for a replica chained behind another replica (the Sentinels cannot see it)', () => {
    const r = probe('chained', 'liveness');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(`replica of ${IP}, itself a replica: the Sentinels cannot see this pod; restarting asks them again\n`);
    // Readiness does not look that far: its link is up.
    expect(probe('chained', 'readiness').status).toBe(0);
  });

  it('fails when Redis does not answer', () => {
    expect(probe('closed', 'liveness')).toMatchObject({ status: 1, stdout: "PING answered ''\n" });
  });
});

it('fails with usage (exit 2) without liveness or readiness', () => {
  const r = probe('master');
  expect(r.status).toBe(2);
  expect(r.stderr).toBe('usage: redis-probe.sh liveness|readiness\n');
});

it('fails when the password file is missing (the Secret is not mounted)', () => {
  const d = box.scripts('no-secret', { redisPort: ports.master, authFile: `${box.root}/absent/password` });
  const r = box.run(d, 'redis-probe.sh', ['liveness']);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/cannot read the password file .*\/absent\/password: is the Secret there and mounted\?/);
});
