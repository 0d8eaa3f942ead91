import { TlsConfOptions, tlsLines } from './redis-conf';

/**
 * sentinel.conf for every Sentinel pod. It monitors the bootstrap master; the start script
 * copies it to the Sentinel's writable volume, points `sentinel monitor` at the master that
 * live Sentinels (or this Sentinel's own saved state) know with the highest config epoch, and
 * appends the per-pod part (`sentinel myid`, `sentinel announce-ip`) and the password.
 */
export interface SentinelConfOptions {
  /** TCP port Sentinel listens on. */
  readonly port: number;
  /** Sentinel's working directory (writable). */
  readonly dataDir: string;
  /** The monitored master's name (`mymaster`). */
  readonly masterName: string;
  /** Host of the master to monitor when nothing better is known: the bootstrap master's FQDN. */
  readonly masterHost: string;
  /** Redis port of the master. */
  readonly masterPort: number;
  /** Sentinels that must agree the master is down. */
  readonly quorum: number;
  readonly downAfterMilliseconds: number;
  readonly failoverTimeoutMilliseconds: number;
  readonly parallelSyncs: number;
  /** TLS on `port` (the plaintext port closed), and to Redis and the other Sentinels. */
  readonly tls?: TlsConfOptions;
}

/** Renders the static sentinel.conf shared by every Sentinel pod. */
export function renderSentinelConf(o: SentinelConfOptions): string {
  const m = o.masterName;
  const lines = [
    '# Rendered by cdk8s-redis-sentinel. The start script rewrites the monitor line to the',
    '# current master and appends sentinel myid, announce-ip and the password.',
    ...tlsLines(o.port, o.tls),
    'bind * -::*',
    'protected-mode no',
    `dir ${o.dataDir}`,
    'logfile ""',
    '# Names, not pod IPs: IPs change when a pod is recreated.',
    'sentinel resolve-hostnames yes',
    'sentinel announce-hostnames yes',
    `sentinel announce-port ${o.port}`,
    'sentinel deny-scripts-reconfig yes',
    `sentinel monitor ${m} ${o.masterHost} ${o.masterPort} ${o.quorum}`,
    `sentinel down-after-milliseconds ${m} ${o.downAfterMilliseconds}`,
    `sentinel failover-timeout ${m} ${o.failoverTimeoutMilliseconds}`,
    `sentinel parallel-syncs ${m} ${o.parallelSyncs}`,
  ];
  return lines.join('\n') + '\n';
}
