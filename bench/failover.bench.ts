/**
 * Failover figures for the benchmark (bench/failover.js, `node bench/run.js --failover`): NOT a test,
 * and outside jest's testMatch (`npm test` never runs it). It asserts nothing about time.
 *
 * For each setting (down-after / failover-timeout) it starts the e2e harness (test/e2e/harness) with the
 * example chart (src/example.ts) under that setting, then alternates N unplanned failovers (the master's
 * redis container SIGKILLed, its restart held until the writers are back, as scenario 2 of
 * test/e2e/failover.test.ts) and N planned ones (`kubectl delete pod` of the master: the preStop
 * hand-over, as scenario 3), while three Sentinel clients write every 10 ms: ioredis with default
 * options, ioredis with retryStrategy/failoverDetector (bench/clients/ioredis-tuned.js) and
 * python3-redis `Sentinel` (socket_timeout=0.5). Each run records the raw figures; bench/failover.js
 * turns them into rows. Definitions: bench/README.md.
 *
 * Env: BENCH_FAILOVER_OUT (JSON file, written after every run), BENCH_FAILOVER_RUNS (per kind and
 * setting, default 5), BENCH_FAILOVER_SETTINGS (`downAfterMs/failoverTimeoutMs,...`, default
 * `5000/10000,2000/10000`). Needs root, like test/e2e.
 */
import { execFileSync } from 'child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import { Duration } from 'cdk8s';
import { EXAMPLE_PROPS } from '../src/example';
import { settingsOf, synthExample } from '../test/support/synth';
import { Deployment, Writer, WriterSummary } from '../test/e2e/deployment';
import { Cluster } from '../test/e2e/harness/cluster';
import { requireHarness } from '../test/e2e/harness/preflight';
import { alive, sleep, waitFor } from '../test/e2e/harness/sys';

