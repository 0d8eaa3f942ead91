/**
 * Reproduces: a master whose writes are paused (`CLIENT PAUSE <ms> WRITE`, as the chart's preStop
 * does) is declared down by every Sentinel after down-after-milliseconds and failed over, although
 * it is alive. CLIENT PAUSE WRITE also blocks PUBLISH, so each Sentinel's hello message blocks its
 * command connection to the master and the PINGs queued behind it go unanswered.
 *
 *   npx ts-node --transpile-only -P test/tsconfig.json test/e2e/repro/client-pause-failover.ts
 */
import { log, sleep, withDeployment } from './common';

void withDeployment({}, async (d, master) => {
  await sleep(3000);
  const t0 = Date.now();
  log(t0, `CLIENT PAUSE 8000 WRITE on ${master}:`, await d.cli(master, ['CLIENT', 'PAUSE', '8000', 'WRITE']));
  for (let i = 0; i < 10; i++) {
    const st = await Promise.all(d.sentinelPods().map((p) => d.sentinelState(p)));
    log(t0, 'Sentinel flags:', st.map((x) => x.flags).join(' | '), '- master:', st.map((x) => d.podOf(x.master)).join(','), '- epoch:', st.map((x) => x.epoch).join(','));
    await sleep(1000);
  }
}).catch((e) => { console.error(e); process.exitCode = 1; }); // eslint-disable-line no-console
