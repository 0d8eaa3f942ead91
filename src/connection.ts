/**
 * Typed client wiring: where a deployment's clients connect ({@link RedisConnection}), and how a
 * cdk8s-plus workload gets what the NetworkPolicies admit and, on request, the usual environment
 * variables ({@link RedisSentinel.connect}).
 */
import { Chart } from 'cdk8s';
// Types only: cdk8s-plus-27 is loaded (lazily, in connectPod) only when a workload connects, so a
// synth that never connects one does not pay for loading it.
import type * as plus from 'cdk8s-plus-27';
import { serviceDomain } from './names';
import type { RedisSentinel } from './redis-sentinel';
import { DeploymentSettings } from './settings';
import { Problems, checkLabels, isDnsSubdomain } from './validation';

/**
 * Label Kubernetes (1.21+) sets on every Namespace to its own name, immutable: the NetworkPolicies
 * admit the clients of another namespace by it.
 */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/**
 * Where and how clients reach a deployment. Every host is a fully qualified cluster DNS name
 * (`<service>.<namespace>.svc.<clusterDomain>`), so it works from any namespace.
 */
export interface RedisConnection {
  /** Namespace of the deployment's Services, pods and password Secret. */
  readonly namespace: string;
  /** The name Sentinel monitors the master under: what clients ask Sentinel for. */
  readonly masterName: string;
  /** Port of every Sentinel. */
  readonly sentinelPort: number;
  /** FQDN of every Sentinel pod, in ordinal order (stable: the StatefulSet's headless Service). */
  readonly sentinelHosts: string[];
  /** `host:port` of every Sentinel pod: what Sentinel-aware clients take as their list of Sentinels. */
  readonly sentinels: string[];
  /** FQDN of the client-facing Sentinel Service (any ready Sentinel). */
  readonly sentinelServiceHost: string;
  /** `host:port` of the client-facing Sentinel Service: one address for clients that take a single Sentinel. */
  readonly sentinelService: string;
  /** Port of every Redis server. */
  readonly redisPort: number;
  /** FQDN of the read Service (every ready Redis pod, master or replica: reads may be slightly stale). */
  readonly readHost: string;
  /** `host:port` of the read Service. */
  readonly readEndpoint: string;
  /**
   * FQDN of the master endpoint (`<name>-master`: always the master the Sentinels agree on), for clients
   * that do not speak Sentinel.
   * @default - no master endpoint (see `masterEndpoint`)
   */
  readonly masterHost?: string;
  /**
   * `host:port` of the master endpoint.
   * @default - no master endpoint (see `masterEndpoint`)
   */
  readonly masterEndpoint?: string;
  /**
   * FQDN of the replicas-only read endpoint (`<name>-replicas`: in-sync replicas, never the master).
   * @default - no master endpoint (see `masterEndpoint`)
   */
  readonly replicasHost?: string;
  /**
   * `host:port` of the replicas-only read endpoint.
   * @default - no master endpoint (see `masterEndpoint`)
   */
  readonly replicasEndpoint?: string;
  /**
   * Name of the Secret holding the password (in `namespace`).
   * @default - no password (RedisAuth.none())
   */
  readonly passwordSecretName?: string;
  /**
   * Key of the password in that Secret.
   * @default - no password (RedisAuth.none())
   */
  readonly passwordSecretKey?: string;
  /**
   * Whether Redis and Sentinel speak TLS (and only TLS) on their ports: clients connect with TLS and
   * verify the servers with the CA in `tlsSecretName` (`ca.crt`); with mutual TLS they need a client
   * certificate of that CA.
   */
  readonly tls: boolean;
  /**
   * Name of the certificate Secret (in `namespace`): its `ca.crt` is the CA that signed every server's certificate.
   * @default - no TLS
   */
  readonly tlsSecretName?: string;
  /**
   * With `acl`: the application users (names, and where their passwords are). The `passwordSecretName`
   * above is then the default user's, which only the deployment's own scripts use.
   * @default - no ACL users
   */
  readonly users?: RedisUserConnection[];
  /** Labels a client pod needs so that the NetworkPolicies admit it (`clientPodLabels`). */
  readonly clientPodLabels: Record<string, string>;
  /**
   * Labels of other namespaces whose client pods are admitted (`clientNamespaceLabels`).
   * @default - only the deployment's namespace, and those of the workloads given to `connect`
   */
  readonly clientNamespaceLabels?: Record<string, string>;
}