// Its own prefix (rse2e-b- is backup.test.ts's): see ClusterOptions.prefix.
const PREFIX = 'rse2e-p-';
const PASSWORD = 'bench "failover" \\ pass';
const RESULTS = join(__dirname, 'results');
const OUT = process.env.BENCH_FAILOVER_OUT ?? join(RESULTS, `failover-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const RUNS = Number(process.env.BENCH_FAILOVER_RUNS ?? 5);
const SETTINGS = (process.env.BENCH_FAILOVER_SETTINGS ?? '5000/10000,2000/10000').split(',').map((x) => {
  const [downAfterMs, failoverTimeoutMs] = x.split('/').map(Number);
  return { downAfterMs, failoverTimeoutMs };
});
const CLIENTS = ['ioredis', 'ioredis-tuned', 'python'] as const;
type Client = typeof CLIENTS[number];
type Kind = 'unplanned' | 'planned';

jest.setTimeout(4 * 3600_000);

// --- copied from test/e2e/monitoring.test.ts (not exported there) -------------------------------

/** Live e2e runs of other prefixes (their lock files), which would share the 2 cores with this one. */
function otherE2eRuns(): string[] {
  return readdirSync('/var/tmp').filter((f) => /^rse2e-.*state\.lock$/.test(f) && f !== `${PREFIX}state.lock`).flatMap((f) => {
    try {
      const pid = Number(readFileSync(join('/var/tmp', f), 'utf8').trim());
      return pid > 0 && pid !== process.pid && alive(pid) ? [`${f.replace(/state\.lock$/, '')} (pid ${pid})`] : [];
    } catch {
      return [];
    }
  });
}

// --- figures -------------------------------------------------------------------------------------

/** What one writer saw around the injection at t0 (all times in ms, host clock). */
interface WriterFigures {
  client: Client;
  acked: number;
  lost: number;
  /** Injection -> the acknowledgement that ends the longest gap ending after t0 ("writes again"); null: no ack after t0 before stop. */
  resumeMs: number | null;
  /** Length of that gap (last ack before it -> first ack after it). */
  gapMs: number;
  /** t0 - the last ack before that gap (negative: the old master still acknowledged writes after t0). */
  lastAckBeforeMs: number;
  /** Writer.outage(): the longest interval without an ack over the whole run (the e2e suite's figure). */
  longestGapMs: number;
  /** Every gap over 100 ms: [start relative to t0, length]. */
  gaps: Array<[number, number]>;
  errors: Record<string, number>;
}

function writerFigures(client: Client, s: WriterSummary, t0: number, stoppedAt: number, lost: number): WriterFigures {
  const at = s.acked.map(([, ms]) => ms);
  const gaps: Array<[number, number]> = [];
  let best: { from: number; to: number } | undefined;
  for (let i = 1; i < at.length; i++) {
    const len = at[i] - at[i - 1];
    if (len > 100) gaps.push([at[i - 1] - t0, len]);
    if (at[i] > t0 && (!best || len > best.to - best.from)) best = { from: at[i - 1], to: at[i] };
  }
  const last = at.length ? at[at.length - 1] : t0;
  const resumed = best !== undefined;
  const from = best?.from ?? last;
  const to = best?.to ?? stoppedAt;
  if (!resumed) gaps.push([last - t0, stoppedAt - last]);
  return {
    client, acked: at.length, lost,
    resumeMs: resumed ? to - t0 : null,
    gapMs: to - from,
    lastAckBeforeMs: t0 - from,
    longestGapMs: Writer.outage(s, stoppedAt),
    gaps, errors: s.errors,
  };
}

/** The Sentinels' log lines (with Redis' own millisecond timestamps) since a mark, as events relative to t0. */
interface SentinelTimeline {
  /** First `+sdown master` / `+odown master` of any Sentinel. */
  sdownMs?: number;
  odownMs?: number;
  /** `+try-failover` (unplanned) or `Executing user requested FAILOVER` (planned) of the leader. */
  failoverStartMs?: number;
  /** `+promoted-slave`: the chosen replica reports role master to the leader. */
  promotedMs?: number;
  /**
   * Every Sentinel names the new master to clients (SENTINEL get-master-addr-by-name): the leader from
   * `+promoted-slave` (it answers with the promoted replica from then on), the others from their `+switch-master`.
   */
  agreedMs?: number;
  /** The leader's `+failover-end` (the other replicas reconfigured). */
  failoverEndMs?: number;
  /** The most `+switch-master` lines any one Sentinel logged (1 = one failover), and `+odown` lines in all. */
  failovers: number;
  odowns: number;
  sdownsOfMaster: number;
}

const LOG_TIME = /^\d+:X (\d{1,2} \w{3} \d{4} \d{2}:\d{2}:\d{2}\.\d{3}) [#*.-] (.*)$/;

function timeline(logs: string[], t0: number): SentinelTimeline {
  const rel = (line: string): [number, string] | undefined => {
    const m = LOG_TIME.exec(line);
    if (!m) return undefined;
    const ms = new Date(m[1]).getTime();
    return Number.isFinite(ms) ? [ms - t0, m[2]] : undefined;
  };
  const first = (re: RegExp) => {
    let best: number | undefined;
    for (const log of logs) {
      for (const line of log.split('\n')) {
        const r = rel(line);
        if (r && re.test(r[1]) && (best === undefined || r[0] < best)) best = r[0];
      }
    }
    return best;
  };
  const perSentinel = logs.map((log) => log.split('\n').map(rel).filter((x): x is [number, string] => x !== undefined));
  const named = perSentinel.map((lines) => lines.find(([, m]) => /^\+promoted-slave |^\+switch-master /.test(m))?.[0]);
  return {
    sdownMs: first(/^\+sdown master /),
    odownMs: first(/^\+odown master /),
    failoverStartMs: first(/^\+try-failover |^Executing user requested FAILOVER/),
    promotedMs: first(/^\+promoted-slave /),
    agreedMs: named.every((x) => x !== undefined) ? Math.max(...(named as number[])) : undefined,
    failoverEndMs: first(/^\+failover-end /),
    failovers: Math.max(0, ...perSentinel.map((lines) => lines.filter(([, m]) => /^\+switch-master /.test(m)).length)),
    odowns: perSentinel.reduce((n, lines) => n + lines.filter(([, m]) => /^\+odown master /.test(m)).length, 0),
    sdownsOfMaster: perSentinel.reduce((n, lines) => n + lines.filter(([, m]) => /^\+sdown master /.test(m)).length, 0),
  };
}

interface RunResult {
  kind: Kind;
  run: number;
  from: string;
  to?: string;
  /** Injection -> every Sentinel's get-master-addr-by-name names another master, polled every 250 ms. */
  agreedPolledMs?: number;
  sentinels?: SentinelTimeline;
  writers: WriterFigures[];
  /** Planned: injection -> the deleted pod is gone (preStop, then SIGTERM and exit). */
  podGoneMs?: number;
  preStop?: string[];
  otherE2eRuns: string[];
  error?: string;
}

interface SettingResult {
  downAfterMs: number;
  failoverTimeoutMs: number;
  clusterUpMs?: number;
  runs: RunResult[];
  error?: string;
}

const output = {
  startedAt: new Date().toISOString(),
  finishedAt: undefined as string | undefined,
  git: gitInfo(),
  runsPerKind: RUNS,
  clients: {
    'ioredis': 'ioredis 5 with default options (test/e2e/clients/writer.js)',
    'ioredis-tuned': 'ioredis 5 with retryStrategy: () => 100, failoverDetector: true (bench/clients/ioredis-tuned.js)',
    'python': "python3-redis Sentinel, socket_timeout=0.5, as the README's example (test/e2e/clients/writer.py)",
  },
  settings: [] as SettingResult[],
};

function gitInfo(): { head: string; dirtySrc: string[] } {
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: join(__dirname, '..'), encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  return { head: git(['log', '-1', '--format=%h %s']), dirtySrc: git(['status', '--short', 'src']).split('\n').filter(Boolean) };
}

function save(): void {
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(output, null, 2)}\n`);
}

