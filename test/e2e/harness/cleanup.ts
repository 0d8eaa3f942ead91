/**
 * Clean-up of everything the harness creates: network namespaces named with the prefix (and every
 * process inside them), mountpoint directories it created on the host (only while empty), and its
 * state directory. Runs at start (leftovers of a crashed run), at the end, from a process exit
 * handler, and from a watchdog that outlives a killed test process.
 */
import { spawn } from 'child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, unlinkSync, writeSync } from 'fs';
import { join } from 'path';
import { alive, runSyncQuiet, sleep } from './sys';

export const MOUNTPOINTS_FILE = 'created-mountpoints';
export const WATCHDOG_PID_FILE = 'watchdog.pid';
const WATCHDOG_MARK = 'rse2e-watchdog';

/** The lock a run of one prefix holds: `<root>.lock`, holding the owner's pid. */
export const lockFile = (root: string) => `${root}.lock`;

/**
 * Takes the prefix's lock. Another LIVE run holding it (e.g. a second `npm test` on the machine) is
 * waited for, up to `timeoutMs`, rather than having its namespaces cleaned away; a dead owner's
 * lock is a leftover and is taken over.
 */
export async function acquireLock(root: string, timeoutMs: number, onWait: (pid: number) => void): Promise<void> {
  const file = lockFile(root);
  const deadline = Date.now() + timeoutMs;
  let told = 0;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number(readFileSync(file, 'utf8').trim());
    if (!(owner > 0) || owner === process.pid || !alive(owner)) {
      rmSync(file, { force: true });
      continue;
    }
    if (owner !== told) {
      onWait(owner);
      told = owner;
    }
    if (Date.now() > deadline) throw new Error(`another e2e run (pid ${owner}) holds ${file}: waited ${timeoutMs / 1000} s`);
    await sleep(1000);
  }
}

/** Releases the lock if this process holds it. */
export function releaseLock(root: string): void {
  const file = lockFile(root);
  try {
    if (Number(readFileSync(file, 'utf8').trim()) === process.pid) unlinkSync(file);
  } catch { /* not held */ }
}

/** The same clean-up as a shell script (for the watchdog). */
export function cleanupScript(prefix: string, root: string): string {
  return [
    `for ns in $(ip netns list | awk '{print $1}' | grep '^${prefix}'); do`,
    '  for p in $(ip netns pids "$ns"); do kill -9 "$p" 2>/dev/null; done',
    '  ip netns del "$ns" 2>/dev/null',
    'done',
    `if [ -f '${join(root, MOUNTPOINTS_FILE)}' ]; then`,
    `  tac '${join(root, MOUNTPOINTS_FILE)}' | while read -r d; do rmdir "$d" 2>/dev/null; done`,
    'fi',
    `rm -rf '${root}'`,
    `[ "$(cat '${lockFile(root)}' 2>/dev/null)" = "${process.pid}" ] && rm -f '${lockFile(root)}'`,
  ].join('\n');
}

/** Synchronous clean-up (safe in an exit handler); `releaseLock` when the run is over. */
export function cleanupSync(prefix: string, root: string, o: { killWatchdog: boolean; releaseLock: boolean }): void {
  if (o.killWatchdog) killWatchdog(root);
  const namespaces = runSyncQuiet('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(prefix));
  // Processes first (in every namespace), so nothing respawns or holds a namespace.
  for (const ns of namespaces) {
    for (const pid of runSyncQuiet('ip', ['netns', 'pids', ns]).split('\n').map(Number).filter((n) => n > 0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch { /* gone */ }
    }
  }
  for (const ns of namespaces) runSyncQuiet('ip', ['netns', 'del', ns]);
  const list = join(root, MOUNTPOINTS_FILE);
  if (existsSync(list)) {
    for (const d of readFileSync(list, 'utf8').split('\n').filter(Boolean).reverse()) runSyncQuiet('rmdir', [d]);
  }
  rmSync(root, { recursive: true, force: true });
  if (o.releaseLock) releaseLock(root);
}

function killWatchdog(root: string): void {
  const file = join(root, WATCHDOG_PID_FILE);
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!(pid > 0)) return;
  try {
    // Only our watchdog: its command line carries the mark.
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(WATCHDOG_MARK)) process.kill(pid, 'SIGKILL');
  } catch { /* gone */ }
}

/** Starts a detached watchdog that cleans up if this process dies without doing so. Returns its pid. */
export function startWatchdog(prefix: string, root: string): number {
  const script = [
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`,
    cleanupScript(prefix, root),
  ].join('\n');
  const child = spawn('bash', ['-c', script, WATCHDOG_MARK], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid!;
}
