/**
 * RedisBackup and restore as synthesized: the CronJob (schedule, concurrency, deadline, history,
 * security, script, volumes), the backup claim, the NetworkPolicies (backup pods reach Sentinel
 * and Redis and nothing else; nothing reaches them), the restore init container of the bootstrap
 * master only, the backup-age alert, and that Redis pods do not roll when only backup settings change.
 * The scripts run for real in test/scripts/redis-backup.test.ts, redis-restore.test.ts and test/e2e/backup.test.ts.
 */
import { Duration, Size } from 'cdk8s';
import { RedisSentinelChartProps } from '../src';
import { EXAMPLE_CHART_ID, EXAMPLE_PROPS } from '../src/example';
import { KubeObject, cron, find, ofKind, synthChart } from './support/synth';

const BACKUP: RedisSentinelChartProps = { backup: {}, monitoring: {} };
const objects = synthChart(BACKUP);
const cronJob = find(objects, 'CronJob', 'redis-backup');
const jobSpec = cronJob.spec.jobTemplate.spec;
const podSpec = jobSpec.template.spec;

const REDIS_PODS = { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'redis', 'app.kubernetes.io/component': 'redis' };
const SENTINEL_PODS = { 'app.kubernetes.io/name': 'redis-sentinel', 'app.kubernetes.io/instance': 'redis', 'app.kubernetes.io/component': 'sentinel' };
const BACKUP_PODS = { 'app.kubernetes.io/name': 'redis-backup', 'app.kubernetes.io/instance': 'redis', 'app.kubernetes.io/component': 'backup' };
const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('the backup CronJob', () => {
  it('runs the documented defaults: 02:00 daily, one at a time, 1 h deadline, 3 + 3 Jobs kept', () => {
    expect(cronJob.metadata.namespace).toBe('redis');
    expect(cronJob.spec).toMatchObject({
      schedule: '0 2 * * *', concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3,
    });
    expect(cronJob.spec.timeZone).toBeUndefined();
    expect(jobSpec.activeDeadlineSeconds).toBe(3600);
    expect(podSpec.restartPolicy).toBe('Never');
  });

  it('runs the backup script from the scripts ConfigMap with the Redis image, as the Redis user', () => {
    const [c] = podSpec.containers;
    expect(podSpec.containers).toHaveLength(1);
    expect(c.image).toBe(find(objects, 'StatefulSet', 'redis-master').spec.template.spec.containers[0].image);
    expect(c.command).toEqual(['sh', '/opt/redis-sentinel/redis-backup.sh']);
    expect(c.env).toEqual([
      { name: 'BACKUP_DIR', value: '/backup' }, { name: 'BACKUP_PREFIX', value: 'redis' }, { name: 'BACKUP_RETAIN', value: '7' },
      { name: 'BACKUP_STALE_MINUTES', value: '61' }, { name: 'WORK_DIR', value: '/tmp' },
    ]);
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(podSpec.automountServiceAccountToken).toBe(false);
  });

  it('writes to the backup claim and reads the password from the Secret file, never from env', () => {
    const vols = Object.fromEntries(podSpec.volumes.map((v: any) => [v.name, v]));
    expect(vols.backup.persistentVolumeClaim).toEqual({ claimName: 'redis-backup' });
    expect(vols.auth.secret.secretName).toBe('redis-auth');
    const mounts = Object.fromEntries(podSpec.containers[0].volumeMounts.map((m: any) => [m.name, m]));
    expect(mounts.backup).toEqual({ name: 'backup', mountPath: '/backup' });
    expect(mounts.auth.readOnly).toBe(true);
    // Its env holds the backup settings only: no Secret reference, no password.
    for (const v of podSpec.containers[0].env) expect(Object.keys(v).sort()).toEqual(['name', 'value']);
  });

  it('creates the backup claim (ReadWriteOnce, storageSize by default)', () => {
    const pvc = find(objects, 'PersistentVolumeClaim', 'redis-backup');
    expect(pvc.spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } });
  });

  it('uses the schedule, time zone, retention, size, class, deadline and resources given', () => {
    const o = synthChart({
      backup: {
        schedule: cron('@hourly'), timeZone: 'Europe/Berlin', retention: 24, storageSize: Size.gibibytes(30),
        storageClassName: 'slow', deadline: Duration.minutes(20),
      },
    });
    const cj = find(o, 'CronJob', 'redis-backup');
    expect(cj.spec).toMatchObject({ schedule: '@hourly', timeZone: 'Europe/Berlin' });
    expect(cj.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(1200);
    expect(find(o, 'PersistentVolumeClaim', 'redis-backup').spec).toMatchObject({ storageClassName: 'slow', resources: { requests: { storage: '30Gi' } } });
    const env = cj.spec.jobTemplate.spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'BACKUP_RETAIN', value: '24' });
    // Leftover partial files older than the deadline (+1 min) belong to killed runs.
    expect(env).toContainEqual({ name: 'BACKUP_STALE_MINUTES', value: '21' });
  });

  it('with existingClaim, uses that claim and creates none', () => {
    const o = synthChart({ backup: { existingClaim: 'kept-backups' } });
    expect(ofKind(o, 'PersistentVolumeClaim')).toEqual([]);
    const vols = find(o, 'CronJob', 'redis-backup').spec.jobTemplate.spec.template.spec.volumes;
    expect(vols.find((v: any) => v.name === 'backup').persistentVolumeClaim.claimName).toBe('kept-backups');
  });

  it('is absent by default, with its claim, policy, alert and the policies\' admission of backup pods', () => {
    const o = synthChart({ monitoring: {} });
    expect(ofKind(o, 'CronJob')).toEqual([]);
    expect(ofKind(o, 'PersistentVolumeClaim')).toEqual([]);
    expect(ofKind(o, 'NetworkPolicy').map((p) => p.metadata.name).sort()).toEqual(['redis', 'redis-sentinel']);
    for (const np of ofKind(o, 'NetworkPolicy')) expect(JSON.stringify(np.spec.ingress)).not.toContain('"backup"');
    // The script itself ships with every release (identical text, outside the pods' checksum), so a
    // RedisBackup attached from another Chart finds it.
    expect(Object.keys(find(o, 'ConfigMap', 'redis-scripts').data)).toContain('redis-backup.sh');
    const alerts = find(o, 'PrometheusRule', 'redis').spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert));
    expect(alerts).not.toContain('RedisBackupTooOld');
  });

  it('is on in the example app (the article had a backup job)', () => {
    expect(find(synthChart(EXAMPLE_PROPS, EXAMPLE_CHART_ID), 'CronJob', 'redis-backup').spec.schedule).toBe('0 2 * * *');
  });

});

