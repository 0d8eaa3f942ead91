/**
 * haproxy.cfg of the master endpoint ({@link RedisMasterEndpoint}): a TCP proxy that routes to the
 * one Redis pod a majority of ALL Sentinels name as master AND that says `role:master` itself, and a
 * read port over the replicas in sync. Pure: plain data in, a string out.
 *
 * How "the pod the Sentinels name" is expressed with HAProxy's own health checks (no sidecar, no
 * fork, no service-account token):
 *
 * - `named_<pod>`: one server per Sentinel; its check asks that Sentinel
 *   `SENTINEL get-master-addr-by-name` and passes only when the reply is exactly this pod's
 *   announced name and port. The frontends count the servers UP in `named_<pod>` (`srv_is_up` of
 *   each, summed in a variable) = how many Sentinels name the pod now. Not `nbsrv()`: it counts 0 in
 *   a worker that is stopping after a reload, whose backends are stopped while it still routes the
 *   connections it had just accepted (seen: such a connection closed as if no master were named).
 * - `master_<pod>`: the pod itself; its check passes only on `role:master` (INFO replication).
 *   `on-marked-down shutdown-sessions` closes every session the moment it is demoted or unreachable;
 *   `option nolinger` closes them with a reset, so data still queued for a partitioned master is
 *   dropped, never delivered when the partition heals.
 * - The frontend sends a new connection to `master_<pod>` only when a majority of all Sentinels name
 *   <pod>, NO other pod has such a majority (check results are sampled at slightly different times,
 *   so during a switch a Sentinel can count for the old and the new pod at once: then nothing is
 *   routed), and <pod> says role:master. Otherwise the connection is closed at once ("route nowhere
 *   is safer than route wrong"): while the Sentinels disagree, or a majority cannot be reached.
 * - The fence (a Lua task, endpoint-fence.lua) closes the existing sessions of a `master_<pod>`
 *   whose Sentinel majority is gone even though the pod still says role:master (an isolated old
 *   master that this proxy can still reach).
 *
 * A check's mismatch must be conclusive at once, not after `timeout check`: Redis is sent QUIT after
 * INFO (it closes the connection); Sentinel has no QUIT, so the request ends with an unbalanced quote,
 * which Sentinel answers with a protocol error and a close. HAProxy then judges the complete reply.
 *
 * The password is never in the file: checks build `AUTH` from the environment variable
 * REDIS_PASSWORD at run time (`%[env(REDIS_PASSWORD)]`, RESP-framed with its length, so any byte works).
 *
 * @see https://docs.haproxy.org/2.6/configuration.html#4.2-tcp-check%20expect
 */

/** A Redis pod or a Sentinel as HAProxy sees it. */
export interface HaproxyServer {
  /** The pod name (HAProxy server and backend names). */
  readonly name: string;
  /** Where HAProxy connects: a DNS name (resolved at run time) or an IP. */
  readonly address: string;
}

export interface HaproxyConfigOptions {
  /** Sentinel's name for the master. */
  readonly masterName: string;
  /** The Redis pods (their `address` is also what the Sentinels announce for them). */
  readonly redis: readonly HaproxyServer[];
  readonly sentinels: readonly HaproxyServer[];
  readonly redisPort: number;
  readonly sentinelPort: number;
  /** Listen port of the master endpoint. */
  readonly masterListenPort: number;
  /** Listen port of the replicas-only read endpoint. */
  readonly replicasListenPort: number;
  /** Listen port of /metrics, /healthz (alive) and /ready (a Sentinel majority agrees on a master). */
  readonly metricsPort: number;
  /** Checks send AUTH with $REDIS_PASSWORD. */
  readonly auth: boolean;
  /** With ACL users: the checks' user (`AUTH <user> $REDIS_PASSWORD`); else they log in as the default user. */
  readonly user?: string;
  /** Interval between two checks of one server. */
  readonly checkIntervalMs: number;
  /** Path of endpoint-fence.lua. */
  readonly fenceLuaPath: string;
  /** Resolve server names through the pod's resolv.conf at run time (pod IPs change on restart). */
  readonly resolvers: boolean;
  /** Close client and server connections idle this long. */
  readonly idleTimeoutSeconds: number;
  /**
   * With TLS on Redis and Sentinel: the checks speak TLS, verify the server's certificate against the CA and
   * its name against the server's address, and present the client certificate (its key beside it, `.key`
   * for `.crt`). Client sessions pass through unchanged: TLS ends at Redis.
   */
  readonly tls?: { readonly caFile: string; readonly certFile: string };
  /**
   * When HAProxy is reloaded (endpoint-start.sh): the file its servers' states are saved to before a
   * reload and read from by the new worker, and the loopback port of the runtime API it is saved
   * through (`show servers state`, level user). Without it a new worker starts with every server up
   * until its first checks, so for that moment several pods look named by a Sentinel majority. The
   * old worker is ended {@link oldWorkerLifeMs} after a reload (`hard-stop-after`).
   */
  readonly reloadState?: { readonly file: string; readonly statsPort: number };
}

