// Section 0: the cold synth of the example against `helm template` of the Bitnami redis chart (issue 10's
// target: at or below it), with node's own start-up and loading cdk8s as the floors. Each command runs in a
// fresh process; the rows run interleaved (one run of each, then the next round), so a burst of load from
// another process on the machine hits every row alike. Median of 9 (3 with --quick) after one untimed
// warm-up of each (warm page cache). Wall time from spawn to exit; CPU is user + system from GNU time.
'use strict';
const fs = require('fs');
const path = require('path');
const { findHelm, helmArgs, HELM_CHARTS } = require('./cold');
const { ROOT, timeProcess, summarize, tempDir, progress } = require('./util');

/** Issue 10's figures for `helm template` of Bitnami redis 23.1.1 (sentinel + metrics), same kind of machine, median of 9. */
const HELM_REFERENCE = { wallMs: 174, cpuMs: 200, nodeMs: 107, exampleMs: 430 };

function rowsToRun() {
  const rows = [
    { name: 'node -e 0 (floor: node start-up)', make: () => ({ cmd: process.execPath, args: ['-e', '0'] }) },
    {
      name: 'node -e "require(\'cdk8s\')" (floor of any cdk8s app)',
      make: () => ({ cmd: process.execPath, args: ['-e', "require('cdk8s')"] }),
    },
    {
      name: 'node -e "require(\'./lib/src\')" (cdk8s + this library: loading only)',
      make: () => ({ cmd: process.execPath, args: ['-e', "require('./lib/src')"] }),
    },
    {
      name: 'node lib/src/main.js (the example: 2 charts, 24 objects, written to disk)',
      make: (out) => ({ cmd: process.execPath, args: ['lib/src/main.js'], env: { CDK8S_OUTDIR: out } }),
    },
  ];
  const helm = findHelm();
  const bitnami = HELM_CHARTS[0];
  const chart = process.env[bitnami.env];
  if (helm.bin && chart && fs.existsSync(chart)) {
    rows.push({ name: `${helm.bin} template (Bitnami redis: sentinel, metrics)`, make: () => ({ cmd: helm.bin, args: helmArgs(bitnami, chart) }) });
  }
  return rows;
}

function measureInterleaved(rows, reps) {
  const once = (row) => {
    const out = tempDir('bench-helm-');
    try {
      const { cmd, args, env } = row.make(out);
      return timeProcess(cmd, args, { cwd: ROOT, env: { ...process.env, ...env } });
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  };
  for (const row of rows) once(row);
  const samples = rows.map(() => []);
  for (let i = 0; i < reps; i++) {
    progress(`cold synth vs helm: round ${i + 1}/${reps}`);
    rows.forEach((row, j) => samples[j].push(once(row)));
  }
  return rows.map((row, j) => summarize(row.name, samples[j]));
}

module.exports = {
  title: '0. cold synth vs helm template',
  run({ quick }) {
    const rows = rowsToRun();
    const measured = measureInterleaved(rows, quick ? 3 : 9);
    const [node0, , , example] = measured;
    const helmMeasured = measured[4];
    const helmMs = helmMeasured ? helmMeasured.median : HELM_REFERENCE.wallMs;
    const helmCpu = helmMeasured ? helmMeasured.cpuMs : HELM_REFERENCE.cpuMs;
    example.note = `${(example.median / helmMs).toFixed(2)}x helm template's wall, `
      + `${example.cpuMs !== undefined ? `${(example.cpuMs / helmCpu).toFixed(2)}x its CPU ` : ''}(${helmMeasured ? 'measured' : 'reference figure'}); `
      + `${(example.median - node0.median).toFixed(0)} ms over node -e 0`;
    if (!helmMeasured) {
      measured.push({
        name: 'helm template, Bitnami redis 23.1.1 (sentinel + metrics)',
        reference: true,
        median: HELM_REFERENCE.wallMs,
        cpuMs: HELM_REFERENCE.cpuMs,
        note: `issue 10's figure (same kind of machine, median of 9; node -e 0 was ${HELM_REFERENCE.nodeMs} ms and this example ${HELM_REFERENCE.exampleMs} ms in that run), not measured here: `
          + `no helm binary or no local chart (BENCH_BITNAMI_CHART; see bench/README.md)`,
      });
    }
    return measured;
  },
};
