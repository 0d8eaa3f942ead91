/**
 * Clean-up of everything the harness creates: network namespaces named with the prefix (and every
 * process inside them), mountpoint directories it created on the host (only while empty), and its
 * state directory. Runs at start (leftovers of a crashed run), at the end, from a process exit
 * handler, and from a watchdog that outlives a killed test process.
 */
import { spawn } from 'child_process';
import { existsSync, readFileSync, rmSync } from 'fs';
import { join } from 'path';
import { runSyncQuiet } from './sys';

export const MOUNTPOINTS_FILE = 'created-mountpoints';
export const WATCHDOG_PID_FILE = 'watchdog.pid';
const WATCHDOG_MARK = 'rse2e-watchdog';

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
  ].join('\n');
}

/** Synchronous clean-up (safe in an exit handler). */
export function cleanupSync(prefix: string, root: string, o: { killWatchdog: boolean }): void {
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
