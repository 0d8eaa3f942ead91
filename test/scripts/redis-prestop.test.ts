/**
 * redis-prestop.sh run for real (busybox sh, the redis image's PATH), auth on: the cases where it
 * has nothing to hand over, and a real hand-over through a real Sentinel: a master on 127.0.6.1
 * (and localhost, where the hook talks to its own Redis) with a replica on 127.0.6.2, one port,
 * and a second replica on localhost at another port that the Sentinel never promotes.
 * The failover suite (test/e2e) runs it in pods with three Sentinels and writing clients.
 */
import { join } from 'path';
import { Sandbox, cli, freePort, waitFor } from '../support/shell';

const MASTER = '127.0.6.1';
const REPLICA = '127.0.6.2';
const LOCAL = '127.0.0.1';
let box: Sandbox;
let port: number;
let port2: number;

beforeAll(async () => {
  box = new Sandbox();
  port = await freePort([MASTER, REPLICA, LOCAL]);
  port2 = await freePort([LOCAL]);
});

afterAll(() => box?.stopAll());

/** The hook as the kubelet runs it in the pod `self`. */
const preStop = (name: string, self: string, constants: Record<string, unknown> = {}) =>
  box.run(box.scripts(name, { redisPort: port, ...constants }), 'redis-prestop.sh', [], box.env({ SELF_FQDN: self }));

it('does nothing when this pod\'s Redis does not answer', () => {
  const r = preStop('down', MASTER);
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/preStop: role is 'unknown', nothing to hand over\n$/);
});

