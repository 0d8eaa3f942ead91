// Shared helpers of the benchmark sections: spawning timed processes and summarizing repeated runs.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const GNU_TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/**
 * Runs a command once in a fresh process; returns its wall time (ms) and, when GNU time is there, its
 * peak RSS (MB) and CPU time (user + system, ms).
 */
function timeProcess(cmd, args, opts = {}) {
  const rssFile = path.join(os.tmpdir(), `bench-rss-${process.pid}`);
  const [file, argv] = GNU_TIME ? [GNU_TIME, ['-f', '%M %U %S', '-o', rssFile, cmd, ...args]] : [cmd, args];
  const start = process.hrtime.bigint();
  const r = spawnSync(file, argv, { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...opts });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${(r.stderr || '').slice(-2000)}`);
  }
  let rssMB;
  let cpuMs;
  if (GNU_TIME) {
    const [rssKB, user, sys] = fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
    rssMB = rssKB / 1024;
    cpuMs = (user + sys) * 1000;
    fs.rmSync(rssFile, { force: true });
  }
  return { ms, rssMB, cpuMs, stdout: r.stdout };
}

/** Looks a program up on PATH. */
function which(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A measured row: median, min-max and run count of `ms`, the highest peak RSS, and ms per chart when `charts` is set. */
function summarize(name, samples, extra = {}) {
  const ms = samples.map((s) => s.ms);
  const rss = samples.map((s) => s.rssMB).filter((x) => x !== undefined);
  const cpu = samples.map((s) => s.cpuMs).filter((x) => x !== undefined);
  return {
    name,
    median: median(ms),
    min: Math.min(...ms),
    max: Math.max(...ms),
    runs: samples.length,
    perChart: extra.charts ? median(ms) / extra.charts : undefined,
    rssMB: rss.length ? Math.max(...rss) : undefined,
    cpuMs: cpu.length ? median(cpu) : undefined,
    note: extra.note ?? '',
  };
}

/** A row that was not measured, with the reason. */
function skipped(name, why) {
  return { name, skipped: why };
}

function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Prints progress on stderr, so stdout holds only the table. */
function progress(msg) {
  process.stderr.write(`[bench] ${msg}\n`);
}

module.exports = { ROOT, timeProcess, which, median, summarize, skipped, tempDir, progress };
