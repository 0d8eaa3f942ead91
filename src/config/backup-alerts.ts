/**
 * The backup alert, from kube-state-metrics' CronJob series (every prometheus-operator stack
 * ships kube-state-metrics; its series carry the CronJob's own `namespace` and `cronjob` labels).
 * Kept apart from ./alerts.ts, whose rules read only redis_exporter metrics.
 *
 * @see https://github.com/kubernetes/kube-state-metrics/blob/main/docs/metrics/workload/cronjob-metrics.md
 */
import { RuleGroup } from './alerts';

/** The kube-state-metrics series the backup rules read. */
export const KUBE_STATE_METRICS: readonly string[] = ['kube_cronjob_created', 'kube_cronjob_status_last_successful_time'];

export interface BackupAlertOptions {
  /** Namespace of the CronJob. */
  readonly namespace: string;
  /** Name of the backup CronJob. */
  readonly cronJob: string;
  /** Fire when the last successful backup (or, before the first, the CronJob's creation) is older than this. */
  readonly maxAgeSeconds: number;
  /** The schedule, for the description. */
  readonly schedule: string;
  /** Name of the rule group (unique within the PrometheusRule). */
  readonly groupName: string;
  /** Extra labels on the alert (may not set `severity` or `namespace`). */
  readonly alertLabels?: Record<string, string>;
}

const str = (v: string) => JSON.stringify(v);

/** Renders the backup rule group: RedisBackupTooOld. */
export function renderBackupAlertRules(o: BackupAlertOptions): RuleGroup[] {
  const sel = `namespace=${str(o.namespace)},cronjob=${str(o.cronJob)}`;
  const kubectl = `kubectl -n ${o.namespace}`;
  const expr = [
    `time() - max(kube_cronjob_status_last_successful_time{${sel}}) > ${o.maxAgeSeconds}`,
    // Never succeeded yet: kube-state-metrics has no last_successful_time series at all.
    `or (time() - max(kube_cronjob_created{${sel}}) > ${o.maxAgeSeconds} unless max(kube_cronjob_status_last_successful_time{${sel}}))`,
  ].join(' ');
  return [{
    name: o.groupName,
    rules: [{
      alert: 'RedisBackupTooOld',
      expr,
      for: '5m',
      labels: { severity: 'warning', namespace: o.namespace, cronjob: o.cronJob, ...(o.alertLabels ?? {}) },
      annotations: {
        summary: `No successful Redis backup of ${o.namespace}/${o.cronJob} for {{ printf "%.0f" $value }} s`,
        description: [
          `The last successful run of CronJob ${o.cronJob} (schedule '${o.schedule}') was more than ${o.maxAgeSeconds} s ago, or it never succeeded since it was created:`,
          'a restore now would lose everything since the newest backup.',
          `Check: ${kubectl} get jobs -l app.kubernetes.io/component=backup --sort-by=.status.startTime;`,
          `${kubectl} logs job/<the newest job> --all-containers (every failure says why: no Sentinel answered, redis-cli --rdb failed, redis-check-rdb rejected the file, the volume is full, the upload to S3 failed);`,
          `${kubectl} get cronjob ${o.cronJob} (suspended? lastScheduleTime?). Run one now: ${kubectl} create job --from=cronjob/${o.cronJob} ${o.cronJob}-manual.`,
        ].join(' '),
      },
    }],
  }];
}
