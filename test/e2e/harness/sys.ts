/**
 * Process helpers of the end-to-end harness: run a command and collect its output, with a time limit.
 * Every child gets its own process group so that a time-out kills the whole tree it started.
 */
import { ChildProcess, SpawnOptions, execFileSync, spawn } from 'child_process';

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface RunOptions {
  /** Kill the process group after this many milliseconds. */
  readonly timeoutMs?: number;
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Called with the child right after it is spawned (e.g. to track it). */
  readonly onSpawn?: (child: ChildProcess) => void;
}

/** Runs a command to completion. Never throws for a non-zero exit: see {@link runOk}. */
export function run(cmd: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const opts: SpawnOptions = { detached: true, stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: o.env ?? process.env };
    let child: ChildProcess;
    try {
      child = spawn(cmd, args as string[], opts);
    } catch (e) {
      resolve({ code: 127, signal: null, stdout: '', stderr: String(e), timedOut: false });
      return;
    }
    o.onSpawn?.(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    const timer = o.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, o.timeoutMs);
    child.on('error', (e) => err.push(Buffer.from(String(e))));
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), timedOut });
    });
    if (o.input !== undefined) {
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(o.input);
    }
  });
}

/** Runs a command and throws, with its output, unless it exits 0. */
export async function runOk(cmd: string, args: readonly string[], o: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, o);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.timedOut ? 'timed out' : r.signal ?? `exit ${r.code}`}): ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}

/** Synchronous variant for exit handlers; ignores failures. */
export function runSyncQuiet(cmd: string, args: readonly string[], timeoutMs = 10_000): string {
  try {
    return execFileSync(cmd, args as string[], { stdio: ['ignore', 'pipe', 'ignore'], timeout: timeoutMs }).toString();
  } catch {
    return '';
  }
}

/** Sends a signal to a process group (a child spawned detached leads its own group). */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch { /* already gone */ }
  }
}

/** True while a process exists. */
export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves like `p`, or rejects with `message` after `ms` (the timer never outlives the race). */
export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Polls `probe` until it returns a truthy value; throws with `what` (and `context()`) after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false | null> | T | undefined | false | null,
  timeoutMs: number, o: { intervalMs?: number; context?: () => Promise<string> | string } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const ctx = o.context ? `\n${await o.context()}` : '';
      const err = lastError ? `\nlast error: ${lastError instanceof Error ? lastError.message : String(lastError)}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${err}${ctx}`);
    }
    await sleep(o.intervalMs ?? 250);
  }
}

/** Single-quotes a string for /bin/sh. */
export const shq = (s: string) => `'${s.replace(/'/g, `'"'"'`)}'`;
