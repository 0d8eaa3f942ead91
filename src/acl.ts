import * as k8s from './k8s';
import { DNS_LABEL_MAX, DNS_SUBDOMAIN_MAX } from './names';
import { isDnsSubdomain } from './validation';
import type { Problems } from './validation';

/** An application's user: its rights on Redis, and on the Sentinels to find the master. */
export interface AclUser {
  /** The user name (letters, digits, '-', '_', '.'); not one of the deployment's own users. */
  readonly name: string;

  /**
   * Its rights on Redis, in ACL syntax: key patterns (`~app:*`, `%R~cache:*`), channel patterns
   * (`&orders`), commands and categories (`+@read`, `-@dangerous`, `+client|setname`), `allkeys`,
   * `allchannels`, `resetkeys`, `resetchannels`. No passwords (they come from the Secret) and no `on`/`off`.
   * @default '~* &* +@all -@dangerous +info +role' - every key and channel, every command but the
   * dangerous ones (KEYS, FLUSHALL, CONFIG, DEBUG, ...), plus INFO and ROLE, which the Sentinel-aware
   * clients use to check the role of the server they reach
   * @see https://redis.io/docs/latest/operate/oss_and_stack/management/security/acl/
   */
  readonly rules?: string;

  /** Name of an existing Secret in the deployment's namespace holding the password; the library never creates it. */
  readonly secretName: string;

  /**
   * Key of the password in the Secret. During a rotation, the keys `<key>-next` and `<key>-previous`
   * (when present) hold passwords that are accepted too (see the README, "Rotating a password").
   * @default 'password'
   */
  readonly secretKey?: string;

  /**
   * Whether the user may ask the Sentinels where the master is (a Sentinel user of the same name and
   * password, allowed the discovery commands the common clients send and the `+switch-master` channel).
   * @default true
   */
  readonly sentinel?: boolean;
}

/**
 * Least-privilege ACL users. The `default` user keeps the `auth` password and is used only by the
 * deployment's own scripts (roles, probes, hand-overs); every other component gets a user allowed exactly
 * the commands it sends, and applications get the users you list.
 */
export interface AclOptions {
  /**
   * Name of an existing Secret holding the passwords of the deployment's own users, one key each:
   * `replication`, `sentinel`, `sentinel-peer`, `backup`, `endpoint` (all required, even for components
   * that are off, so that turning one on later needs no new key). During a rotation `<key>-next` and
   * `<key>-previous` hold a second accepted password. (The exporter sidecars need none: each pod makes
   * its own exporter password at start, which never leaves the pod.)
   * @default '<name>-acl'
   */
  readonly secretName?: string;

  /** Users for applications. */
  readonly users?: AclUser[];
}

/** Where the ACL Secrets are mounted: the deployment's own at `${ACL_DIR}/internal`, each application user's at `${ACL_DIR}/users/<name>`. */
export const ACL_DIR = '/etc/redis-acl';
export const ACL_INTERNAL_DIR = `${ACL_DIR}/internal`;

/**
 * The deployment's own users, and the rights each needs: the commands each component sends (read in
 * the Redis 7 sources and in this library's scripts, and checked by running the component with exactly
 * these rights: test/integration/loopback-acl.test.ts). `undefined`: the user does not exist on that side.
 */
export const INTERNAL_USERS = {
  /** A replica to its master (masteruser): PSYNC and REPLCONF (listening-port, ip-address, ACK); PING before AUTH. */
  replication: {
    redis: 'resetchannels -@all +ping +psync +replconf',
    sentinel: undefined,
  },
  /**
   * A Sentinel to Redis (auth-user): monitoring (PING, INFO, the hello channel) and reconfiguration,
   * sent as MULTI / SLAVEOF / CONFIG REWRITE / CLIENT KILL / EXEC: one denied command aborts the
   * whole failover. SCRIPT KILL unblocks a master busy in a script.
   */
  sentinel: {
    redis: 'resetchannels &__sentinel__:hello -@all +ping +info +publish +subscribe +client|setname +client|kill +multi +exec +slaveof +config|rewrite +script|kill',
    sentinel: undefined,
  },
  /** A Sentinel to its peers (sentinel-user): PING, hello messages and the failover vote. */
  'sentinel-peer': {
    redis: undefined,
    sentinel: 'resetchannels &__sentinel__:hello -@all +ping +publish +client|setname +sentinel|is-master-down-by-addr',
  },
  /**
   * redis_exporter (run with --config-command=-: CONFIG GET would show masterauth). Its password is
   * the pod's own (exporter-credential.sh), not in the Secret.
   */
  exporter: {
    redis: 'resetchannels -@all +ping +info +client|setname +latency|latest +latency|histogram +slowlog|len +slowlog|get +command|info',
    sentinel: 'resetchannels -@all +ping +info +client|setname +sentinel|masters +sentinel|ckquorum +sentinel|sentinels +sentinel|slaves +sentinel|replicas +command|info',
  },
  /** The backup Job: finds a replica through the Sentinels, then `redis-cli --rdb` (REPLCONF, SYNC). */
  backup: {
    redis: 'resetchannels -@all +ping +info +replconf +sync',
    sentinel: 'resetchannels -@all +ping +sentinel|master +sentinel|get-master-addr-by-name +sentinel|replicas',
  },
  /** The master endpoint's HAProxy checks: INFO replication on Redis, get-master-addr-by-name on Sentinel. */
  endpoint: {
    redis: 'resetchannels -@all +ping +info',
    sentinel: 'resetchannels -@all +ping +sentinel|get-master-addr-by-name',
  },
} as const;

