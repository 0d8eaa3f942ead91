/**
 * Reproduces (about one attempt in five): after every pod is deleted at once (`kubectl delete pods
 * --all`), a recreated replica can end up replicating another replica, unknown to the Sentinels,
 * for good. The recreated replica asks the Sentinels, which still name the old master (paused in
 * its preStop), and starts as its replica; the pause stalls the Sentinels' links to that master, so
 * they fail it over without ever having seen the new replica in its INFO, and never reconfigure it;
 * when the old master restarts as a replica of the new one under the same name, the stray replica
 * chains behind it. The Sentinels only discover replicas through the master's INFO.
 *
 *   npx ts-node --transpile-only -P test/tsconfig.json test/e2e/repro/delete-all-chained-replica.ts [attempts]
 */
import { Deployment } from '../deployment';
import { log, sleep, withDeployment } from './common';

const attempts = Number(process.argv[2] ?? 8);

void withDeployment({}, async (d) => {
  const t0 = Date.now();
  for (let i = 1; i <= attempts; i++) {
    await Promise.all([...d.redisPods(), ...d.sentinelPods()].map((p) => d.cluster.deletePod(d.ns, p)));
    const healthy = await d.waitHealthy({ timeoutMs: 60_000 }).then(() => true, () => false);
    const t = await d.topology();
    log(t0, `attempt ${i}: ${healthy ? 'healthy' : 'NOT healthy after 60 s'}\n${Deployment.describe(t)}`);
    if (!healthy) {
      const chained = t.redis.filter((r) => r.role === 'slave' && t.redis.some((o) => o.role === 'slave' && d.fqdn(o.pod) === r.masterHost));
      log(t0, `replicas of replicas: ${chained.map((r) => `${r.pod} -> ${d.podOf(r.masterHost!)}`).join(', ') || 'none'}`);
      return;
    }
    await sleep(2000);
  }
}).catch((e) => { console.error(e); process.exitCode = 1; }); // eslint-disable-line no-console
