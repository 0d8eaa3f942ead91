/**
 * The master endpoint's alerts: `promtool check rules`, and `promtool test rules` showing
 * RedisMasterEndpointNoMaster fires for an HAProxy pod that routes nowhere (Sentinels disagree, or
 * the pod they name is not role:master) and RedisMasterEndpointMultipleMasters when two Redis pods say
 * role:master for a minute; both silent on a healthy endpoint.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { stringify } from 'yaml';
import { HAPROXY_METRICS, renderEndpointAlertRules } from '../../src/config/endpoint-alerts';
import { metricNamesIn } from '../support/promql';

const groups = renderEndpointAlertRules({
  namespace: 'cache', metricsService: 'cache-proxy-metrics', proxy: 'cache-proxy', masterService: 'cache-master',
  sentinels: 3, groupName: 'cache/cache-proxy/master-endpoint', alertLabels: { team: 'data' },
});
const rules = Object.fromEntries(groups[0].rules.map((r) => [r.alert, r]));

function promtool(dir: string, ...args: string[]): string {
  const r = spawnSync('promtool', args, { cwd: dir, stdio: 'pipe', encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`promtool does not run (${r.error.message}): install the Debian package prometheus`);
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`promtool ${args.join(' ')} failed (exit ${r.status}):\n${out}`);
  return out;
}

const base = { namespace: 'cache', service: 'cache-proxy-metrics', pod: 'cache-proxy-a' };
/** One HAProxy pod's backends for 6 minutes: master_<p> and named_<p> per Redis pod, and no_master. */
function series(master: Record<string, number>, named: Record<string, number>) {
  const s = (proxy: string, v: number) => ({
    series: `haproxy_backend_active_servers{${Object.entries({ ...base, proxy }).map(([k, x]) => `${k}="${x}"`).join(',')}}`,
    values: `${v}x6`,
  });
  return [
    s('no_master', 0),
    ...Object.entries(master).map(([p, v]) => s(`master_${p}`, v)),
    ...Object.entries(named).map(([p, v]) => s(`named_${p}`, v)),
  ];
}

interface Expect { alert: string; labels?: Record<string, string>; value?: number }

function runTest(input: Array<{ series: string; values: string }>, expected: Expect[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'endpoint-alerts-'));
  try {
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }, { lineWidth: 0 }));
    const tests = Object.keys(rules).map((alertname) => ({
      eval_time: '5m',
      alertname,
      exp_alerts: expected.filter((e) => e.alert === alertname).map((e) => ({
        exp_labels: { severity: 'critical', namespace: 'cache', team: 'data', ...e.labels },
        exp_annotations: {
          summary: rules[alertname].annotations.summary.replace('{{ $labels.pod }}', base.pod).replace('{{ $value }}', String(e.value ?? '')),
          description: rules[alertname].annotations.description.replace('{{ $labels.pod }}', base.pod),
        },
      })),
    }));
    writeFileSync(join(dir, 'test.yaml'), stringify({
      rule_files: ['rules.yaml'], evaluation_interval: '1m',
      tests: [{ interval: '1m', input_series: input, alert_rule_test: tests }],
    }, { lineWidth: 0 }));
    return promtool(dir, 'test', 'rules', 'test.yaml');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('master endpoint alerts', () => {
  it('pass promtool check rules and read only HAProxy exporter series of this endpoint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'endpoint-alerts-'));
    try {
      writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }, { lineWidth: 0 }));
      expect(promtool(dir, 'check', 'rules', 'rules.yaml')).toContain('SUCCESS: 2 rules found');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const r of groups[0].rules) {
      for (const name of metricNamesIn(r.expr)) expect(HAPROXY_METRICS).toContain(name);
      for (const m of r.expr.match(/haproxy_[a-z_]+\{[^}]*\}/g)!) expect(m).toContain('namespace="cache",service="cache-proxy-metrics"');
    }
  });

  it('are silent while the pod a Sentinel majority names says role:master', () => {
    expect(runTest(series({ r0: 1, r1: 0, r2: 0 }, { r0: 3, r1: 0, r2: 0 }), [])).toContain('SUCCESS');
    // Two of three Sentinels are enough.
    expect(runTest(series({ r0: 1, r1: 0, r2: 0 }, { r0: 2, r1: 1, r2: 0 }), [])).toContain('SUCCESS');
  });

  it('RedisMasterEndpointNoMaster fires while no Sentinel majority names a pod, or the one named is not role:master', () => {
    const fires: Expect[] = [{ alert: 'RedisMasterEndpointNoMaster', labels: { ...base, proxy: 'no_master' }, value: 0 }];
    expect(runTest(series({ r0: 1, r1: 0, r2: 0 }, { r0: 1, r1: 1, r2: 1 }), fires)).toContain('SUCCESS');
    expect(runTest(series({ r0: 0, r1: 0, r2: 0 }, { r0: 3, r1: 0, r2: 0 }), fires)).toContain('SUCCESS');
    // Role master on one pod, majority on another: nothing routable either.
    expect(runTest(series({ r0: 1, r1: 0, r2: 0 }, { r0: 0, r1: 3, r2: 0 }), fires)).toContain('SUCCESS');
  });

  it('RedisMasterEndpointMultipleMasters fires when two Redis pods say role:master for a minute', () => {
    const fires: Expect[] = [{ alert: 'RedisMasterEndpointMultipleMasters', labels: { namespace: 'cache', pod: base.pod }, value: 2 }];
    expect(runTest(series({ r0: 1, r1: 1, r2: 0 }, { r0: 3, r1: 0, r2: 0 }), fires)).toContain('SUCCESS');
  });
});