/** A strict majority of `n` Sentinels: at most one pod can be named by this many at once. */
export function sentinelMajority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** RESP array of bulk strings, written with HAProxy config escapes (`\r\n`, `\$`). */
function resp(...args: string[]): string {
  return [`*${args.length}`, ...args.flatMap((a) => [`\\$${Buffer.byteLength(a)}`, a])].join('\\r\\n') + '\\r\\n';
}

/** Backend and ACL names: HAProxy allows letters, digits, '-', '_', '.' and ':'; pod names qualify. */
const masterBackend = (pod: string) => `master_${pod}`;
const namedBackend = (pod: string) => `named_${pod}`;
const namedAcl = (pod: string) => `named_${pod}`;

/** AUTH [user] $REDIS_PASSWORD, RESP-framed (the password's length computed at run time). */
function authSteps(user: string | undefined): string[] {
  const userArg = user === undefined ? '' : `\\$${Buffer.byteLength(user)}\\r\\n${user}\\r\\n`;
  return [
    `  tcp-check send-lf "*${user === undefined ? 2 : 3}\\r\\n\\$4\\r\\nAUTH\\r\\n${userArg}\\$%[env(REDIS_PASSWORD),length]\\r\\n%[env(REDIS_PASSWORD)]\\r\\n"`,
    '  tcp-check expect string +OK',
  ];
}

function checks(o: HaproxyConfigOptions, steps: string[]): string[] {
  // With TLS, `default`: the check connects as the server line says (check-ssl, verify, crt); a bare
  // `tcp-check connect` would speak plaintext.
  return ['  option tcp-check', `  tcp-check connect${o.tls ? ' default' : ''}`, ...(o.auth ? authSteps(o.user) : []), ...steps];
}

/**
 * How soon a server that was up and just failed a check is checked again (`fastinter`): a fifth of the
 * interval, at least 20 ms. Its second failure in a row marks it down (`fall 2`).
 */
function confirmIntervalMs(o: Pick<HaproxyConfigOptions, 'checkIntervalMs'>): number {
  return Math.max(20, Math.round(o.checkIntervalMs / 5));
}

/**
 * `check` keywords of every server. One passed check brings a server up (`rise 1`: a newly named master is
 * followed at once); a server that is up goes down on two failed checks in a row, the second
 * {@link confirmIntervalMs} after the first (`fall 2`, `fastinter`). Not one: a check that gets no answer in
 * time (the connect limit is min(timeout connect, inter); a starved node, or a freshly reloaded worker whose
 * every first check is a full TLS handshake at once) says nothing about the Sentinels' choice, and with
 * `fall 1` one such round marked every server down and the endpoint refused new connections until the next
 * round (measured: 22 of 264 connections refused, 34 of 174 with TLS). A conclusive mismatch (another pod
 * named, role:slave) costs that much more: a fifth of the interval. With resolvers,
 * a worker starts with the address in the saved states (`init-addr last`, after a reload), else with none
 * until the resolvers answer. Not `none` alone: a reloaded worker's servers then waited in maintenance for
 * their first DNS answer, which brings a server back UP before its first check (HAProxy starts a server
 * leaving maintenance as healthy), so for a moment after every reload every pod looked named by the
 * Sentinels and the endpoint routed nowhere (measured: 26 of 390 connections refused over 3 reloads).
 */
function serverOptions(o: HaproxyConfigOptions, srv: HaproxyServer): string {
  const resolve = o.resolvers ? ' resolvers cluster resolve-prefer ipv4 init-addr last,none' : '';
  const tls = o.tls ? ` check-ssl verify required ca-file ${o.tls.caFile} crt ${o.tls.certFile} check-sni ${srv.address} verifyhost ${srv.address}` : '';
  return `check inter ${o.checkIntervalMs}ms fastinter ${confirmIntervalMs(o)}ms rise 1 fall 2${resolve}${tls}`;
}

