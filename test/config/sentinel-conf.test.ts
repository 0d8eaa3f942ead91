import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration } from 'cdk8s';
import * as fc from 'fast-check';
import { quorumFor } from '../../src/config/quorum';
import { SentinelConfOptions, renderSentinelConf } from '../../src/config/sentinel-conf';
import { SCRIPT } from '../../src/settings';
import { settingsOf } from '../support/synth';
import { renderFiles } from '../../src/shared-config';

function directives(conf: string): string[] {
  return conf.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/** Lines starting with `prefix ` (a directive and its sub-command). */
function linesOf(conf: string, prefix: string): string[] {
  return directives(conf).filter((l) => l === prefix || l.startsWith(`${prefix} `));
}

const base: SentinelConfOptions = {
  port: 26379,
  dataDir: '/data',
  masterName: 'mymaster',
  masterHost: 'redis-master-0.redis-master-headless.redis.svc.cluster.local',
  masterPort: 6379,
  quorum: 2,
  downAfterMilliseconds: 5000,
  failoverTimeoutMilliseconds: 10000,
  parallelSyncs: 1,
};

describe('renderSentinelConf', () => {
  it('monitors the master with the quorum and sets the timings', () => {
    const lines = directives(renderSentinelConf(base));
    expect(lines).toContain('sentinel monitor mymaster redis-master-0.redis-master-headless.redis.svc.cluster.local 6379 2');
    expect(lines).toContain('sentinel down-after-milliseconds mymaster 5000');
    expect(lines).toContain('sentinel failover-timeout mymaster 10000');
    expect(lines).toContain('sentinel parallel-syncs mymaster 1');
    expect(lines).toContain('port 26379');
    expect(lines).toContain('dir /data');
  });

  it('uses DNS names, not pod IPs', () => {
    const lines = directives(renderSentinelConf(base));
    expect(lines).toContain('sentinel resolve-hostnames yes');
    expect(lines).toContain('sentinel announce-hostnames yes');
    expect(lines).toContain('sentinel announce-port 26379');
  });

  it('refuses runtime reconfiguration of scripts', () => {
    expect(directives(renderSentinelConf(base))).toContain('sentinel deny-scripts-reconfig yes');
  });

  it('holds no password and no per-pod state', () => {
    const conf = renderSentinelConf(base);
    expect(conf).not.toMatch(/^\s*requirepass/m);
    expect(conf).not.toMatch(/^\s*sentinel auth-pass/m);
    expect(conf).not.toMatch(/^\s*sentinel myid/m);
    expect(conf).not.toMatch(/^\s*sentinel announce-ip/m);
  });

  it('has no indented lines and ends with a newline', () => {
    const conf = renderSentinelConf(base);
    expect(conf.endsWith('\n')).toBe(true);
    for (const line of conf.split('\n')) expect(line).toBe(line.trimStart());
  });
});

// --- property tests ----------------------------------------------------------------------------

const masterName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/);
const sentinelConfOptions: fc.Arbitrary<SentinelConfOptions> = fc
  .record({
    sentinels: fc.integer({ min: 1, max: 15 }),
    port: fc.integer({ min: 1, max: 65535 }),
    masterName,
    masterHost: fc.stringMatching(/^[a-z]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]{1,10}){0,4}$/),
    masterPort: fc.integer({ min: 1, max: 65535 }),
    downAfterMilliseconds: fc.integer({ min: 1, max: 600_000 }),
    extraTimeout: fc.integer({ min: 0, max: 600_000 }),
    parallelSyncs: fc.integer({ min: 1, max: 10 }),
    quorumOffset: fc.nat(),
  })
  .map((r) => ({
    port: r.port,
    dataDir: '/data',
    masterName: r.masterName,
    masterHost: r.masterHost,
    masterPort: r.masterPort,
    quorum: quorumFor(r.sentinels) + (r.quorumOffset % (r.sentinels - quorumFor(r.sentinels) + 1)),
    downAfterMilliseconds: r.downAfterMilliseconds,
    failoverTimeoutMilliseconds: r.downAfterMilliseconds + r.extraTimeout,
    parallelSyncs: r.parallelSyncs,
  }));

