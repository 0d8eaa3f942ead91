/**
 * With `replicas: 1`, does the promoted replica take writes after the master is lost? Before
 * dc4e92f `minReplicasToWrite` defaulted to 1, so it had no replica of its own and refused every
 * write (NOREPLICAS) until the old master pod was back; since, it defaults to 0 below 2 replicas.
 *
 *   npx ts-node --transpile-only -P test/tsconfig.json test/e2e/repro/single-replica-noreplicas.ts
 */
import { log, sleep, withDeployment } from './common';

void withDeployment({ replicas: 1 }, async (d, master) => {
  log(Date.now(), 'min-replicas-to-write on the master:', (await d.cli(master, ['CONFIG', 'GET', 'min-replicas-to-write'])).split('\n')[1]);
  const other = d.redisPods().find((p) => p !== master)!;
  const t0 = Date.now();
  const held = d.cluster.mustPod(d.ns, master).killContainer('redis', { hold: true });
  log(t0, `${master} killed; its restart held for 30 s`);
  for (let i = 0; i < 40; i++) {
    if (i === 30) {
      held.release();
      log(t0, `${master} released`);
    }
    const role = (await d.cli(other, ['ROLE'])).split('\n')[0];
    const set = role === 'master' ? (await d.cli(other, ['SET', 'probe', String(i)])).split('\n')[0] : '-';
    log(t0, `${other}: ${role || '?'}, SET -> ${set}`);
    await sleep(1000);
  }
}).catch((e) => { console.error(e); process.exitCode = 1; }); // eslint-disable-line no-console