function progress(msg: string): void {
  process.stderr.write(`[bench failover] ${msg}\n`);
}

// --- one setting ---------------------------------------------------------------------------------

async function runSetting(downAfterMs: number, failoverTimeoutMs: number): Promise<SettingResult> {
  const timings = { downAfter: Duration.millis(downAfterMs), failoverTimeout: Duration.millis(failoverTimeoutMs) };
  const props = { ...EXAMPLE_PROPS, ...timings };
  const s = settingsOf(props, 'redis');
  const NS = s.namespace;
  const logDir = join(RESULTS, 'failover-logs', `down-after-${downAfterMs}`);
  rmSync(logDir, { recursive: true, force: true });
  const cluster = new Cluster({ prefix: PREFIX, logDir });
  const d = new Deployment(cluster, s, PASSWORD);
  const result: SettingResult = { downAfterMs, failoverTimeoutMs, runs: [] };
  output.settings.push(result);

  const sentinelLogs = () => new Map(d.sentinelPods().map((p) => [p, d.logSize(p)]));

  async function startWriters(tag: string): Promise<Map<Client, Writer>> {
    const tuned = async () => {
      // Deployment.startWriter runs the harness's own clients; this one is the same writer with options added.
      const env: Record<string, string> = {
        KEY: `bench:${tag}:ioredis-tuned`, INTERVAL_MS: '10', REDIS_PASSWORD: PASSWORD, MODE: 'sentinel',
        SENTINEL_HOST: `${s.names.sentinelService}.${NS}.svc.${s.clusterDomain}`, SENTINEL_PORT: String(s.sentinelPort), MASTER_NAME: s.masterName,
      };
      const proc = cluster.spawnExec(NS, 'client-node', 'main', ['node', join(__dirname, 'clients', 'ioredis-tuned.js')], { env });
      const w = new Writer('ioredis-tuned@client-node', env.KEY, proc);
      await w.ready(20_000);
      return w;
    };
    const [a, b, c] = await Promise.all([
      d.startWriter({ kind: 'ioredis', pod: 'client-node', key: `bench:${tag}:ioredis` }),
      tuned(),
      d.startWriter({ kind: 'python', pod: 'client-py', key: `bench:${tag}:python` }),
    ]);
    return new Map<Client, Writer>([['ioredis', a], ['ioredis-tuned', b], ['python', c]]);
  }

  /** Waits until every given Sentinel names (to clients) a master other than `old`. */
  async function waitAgreed(old: string, t0: number): Promise<{ master: string; ms: number }> {
    return waitFor(`every Sentinel to name a master other than ${old}`, async () => {
      const names = await Promise.all(d.sentinelPods().map(async (p) => (await d.cli(p, ['SENTINEL', 'get-master-addr-by-name', s.masterName])).split('\n')[0]));
      const set = new Set(names);
      if (set.size !== 1 || set.has('') || set.has(d.fqdn(old))) return undefined;
      return { master: d.podOf(names[0]), ms: Date.now() - t0 };
    }, 60_000, { intervalMs: 250 });
  }

  /** Waits until every writer's list grows on the new master (it writes there again); gives up after 30 s. */
  async function waitResumed(master: string, writers: Map<Client, Writer>): Promise<void> {
    const len = async (w: Writer) => Number(await d.cli(master, ['LLEN', w.key])) || 0;
    const base = new Map(await Promise.all([...writers.values()].map(async (w) => [w, await len(w)] as const)));
    await waitFor('every writer to write on the new master', async () => {
      for (const w of writers.values()) if ((await len(w)) < base.get(w)! + 10) return false;
      return true;
    }, 30_000, { intervalMs: 250 }).catch(() => progress(`  not every writer wrote on ${master} within 30 s`));
  }

  async function oneRun(kind: Kind, run: number): Promise<RunResult> {
    const h = await d.waitHealthy({ timeoutMs: 120_000 });
    const r: RunResult = { kind, run, from: h.master, writers: [], otherE2eRuns: otherE2eRuns() };
    result.runs.push(r);
    const writers = await startWriters(`${downAfterMs}:${kind}:${run}`);
    await sleep(1500);
    const mark = sentinelLogs();
    const events = cluster.events.length;
    const t0 = Date.now();
    let held: { release: () => void } | undefined;
    let deleted: Promise<void> | undefined;
    if (kind === 'unplanned') {
      // The process dies and stays down until the writers are back (a lost master, not a quick restart).
      held = cluster.mustPod(NS, h.master).killContainer('redis', { hold: true });
    } else {
      deleted = cluster.deletePod(NS, h.master).then(() => { r.podGoneMs = Date.now() - t0; });
    }
    try {
      const f = await waitAgreed(h.master, t0);
      r.agreedPolledMs = f.ms;
      r.to = f.master;
      await waitResumed(f.master, writers);
      await sleep(1000);
    } finally {
      const summaries = await Promise.all([...writers.values()].map((w) => w.stop()));
      held?.release();
      await deleted;
      const end = await d.waitHealthy({ timeoutMs: 120_000 });
      await d.waitReplicated(end.master, 30_000);
      r.to = end.master;
      let i = 0;
      for (const [client, w] of writers) {
        const acc = await d.account(end.master, w, summaries[i]);
        r.writers.push(writerFigures(client, summaries[i], t0, w.stoppedAt, acc.lost));
        i++;
      }
      r.sentinels = timeline([...mark].map(([p, from]) => d.logSince(p, from)), t0);
      r.preStop = cluster.events.slice(events).filter((e) => e.includes(`${h.master}: redis: preStop`) || e.includes(`${h.master}: deleting`));
      r.otherE2eRuns = [...new Set([...r.otherE2eRuns, ...otherE2eRuns()])];
    }
    return r;
  }

  try {
    const t = Date.now();
    await cluster.start({ waitForOtherRunMs: 30 * 60_000 });
    await cluster.apply([...synthExample(timings).all, d.authSecret()]);
    await Promise.all([d.clientPod('client-node', 'node'), d.clientPod('client-py', 'python')]);
    await d.waitHealthy({ timeoutMs: 120_000 });
    result.clusterUpMs = Date.now() - t;
    progress(`down-after ${downAfterMs} ms, failover-timeout ${failoverTimeoutMs} ms: cluster up in ${result.clusterUpMs} ms`);
    for (let run = 1; run <= RUNS; run++) {
      for (const kind of ['unplanned', 'planned'] as const) {
        try {
          const r = await oneRun(kind, run);
          const w = r.writers.map((x) => `${x.client} ${x.resumeMs ?? '-'} ms (gap ${x.gapMs}, lost ${x.lost}/${x.acked})`).join(', ');
          progress(`  ${kind} #${run}: ${r.from} -> ${r.to}, agreed ${r.sentinels?.agreedMs ?? '?'} ms (polled ${r.agreedPolledMs}), failovers ${r.sentinels?.failovers}; writes again: ${w}`);
        } catch (e) {
          const msg = (e as Error).message.split('\n').slice(0, 3).join(' ');
          progress(`  ${kind} #${run} FAILED: ${msg}`);
          const last = result.runs[result.runs.length - 1];
          if (last && last.kind === kind && last.run === run) last.error = msg;
          else result.runs.push({ kind, run, from: '?', writers: [], otherE2eRuns: [], error: msg });
          d.killWriters();
          await cluster.repair();
          await d.waitHealthy({ timeoutMs: 120_000 }).catch(() => undefined);
        }
        save();
      }
    }
  } catch (e) {
    result.error = (e as Error).message.split('\n').slice(0, 5).join(' ');
    progress(`setting down-after ${downAfterMs} ms FAILED: ${result.error}`);
  } finally {
    d.killWriters();
    writeFileSync(join(logDir, 'events.log'), `${cluster.events.join('\n')}\n`);
    await cluster.shutdown();
    save();
  }
  return result;
}

test('failover figures (benchmark, not a test)', async () => {
  requireHarness('bench/failover.bench.ts', { extra: ['prometheus-redis-exporter'], python: true });
  // Other e2e suites would share the CPUs: wait for them (up to 30 minutes, then go ahead; each run records them).
  const deadline = Date.now() + 30 * 60_000;
  let told = '';
  while (otherE2eRuns().length && Date.now() < deadline) {
    const others = otherE2eRuns().join(', ');
    if (others !== told) progress(`waiting for other e2e runs to end: ${(told = others)}`);
    await sleep(2000);
  }
  save();
  for (const { downAfterMs, failoverTimeoutMs } of SETTINGS) await runSetting(downAfterMs, failoverTimeoutMs);
  output.finishedAt = new Date().toISOString();
  save();
  progress(`raw figures: ${OUT}`);
});