function validate(o: HaproxyConfigOptions): void {
  const NAME = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
  if (o.redis.length === 0 || o.sentinels.length === 0) throw new Error('renderHaproxyConfig: needs at least one Redis pod and one Sentinel');
  for (const srv of [...o.redis, ...o.sentinels]) {
    if (!NAME.test(srv.name) || !NAME.test(srv.address)) throw new Error(`renderHaproxyConfig: server '${srv.name}' at '${srv.address}' must be DNS names or IPs`);
  }
  if (!/^[A-Za-z0-9._-]+$/.test(o.masterName)) throw new Error(`renderHaproxyConfig: masterName ('${o.masterName}') has characters a check cannot carry`);
  const ports = [o.masterListenPort, o.replicasListenPort, o.metricsPort, ...(o.reloadState ? [o.reloadState.statsPort] : [])];
  if (new Set(ports).size !== ports.length) throw new Error(`renderHaproxyConfig: listen ports ${ports.join(', ')} must differ`);
}

/** Backends `named_<pod>` (Sentinels naming the pod) and `master_<pod>` (the pod, role:master). */
function masterBackends(o: HaproxyConfigOptions): string[] {
  const out: string[] = [];
  for (const pod of o.redis) {
    // The exact reply naming this pod; the trailing `"` makes Sentinel close the connection.
    const reply = `\\r\\n${pod.address}\\r\\n\\$${String(o.redisPort).length}\\r\\n${o.redisPort}\\r\\n`;
    out.push(
      '',
      `backend ${namedBackend(pod.name)}`,
      ...checks(o, [
        `  tcp-check send "${resp('SENTINEL', 'get-master-addr-by-name', o.masterName)}\\"\\r\\n"`,
        `  tcp-check expect string "${reply}"`,
      ]),
      ...o.sentinels.map((s) => `  server ${s.name} ${s.address}:${o.sentinelPort} ${serverOptions(o, s)}`),
      '',
      `backend ${masterBackend(pod.name)}`,
      '  option nolinger',
      ...checks(o, [
        `  tcp-check send "${resp('INFO', 'replication')}${resp('QUIT')}"`,
        '  tcp-check expect string "\\r\\nrole:master\\r\\n"',
      ]),
      `  server ${pod.name} ${pod.address}:${o.redisPort} ${serverOptions(o, pod)} on-marked-down shutdown-sessions`,
    );
  }
  return out;
}

/** The variable holding how many Sentinels name the i-th Redis pod (variable names allow no '-'). */
const namingVar = (i: number) => `txn.named${i}`;

/**
 * Rules (`tcp-request content` or `http-request`) that count, per Redis pod, the Sentinels naming it:
 * the servers UP in named_<pod>, from their states (see the file comment for why not nbsrv()).
 */
function namingCounts(o: HaproxyConfigOptions, rule: string): string[] {
  return o.redis.flatMap((p, i) => [
    `  ${rule} set-var(${namingVar(i)}) int(0)`,
    ...o.sentinels.map((s) => `  ${rule} set-var(${namingVar(i)}) srv_is_up(${namedBackend(p.name)}/${s.name}),add(${namingVar(i)})`),
  ]);
}

/** The master frontend's ACLs and routing: one unique Sentinel majority, and role:master. */
function masterFrontend(o: HaproxyConfigOptions): string[] {
  const majority = sentinelMajority(o.sentinels.length);
  const pods = o.redis.map((p) => p.name);
  return [
    '',
    'frontend master',
    `  bind :${o.masterListenPort}`,
    // A session that did not end normally is logged with its termination state (e.g. `SC`: no server, the
    // connection routed nowhere; `CD`: the client went away): why a client was refused, without a line per
    // healthy session.
    '  option tcplog',
    '  option dontlog-normal',
    ...namingCounts(o, 'tcp-request content'),
    ...pods.map((p, i) => `  acl ${namedAcl(p)} var(${namingVar(i)}) -m int ge ${majority}`),
    ...pods.map((p) => `  use_backend ${masterBackend(p)} if ${namedAcl(p)} ${pods.filter((q) => q !== p).map((q) => `!${namedAcl(q)} `).join('')}{ srv_is_up(${masterBackend(p)}/${p}) }`),
    // No agreed master: the connection is closed at once.
    '  default_backend no_master',
    '',
    'backend no_master',
    '  option nolinger',
  ];
}

/** The replicas-only read port: replicas whose link to their master is up and not syncing. */
function replicasSection(o: HaproxyConfigOptions): string[] {
  return [
    '',
    'frontend replicas',
    `  bind :${o.replicasListenPort}`,
    '  no log',
    '  default_backend replicas',
    '',
    'backend replicas',
    '  balance leastconn',
    ...checks(o, [
      `  tcp-check send "${resp('INFO', 'replication')}${resp('QUIT')}"`,
      '  tcp-check expect string "\\r\\nrole:slave\\r\\n"',
      '  tcp-check expect string "\\r\\nmaster_link_status:up\\r\\n"',
      '  tcp-check expect string "\\r\\nmaster_sync_in_progress:0\\r\\n"',
    ]),
    // A replica promoted to master leaves the read endpoint with its sessions.
    ...o.redis.map((p) => `  server ${p.name} ${p.address}:${o.redisPort} ${serverOptions(o, p)} on-marked-down shutdown-sessions`),
  ];
}

