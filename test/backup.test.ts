/**
 * RedisBackup and restore as synthesized: the CronJob (schedule, concurrency, deadline, history,
 * security, script, volumes), the backup claim, the NetworkPolicies (backup pods reach Sentinel
 * and Redis and nothing else; nothing reaches them), the restore init container of the bootstrap
 * master only, the backup-age alert, and that Redis pods do not roll when only backup settings change.
 * The scripts run for real in test/scripts/redis-backup.test.ts, redis-restore.test.ts and test/e2e/backup.test.ts.
 */
import { Duration, Size } from 'cdk8s';
import { RedisSentinelChartProps, S3ServerSideEncryption } from '../src';
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

describe('backup.s3 (upload to S3-compatible storage)', () => {
  const S3_PROPS: RedisSentinelChartProps = {
    backup: { retention: 5, s3: { bucket: 'redis-backups', credentialsSecret: 's3-keys', endpoint: 'https://minio.storage.svc:9000', forcePathStyle: true } },
  };
  const o = synthChart(S3_PROPS);
  const spec = find(o, 'CronJob', 'redis-backup').spec.jobTemplate.spec.template.spec;
  const env = (c: any) => Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

  it('runs the backup as init container, then the upload in the pinned rclone image', () => {
    expect(spec.initContainers.map((c: any) => c.name)).toEqual(['backup']);
    expect(spec.containers.map((c: any) => [c.name, c.image, c.command])).toEqual([['upload', 'rclone/rclone:1.68.2', ['sh', '/opt/redis-sentinel/s3-upload.sh']]]);
    expect(spec.containers[0].securityContext).toEqual(spec.initContainers[0].securityContext);
    expect(find(o, 'ConfigMap', 'redis-scripts').data['s3-upload.sh']).toContain('upload FAILED');
  });

  it('gives rclone its remote through env, credentials from the Secret by reference only', () => {
    expect(env(spec.containers[0])).toMatchObject({
      S3_PATH: 's3:redis-backups/redis/redis', S3_RETAIN: '5', RCLONE_CONFIG_S3_TYPE: 's3', RCLONE_CONFIG_S3_PROVIDER: 'Other',
      RCLONE_CONFIG_S3_ENDPOINT: 'https://minio.storage.svc:9000', RCLONE_CONFIG_S3_FORCE_PATH_STYLE: 'true', RCLONE_CONFIG_S3_REGION: 'us-east-1',
      RCLONE_CONFIG_S3_NO_CHECK_BUCKET: 'true',
      AWS_ACCESS_KEY_ID: { secretKeyRef: { name: 's3-keys', key: 'AWS_ACCESS_KEY_ID' } },
      AWS_SECRET_ACCESS_KEY: { secretKeyRef: { name: 's3-keys', key: 'AWS_SECRET_ACCESS_KEY' } },
    });
    expect(spec.containers[0].env.filter((e: any) => e.name.startsWith('AWS_') && e.value !== undefined)).toEqual([]);
  });

  it('lets the backup pods reach the endpoint\'s port only (any address), or only egressCidrs', () => {
    const egress = find(o, 'NetworkPolicy', 'redis-backup').spec.egress;
    expect(egress).toContainEqual({ ports: [{ protocol: 'TCP', port: 9000 }] });
    const narrow = synthChart({ backup: { s3: { bucket: 'b-1', credentialsSecret: 'k', egressCidrs: ['52.216.0.0/15'] } } });
    expect(find(narrow, 'NetworkPolicy', 'redis-backup').spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '52.216.0.0/15' } }], ports: [{ protocol: 'TCP', port: 443 }] });
  });

  it('with serviceAccountAnnotations, runs under a ServiceAccount of its own carrying them (workload identity), token not automounted', () => {
    const annotations = { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/redis-backup' };
    const w = synthChart({ backup: { s3: { bucket: 'b-1', serviceAccountAnnotations: annotations, serverSideEncryption: S3ServerSideEncryption.AWS_KMS, kmsKeyId: 'alias/redis' } } });
    const sa = find(w, 'ServiceAccount', 'redis-backup');
    expect(sa.metadata.annotations).toEqual(annotations);
    const ws = find(w, 'CronJob', 'redis-backup').spec.jobTemplate.spec.template.spec;
    expect(ws.serviceAccountName).toBe('redis-backup');
    expect(ws.automountServiceAccountToken).toBe(false);
    expect(env(ws.containers[0])).toMatchObject({
      RCLONE_CONFIG_S3_PROVIDER: 'AWS', RCLONE_CONFIG_S3_SERVER_SIDE_ENCRYPTION: 'aws:kms', RCLONE_CONFIG_S3_SSE_KMS_KEY_ID: 'alias/redis',
    });
    expect(env(ws.containers[0]).AWS_ACCESS_KEY_ID).toBeUndefined();
  });

  it('changing S3 settings rolls no Redis or Sentinel pod', () => {
    const plain = synthChart({ backup: { retention: 5 } });
    for (const sts of ['redis-master', 'redis-replica', 'redis-sentinel']) expect(find(o, 'StatefulSet', sts)).toEqual(find(plain, 'StatefulSet', sts));
  });
});

