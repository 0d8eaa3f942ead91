#!/usr/bin/env node
// The benchmark: `npx projen bench` (or `node bench/run.js [--quick] [--failover] [--only=cold,inprocess]`).
// Runs every section in one go, so the ratios between rows are meaningful, and prints one markdown
// table on stdout (progress goes to stderr). Runs the compiled lib/: `npx projen compile` first.
//
// A section is a module in this folder exporting { title, run({ quick, args }) -> rows }, where a row is
// either { name, median, min, max, runs, perChart?, rssMB?, note? } (ms) or { name, skipped: 'why' }.
// util.js has summarize() and skipped() to build them. Sections run in SECTIONS order; an optional one
// (failover) runs only when its flag is given and its module exists.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execSync } = require('child_process');
const { ROOT } = require('./util');

const SECTIONS = [
  { key: 'helm', module: './versus-helm' },
  { key: 'cold', module: './cold' },
  { key: 'inprocess', module: './inprocess' },
  // Failover figures from the end-to-end harness (test/e2e), bench/failover.js: only with --failover
  // (it needs root, like the harness, and takes about 9 minutes).
  { key: 'failover', module: './failover', optional: '--failover', title: '3. failover' },
];

function parseArgs(argv) {
  const flags = new Set(argv.filter((a) => !a.includes('=')));
  const only = argv.find((a) => a.startsWith('--only='));
  return { quick: flags.has('--quick'), flags, only: only ? new Set(only.slice('--only='.length).split(',')) : undefined };
}

/** Fails unless lib/ is built from the current sources. */
function requireBuilt() {
  const stale = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        const js = path.join(ROOT, 'lib', path.relative(ROOT, p)).replace(/\.ts$/, '.js');
        if (!fs.existsSync(js) || fs.statSync(js).mtimeMs < fs.statSync(p).mtimeMs) stale.push(path.relative(ROOT, p));
      }
    }
  };
  walk(path.join(ROOT, 'src'));
  if (stale.length) {
    process.stderr.write(`bench runs the compiled lib/, which is missing or older than ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', ...' : ''}: run \`npx projen compile\` first\n`);
    process.exit(1);
  }
}

function machine() {
  const memGiB = (os.totalmem() / 2 ** 30).toFixed(0);
  let cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  cpu = cpu.replace(/\s+/g, ' ').trim();
  let cdk8s = '?';
  try {
    cdk8s = require(path.join(ROOT, 'node_modules', 'cdk8s', 'package.json')).version;
  } catch {
    // not installed
  }
  let nproc = String(os.cpus().length);
  try {
    nproc = execSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    // no coreutils
  }
  return `${new Date().toISOString().slice(0, 10)}, ${os.platform()} ${os.arch()}, nproc ${nproc} (${cpu}), ${memGiB} GiB RAM, node ${process.version}, cdk8s ${cdk8s}`;
}

const fmt = (ms) => (ms === undefined ? '' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`);

function table(sections) {
  const lines = [
    '| section | row | median | min-max | runs | CPU (median) | ms/chart | peak RSS | note |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const { title, rows } of sections) {
    for (const r of rows) {
      if (r.skipped) {
        lines.push(`| ${title} | ${r.name} | skipped: ${r.skipped} | | | | | | |`);
      } else if (r.reference) {
        lines.push(`| ${title} | ${r.name} | ${fmt(r.median)} | | reference | ${fmt(r.cpuMs)} | | | ${r.note ?? ''} |`);
      } else {
        lines.push(`| ${title} | ${r.name} | ${fmt(r.median)} | ${fmt(r.min)} - ${fmt(r.max)} | ${r.runs} | ${fmt(r.cpuMs)} | ${r.perChart === undefined ? '' : r.perChart.toFixed(2)} | ${r.rssMB === undefined ? '' : `${r.rssMB.toFixed(0)} MB`} | ${r.note ?? ''} |`);
      }
    }
  }
  return lines.join('\n');
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  requireBuilt();
  const started = Date.now();
  const results = [];
  for (const s of SECTIONS) {
    if (args.only && !args.only.has(s.key)) continue;
    if (s.optional && !args.flags.has(s.optional)) {
      results.push({ title: s.title, rows: [{ name: `run with ${s.optional}`, skipped: 'not run' }] });
      continue;
    }
    if (s.optional && !fs.existsSync(path.join(__dirname, `${s.module}.js`))) {
      results.push({ title: s.title, rows: [{ name: `bench/${s.module.slice(2)}.js`, skipped: 'not run (the section is not written yet)' }] });
      continue;
    }
    const section = require(s.module);
    results.push({ title: section.title, rows: section.run({ quick: args.quick, args }) });
  }
  const mode = args.quick ? 'quick' : 'full';
  process.stdout.write(`Machine: ${machine()}\n`);
  process.stdout.write(`Mode: ${mode}; total bench time ${((Date.now() - started) / 1000).toFixed(0)} s\n\n`);
  process.stdout.write(`${table(results)}\n`);
}

main();
