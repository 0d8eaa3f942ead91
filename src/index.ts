export { RedisSentinelChart, RedisSentinelChartProps } from './redis-sentinel-chart';
export { RedisMaster, RedisMasterProps } from './redis-master';
export { RedisReplicaSet, RedisReplicaSetProps } from './redis-replica-set';
export { RedisStatefulSet, RedisStatefulSetOptions } from './redis-statefulset';
export { SentinelQuorum, SentinelQuorumProps } from './sentinel-quorum';
export { RedisNetworkPolicies } from './network-policies';
export { RedisBackup, RedisBackupProps } from './backup';
export { RedisMonitoring, exporterContainer } from './monitoring';
export { AntiAffinity, MaxmemoryPolicy, RedisSentinelProps } from './props';
export { DEFAULT_IMAGE, DEFAULT_EXPORTER_IMAGE, RedisSentinelConfigError, Settings, resolveSettings } from './settings';
export { RenderedFiles, renderFiles } from './shared-config';
export { quorumFor, isMajority } from './config/quorum';
export { AlertRuleOptions, AlertRule, RuleGroup, renderAlertRules, metricNamesIn } from './config/alerts';
export { DashboardOptions, renderDashboard } from './config/dashboard';
export { BackupAlertOptions, KUBE_STATE_METRICS, renderBackupAlertRules } from './config/backup-alerts';
export { CronSchedule, CronScheduleError, longestGapMinutes, parseCronSchedule } from './config/cron';
export { RedisConfOptions, renderRedisConf } from './config/redis-conf';
export { SentinelConfOptions, renderSentinelConf } from './config/sentinel-conf';
export {
  ScriptCommonOptions, RedisStartScriptOptions, SentinelStartScriptOptions, PreStopScriptOptions,
  BackupScriptOptions, RestoreScriptOptions,
  renderRedisStartScript, renderSentinelStartScript, renderPreStopScript, renderRedisProbeScript, renderSentinelProbeScript,
  renderBackupScript, renderRestoreScript,
} from './config/scripts';
export * as names from './names';
export {
  Fleet, IReleaseConfigurer, IReleaseListener, Release, ReleaseSynthError, SynthReleasesOptions, SynthesizedRelease,
  synthReleases,
} from './fleet';
