/**
 * Shared set-up of the reproduction scripts: a chart synthesized with the given props, run in the
 * e2e harness (namespace prefix `rse2e-r-`), with the password Secret. Needs root.
 */
import { mkdirSync, rmSync } from 'fs';
import { Duration } from 'cdk8s';
import { RedisSentinelChartProps } from '../../../src';
import { settingsOf } from '../../support/synth';
import { synthChart } from '../../support/synth';
import { Deployment } from '../deployment';
import { Cluster } from '../harness/cluster';

export const PASSWORD = 'repro';

/** Runs `body` against a healthy deployment of the chart, then removes everything. */
export async function withDeployment(props: RedisSentinelChartProps, body: (d: Deployment, master: string) => Promise<void>): Promise<void> {
  const all = { downAfter: Duration.millis(2000), failoverTimeout: Duration.seconds(10), ...props };
  const s = settingsOf(all, 'redis');
  const logDir = `${__dirname}/../results/repro-logs`;
  rmSync(logDir, { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });
  const cluster = new Cluster({ prefix: 'rse2e-r-', logDir });
  const d = new Deployment(cluster, s, PASSWORD);
  await cluster.start({ waitForOtherRunMs: 15 * 60_000 });
  try {
    await cluster.apply([...synthChart(all), d.authSecret()]);
    const h = await d.waitHealthy({ timeoutMs: 90_000 });
    await body(d, h.master);
  } finally {
    await cluster.shutdown();
  }
}

export const log = (t0: number, ...what: unknown[]) => console.log(`${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s`, ...what); // eslint-disable-line no-console
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
