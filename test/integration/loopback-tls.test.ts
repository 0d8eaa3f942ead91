/**
 * The loopback integration test (test/support/loopback.ts) with `tls: { mutual: true }`: every
 * connection (clients, replication, Sentinel to Redis and to Sentinel, the scripts' redis-cli) speaks
 * TLS with certificates made by openssl, the plaintext ports are closed, and a client without a
 * certificate of the CA is refused.
 */
import { describeBasics, loopback } from '../support/loopback';

const lb = loopback({ ipBase: 140, tls: { mutual: true } });
beforeAll(() => lb.setUp());
afterAll(() => lb.tearDown());

describe('rendered configs and scripts with TLS (mutual) and real redis-server and redis-sentinel', () => {
  describeBasics(lb);

  test('plaintext is refused on every Redis and Sentinel port', () => {
    for (const inst of lb.instances()) {
      const reply = lb.rawCli(inst, [], 'PING');
      expect({ inst: inst.name, refused: !/PONG|NOAUTH/.test(reply) }).toEqual({ inst: inst.name, refused: true });
    }
  });

  test('a client with the CA but no certificate of its own is refused (mutual TLS)', () => {
    for (const inst of [lb.redis(1), lb.sentinel(0)]) {
      const reply = lb.rawCli(inst, ['--tls', '--cacert', lb.certs().ca], 'PING');
      expect(reply).not.toMatch(/PONG|NOAUTH/);
    }
  });
});