/** The connection of a deployment with settings `s`, with the master endpoint's addresses when it has one. */
export function connectionOf(s: DeploymentSettings, withMasterEndpoint: boolean): RedisConnection {
  const host = (service: string) => serviceDomain(service, s.namespace, s.clusterDomain);
  const sentinelServiceHost = host(s.names.sentinelService);
  const readHost = host(s.names.readService);
  return {
    namespace: s.namespace,
    masterName: s.masterName,
    sentinelPort: s.sentinelPort,
    sentinelHosts: [...s.sentinelFqdns],
    sentinels: s.sentinelFqdns.map((h) => `${h}:${s.sentinelPort}`),
    sentinelServiceHost,
    sentinelService: `${sentinelServiceHost}:${s.sentinelPort}`,
    redisPort: s.redisPort,
    readHost,
    readEndpoint: `${readHost}:${s.redisPort}`,
    ...(withMasterEndpoint ? endpointAddresses(host(s.names.masterEndpoint), host(s.names.replicasEndpoint), s.redisPort) : {}),
    passwordSecretName: s.auth ? s.authSecretName : undefined,
    passwordSecretKey: s.auth ? s.authSecretKey : undefined,
    tls: s.tls !== undefined,
    tlsSecretName: s.tls?.secretName,
    ...(s.acl ? { users: s.acl.users.map((u) => ({ name: u.name, passwordSecretName: u.secretName, passwordSecretKey: u.secretKey })) } : {}),
    clientPodLabels: { ...s.clientPodLabels },
    clientNamespaceLabels: s.clientNamespaceLabels ? { ...s.clientNamespaceLabels } : undefined,
  };
}

function endpointAddresses(masterHost: string, replicasHost: string, port: number) {
  return { masterHost, masterEndpoint: `${masterHost}:${port}`, replicasHost, replicasEndpoint: `${replicasHost}:${port}` };
}

/** An application user of a deployment with `acl`. */
export interface RedisUserConnection {
  /** The user name (Redis and, when allowed, the Sentinels). */
  readonly name: string;
  /** Name of the Secret holding its password (in the deployment's namespace). */
  readonly passwordSecretName: string;
  /** Key of the password in that Secret. */
  readonly passwordSecretKey: string;
}

/** Options of {@link RedisSentinel.connect}. */
export interface ConnectOptions {
  /**
   * Also give every container of the pod (those it has when `connect` is called) the environment
   * variables of the common clients: `<prefix>SENTINELS` (`host:port,host:port,...`, every Sentinel
   * pod), `<prefix>SENTINEL_SERVICE` (`host:port`), `<prefix>MASTER_NAME`, `<prefix>READ_ENDPOINT`
   * (`host:port`), with the master endpoint `<prefix>MASTER_ENDPOINT` and `<prefix>REPLICAS_ENDPOINT`
   * (`host:port`), with TLS `<prefix>TLS` ('true'), and, with a password, `<prefix>PASSWORD` from the
   * Secret (`secretKeyRef`: the password is never written into any file); with `user`, `<prefix>USERNAME`.
   * @default false - only the client labels
   */
  readonly env?: boolean;

  /**
   * With `acl`: the application user the workload logs in as (one of `acl.users`); `<prefix>USERNAME` is
   * its name and `<prefix>PASSWORD` comes from its Secret. Required with `env` when the deployment has ACL
   * users: the default user's password is for the deployment's own scripts only.
   * @default - the default user (no ACL users)
   */
  readonly user?: string;

  /**
   * Prefix of the environment variables' names (another one for each deployment a pod connects to).
   * @default 'REDIS_'
   */
  readonly envPrefix?: string;

  /**
   * The Secret `<prefix>PASSWORD` is read from, for a workload in another namespace: a pod reads only
   * Secrets of its own namespace, so the password must be copied there (by your secret manager).
   * @default - the deployment's password Secret, when the workload is in the deployment's namespace
   */
  readonly passwordSecret?: ClientPasswordSecret;
}

/** A copy of the password in a client's namespace. */
export interface ClientPasswordSecret {
  /** Name of the Secret, in the workload's namespace. */
  readonly secretName: string;
  /**
   * Key of the password in it.
   * @default - the deployment's key (`password` unless set)
   */
  readonly secretKey?: string;
}

/** Pods (by labels, optionally in other namespaces) that the deployment's NetworkPolicies admit. */
export interface ClientPeer {
  /** Labels of the admitted pods. Must not be empty (that would admit every pod). */
  readonly podLabels: Record<string, string>;
  /**
   * Labels of the namespaces they run in, e.g. `{ 'kubernetes.io/metadata.name': 'team-a' }`.
   * @default - the deployment's namespace
   */
  readonly namespaceLabels?: Record<string, string>;
}

