/**
 * redis.conf for every Redis pod. It holds nothing per pod and no secret: the start script
 * copies it to a writable volume and appends the runtime part (announce address, password,
 * and `replicaof` when the Sentinels name another master).
 */
export interface RedisConfOptions {
  /** TCP port Redis listens on. */
  readonly port: number;
  /** Directory for the AOF and RDB files (the pod's persistent volume). */
  readonly dataDir: string;
  /** `min-replicas-to-write`; 0 turns the check off. */
  readonly minReplicasToWrite: number;
  /** `min-replicas-max-lag` in seconds. */
  readonly minReplicasMaxLagSeconds: number;
  /** `maxmemory` in bytes; undefined leaves Redis without a limit. */
  readonly maxmemoryBytes?: number;
  /** `maxmemory-policy`. */
  readonly maxmemoryPolicy: string;
  /** RDB snapshot points as `[seconds, changes]` pairs; empty turns RDB snapshots off. */
  readonly savePoints: ReadonlyArray<readonly [number, number]>;
  /**
   * Extra directives (already validated), in order. One that names a directive rendered here
   * replaces that line (Redis would otherwise add up repeated `save` lines); others are appended.
   */
  readonly extraDirectives?: ReadonlyArray<readonly [string, string]>;
  /** TLS on `port` (the plaintext port closed), for clients and replication. */
  readonly tls?: TlsConfOptions;
}

/** TLS lines shared by redis.conf and sentinel.conf. */
export interface TlsConfOptions {
  /** Paths of the certificate, its key and the CA (a mounted kubernetes.io/tls Secret). */
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  /** Require a client certificate signed by the CA (`tls-auth-clients yes`). */
  readonly mutual: boolean;
}

/**
 * `port` as a TLS port with the plaintext one closed, and TLS for the connections the process opens
 * itself (`tls-replication`: a replica to its master; Sentinel to Redis and to the other Sentinels).
 * The certificate is also the client certificate of those connections.
 */
export function tlsLines(port: number, t: TlsConfOptions | undefined): string[] {
  if (!t) return [`port ${port}`];
  return [
    'port 0',
    `tls-port ${port}`,
    `tls-cert-file ${t.certFile}`,
    `tls-key-file ${t.keyFile}`,
    `tls-ca-cert-file ${t.caFile}`,
    'tls-replication yes',
    `tls-auth-clients ${t.mutual ? 'yes' : 'no'}`,
  ];
}

/** Renders the static redis.conf shared by every Redis pod. */
export function renderRedisConf(o: RedisConfOptions): string {
  const save = o.savePoints.length === 0 ? '""' : o.savePoints.map(([s, c]) => `${s} ${c}`).join(' ');
  const overrides = new Map(o.extraDirectives ?? []);
  // A directive line, or the user's replacement for it.
  const d = (key: string, value: string) => {
    const v = overrides.get(key) ?? value;
    overrides.delete(key);
    return `${key} ${v}`;
  };
  const lines = [
    '# Rendered by cdk8s-redis-sentinel. Roles are decided at every start by the start script,',
    '# which appends replica-announce-ip, the password and (on replicas) replicaof.',
    ...tlsLines(o.port, o.tls),
    'bind * -::*',
    // Access is guarded by requirepass (unless auth is explicitly off) and NetworkPolicies.
    'protected-mode no',
    `dir ${o.dataDir}`,
    '',
    '# Persistence: AOF fsync every second plus RDB snapshots.',
    'appendonly yes',
    d('appendfsync', 'everysec'),
    d('save', save),
    '',
    '# Replication',
    d('replica-read-only', 'yes'),
    d('replica-serve-stale-data', 'yes'),
    d('repl-diskless-sync', 'yes'),
    // Redis waits this long for more replicas before a diskless full sync; after a failover the
    // replicas reconnect within a second, and a promoted master must not refuse writes
    // (min-replicas-to-write) for the default 5 s while it waits.
    d('repl-diskless-sync-delay', '1'),
    `min-replicas-to-write ${o.minReplicasToWrite}`,
    `min-replicas-max-lag ${o.minReplicasMaxLagSeconds}`,
    '',
    '# Memory',
    ...(o.maxmemoryBytes === undefined ? [] : [`maxmemory ${o.maxmemoryBytes}`]),
    `maxmemory-policy ${o.maxmemoryPolicy}`,
    '',
    '# Logs to stdout for kubectl logs.',
    'logfile ""',
    d('tcp-keepalive', '60'),
    ...[...overrides].map(([k, v]) => `${k} ${v}`),
  ];
  return lines.join('\n') + '\n';
}