/** A deployment user's name. */
export type InternalUser = keyof typeof INTERNAL_USERS;

/** The deployment's users whose passwords are keys of the `acl` Secret (the exporter's is the pod's own). */
export const SECRET_USERS: readonly InternalUser[] = ['replication', 'sentinel', 'sentinel-peer', 'backup', 'endpoint'];

/** The rights of an application user on the Sentinels: what redis-py, ioredis and go-redis send to find the master and follow it. */
const DISCOVERY_RULES = 'resetchannels &+switch-master -@all +ping +hello +client|setname +subscribe '
  + '+sentinel|get-master-addr-by-name +sentinel|masters +sentinel|master +sentinel|sentinels +sentinel|slaves +sentinel|replicas';

/** The default rights of an application user on Redis. */
export const DEFAULT_USER_RULES = '~* &* +@all -@dangerous +info +role';

/** The ACL options resolved. */
export interface ResolvedAcl {
  /** The Secret of the deployment's own users. */
  readonly secretName: string;
  readonly users: ReadonlyArray<{
    readonly name: string;
    readonly rules: string;
    readonly secretName: string;
    readonly secretKey: string;
    readonly sentinel: boolean;
  }>;
}

/** ACL categories of Redis 7.0-7.2. */
const CATEGORIES = new Set(['keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog', 'geo',
  'stream', 'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection', 'transaction', 'scripting']);
