// One in-process measurement in a fresh process, so its peak RSS is its own:
//   node bench/child.js <naive|fleet> <N> <outdir>
// naive: one App holding N charts, then app.synth(); fleet: synthReleases() of the same N releases.
// Prints one JSON line: ms (construct + validate + synth + write, module loading excluded), loadMs, rssMB.
'use strict';
const t0 = performance.now();
const { App } = require('cdk8s');
const { RedisSentinelChart, synthReleases } = require('../lib/src');
const { EXAMPLE_MONITORING, EXAMPLE_PROPS } = require('../lib/src/example');
const [mode, n, outdir] = [process.argv[2], Number(process.argv[3]), process.argv[4]];

/**
 * One release per tenant: the example's deployment and monitoring in one Chart (a release is one Chart;
 * the example app puts monitoring in a second one), in the tenant's own namespace, under its own name.
 */
function* releases() {
  for (let i = 0; i < n; i++) {
    const id = `tenant-${i}`;
    yield { id, props: { ...EXAMPLE_PROPS, monitoring: EXAMPLE_MONITORING, name: id, namespace: id } };
  }
}

const t1 = performance.now();
if (mode === 'naive') {
  const app = new App({ outdir });
  for (const r of releases()) new RedisSentinelChart(app, r.id, r.props);
  app.synth();
} else if (mode === 'fleet') {
  synthReleases(releases(), { outdir, keepYaml: false });
} else {
  throw new Error(`unknown mode ${mode}`);
}
const t2 = performance.now();
const files = require('fs').readdirSync(outdir).length;
if (files !== n) throw new Error(`expected ${n} files in ${outdir}, found ${files}`);
process.stdout.write(JSON.stringify({ ms: t2 - t1, loadMs: t1 - t0, rssMB: process.resourceUsage().maxRSS / 1024 }) + '\n');
