// The public API: the constructs, their props and options, and synthReleases. The pure renderers
// (src/config/*), the naming helpers (src/names.ts) and the resolved settings are internal (tests
// import them by path).
export { RedisSentinel } from './redis-sentinel';
export { RedisSentinelChart, RedisSentinelChartProps } from './redis-sentinel-chart';
export { AntiAffinity, MaxmemoryPolicy, RedisSentinelProps } from './props';
export { PodOptions } from './pod-options';
export { RedisAuth, PasswordSecretOptions } from './auth';
export { AclOptions, AclUser } from './acl';
export { CertManagerCertificateOptions, CertificateSource, TlsOptions, TlsSecretOptions } from './tls';
export { ClientPasswordSecret, ClientPeer, ConnectOptions, RedisConnection, RedisUserConnection } from './connection';
export { RedisMaster, RedisMasterProps } from './redis-master';
export { RedisReplicaSet, RedisReplicaSetProps } from './redis-replica-set';
export { SentinelQuorum, SentinelQuorumProps } from './sentinel-quorum';
export { RedisNetworkPolicies, RedisNetworkPoliciesProps } from './network-policies';
export { RedisBackup, RedisBackupProps, BackupOptions, RestoreOptions, S3Options, S3ServerSideEncryption } from './backup';
export { RedisMonitoring, RedisMonitoringProps, MonitoringOptions, DEFAULT_EXPORTER_IMAGE } from './monitoring';
export { RedisMasterEndpoint, RedisMasterEndpointProps, MasterEndpointOptions, DEFAULT_HAPROXY_IMAGE } from './master-endpoint';
export { DEFAULT_IMAGE } from './settings';
export { RedisSentinelConfigError } from './validation';
export {
  Fleet, IReleaseConfigurer, IReleaseListener, Release, ReleaseSynthError, SynthReleasesOptions, SynthesizedRelease,
  synthReleases,
} from './fleet';
// The generated prometheus-operator bindings of the two kinds the library emits (RedisMonitoring's
// `serviceMonitor` and `prometheusRule` handles), as one namespace (a jsii submodule), as cdk8s-plus does
// with `k8s`: `import { prometheusOperator } from 'cdk8s-redis-sentinel'`.
export * as prometheusOperator from '../imports/monitoring.coreos.com';
// cert-manager's Certificate binding (RedisSentinel's `certificate` handle, with `tls` from cert-manager).
export * as certManager from '../imports/cert-manager.io';