describe('renderSentinelConf properties', () => {
  it('has the monitor line with the quorum, and each timing exactly once', () => {
    fc.assert(fc.property(sentinelConfOptions, (o) => {
      const conf = renderSentinelConf(o);
      const m = o.masterName;
      expect(linesOf(conf, 'sentinel monitor')).toEqual([`sentinel monitor ${m} ${o.masterHost} ${o.masterPort} ${o.quorum}`]);
      expect(linesOf(conf, 'sentinel down-after-milliseconds')).toEqual([`sentinel down-after-milliseconds ${m} ${o.downAfterMilliseconds}`]);
      expect(linesOf(conf, 'sentinel failover-timeout')).toEqual([`sentinel failover-timeout ${m} ${o.failoverTimeoutMilliseconds}`]);
      expect(linesOf(conf, 'sentinel parallel-syncs')).toEqual([`sentinel parallel-syncs ${m} ${o.parallelSyncs}`]);
      expect(linesOf(conf, 'port')).toEqual([`port ${o.port}`]);
      expect(conf).not.toMatch(/requirepass|auth-pass/);
    }), { numRuns: 300 });
  });

  it('through settingsOf + renderFiles: the chart\'s props reach sentinel.conf unchanged', () => {
    const props = fc.record({
      sentinels: fc.integer({ min: 1, max: 7 }).map((k) => 2 * k + 1),
      quorumOffset: fc.nat(),
      downAfterSeconds: fc.integer({ min: 1, max: 120 }),
      extraSeconds: fc.integer({ min: 0, max: 600 }),
      parallelSyncs: fc.integer({ min: 1, max: 5 }),
      masterName,
    });
    fc.assert(fc.property(props, (p) => {
      const quorum = quorumFor(p.sentinels) + (p.quorumOffset % (p.sentinels - quorumFor(p.sentinels) + 1));
      const s = settingsOf({
        sentinels: p.sentinels,
        quorum,
        downAfter: Duration.seconds(p.downAfterSeconds),
        failoverTimeout: Duration.seconds(p.downAfterSeconds + p.extraSeconds),
        parallelSyncs: p.parallelSyncs,
        masterName: p.masterName,
      }, 'redis');
      const conf = renderFiles(s).sentinelConf;
      const m = p.masterName;
      expect(linesOf(conf, 'sentinel monitor')).toEqual([`sentinel monitor ${m} ${s.bootstrapMasterFqdn} 6379 ${quorum}`]);
      expect(linesOf(conf, 'sentinel down-after-milliseconds')).toEqual([`sentinel down-after-milliseconds ${m} ${p.downAfterSeconds * 1000}`]);
      expect(linesOf(conf, 'sentinel failover-timeout')).toEqual([`sentinel failover-timeout ${m} ${(p.downAfterSeconds + p.extraSeconds) * 1000}`]);
      expect(linesOf(conf, 'sentinel parallel-syncs')).toEqual([`sentinel parallel-syncs ${m} ${p.parallelSyncs}`]);
    }), { numRuns: 200 });
  });
});

describe('sentinel.conf defaults of the chart', () => {
  it('monitors mymaster at the bootstrap master with quorum 2, down-after 5000, failover-timeout 10000, parallel-syncs 1', () => {
    const conf = renderFiles(settingsOf({}, 'redis')).sentinelConf;
    expect(directives(conf)).toEqual(expect.arrayContaining([
      'sentinel monitor mymaster redis-master-0.redis-master-headless.redis.svc.cluster.local 6379 2',
      'sentinel down-after-milliseconds mymaster 5000',
      'sentinel failover-timeout mymaster 10000',
      'sentinel parallel-syncs mymaster 1',
      'port 26379',
    ]));
  });
});

describe('the Sentinel start script rewrites the rendered monitor line', () => {
  /** Runs the start script's own `sed` command on the rendered template (POSIX sed). */
  function rewrite(masterNameValue: string, quorum: number, host: string, port: number): string {
    const s = settingsOf({ masterName: masterNameValue, sentinels: 5, quorum }, 'redis');
    const files = renderFiles(s);
    const sedLine = files.scripts[SCRIPT.sentinelStart].split('\n').find((l) => l.startsWith('sed '));
    expect(sedLine).toBeDefined();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sentinel-conf-'));
    try {
      const template = path.join(dir, 'sentinel.conf');
      fs.writeFileSync(template, files.sentinelConf);
      execFileSync('sh', ['-c', `set -eu\n${sedLine!.replace('> "$tmp"', '> "$OUT"')}`], {
        env: { ...process.env, MASTER_NAME: masterNameValue, host, port: String(port), SENTINEL_TEMPLATE: template, OUT: path.join(dir, 'out') },
      });
      return fs.readFileSync(path.join(dir, 'out'), 'utf8');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it('points the monitor line at the chosen master and keeps the quorum', () => {
    const out = rewrite('mymaster', 4, 'redis-replica-1.redis-replica-headless.redis.svc.cluster.local', 6379);
    expect(linesOf(out, 'sentinel monitor')).toEqual(['sentinel monitor mymaster redis-replica-1.redis-replica-headless.redis.svc.cluster.local 6379 4']);
  });

  it('property: works for any valid masterName', () => {
    fc.assert(fc.property(masterName, fc.integer({ min: 3, max: 5 }), (m, quorum) => {
      const out = rewrite(m, quorum, '10.0.0.7', 6380);
      expect(linesOf(out, 'sentinel monitor')).toEqual([`sentinel monitor ${m} 10.0.0.7 6380 ${quorum}`]);
    }), { numRuns: 25 });
  });
});
