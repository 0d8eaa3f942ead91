/**
 * What every harness user checks first: root, and the host binaries it runs. Fails (never skips)
 * with the command that installs what is missing.
 */
import { execFileSync } from 'child_process';

/** Binaries every harness run needs (namespaces, iptables, the redis image's mapping). */
const BASE = ['ip', 'iptables-restore', 'nsenter', 'unshare', 'setpriv', 'busybox', 'redis-server', 'redis-sentinel', 'redis-cli'];

function installed(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Throws unless this process is root and every binary (the base set plus `extra`) is on PATH, and,
 * with `python`, Debian's python3-redis imports.
 */
export function requireHarness(who: string, o: { extra?: string[]; python?: boolean } = {}): void {
  if (process.getuid?.() !== 0) {
    throw new Error(`${who} needs root (network namespaces, mounts, iptables, setpriv): run it as root. `
      + 'It is never skipped (CI runs it as root).');
  }
  const missing = [...BASE, ...(o.extra ?? [])].filter((b) => !installed(b));
  if (o.python) {
    try {
      execFileSync('/usr/bin/python3', ['-c', 'import redis.sentinel'], { stdio: 'ignore' });
    } catch {
      missing.push('python3-redis');
    }
  }
  if (missing.length) throw new Error(`${who} needs ${missing.join(', ')}: run scripts/install-test-deps.sh as root`);
}