describe('with a master and its replica', () => {
  beforeAll(async () => {
    box.redisServer('master', `${MASTER} ${LOCAL}`, port);
    box.redisServer('replica', REPLICA, port, [`replicaof ${MASTER} ${port}`, `replica-announce-ip ${REPLICA}`]);
    box.redisServer('replica2', LOCAL, port2, [`replicaof ${MASTER} ${port}`, 'replica-priority 0']);
    for (const [ip, p] of [[REPLICA, port], [LOCAL, port2]] as const) {
      await waitFor(`the replica ${ip}:${p} to sync`, () => cli(ip, p, 'INFO', 'replication').includes('master_link_status:up'));
    }
  });

  it('does nothing on a replica', () => {
    const r = preStop('on-replica', LOCAL, { redisPort: port2 });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/preStop: role is 'slave', nothing to hand over\n$/);
  });

  // Sentinels that answer but never take a failover: the replica's Redis stands in (PING answers,
  // SENTINEL is an unknown command). `closed`: no Sentinel answers at all.
  const refusing = () => ({ sentinelHosts: [REPLICA], sentinelPort: port, failoverWaitSeconds: 1 });
  const closed = { sentinelHosts: [LOCAL], sentinelPort: 1, failoverWaitSeconds: 1 };

  it('gives up after FAILOVER_WAIT when no Sentinel takes the failover, and leaves writes unpaused', () => {
    const r = preStop('no-sentinel', MASTER, refusing());
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('preStop: no Sentinel takes SENTINEL FAILOVER yet (restarting, or no replica known); asking again');
    expect(r.stderr).toContain('preStop: no new master after 1s');
    expect(cli(MASTER, port, 'SET', 'after-no-failover', '1')).toBe('OK');
    expect(cli(MASTER, port, 'ROLE').split('\n')[0]).toBe('master');
  });

  it('stops waiting for a failover when no Sentinel answers twice in a row (the whole deployment is stopping), writes unpaused', () => {
    const r = preStop('sentinels-gone', MASTER, { ...closed, failoverWaitSeconds: 30 });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/preStop: no Sentinel answers \(stopping too\?\): no failover possible\n$/);
    expect(r.stderr).not.toContain('no new master after');
    expect(cli(MASTER, port, 'SET', 'after-sentinels-gone', '1')).toBe('OK');
  });

  describe('a departing replica whose leaving drops the master below min-replicas-to-write (REDIS_REVISION set)', () => {
    // The second replica (localhost, where a preStop hook talks to its own Redis) needs 2 good replicas:
    // only the other one would be left.
    const replicaPreStop = (name: string, constants: Record<string, unknown>) =>
      box.run(box.scripts(name, { redisPort: port2, redisHosts: [MASTER, REPLICA], rollWaitSeconds: 2, ...constants }), 'redis-prestop.sh', [],
        box.env({ SELF_FQDN: LOCAL, REDIS_REVISION: 'aaaa' }));
    beforeAll(() => expect(cli(LOCAL, port2, 'CONFIG', 'SET', 'min-replicas-to-write', '2')).toBe('OK'));
    afterAll(() => {
      cli(LOCAL, port2, 'CONFIG', 'SET', 'min-replicas-to-write', '0');
      cli(LOCAL, port2, 'CONFIG', 'SET', 'proc-title-template', '{title} {listen-addr} {server-mode}');
    });

    it('stays, at most ROLL_WAIT, while a Sentinel answers', () => {
      const r = replicaPreStop('replica-stays', refusing());
      expect(r.stderr).toContain('preStop: leaving now would leave 127.0.6.1 with 1 of the 2 replica(s) min-replicas-to-write needs: waiting');
      expect(r.stderr).toContain('preStop: still too few replicas on 127.0.6.1 after 2s: leaving');
    });

    it('leaves when no Sentinel answers twice in a row', () => {
      const r = replicaPreStop('replica-sentinels-gone', { ...closed, rollWaitSeconds: 60 });
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('preStop: no Sentinel answers (stopping too?): leaving');
      expect(r.stderr).not.toContain('still too few replicas');
    });
  });

  describe('in a rolling update (REDIS_REVISION set)', () => {
    const rolling = (name: string, hosts: string[], o: Record<string, unknown> = {}) =>
      box.run(box.scripts(name, { redisPort: port, ...refusing(), redisHosts: hosts, rollWaitSeconds: 2, rollDownWaitSeconds: 1, ...o }), 'redis-prestop.sh', [],
        box.env({ SELF_FQDN: MASTER, REDIS_REVISION: 'aaaa' }));
    // Both replicas (the second one is attached, not in REDIS_HOSTS) run `rev`.
    const setRevision = (rev: string) => {
      for (const [ip, p] of [[REPLICA, port], [LOCAL, port2]] as const) expect(cli(ip, p, 'CONFIG', 'SET', 'proc-title-template', `{title} {listen-addr} {server-mode} rev=${rev}`)).toBe('OK');
    };
    afterAll(() => {
      for (const [ip, p] of [[REPLICA, port], [LOCAL, port2]] as const) cli(ip, p, 'CONFIG', 'SET', 'proc-title-template', '{title} {listen-addr} {server-mode}');
    });

    it('hands over without waiting when every peer runs its revision, in sync (a plain pod deletion)', () => {
      setRevision('aaaa');
      const r = preStop('plain', MASTER, closed);
      expect(r.stderr).not.toContain('rolling update');
      const r2 = rolling('plain-rev', [MASTER, REPLICA]);
      expect(r2.status).toBe(0);
      expect(r2.stderr).not.toContain('rolling update');
      expect(r2.stderr).toContain('preStop: no new master after 1s');
    });

    it('hands over once every pod that rolls before it runs a new revision, in sync', () => {
      setRevision('bbbb');
      const r = rolling('updated', [MASTER, REPLICA]);
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('preStop: rolling update: every pod that rolls before this one runs a new revision, in sync');
    });

    it('marks a departing replica leaving in its process title, for its peers', () => {
      setRevision('aaaa');
      // The second replica listens on localhost, where a preStop hook talks to its own Redis.
      const r = box.run(box.scripts('replica-leaving', { redisPort: port2, ...closed, redisHosts: [MASTER, REPLICA] }), 'redis-prestop.sh', [],
        box.env({ SELF_FQDN: LOCAL, REDIS_REVISION: 'aaaa' }));
      expect(r.status).toBe(0);
      expect(r.stderr).toContain("preStop: role is 'slave', nothing to hand over");
      expect(cli(LOCAL, port2, 'CONFIG', 'GET', 'proc-title-template').split('\n')[1]).toBe('{title} {listen-addr} {server-mode} rev=aaaa leaving');
    });

    it('waits for a peer at its own revision that is leaving too (rolled at the same time), at most ROLL_WAIT', () => {
      setRevision('aaaa');
      expect(cli(REPLICA, port, 'CONFIG', 'SET', 'proc-title-template', '{title} {listen-addr} {server-mode} rev=aaaa leaving')).toBe('OK');
      const r = rolling('peer-leaving', [MASTER, REPLICA]);
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('preStop: rolling update under way: waiting for 127.0.6.2 127.0.0.1 before handing over');
      expect(r.stderr).toContain('preStop: rolling update: still waiting for 127.0.6.2 127.0.0.1 after 2s; handing over now');
    });

    it('does not wait for the roll when no Sentinel answers twice in a row (the Sentinels are stopping too)', () => {
      setRevision('aaaa');
      const r = rolling('roll-sentinels-gone', [MASTER, REPLICA, '127.0.6.3'], { ...closed, rollWaitSeconds: 60 });
      expect(r.status).toBe(0);
      // (127.0.6.3, which never answers, counts as gone after ROLL_DOWN_WAIT, 1 s here: listed or not.)
      expect(r.stderr).toMatch(/preStop: rolling update: no Sentinel answers \(stopping too\?\): not waiting for 127\.0\.6\.2 127\.0\.0\.1( 127\.0\.6\.3)?\n/);
      expect(r.stderr).not.toContain('still waiting');
    });

    it('waits for a pod still at its revision while another restarts, at most ROLL_WAIT, then hands over anyway', () => {
      setRevision('aaaa');
      const r = rolling('waiting', [MASTER, REPLICA, '127.0.6.3']);
      expect(r.status).toBe(0);
      expect(r.stderr).toContain('preStop: rolling update under way: waiting for 127.0.6.2 127.0.0.1 127.0.6.3 before handing over');
      expect(r.stderr).toContain('preStop: rolling update: still waiting for 127.0.6.2 127.0.0.1 after 2s; handing over now');
      expect(r.stderr).toContain('preStop: no new master after 1s');
      expect(cli(MASTER, port, 'SET', 'after-roll-wait', '1')).toBe('OK');
    });
  });

  it('hands the master role over through the Sentinel and becomes a replica of the new master', async () => {
    const sentinelPort = await freePort([LOCAL]);
    box.sentinel('sentinel', LOCAL, sentinelPort, { host: MASTER, port });
    const sentinelLog = join(box.root, 'sentinel', 'sentinel.log');
    await waitFor('the Sentinel to see the replica', () => cli(LOCAL, sentinelPort, 'SENTINEL', 'REPLICAS', 'mymaster').includes('master-link-status\nok'), 20, [sentinelLog]);
    expect(cli(MASTER, port, 'SET', 'before', 'handover')).toBe('OK');

    const r = preStop('handover', MASTER, { sentinelHosts: [LOCAL], sentinelPort, failoverWaitSeconds: 15 });
    expect({ status: r.status, log: r.stderr }).toEqual({ status: 0, log: expect.stringContaining(`preStop: ${LOCAL} is failing mymaster over`) });
    expect(r.stderr).toContain(`preStop: the Sentinels name ${REPLICA}:${port} as master`);
    expect(r.stderr).toMatch(new RegExp(`preStop: done; the Sentinels name ${REPLICA.replace(/\./g, '\\.')} as master\n$`));
    expect(cli(REPLICA, port, 'ROLE').split('\n')[0]).toBe('master');
    expect(cli(REPLICA, port, 'GET', 'before')).toBe('handover');
    // The old master follows the new one, read-only, and is no longer paused.
    await waitFor('the old master to replicate the new one', () => cli(MASTER, port, 'INFO', 'replication').includes(`master_host:${REPLICA}`), 20, [sentinelLog]);
    expect(cli(MASTER, port, 'SET', 'x', 'y')).toMatch(/READONLY/);
    expect(cli(REPLICA, port, 'SET', 'after', 'handover')).toBe('OK');
    // The replica attached to the departing master follows the new one too (the hook points it
    // there; the Sentinel reconfigures it as well, having seen it).
    await waitFor('the other replica to follow the new master', () => cli(LOCAL, port2, 'INFO', 'replication').includes(`master_host:${REPLICA}`), 20, [sentinelLog]);
  });
});