const BARE_RULES = new Set(['allkeys', 'allchannels', 'allcommands', 'nocommands', 'resetkeys', 'resetchannels']);
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** The problem with one ACL rule token, or undefined when Redis takes it. */
function ruleProblem(token: string): string | undefined {
  if (BARE_RULES.has(token)) return undefined;
  if (/^[<>#!]/.test(token) || ['nopass', 'resetpass', 'on', 'off', 'reset'].includes(token)) {
    return 'passwords and on/off are the library\'s (the password comes from the Secret): remove it';
  }
  if (/^(~|%R~|%W~|%RW~|&)\S+$/.test(token)) return undefined;
  const cat = /^[+-]@(\S+)$/.exec(token);
  if (cat) return CATEGORIES.has(cat[1]) || cat[1] === 'all' ? undefined : `'@${cat[1]}' is not an ACL category (${[...CATEGORIES].join(', ')}, all)`;
  if (/^[+-][a-z][a-z0-9-]*(\|[a-z0-9-]+)?$/i.test(token)) return undefined;
  if (token.startsWith('(')) return 'selectors are not supported: give one set of rights';
  return 'not an ACL rule: use ~<key pattern>, &<channel pattern>, +<command>, -<command>, +@<category>, -@<category>, allkeys, allchannels';
}

/** Resolves `acl`, recording every problem in `p`. `prefix` names the prop ('acl.'). */
export function resolveAcl(p: Problems, o: AclOptions, defaultSecret: string, prefix: string, authOn: boolean): ResolvedAcl {
  p.check(authOn, `${prefix.slice(0, -1)} needs auth: ACL users are kept apart from the default user, which needs a password; remove auth: RedisAuth.none()`);
  const secretName = o.secretName ?? defaultSecret;
  p.check(isDnsSubdomain(secretName),
    `${prefix}secretName ('${secretName}') must be a Secret name (DNS-1123 subdomain: lowercase letters, digits, '-', '.')`);
  const seen = new Set<string>();
  const users = (o.users ?? []).map((u, i) => {
    const at = `${prefix}users[${i}]`;
    if (!USER_NAME.test(u.name) || u.name.length > DNS_LABEL_MAX) {
      p.add(`${at}.name ('${u.name}') must be letters, digits, '-', '_' or '.' (at most ${DNS_LABEL_MAX}), starting with a letter or digit`);
    } else if (u.name === 'default' || u.name in INTERNAL_USERS) {
      p.add(`${at}.name ('${u.name}') is one of the deployment's own users (default, ${Object.keys(INTERNAL_USERS).join(', ')}): choose another name`);
    } else if (!p.check(!seen.has(u.name), `${at}.name ('${u.name}') is given twice: each user once`)) {
      // reported
    }
    seen.add(u.name);
    const rules = (u.rules ?? DEFAULT_USER_RULES).trim();
    if (p.check(rules !== '' && !/[\r\n]/.test(rules), `${at}.rules ('${u.rules}') must be one line of ACL rules, e.g. '~app:* +@read +@write'`)) {
      for (const token of rules.split(/\s+/)) {
        const problem = ruleProblem(token);
        if (problem) p.add(`${at}.rules: '${token}': ${problem}`);
      }
    }
    p.check(isDnsSubdomain(u.secretName),
      `${at}.secretName ('${u.secretName}') must be a Secret name (DNS-1123 subdomain: lowercase letters, digits, '-', '.')`);
    const secretKey = u.secretKey ?? 'password';
    p.check(secretKey.length <= DNS_SUBDOMAIN_MAX - '-previous'.length && SECRET_KEY.test(secretKey),
      `${at}.secretKey ('${secretKey}') must be a Secret key: letters, digits, '-', '_' or '.' (at most ${DNS_SUBDOMAIN_MAX - '-previous'.length})`);
    return { name: u.name, rules, secretName: u.secretName, secretKey, sentinel: u.sentinel ?? true };
  });
  return { secretName, users };
}

/** Which server a users file is for. */
export type AclSide = 'redis' | 'sentinel';

/** Path of an internal user's password file (the exporter's: the pod's own, see exporter-credential.sh). */
export function internalPasswordFile(user: InternalUser): string {
  return user === 'exporter' ? `${EXPORTER_AUTH_DIR}/password` : `${ACL_INTERNAL_DIR}/${user}`;
}

/** Where each Redis and Sentinel pod keeps its own exporter password (a memory volume, `exporter-auth`). */
export const EXPORTER_AUTH_DIR = '/run/exporter';
/** The exporter's --redis.password-file in that directory. */
export const EXPORTER_PASSWORD_FILE = `${EXPORTER_AUTH_DIR}/passwords.json`;

/**
 * The users file of one side (`acl-users`, read by the start scripts): one line per user,
 * `<name> <password file> <rules>`. The start script writes each as a `user <name> on #<sha256> ... <rules>`
 * line (hashes of the password file and of `<file>-next` / `<file>-previous` when present). Pure.
 */
export function renderAclUsers(acl: ResolvedAcl, side: AclSide): string {
  const lines = ['# Rendered by cdk8s-redis-sentinel: <user> <password file> <ACL rules>. No passwords here.'];
  for (const [name, rules] of Object.entries(INTERNAL_USERS)) {
    const r = rules[side];
    if (r !== undefined) lines.push(`${name} ${internalPasswordFile(name as InternalUser)} ${r}`);
  }
  for (const u of acl.users) {
    if (side === 'redis') lines.push(`${u.name} ${ACL_DIR}/users/${u.name}/${u.secretKey} ${u.rules}`);
    else if (u.sentinel) lines.push(`${u.name} ${ACL_DIR}/users/${u.name}/${u.secretKey} ${DISCOVERY_RULES}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * The volumes of the Redis and Sentinel pods with ACL users: the deployment's Secret and each application
 * user's, whole (so that the `-next` / `-previous` keys of a rotation appear), readable by the pod's group only.
 */
export function aclVolumes(acl: ResolvedAcl | undefined, side: AclSide): k8s.Volume[] {
  if (!acl) return [];
  return [
    { name: 'acl', secret: { secretName: acl.secretName, defaultMode: 0o440 } },
    ...acl.users.flatMap((u, i) => side === 'redis' || u.sentinel
      ? [{ name: `acl-user-${i}`, secret: { secretName: u.secretName, defaultMode: 0o440 } }] : []),
  ];
}

/** The mounts of aclVolumes. */
export function aclMounts(acl: ResolvedAcl | undefined, side: AclSide): k8s.VolumeMount[] {
  if (!acl) return [];
  return [
    { name: 'acl', mountPath: ACL_INTERNAL_DIR, readOnly: true },
    ...acl.users.flatMap((u, i) => side === 'redis' || u.sentinel
      ? [{ name: `acl-user-${i}`, mountPath: `${ACL_DIR}/users/${u.name}`, readOnly: true }] : []),
  ];
}

/** A volume holding one internal user's password as `password` (the exporter, backup and endpoint pods see only their own). */
export function internalPasswordVolume(acl: ResolvedAcl, user: InternalUser, name = 'auth'): k8s.Volume {
  return { name, secret: { secretName: acl.secretName, items: [{ key: user, path: 'password' }], defaultMode: 0o440 } };
}
