/**
 * Config-level integration test with real binaries (see test/support/loopback.ts): the rendered
 * configs and scripts of a chart with every default, plaintext. The same tests with TLS on:
 * loopback-tls.test.ts. The pod-level failover suite (network namespaces, NetworkPolicies, preStop)
 * is in test/e2e.
 */
import { describeBasics, loopback } from '../support/loopback';

const lb = loopback({ ipBase: 110 });
beforeAll(() => lb.setUp());
afterAll(() => lb.tearDown());

describe('rendered configs and scripts with real redis-server and redis-sentinel', () => {
  describeBasics(lb);
});