describe('restore.s3', () => {
  const o = synthChart({ restore: { file: 'latest', s3: { bucket: 'redis-backups', prefix: 'prod/redis', credentialsSecret: 's3-keys' } } });
  const master = find(o, 'StatefulSet', 'redis-master').spec.template.spec;

  it('fetches the object with rclone before the restore container, which reads it from the data volume', () => {
    expect(master.initContainers.map((c: any) => [c.name, c.image])).toEqual([['restore-fetch', 'rclone/rclone:1.68.2'], ['restore', 'redis:7.2.11-alpine']]);
    const dir = (c: any) => c.env.find((e: any) => e.name === 'RESTORE_DIR').value;
    expect(master.initContainers.map(dir)).toEqual(['/data/.restore-source', '/data/.restore-source']);
    expect(master.initContainers[0].env).toContainEqual({ name: 'S3_PATH', value: 's3:redis-backups/prod/redis' });
    expect(master.volumes.map((v: any) => v.name)).not.toContain('restore');
    expect(find(o, 'StatefulSet', 'redis-replica').spec.template.spec.initContainers).toBeUndefined();
  });

  it('opens egress to the store for the bootstrap master only, in a policy of its own', () => {
    const p = find(o, 'NetworkPolicy', 'redis-restore');
    expect(p.spec).toEqual({
      podSelector: { matchLabels: find(o, 'StatefulSet', 'redis-master').spec.selector.matchLabels },
      policyTypes: ['Egress'], egress: [{ ports: [{ protocol: 'TCP', port: 443 }] }],
    });
  });
});

describe('backup Jobs and a restore on the same ReadWriteOnce claim (issue 15, item 6)', () => {
  const affinityOf = (o: KubeObject[]) => find(o, 'CronJob', 'redis-backup').spec.jobTemplate.spec.template.spec.affinity;

  it('run on the node of the bootstrap master while its restore mounts the backup claim', () => {
    const o = synthChart({ backup: {}, restore: { file: 'latest' } });
    const masterLabels = find(o, 'StatefulSet', 'redis-master').spec.template.metadata.labels;
    const [term] = affinityOf(o).podAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    expect(term.topologyKey).toBe('kubernetes.io/hostname');
    expect(matches(term.labelSelector.matchLabels, masterLabels)).toBe(true);
    for (const sts of ['redis-replica', 'redis-sentinel']) {
      expect(matches(term.labelSelector.matchLabels, find(o, 'StatefulSet', sts).spec.template.metadata.labels)).toBe(false);
    }
  });

  it('are not pinned when the restore reads another claim, S3, or nothing', () => {
    expect(affinityOf(synthChart({ backup: {} }))).toBeUndefined();
    expect(affinityOf(synthChart({ backup: {}, restore: { file: 'latest', claimName: 'old-backups' } }))).toBeUndefined();
    expect(affinityOf(synthChart({ backup: {}, restore: { file: 'latest', s3: { bucket: 'b-1', credentialsSecret: 'k' } } }))).toBeUndefined();
  });
});
