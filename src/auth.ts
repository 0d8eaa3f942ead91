/** Where the password of a {@link RedisAuth.fromSecret} deployment comes from. */
export interface PasswordSecretOptions {
  /**
   * Name of an existing Secret in the deployment's namespace; the library never creates it.
   * @default '<name>-auth'
   */
  readonly secretName?: string;

  /**
   * Key of the password in the Secret.
   * @default 'password'
   */
  readonly secretKey?: string;
}

/**
 * How clients, replicas, Sentinels, exporters and backups authenticate: a password from an existing
 * Secret (the default), or none at all (explicitly).
 */
export class RedisAuth {
  /**
   * One password, read from an existing Secret at runtime (never rendered into any file): Redis
   * `requirepass`/`masterauth`, Sentinel `requirepass`/`auth-pass`.
   */
  public static fromSecret(options: PasswordSecretOptions = {}): RedisAuth {
    return new RedisAuth(true, options.secretName, options.secretKey);
  }

  /** No password: anyone the NetworkPolicies admit can read and write. */
  public static none(): RedisAuth {
    return new RedisAuth(false, undefined, undefined);
  }

  private constructor(
    /** Whether a password is required. */
    public readonly enabled: boolean,
    /** The Secret's name, when set explicitly. */
    public readonly secretName: string | undefined,
    /** The Secret's key, when set explicitly. */
    public readonly secretKey: string | undefined,
  ) {}
}
