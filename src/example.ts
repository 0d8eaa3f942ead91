/**
 * The example deployment: the article in shared/seed, done right. src/main.ts synthesizes it into
 * dist/; the tests check the same props.
 */
import { Cron, Duration, Size } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import { RedisSentinelChartProps } from './redis-sentinel-chart';

/** Chart id of the example: the output file is dist/<id>.k8s.yaml. */
export const EXAMPLE_CHART_ID = 'redis-sentinel';

/** 1 master + 2 replicas, 3 Sentinels with quorum 2, the article's timings, volumes and resources. */
export const EXAMPLE_PROPS: RedisSentinelChartProps = {
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
  // The article's schedule (02:00 daily); a week of snapshots.
  backup: {
    schedule: Cron.schedule({ minute: '0', hour: '2' }),
    retention: 7,
  },
  // redis_exporter sidecars, ServiceMonitor, PrometheusRule, dashboard (needs prometheus-operator).
  monitoring: {},
};