/** /metrics (Prometheus exporter), /healthz (the process answers), /ready (a Sentinel majority agrees). */
function statsSection(o: HaproxyConfigOptions): string[] {
  const agreed = o.redis.map((_, i) => `{ path /ready } { var(${namingVar(i)}) -m int ge ${sentinelMajority(o.sentinels.length)} }`).join(' || ');
  return [
    '',
    'frontend stats',
    '  mode http',
    `  bind :${o.metricsPort}`,
    '  no log',
    '  monitor-uri /healthz',
    '  http-request use-service prometheus-exporter if { path /metrics }',
    ...namingCounts(o, 'http-request').map((l) => `${l} if { path /ready }`),
    `  http-request return status 200 content-type text/plain string "a majority of Sentinels names a master" if ${agreed}`,
    '  http-request return status 503 content-type text/plain string "no master named by a majority of Sentinels" if { path /ready }',
    '  http-request return status 404 content-type text/plain string "not found"',
  ];
}

/** How long the endpoint keeps a server's last address while the cluster DNS does not answer (HAProxy's default). */
const DNS_OUTAGE_HOLD = '30s';

/**
 * How long a worker lives on after a reload (`hard-stop-after`): checks stop in a stopping worker, so its
 * sessions are as blind as a check lagging this much; two check intervals, at least 1 s.
 */
export function oldWorkerLifeMs(o: Pick<HaproxyConfigOptions, 'checkIntervalMs'>): number {
  return Math.max(1000, 2 * o.checkIntervalMs);
}

/** Renders haproxy.cfg. */
export function renderHaproxyConfig(o: HaproxyConfigOptions): string {
  validate(o);
  const lines = [
    '# Generated by cdk8s-redis-sentinel (RedisMasterEndpoint): no secrets here; checks read $REDIS_PASSWORD.',
    'global',
    '  log stdout format raw local0 info',
    `  lua-load ${o.fenceLuaPath}`,
    // The client certificate's key is the file beside it (a kubernetes.io/tls Secret: tls.crt, tls.key).
    ...(o.tls ? ['  ssl-load-extra-del-ext', '  ssl-load-extra-files key'] : []),
    ...(o.reloadState ? [
      `  stats socket ipv4@127.0.0.1:${o.reloadState.statsPort} level user`,
      `  server-state-file ${o.reloadState.file}`,
      // A worker stopping after a reload runs no checks and no fence (its backends are stopped): its
      // sessions would never be closed on a failover. It is ended this soon; its clients reconnect to the new one.
      `  hard-stop-after ${oldWorkerLifeMs(o)}ms`,
    ] : []),
    '',
    ...(o.resolvers ? [
      // Pod IPs change when a pod is recreated: resolve every name again each second, and a name the
      // cluster DNS says is gone (NXDOMAIN: the pod was deleted) leaves at once. A DNS server that does not
      // answer (timeout, refused, another error: CoreDNS restarting, a lost UDP packet) says nothing about
      // the pod: its last address is kept for DNS_OUTAGE_HOLD, and the checks go on deciding. With 1 s there,
      // every server entered maintenance ~3 s into an outage, and the endpoint routed nowhere.
      'resolvers cluster',
      '  parse-resolv-conf',
      '  resolve_retries 3',
      '  timeout resolve 1s',
      '  timeout retry 1s',
      '  hold valid 1s',
      '  hold obsolete 1s',
      '  hold nx 1s',
      `  hold other ${DNS_OUTAGE_HOLD}`,
      `  hold refused ${DNS_OUTAGE_HOLD}`,
      `  hold timeout ${DNS_OUTAGE_HOLD}`,
      '',
    ] : []),
    'defaults',
    '  mode tcp',
    '  log global',
    '  timeout connect 1s',
    '  timeout check 1s',
    // A failed check is logged even when it does not yet mark its server down (fall 2), and so is the pass after it.
    '  option log-health-checks',
    `  timeout client ${o.idleTimeoutSeconds}s`,
    `  timeout server ${o.idleTimeoutSeconds}s`,
    // A reloaded worker starts from the states the old one had (servers down stay down until checked).
    ...(o.reloadState ? ['  load-server-state-from-file global'] : []),
    ...masterFrontend(o),
    ...masterBackends(o),
    ...replicasSection(o),
    ...statsSection(o),
  ];
  return `${lines.join('\n')}\n`;
}
