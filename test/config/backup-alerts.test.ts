/**
 * The backup alert: `promtool check rules` on the rendered group, and `promtool test rules`
 * showing RedisBackupTooOld fires when the last success is older than the threshold or when the
 * CronJob never succeeded, and stays silent while backups succeed on time.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { stringify } from 'yaml';
import { metricNamesIn } from '../support/promql';
import { KUBE_STATE_METRICS, renderBackupAlertRules } from '../../src/config/backup-alerts';

const groups = renderBackupAlertRules({
  namespace: 'cache', cronJob: 'cache-backup', maxAgeSeconds: 7200, schedule: '0 * * * *', groupName: 'cache/cache-backup/backup',
  alertLabels: { team: 'storage' },
});
const rule = groups[0].rules[0];

function promtool(dir: string, ...args: string[]): string {
  const r = spawnSync('promtool', args, { cwd: dir, stdio: 'pipe', encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`promtool does not run (${r.error.message}): install the Debian package prometheus`);
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`promtool ${args.join(' ')} failed (exit ${r.status}):\n${out}`);
  return out;
}

/** Runs promtool test rules with series sampled every minute from t=0 and alerts expected at `evalTime`. */
function promtoolTest(series: Array<{ series: string; values: string }>, evalTime: string, firingValue?: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'backup-alerts-'));
  try {
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }, { lineWidth: 0 }));
    const expected = firingValue !== undefined
      ? [{
        exp_labels: { severity: 'warning', namespace: 'cache', cronjob: 'cache-backup', team: 'storage' },
        exp_annotations: { summary: rule.annotations.summary.replace('{{ printf "%.0f" $value }}', String(firingValue)), description: rule.annotations.description },
      }]
      : [];
    writeFileSync(join(dir, 'test.yaml'), stringify({
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [{ interval: '1m', input_series: series, alert_rule_test: [{ eval_time: evalTime, alertname: 'RedisBackupTooOld', exp_alerts: expected }] }],
    }, { lineWidth: 0 }));
    return promtool(dir, 'test', 'rules', 'test.yaml');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const sel = '{namespace="cache",cronjob="cache-backup"}';
/** A gauge holding `value` for `minutes` samples. */
const flat = (value: number, minutes: number) => `${value}x${minutes}`;

describe('RedisBackupTooOld', () => {
  it('reads only kube-state-metrics series, for this CronJob only', () => {
    expect(metricNamesIn(rule.expr)).toEqual([...KUBE_STATE_METRICS].sort());
    expect(rule.expr.match(/\{[^}]*\}/g)!.every((m) => m === sel)).toBe(true);
    expect(rule.labels).toMatchObject({ severity: 'warning', namespace: 'cache', cronjob: 'cache-backup', team: 'storage' });
    expect(rule.annotations.description).toContain('kubectl -n cache create job --from=cronjob/cache-backup');
  });

  it('passes promtool check rules', () => {
    const dir = mkdtempSync(join(tmpdir(), 'backup-alerts-'));
    try {
      writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }, { lineWidth: 0 }));
      expect(promtool(dir, 'check', 'rules', 'rules.yaml')).toContain('SUCCESS: 1 rules found');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stays silent while the last success is recent (hourly successes)', () => {
    // Created at t=0; a success every hour: last_successful_time steps up at 60, 120, 180 min.
    const last = '0x59 3600x59 7200x59 10800x59';
    expect(promtoolTest([
      { series: `kube_cronjob_created${sel}`, values: flat(0, 240) },
      { series: `kube_cronjob_status_last_successful_time${sel}`, values: last },
    ], '230m')).toContain('SUCCESS');
  });

  it('fires when the last success is older than the threshold (2 h + the for: 5m)', () => {
    // One success at 10 min, then none: older than 7200 s from 130 min, firing from 135 min.
    const series = [
      { series: `kube_cronjob_created${sel}`, values: flat(0, 200) },
      { series: `kube_cronjob_status_last_successful_time${sel}`, values: `_x9 ${flat(600, 190)}` },
    ];
    expect(promtoolTest(series, '128m')).toContain('SUCCESS');
    expect(promtoolTest(series, '140m', 8400 - 600)).toContain('SUCCESS');
  });

  it('fires when the CronJob never succeeded since its creation more than the threshold ago', () => {
    const series = [{ series: `kube_cronjob_created${sel}`, values: flat(0, 200) }];
    expect(promtoolTest(series, '100m')).toContain('SUCCESS');
    expect(promtoolTest(series, '140m', 8400)).toContain('SUCCESS');
  });

  it('ignores another CronJob and the same CronJob name in another namespace', () => {
    expect(promtoolTest([
      { series: `kube_cronjob_created${sel}`, values: flat(0, 200) },
      { series: `kube_cronjob_status_last_successful_time${sel}`, values: flat(7000, 200) },
      { series: 'kube_cronjob_created{namespace="other",cronjob="cache-backup"}', values: flat(0, 200) },
      { series: 'kube_cronjob_created{namespace="cache",cronjob="other-backup"}', values: flat(0, 200) },
    ], '140m')).toContain('SUCCESS');
  });

  it('the promtool harness really checks (expecting the wrong outcome fails)', () => {
    expect(() => promtoolTest([{ series: `kube_cronjob_created${sel}`, values: flat(0, 200) }], '140m')).toThrow(/FAILED/);
  });
});
