/**
 * The example app: the deployment of the article in shared/seed, done right.
 * `npx projen synth` writes dist/redis-sentinel.k8s.yaml.
 *
 * Before applying, create the password Secret (never committed):
 *   kubectl create namespace redis
 *   kubectl -n redis create secret generic redis-auth --from-literal=password="$(openssl rand -base64 32)"
 */
import { App, Duration, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import { RedisSentinelChart } from './redis-sentinel-chart';

const app = new App();
new RedisSentinelChart(app, 'redis-sentinel', {
  name: 'redis',
  namespace: 'redis',
  masterName: 'mymaster',
  replicas: 2,
  sentinels: 3,
  quorum: 2,
  downAfter: Duration.seconds(5),
  failoverTimeout: Duration.seconds(10),
  parallelSyncs: 1,
  storageSize: Size.gibibytes(10),
  sentinelStorageSize: Size.gibibytes(1),
  redisResources: {
    cpu: { request: Cpu.millis(500), limit: Cpu.millis(1000) },
    memory: { request: Size.gibibytes(1), limit: Size.gibibytes(2) },
  },
  sentinelResources: {
    cpu: { request: Cpu.millis(100), limit: Cpu.millis(200) },
    memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
  },
});
app.synth();
