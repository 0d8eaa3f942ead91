// Section 3: failover figures from the end-to-end harness (test/e2e), `node bench/run.js --failover`.
// Runs bench/failover.bench.ts through jest (the harness is TypeScript, run by ts-jest as the e2e
// suites are; the file is outside jest's testMatch, so `npm test` never runs it), which writes the raw
// per-run figures as JSON to bench/results/ (git-ignored), then summarizes them into rows.
// Needs root, like test/e2e. Definitions of every figure: bench/README.md ("3. failover").
//
// BENCH_FAILOVER_RUNS   runs per kind (unplanned, planned) and setting: default 5, 2 with --quick
// BENCH_FAILOVER_SETTINGS  `downAfterMs/failoverTimeoutMs,...`: default 5000/10000 (the example's) and 2000/10000
// BENCH_FAILOVER_FROM   summarize this JSON file of an earlier run instead of running the harness
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { ROOT, median, skipped, progress } = require('./util');

const title = '3. failover';

const CLIENT_NAMES = {
  'ioredis': 'ioredis (default options)',
  'ioredis-tuned': 'ioredis (retryStrategy 100 ms, failoverDetector)',
  'python': 'python3-redis Sentinel (socket_timeout 0.5)',
};
const KIND_NAMES = { unplanned: 'master SIGKILLed', planned: 'master pod deleted (preStop)' };

const sec = (ms) => `${(ms / 1000).toFixed(1)} s`;
const range = (xs) => (xs.length ? `${sec(median(xs))} (${sec(Math.min(...xs))}-${sec(Math.max(...xs))})` : '-');

function runHarness(runs) {
  if (process.getuid && process.getuid() !== 0) return { skip: 'needs root, like test/e2e (network namespaces, mounts, iptables)' };
  const out = path.join(ROOT, 'bench', 'results', `failover-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  progress(`failover: running the e2e harness (bench/failover.bench.ts), ${runs} runs per kind and setting; raw figures -> ${path.relative(ROOT, out)}`);
  const jest = path.join(ROOT, 'node_modules', '.bin', 'jest');
  const r = spawnSync(jest, ['--ci', '--rootDir', ROOT, '--testMatch', '<rootDir>/bench/failover.bench.ts', '--reporters', 'default', '--testTimeout', String(4 * 3600_000)], {
    cwd: ROOT,
    // Progress only: stdout carries the table.
    stdio: ['ignore', 2, 2],
    env: { ...process.env, BENCH_FAILOVER_OUT: out, BENCH_FAILOVER_RUNS: String(runs) },
  });
  if (r.error) throw r.error;
  if (!fs.existsSync(out)) return { skip: `the harness wrote no figures (jest exited ${r.status}; see its output above)` };
  return { file: out, status: r.status };
}

/** Rows of one setting and kind: the failover itself, then one row per client. */
function rows(data, setting, kind) {
  const label = `down-after ${sec(setting.downAfterMs)}, failover-timeout ${sec(setting.failoverTimeoutMs)}: ${KIND_NAMES[kind]}`;
  const all = setting.runs.filter((r) => r.kind === kind);
  const ok = all.filter((r) => !r.error && r.sentinels);
  const failed = all.length - ok.length;
  const few = (ok.length < data.runsPerKind ? `; ${ok.length} of ${data.runsPerKind} runs planned` : '')
    + (data.runsPerKind < 5 ? `; quick: ${data.runsPerKind} runs per kind, not 5` : '');
  const out = [];
  if (!ok.length) return [skipped(label, setting.error || all.map((r) => r.error).find(Boolean) || 'no run completed')];
  const agreed = ok.map((r) => r.sentinels.agreedMs ?? r.agreedPolledMs);
  const tl = (f) => ok.map((r) => r.sentinels[f]).filter((x) => x !== undefined);
  const extra = ok.reduce((n, r) => n + Math.max(0, r.sentinels.failovers - 1), 0);
  const odowns = ok.filter((r) => r.sentinels.odowns > 0).length;
  const contended = ok.filter((r) => r.otherE2eRuns.length).length;
  const notes = [
    kind === 'unplanned'
      ? `+odown ${range(tl('odownMs'))}, promoted ${range(tl('promotedMs'))}`
      : `promoted ${range(tl('promotedMs'))}; pod gone ${range(ok.map((r) => r.podGoneMs).filter((x) => x !== undefined))}; runs with +odown: ${odowns}`,
    `extra failovers: ${extra}`,
    failed ? `${failed} failed run(s) left out` : '',
    contended ? `${contended} run(s) beside another e2e run` : '',
  ].filter(Boolean).join('; ');
  out.push({ name: `${label}: failover (every Sentinel names the new master)`, median: median(agreed), min: Math.min(...agreed), max: Math.max(...agreed), runs: ok.length, note: notes + few });
  for (const client of Object.keys(CLIENT_NAMES)) {
    const ws = ok.flatMap((r) => r.writers.filter((w) => w.client === client));
    if (!ws.length) continue;
    const resumed = ws.filter((w) => w.resumeMs !== null).map((w) => w.resumeMs);
    const never = ws.length - resumed.length;
    const lost = ws.reduce((n, w) => n + w.lost, 0);
    const acked = ws.reduce((n, w) => n + w.acked, 0);
    const note = [
      `longest gap ${range(ws.map((w) => w.gapMs))}`,
      `lost ${lost} of ${acked.toLocaleString('en-US')} acknowledged`,
      never ? `${never} run(s) with no write until stop` : '',
    ].filter(Boolean).join('; ');
    if (!resumed.length) {
      out.push(skipped(`${label}: ${CLIENT_NAMES[client]}, writes again after`, `no write after the injection in any run; ${note}`));
      continue;
    }
    out.push({ name: `${label}: ${CLIENT_NAMES[client]}, writes again after`, median: median(resumed), min: Math.min(...resumed), max: Math.max(...resumed), runs: resumed.length, note: note + few });
  }
  return out;
}

function run({ quick }) {
  let file = process.env.BENCH_FAILOVER_FROM;
  if (!file) {
    const runs = Number(process.env.BENCH_FAILOVER_RUNS || (quick ? 2 : 5));
    const h = runHarness(runs);
    if (h.skip) return [skipped('failover (e2e harness)', h.skip)];
    file = h.file;
  }
  const data = JSON.parse(fs.readFileSync(file, 'utf8'));
  progress(`failover: figures from ${path.relative(ROOT, file)} (${data.git.head}${data.git.dirtySrc.length ? `; src/ had uncommitted changes: ${data.git.dirtySrc.join(', ')}` : ''})`);
  const out = [];
  for (const setting of data.settings) {
    if (!setting.runs.length) {
      out.push(skipped(`down-after ${sec(setting.downAfterMs)}`, setting.error || 'no run'));
      continue;
    }
    for (const kind of ['unplanned', 'planned']) out.push(...rows(data, setting, kind));
  }
  return out;
}

module.exports = { title, run };
