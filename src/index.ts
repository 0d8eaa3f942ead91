// The public API: constructs, their props, and synthReleases. The pure renderers (src/config/*) and
// the naming helpers (src/names.ts) are internal (tests import them by path).
export { RedisSentinelChart, RedisSentinelChartProps } from './redis-sentinel-chart';
export { RedisMaster, RedisMasterProps } from './redis-master';
export { RedisReplicaSet, RedisReplicaSetProps } from './redis-replica-set';
export { RedisStatefulSet, RedisStatefulSetOptions } from './redis-statefulset';
export { SentinelQuorum, SentinelQuorumProps } from './sentinel-quorum';
export { RedisNetworkPolicies } from './network-policies';
export { RedisBackup, RedisBackupProps } from './backup';
export { RedisMonitoring } from './monitoring';
export { AntiAffinity, MaxmemoryPolicy, RedisSentinelProps } from './props';
export { DEFAULT_IMAGE, DEFAULT_EXPORTER_IMAGE, RedisSentinelConfigError, Settings } from './settings';
// Settings.names
export { ResourceNames } from './names';
export {
  Fleet, IReleaseConfigurer, IReleaseListener, Release, ReleaseSynthError, SynthReleasesOptions, SynthesizedRelease,
  synthReleases,
} from './fleet';
// The generated prometheus-operator classes of RedisMonitoring's `serviceMonitor` and `prometheusRule`
// handles, as one namespace (a jsii submodule), as cdk8s-plus does with `k8s`.
export * as prometheusOperator from '../imports/monitoring.coreos.com';