describe('NetworkPolicies with backups', () => {
  const policy = (name: string) => find(objects, 'NetworkPolicy', name);
  const peersOn = (rules: any[], dir: 'from' | 'to', port: number) =>
    rules.filter((r) => r.ports.some((p: any) => p.port === port)).flatMap((r) => r[dir].map((p: any) => p.podSelector.matchLabels));

  it('admit the backup pods to Redis and to Sentinel', () => {
    expect(peersOn(policy('redis').spec.ingress, 'from', 6379)).toContainEqual(BACKUP_PODS);
    expect(peersOn(policy('redis-sentinel').spec.ingress, 'from', 26379)).toContainEqual(BACKUP_PODS);
  });

  it('let the backup pods reach Sentinel, Redis and DNS only, and nothing reach them', () => {
    const p = policy('redis-backup');
    expect(p.spec.podSelector.matchLabels).toEqual(BACKUP_PODS);
    expect(matches(p.spec.podSelector.matchLabels, jobSpec.template.metadata.labels)).toBe(true);
    expect(p.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(p.spec.ingress).toEqual([]);
    expect(peersOn(p.spec.egress.filter((r: any) => r.to), 'to', 26379)).toEqual([SENTINEL_PODS]);
    expect(peersOn(p.spec.egress.filter((r: any) => r.to), 'to', 6379)).toEqual([REDIS_PODS]);
    const dns = p.spec.egress.filter((r: any) => !r.to);
    expect(dns).toEqual([{ ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }]);
    expect(p.spec.egress).toHaveLength(3);
  });

  it('the backup pods are not selected by the Redis or Sentinel policies (they are not Redis pods)', () => {
    for (const name of ['redis', 'redis-sentinel']) expect(matches(policy(name).spec.podSelector.matchLabels, jobSpec.template.metadata.labels)).toBe(false);
  });
});

describe('the backup-age alert', () => {
  const rulesOf = (o: KubeObject[]) => find(o, 'PrometheusRule', 'redis').spec.groups.flatMap((g: any) => g.rules);
  const alert = (o: KubeObject[]) => rulesOf(o).find((r: any) => r.alert === 'RedisBackupTooOld');

  it('fires after the longest gap between runs plus the deadline (daily: 24 h + 1 h)', () => {
    expect(alert(objects).expr).toContain('> 90000');
    expect(alert(objects).labels).toMatchObject({ namespace: 'redis', cronjob: 'redis-backup', severity: 'warning' });
  });

  it('follows the schedule (every 6 h: 6 h + 1 h) or maxAge', () => {
    expect(alert(synthChart({ ...BACKUP, backup: { schedule: cron('0 */6 * * *') } })).expr).toContain('> 25200');
    expect(alert(synthChart({ ...BACKUP, backup: { maxAge: Duration.hours(30) } })).expr).toContain('> 108000');
  });

  it('is absent when monitoring is off (no PrometheusRule)', () => {
    expect(ofKind(synthChart({ backup: {} }), 'PrometheusRule')).toEqual([]);
  });
});

describe('restore', () => {
  const RESTORE: RedisSentinelChartProps = { backup: {}, restore: { file: 'redis-20260101T020000Z.rdb' } };
  const o = synthChart(RESTORE);
  const master = find(o, 'StatefulSet', 'redis-master').spec.template.spec;

  it('adds a restore init container to the bootstrap master only, mounting the backup claim read-only', () => {
    expect(master.initContainers.map((c: any) => c.name)).toEqual(['restore']);
    const init = master.initContainers[0];
    expect(init.command).toEqual(['sh', '/opt/redis-sentinel/redis-restore.sh']);
    expect(init.volumeMounts).toContainEqual({ name: 'restore', mountPath: '/restore', readOnly: true });
    expect(init.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    expect(master.volumes).toContainEqual({ name: 'restore', persistentVolumeClaim: { claimName: 'redis-backup', readOnly: true } });
    expect(find(o, 'StatefulSet', 'redis-replica').spec.template.spec.initContainers).toBeUndefined();
    expect(init.env.filter((e: any) => !['POD_NAME', 'SELF_FQDN'].includes(e.name))).toEqual([
      { name: 'RESTORE_FROM', value: 'redis-20260101T020000Z.rdb' }, { name: 'RESTORE_DIR', value: '/restore' },
      { name: 'BACKUP_PREFIX', value: 'redis' }, { name: 'DATA_DIR', value: '/data' }, { name: 'WORK_DIR', value: '/tmp' },
    ]);
    expect(init.env.map((e: any) => e.name).slice(0, 2)).toEqual(['POD_NAME', 'SELF_FQDN']);
    expect(find(o, 'ConfigMap', 'redis-scripts').data['redis-restore.sh']).toBeDefined();
  });

  it('reads from restore.claimName when given (no backup needed)', () => {
    const spec = find(synthChart({ restore: { file: 'latest', claimName: 'old-backups' } }), 'StatefulSet', 'redis-master').spec.template.spec;
    expect(spec.volumes).toContainEqual({ name: 'restore', persistentVolumeClaim: { claimName: 'old-backups', readOnly: true } });
  });

  it('is absent without restore', () => {
    expect(find(objects, 'StatefulSet', 'redis-master').spec.template.spec.initContainers).toBeUndefined();
  });
});

describe('rolling restarts', () => {
  const checksum = (o: KubeObject[], sts: string) => find(o, 'StatefulSet', sts).spec.template.metadata.annotations['redis-sentinel.cdk8s.io/config-checksum'];

  it('turning backups on or changing their settings does not roll Redis or Sentinel pods', () => {
    const off = synthChart({ monitoring: {} });
    const template = (o: KubeObject[], sts: string) => find(o, 'StatefulSet', sts).spec.template;
    for (const props of [BACKUP, { monitoring: {}, backup: { retention: 3, schedule: cron('@hourly'), deadline: Duration.minutes(20) } }]) {
      const on = synthChart(props);
      for (const sts of ['redis-master', 'redis-replica', 'redis-sentinel']) {
        expect(checksum(on, sts)).toBe(checksum(off, sts));
        expect(template(on, sts)).toEqual(template(off, sts));
      }
    }
  });

  it('changing the restore file changes only the bootstrap master\'s pod template (its init container\'s env)', () => {
    const a = synthChart({ restore: { file: 'latest', claimName: 'old' } });
    const b = synthChart({ restore: { file: 'redis-20260101T020000Z.rdb', claimName: 'old' } });
    for (const sts of ['redis-master', 'redis-replica', 'redis-sentinel']) expect(checksum(a, sts)).toBe(checksum(b, sts));
    for (const sts of ['redis-replica', 'redis-sentinel']) expect(find(a, 'StatefulSet', sts)).toEqual(find(b, 'StatefulSet', sts));
    const init = (o: KubeObject[]) => find(o, 'StatefulSet', 'redis-master').spec.template.spec.initContainers[0];
    expect({ ...init(a), env: [] }).toEqual({ ...init(b), env: [] });
  });
});