const ENV_PREFIX = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks a peer, throwing one error that names the deployment, the prop and the fix. */
export function checkClientPeer(deployment: RedisSentinel, peer: ClientPeer): void {
  const p = new Problems();
  if (p.check(Object.keys(peer.podLabels ?? {}).length > 0,
    'allowClients: podLabels is empty: that would admit every pod; give the labels of the client pods, e.g. { app: \'web\' }')) {
    checkLabels(p, 'allowClients: podLabels', peer.podLabels);
  }
  if (peer.namespaceLabels !== undefined) {
    p.check(Object.keys(peer.namespaceLabels).length > 0,
      `allowClients: namespaceLabels is empty: that would admit the pods of every namespace; name one, e.g. { '${NAMESPACE_NAME_LABEL}': 'team-a' }`);
    checkLabels(p, 'allowClients: namespaceLabels', peer.namespaceLabels);
  }
  p.throwIfAny(deployment.node.path);
}

/** The namespace a workload's pods run in. */
function namespaceOf(pod: plus.AbstractPod): string | undefined {
  return pod.metadata.namespace ?? Chart.of(pod).namespace;
}

/**
 * The peer that admits `pod`'s pods when they run outside the deployment's namespace (undefined when
 * the deployment's own rules already admit them). Throws when neither works.
 */
function crossNamespacePeer(deployment: RedisSentinel, pod: plus.AbstractPod, podNamespace: string | undefined): ClientPeer | undefined {
  const s = deployment._settings;
  if (podNamespace === s.namespace) return undefined;
  if (podNamespace === undefined) {
    throw new Error(`connect: the workload at ${pod.node.path} has no namespace (neither its metadata nor its Chart sets one), so the NetworkPolicies of the RedisSentinel at ${deployment.node.path} cannot admit it: set the Chart's namespace, e.g. new Chart(app, 'web', { namespace: '${s.namespace}' })`);
  }
  const named = s.clientNamespaceLabels?.[NAMESPACE_NAME_LABEL];
  if (s.clientNamespaceLabels && (named === undefined || named === podNamespace)) {
    // The user's own namespace labels admit it (when the namespace carries them: not checkable here).
    return undefined;
  }
  return { podLabels: s.clientPodLabels, namespaceLabels: { [NAMESPACE_NAME_LABEL]: podNamespace } };
}

/**
 * The plain values of {@link ConnectOptions.env} by name (without the password, which comes from a Secret),
 * checking the prefix. Empty without `env`.
 */
function plainEnv(deployment: RedisSentinel, pod: plus.AbstractPod, options: ConnectOptions): Record<string, string> {
  if (!options.env) return {};
  const prefix = options.envPrefix ?? 'REDIS_';
  if (!ENV_PREFIX.test(prefix)) {
    throw new Error(`connect: envPrefix ('${prefix}') of the workload at ${pod.node.path} must be letters, digits and '_', not starting with a digit: e.g. 'REDIS_'`);
  }
  const c = deployment.connection;
  return {
    [`${prefix}SENTINELS`]: c.sentinels.join(','),
    [`${prefix}SENTINEL_SERVICE`]: c.sentinelService,
    [`${prefix}MASTER_NAME`]: c.masterName,
    [`${prefix}READ_ENDPOINT`]: c.readEndpoint,
    ...(c.masterEndpoint ? { [`${prefix}MASTER_ENDPOINT`]: c.masterEndpoint, [`${prefix}REPLICAS_ENDPOINT`]: c.replicasEndpoint! } : {}),
    ...(c.tls ? { [`${prefix}TLS`]: 'true' } : {}),
  };
}

/** The Secret and key of the password the workload logs in with: the default user's, or with `acl` the user's it names. */
function ownSecret(deployment: RedisSentinel, pod: plus.AbstractPod, options: ConnectOptions): { name: string; key: string } {
  const c = deployment.connection;
  const users = c.users;
  if (!users) {
    if (options.user !== undefined) {
      throw new Error(`connect: user ('${options.user}') of the workload at ${pod.node.path} needs ACL users, and the RedisSentinel at ${deployment.node.path} has none: add acl: { users: [{ name: '${options.user}', secretName: ... }] } or remove user`);
    }
    return { name: c.passwordSecretName!, key: c.passwordSecretKey! };
  }
  const names = users.map((u) => `'${u.name}'`).join(', ') || 'none yet: add one to acl.users';
  if (options.user === undefined) {
    throw new Error(`connect: the RedisSentinel at ${deployment.node.path} has ACL users, and the default user's password is for its own scripts: give the workload at ${pod.node.path} user: one of ${names}`);
  }
  const u = users.find((x) => x.name === options.user);
  if (!u) throw new Error(`connect: user ('${options.user}') of the workload at ${pod.node.path} is not an ACL user of the RedisSentinel at ${deployment.node.path}: one of ${names}`);
  return { name: u.passwordSecretName, key: u.passwordSecretKey };
}

