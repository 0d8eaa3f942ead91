/**
 * A consumer's cdk8s app, compiled by test/consumer.test.ts against the packed npm tarball with
 * strict TypeScript (test/consumer/tsconfig.json) and synthesized. It uses the package only through
 * its public entry point, as an app installed from npm would. Add every new public knob here.
 */
import { App, Chart, Cron, Duration, Size } from 'cdk8s';
import * as plus from 'cdk8s-plus-27';
import {
  AntiAffinity, CertificateSource, MaxmemoryPolicy, RedisAuth, RedisConnection, RedisMonitoring, RedisSentinel, RedisSentinelChart, prometheusOperator,
} from 'cdk8s-redis-sentinel';

/** A sidecar that passes Pod Security "restricted" (the library checks extra containers). */
const restricted = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };

const app = new App({ outdir: 'dist' });

// 1. The deployment inside the app's own Chart and namespace, next to the app's workload.
const shop = new Chart(app, 'shop', { namespace: 'shop' });
const cache = new RedisSentinel(shop, 'cache', {
  replicas: 2,
  sentinels: 3,
  downAfter: Duration.seconds(5),
  failoverTimeout: Duration.seconds(10),
  maxmemoryPolicy: MaxmemoryPolicy.ALLKEYS_LRU,
  storageSize: Size.gibibytes(5),
  auth: RedisAuth.fromSecret({ secretName: 'cache-password', secretKey: 'pw' }),
  backup: { schedule: Cron.schedule({ minute: '30', hour: '3' }), retention: 3 },
  // Least-privilege users: the web app's own (its keys only), and a reporting user that reads.
  acl: {
    secretName: 'cache-internal-users',
    users: [
      { name: 'web', secretName: 'cache-web', rules: '~web:* &* +@all -@dangerous +info +role' },
      { name: 'reports', secretName: 'cache-reports', secretKey: 'pw', rules: '~* +@read +info +role', sentinel: true },
    ],
  },
});
const web = new plus.Deployment(shop, 'web', { replicas: 2 });
web.addContainer({ image: 'ghcr.io/example/web:1.0.0', portNumber: 8080, securityContext: { user: 1000, group: 1000 } });
cache.connect(web, { env: true, user: 'web' });

// 2. A second release in its own Chart and namespace, with its monitoring in a third Chart, and a
//    client in the shop namespace that reads the password from a copy of the Secret there.
//    This release also sets every customization knob (README "Customizing"), the master endpoint and
//    mutual TLS with an existing certificate Secret.
const data = new RedisSentinelChart(app, 'sessions', {
  namespace: 'data',
  masterName: 'sessions',
  labels: { 'example.com/stack': 'shop' },
  commonLabels: { 'example.com/cost-center': 'c42' },
  commonAnnotations: { 'example.com/owner': 'data-team' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'redis', effect: 'NoSchedule' }],
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }] }] } } },
  antiAffinity: AntiAffinity.PREFERRED,
  zoneSpread: false,
  topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' }],
  nodeSelector: { 'node-pool': 'redis' },
  podLabels: { 'example.com/team': 'data' },
  podAnnotations: { 'example.com/logs': 'json' },
  priorityClassName: 'data-critical',
  serviceAccountName: 'sessions',
  extraContainers: [{ name: 'log-shipper', image: 'busybox:1.36.1', securityContext: restricted }],
  extraInitContainers: [{ name: 'wait', image: 'busybox:1.36.1', command: ['true'], securityContext: restricted }],
  extraVolumes: [{ name: 'corp-ca', configMap: { name: 'corp-ca' } }],
  extraVolumeMounts: [{ name: 'corp-ca', mountPath: '/etc/ssl/corp', readOnly: true }],
  redisPod: { nodeSelector: { 'node-pool': 'redis-large' }, tolerations: [{ key: 'redis-only', operator: 'Exists' }] },
  sentinelPod: { serviceAccountName: 'sessions-sentinel', priorityClassName: 'small' },
  persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' },
  storageAccessModes: [plus.PersistentVolumeAccessMode.READ_WRITE_ONCE_POD],
  sentinelStorageAccessModes: [plus.PersistentVolumeAccessMode.READ_WRITE_ONCE],
  backup: { pod: { tolerations: [{ key: 'batch', operator: 'Exists' }] }, storageAccessModes: [plus.PersistentVolumeAccessMode.READ_WRITE_MANY] },
  maxmemoryPolicy: MaxmemoryPolicy.of('allkeys-lru'),
  masterEndpoint: {},
  tls: { certificate: CertificateSource.fromSecret({ secretName: 'sessions-certs' }), mutual: true },
});
const monitoring = new Chart(app, 'sessions-monitoring');
const m = new RedisMonitoring(monitoring, 'Monitoring', {
  deployment: data.redis, namespace: 'monitoring', labels: { release: 'kps' },
  exporterExtraArgs: ['--include-system-metrics'], exporterExtraEnv: [{ name: 'REDIS_EXPORTER_LOG_FORMAT', value: 'json' }],
});
const worker = new plus.Job(shop, 'worker');
worker.addContainer({ image: 'ghcr.io/example/worker:1.0.0', securityContext: { user: 1000, group: 1000 } });
data.redis.connect(worker, { env: true, envPrefix: 'SESSIONS_', passwordSecret: { secretName: 'sessions-password' } });
data.redis.allowClients({ podLabels: { app: 'legacy' }, namespaceLabels: { 'kubernetes.io/metadata.name': 'legacy' } });

// 3. The typed handles: the connection and the generated prometheus-operator types.
const c: RedisConnection = cache.connection;
const sentinels: string = c.sentinels.join(',');
const secret: string | undefined = c.passwordSecretName;
const serviceMonitor: prometheusOperator.ServiceMonitor = m.serviceMonitor;
const rule: prometheusOperator.PrometheusRule = m.prometheusRule;
const sessionsTls: string | undefined = data.redis.connection.tlsSecretName;
new plus.ConfigMap(shop, 'client-config', { data: { sentinels, masterName: c.masterName, secret: secret ?? '', monitor: serviceMonitor.name, rule: rule.name, sessionsTls: sessionsTls ?? '' } });

app.synth();
