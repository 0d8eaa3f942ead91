/**
 * Container images mapped to host binaries. There is no container runtime: an "image" is a
 * directory of executables that becomes the container's whole PATH, plus the image's config
 * (ENV, WORKDIR, ENTRYPOINT/CMD, USER).
 *
 * - redis:*-alpine: busybox applets (sh, awk, sed, timeout, sha1sum, nslookup... as on alpine),
 *   Debian's redis-server/redis-sentinel/redis-cli, and getent (alpine has musl's).
 * - oliver006/redis_exporter:*: Debian's prometheus-redis-exporter only (a scratch image), uid 59000.
 * - haproxy:*-alpine: busybox applets and Debian's haproxy 2.6 (/usr/sbin/haproxy), as uid 99 (the
 *   official image's `haproxy` user).
 * - alpine:* / busybox:*: busybox applets only.
 * - rclone/rclone:*: busybox applets (the image is alpine with rclone added) and Debian's rclone
 *   (1.60, older than the pinned image).
 * - rse2e/node-client, rse2e/python-client: harness images for client pods: busybox, redis-cli and
 *   node or Debian's python3 (with python3-redis).
 */
import { execFileSync } from 'child_process';
import { mkdirSync, symlinkSync } from 'fs';
import { join } from 'path';

export interface Image {
  readonly name: string;
  /** The only directory in the container's PATH. */
  readonly binDir: string;
  readonly env: Record<string, string>;
  readonly workingDir: string;
  readonly entrypoint: string[];
  readonly cmd: string[];
  /** USER of the image (uid), used when the pod sets no runAsUser. */
  readonly user: number;
}

interface ImageKind {
  readonly key: string;
  readonly test: RegExp;
  readonly extra: Record<string, string>;
  readonly env: Record<string, string>;
  readonly workingDir: string;
  readonly entrypoint: string[];
  readonly cmd: string[];
  /** False for images without a userland (scratch): no busybox applets. */
  readonly shell?: boolean;
  readonly user?: number;
}

const REDIS_TOOLS = ['redis-server', 'redis-sentinel', 'redis-cli', 'redis-benchmark', 'redis-check-aof', 'redis-check-rdb'];

function which(bin: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return '';
  }
}

const KINDS: ImageKind[] = [
  {
    key: 'redis',
    test: /(^|\/)redis(:|@|$)/,
    extra: { ...Object.fromEntries(REDIS_TOOLS.map((t) => [t, `/usr/bin/${t}`])), getent: '/usr/bin/getent' },
    env: { REDIS_VERSION: 'debian' },
    workingDir: '/data',
    // The image's entrypoint (docker-entrypoint.sh) only drops root and runs its arguments.
    entrypoint: [],
    cmd: ['redis-server'],
  },
  // A scratch image with only the exporter binary, run as 59000; Debian's exporter is 1.45, older
  // than the pinned image (test/e2e/README.md).
  {
    key: 'redis-exporter',
    test: /(^|\/)redis_exporter(:|@|$)/,
    extra: { redis_exporter: '/usr/bin/prometheus-redis-exporter' },
    env: {},
    workingDir: '/',
    entrypoint: ['redis_exporter'],
    cmd: [],
    shell: false,
    user: 59000,
  },
  // The official image (alpine variant): busybox, haproxy, USER haproxy (99); its entrypoint adds
  // `-W -db` when the first argument is `haproxy` (the chart gives its own command).
  {
    key: 'haproxy',
    test: /(^|\/)haproxy(:|@|$)/,
    extra: { haproxy: '/usr/sbin/haproxy' },
    env: {},
    workingDir: '/',
    entrypoint: [],
    cmd: ['haproxy', '-db', '-f', '/usr/local/etc/haproxy/haproxy.cfg'],
    user: 99,
  },
  { key: 'rclone', test: /(^|\/)rclone\/rclone(:|@|$)/, extra: { rclone: '/usr/bin/rclone' }, env: {}, workingDir: '/', entrypoint: ['rclone'], cmd: [] },
  { key: 'busybox', test: /(^|\/)(alpine|busybox)(:|@|$)/, extra: {}, env: {}, workingDir: '/', entrypoint: [], cmd: ['sh'] },
  { key: 'node-client', test: /^rse2e\/node-client(:|$)/, extra: { node: process.execPath, 'redis-cli': '/usr/bin/redis-cli' }, env: {}, workingDir: '/', entrypoint: [], cmd: ['node'] },
  { key: 'python-client', test: /^rse2e\/python-client(:|$)/, extra: { python3: '/usr/bin/python3', 'redis-cli': '/usr/bin/redis-cli' }, env: {}, workingDir: '/', entrypoint: [], cmd: ['python3'] },
];

/** Builds (once) the bin directory of each image under `root`, and resolves image names to them. */
export class Images {
  private readonly built = new Map<string, Image>();
  private applets: string[] | undefined;

  constructor(private readonly root: string) {}

  resolve(image: string): Image {
    const kind = KINDS.find((k) => k.test.test(image));
    if (!kind) throw new Error(`image ${image} has no host mapping in the e2e harness (known: redis, redis_exporter, haproxy, rclone/rclone, alpine, busybox, rse2e/*-client)`);
    let built = this.built.get(kind.key);
    if (!built) {
      const binDir = join(this.root, kind.key, 'bin');
      mkdirSync(binDir, { recursive: true });
      if (kind.shell !== false) {
        const busybox = which('busybox');
        if (!busybox) throw new Error('busybox is not installed: run scripts/install-test-deps.sh');
        this.applets ??= execFileSync(busybox, ['--list']).toString().split('\n').filter((a) => a && a !== 'busybox');
        for (const a of this.applets) symlinkSync(busybox, join(binDir, a));
        symlinkSync(busybox, join(binDir, 'busybox'));
      }
      for (const [name, target] of Object.entries(kind.extra)) {
        // Replaces a busybox applet of the same name, if any.
        try {
          execFileSync('rm', ['-f', join(binDir, name)]);
        } catch { /* none */ }
        symlinkSync(target, join(binDir, name));
      }
      built = {
        name: kind.key, binDir, env: { PATH: binDir, ...kind.env }, workingDir: kind.workingDir,
        entrypoint: kind.entrypoint, cmd: kind.cmd, user: kind.user ?? 0,
      };
      this.built.set(kind.key, built);
    }
    return built;
  }
}
