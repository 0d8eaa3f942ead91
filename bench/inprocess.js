// Section 2: synthesizing N releases in one process: one App with N charts vs synthReleases().
'use strict';
const fs = require('fs');
const { timeProcess, median, summarize, tempDir, progress } = require('./util');

const SIZES = [1, 10, 100, 1000];

function runChild(mode, n) {
  const out = tempDir('bench-inproc-');
  try {
    const { stdout } = timeProcess(process.execPath, ['bench/child.js', mode, String(n), out]);
    return JSON.parse(stdout);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** Runs per row: fewer for the big ones; one App with 1000 charts takes tens of seconds a run. */
function repsFor(mode, n, quick) {
  if (n < 1000) return quick ? 3 : 5;
  if (mode === 'naive') return quick ? 1 : 2;
  return quick ? 1 : 3;
}

module.exports = {
  title: '2. in-process, N releases',
  run({ quick }) {
    const rows = [];
    const loads = [];
    for (const n of SIZES) {
      for (const [mode, label] of [['naive', 'one App, N charts, app.synth()'], ['fleet', 'synthReleases()']]) {
        const reps = repsFor(mode, n, quick);
        progress(`${label} N=${n} x${reps}`);
        const samples = [];
        for (let i = 0; i < reps; i++) samples.push(runChild(mode, n));
        loads.push(...samples.map((s) => s.loadMs));
        const capped = n >= 1000 && reps < repsFor(mode, 100, quick) ? `runs capped at ${reps}` : '';
        rows.push(summarize(`${label}, N=${n}`, samples, { charts: n, note: capped }));
      }
    }
    rows.push({ name: 'module loading (require cdk8s + lib), per process', median: median(loads), min: Math.min(...loads), max: Math.max(...loads), runs: loads.length, note: 'not included above' });
    return rows;
  },
};