/** The Secret and key `<prefix>PASSWORD` comes from, or a clear error when the pod cannot read the deployment's. */
function passwordSource(deployment: RedisSentinel, pod: plus.AbstractPod, podNamespace: string | undefined, options: ConnectOptions) {
  const c = deployment.connection;
  const own = ownSecret(deployment, pod, options);
  if (options.passwordSecret) {
    const name = options.passwordSecret.secretName;
    if (!isDnsSubdomain(name ?? '')) {
      throw new Error(`connect: passwordSecret.secretName ('${name}') of the workload at ${pod.node.path} must be a Secret name (lowercase letters, digits, '-', '.')`);
    }
    return { name, key: options.passwordSecret.secretKey ?? own.key };
  }
  if (podNamespace !== c.namespace) {
    throw new Error(`connect: the workload at ${pod.node.path} runs in namespace '${podNamespace}', the password Secret '${own.name}' of the RedisSentinel at ${deployment.node.path} is in '${c.namespace}', and a pod reads only Secrets of its own namespace: copy the password into a Secret in '${podNamespace}' and pass env: true, passwordSecret: { secretName: '<its name>' }`);
  }
  return own;
}

/** The variables to add: `plain`, and `<prefix>PASSWORD` from the Secret when there is a password. */
function clientEnv(pod: plus.AbstractPod, plain: Record<string, string>, passwordVar: string, password?: { name: string; key: string }) {
  const entries = Object.entries(plain);
  if (entries.length === 0) return [];
  const plusLib: typeof plus = require('cdk8s-plus-27');
  const env = entries.map(([name, value]) => [name, plusLib.EnvValue.fromValue(value)] as const);
  if (password) {
    const secret = plusLib.Secret.fromSecretName(pod, `${passwordVar}-Secret`, password.name);
    env.push([passwordVar, plusLib.EnvValue.fromSecretValue({ secret, key: password.key })]);
  }
  return env;
}

/** {@link RedisSentinel.connect}: labels, an admitting peer for another namespace, and env. Returns the peer to add, if any. */
export function connectPod(deployment: RedisSentinel, pod: plus.AbstractPod, options: ConnectOptions = {}): ClientPeer | undefined {
  // Every check first: a failed connect changes nothing.
  const podNamespace = namespaceOf(pod);
  if (options.user !== undefined && !options.env) {
    throw new Error(`connect: user ('${options.user}') of the workload at ${pod.node.path} sets <prefix>USERNAME and <prefix>PASSWORD: pass env: true with it`);
  }
  const peer = crossNamespacePeer(deployment, pod, podNamespace);
  const plain = { ...plainEnv(deployment, pod, options), ...(options.env && options.user !== undefined ? { [`${options.envPrefix ?? 'REDIS_'}USERNAME`]: options.user } : {}) };
  const password = options.env && deployment._settings.auth ? passwordSource(deployment, pod, podNamespace, options) : undefined;
  const passwordVar = `${options.envPrefix ?? 'REDIS_'}PASSWORD`;
  const names = [...Object.keys(plain), ...(password ? [passwordVar] : [])];
  const containers = pod.containers;
  if (options.env && containers.length === 0) {
    throw new Error(`connect: the workload at ${pod.node.path} has no container yet, so env: true has nothing to set: call connect after addContainer`);
  }
  for (const container of containers) {
    const existing = names.filter((k) => container.env.variables[k] !== undefined);
    if (existing.length) {
      throw new Error(`connect: container '${container.name}' of the workload at ${pod.node.path} already has ${existing.join(', ')}: give each deployment a pod connects to its own envPrefix, e.g. envPrefix: 'CACHE_'`);
    }
  }
  const labels = deployment._settings.clientPodLabels;
  for (const [key, value] of Object.entries(labels)) {
    const current = pod.podMetadata.getLabel(key);
    if (current !== undefined && current !== value) {
      throw new Error(`connect: the pods of the workload at ${pod.node.path} already have the label ${key}=${current}, and the RedisSentinel at ${deployment.node.path} admits ${key}=${value} (clientPodLabels): use another clientPodLabels`);
    }
  }

  for (const [key, value] of Object.entries(labels)) pod.podMetadata.addLabel(key, value);
  const env = clientEnv(pod, plain, passwordVar, password);
  for (const container of containers) {
    for (const [name, value] of env) container.env.addVariable(name, value);
  }
  return peer;
}
