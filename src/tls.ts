import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { Certificate, CertificateSpecPrivateKeyAlgorithm, CertificateSpecPrivateKeyRotationPolicy, CertificateSpecUsages } from '../imports/cert-manager.io';
import { ResourceNames, serviceDomain } from './names';
import { isDnsSubdomain } from './validation';
import type { Problems } from './validation';

/** Where the certificate of a {@link CertificateSource.fromCertManager} deployment comes from. */
export interface CertManagerCertificateOptions {
  /** Name of the cert-manager Issuer (in the deployment's namespace) or ClusterIssuer that signs the certificate. */
  readonly issuerName: string;

  /**
   * Kind of the issuer: 'Issuer' or 'ClusterIssuer' (or an external issuer's kind, with `issuerGroup`).
   * @default 'Issuer'
   */
  readonly issuerKind?: string;

  /**
   * API group of the issuer.
   * @default 'cert-manager.io'
   */
  readonly issuerGroup?: string;

  /**
   * Lifetime of each certificate.
   * @default Duration.days(90)
   */
  readonly duration?: Duration;

  /**
   * How long before expiry cert-manager renews it.
   * @default Duration.days(30)
   */
  readonly renewBefore?: Duration;

  /**
   * Name of the Secret cert-manager writes (type kubernetes.io/tls, with `ca.crt`).
   * @default '<name>-tls'
   */
  readonly secretName?: string;
}

/** An existing certificate Secret for {@link CertificateSource.fromSecret}. */
export interface TlsSecretOptions {
  /**
   * Name of an existing Secret of type kubernetes.io/tls in the deployment's namespace, with the keys
   * `tls.crt`, `tls.key` and `ca.crt` (the CA that signed it; every component verifies its peers with it).
   * The certificate must name every pod (`*.<name>-master-headless.<namespace>.svc.<clusterDomain>`, the same
   * for `-replica-headless` and `-sentinel-headless`), the Services clients use, and `localhost` (the
   * in-pod exporter): {@link RedisSentinel.tlsDnsNames} lists them. It is used as the server certificate and,
   * between the deployment's own components, as the client certificate.
   * @default '<name>-tls'
   */
  readonly secretName?: string;
}

/** Where the deployment's TLS certificate comes from. */
export class CertificateSource {
  /** An existing kubernetes.io/tls Secret (made by you, or by a cert-manager Certificate you manage). */
  public static fromSecret(options: TlsSecretOptions = {}): CertificateSource {
    return new CertificateSource(options.secretName, undefined);
  }

  /**
   * A cert-manager `Certificate` the library emits, with every DNS name the deployment needs, signed by
   * your issuer (which must fill `ca.crt`: the CA, Vault and self-signed issuers do; ACME does not).
   */
  public static fromCertManager(options: CertManagerCertificateOptions): CertificateSource {
    return new CertificateSource(options.secretName, options);
  }

  private constructor(
    /** The Secret's name, when set explicitly. */
    public readonly secretName: string | undefined,
    /** The Certificate's options, when cert-manager makes it. */
    public readonly certManager: CertManagerCertificateOptions | undefined,
  ) {}
}

/**
 * TLS on every connection: clients, replication, Sentinel to Redis and to Sentinel, the scripts, the
 * exporters, the backup Job and the master endpoint's checks. The plaintext ports are closed (`port 0`):
 * `redisPort` and `sentinelPort` speak TLS.
 */
export interface TlsOptions {
  /**
   * The certificate.
   * @default CertificateSource.fromSecret() - the existing Secret '<name>-tls'
   */
  readonly certificate?: CertificateSource;

  /**
   * Mutual TLS: Redis and Sentinel accept only clients with a certificate the CA signed
   * (`tls-auth-clients yes`). The deployment's own components present theirs; your applications need one too.
   * @default false - clients verify the servers; the servers authenticate clients by password (`tls-auth-clients no`)
   * @see https://redis.io/docs/latest/operate/oss_and_stack/management/security/encryption/
   */
  readonly mutual?: boolean;
}

/** The TLS options resolved. */
export interface ResolvedTls {
  /** The Secret (kubernetes.io/tls with ca.crt) every pod mounts. */
  readonly secretName: string;
  readonly mutual: boolean;
  /** When cert-manager makes the certificate. */
  readonly certManager?: {
    readonly issuerName: string;
    readonly issuerKind: string;
    readonly issuerGroup: string;
    readonly durationHours: number;
    readonly renewBeforeHours: number;
  };
}

/** Where the Secret's files are mounted in every container that speaks TLS. */
export const TLS_DIR = '/etc/redis-tls';
/** The files of a kubernetes.io/tls Secret. */
export const TLS_FILES = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;

const hours = (d: Duration) => d.toSeconds() / 3600;

/** Resolves and checks `tls` (prop path `prefix`, e.g. 'tls.'). */
export function resolveTls(p: Problems, o: TlsOptions, defaultSecret: string, prefix: string): ResolvedTls {
  const source = o.certificate ?? CertificateSource.fromSecret();
  const secretName = source.secretName ?? defaultSecret;
  p.check(isDnsSubdomain(secretName),
    `${prefix}certificate secretName ('${secretName}') must be a Secret name (DNS-1123 subdomain: lowercase letters, digits, '-', '.')`);
  const cm = source.certManager;
  if (!cm) return { secretName, mutual: o.mutual ?? false };
  p.check(isDnsSubdomain(cm.issuerName ?? ''),
    `${prefix}certificate issuerName ('${cm.issuerName}') must be the name of a cert-manager Issuer or ClusterIssuer`);
  const issuerKind = cm.issuerKind ?? 'Issuer';
  p.check(/^[A-Z][A-Za-z0-9]*$/.test(issuerKind), `${prefix}certificate issuerKind ('${issuerKind}') must be a kind such as 'Issuer' or 'ClusterIssuer'`);
  const issuerGroup = cm.issuerGroup ?? 'cert-manager.io';
  p.check(isDnsSubdomain(issuerGroup), `${prefix}certificate issuerGroup ('${issuerGroup}') must be an API group such as 'cert-manager.io'`);
  const durationHours = hours(cm.duration ?? Duration.days(90));
  const renewBeforeHours = hours(cm.renewBefore ?? Duration.days(30));
  // cert-manager refuses a duration under 1 h and a renewBefore of at least the duration.
  if (p.check(Number.isInteger(durationHours) && durationHours >= 1,
    `${prefix}certificate duration (${durationHours} h) must be a whole number of hours, at least 1 (cert-manager's minimum): e.g. Duration.days(90)`)) {
    p.check(Number.isInteger(renewBeforeHours) && renewBeforeHours >= 1 && renewBeforeHours < durationHours,
      `${prefix}certificate renewBefore (${renewBeforeHours} h) must be a whole number of hours, at least 1 and less than duration (${durationHours} h): e.g. a third of it`);
  }
  return { secretName, mutual: o.mutual ?? false, certManager: { issuerName: cm.issuerName, issuerKind, issuerGroup, durationHours, renewBeforeHours } };
}

/**
 * Every DNS name the certificate must carry: each StatefulSet's pods (a wildcard under its headless
 * Service: pods come and go with scaling), the client Services in short and long forms, and localhost
 * (the exporter sidecar and the probes reach their own pod's process there). Each is shorter than the
 * master pod's FQDN, which the settings check keeps within 253 characters, so none needs a check of its own.
 */
export function tlsDnsNames(names: ResourceNames, namespace: string, clusterDomain: string): string[] {
  const services = [names.sentinelService, names.readService, names.masterEndpoint, names.replicasEndpoint];
  return [
    ...[names.masterHeadless, names.replicaHeadless, names.sentinelHeadless].map((h) => `*.${serviceDomain(h, namespace, clusterDomain)}`),
    ...services.flatMap((svc) => [svc, `${svc}.${namespace}`, `${svc}.${namespace}.svc`, serviceDomain(svc, namespace, clusterDomain)]),
    'localhost',
  ];
}

/** Props of {@link emitCertificate}. */
export interface CertificateObjectProps {
  readonly name: string;
  readonly namespace: string;
  readonly tls: ResolvedTls;
  readonly dnsNames: string[];
  readonly labels: Record<string, string>;
}

/** The cert-manager Certificate of a deployment whose certificate cert-manager makes. */
export function emitCertificate(scope: Construct, id: string, o: CertificateObjectProps): Certificate {
  const cm = o.tls.certManager!;
  return new Certificate(scope, id, {
    metadata: { name: o.name, namespace: o.namespace, labels: o.labels },
    spec: {
      secretName: o.tls.secretName,
      // The common name is kept short (64 bytes at most); clients check the DNS names.
      commonName: o.dnsNames[0].slice(0, 64).replace(/^\*\./, ''),
      dnsNames: o.dnsNames,
      ipAddresses: ['127.0.0.1'],
      duration: `${cm.durationHours}h`,
      renewBefore: `${cm.renewBeforeHours}h`,
      // The same certificate serves, and authenticates the components to each other (mutual TLS).
      usages: [CertificateSpecUsages.SERVER_AUTH, CertificateSpecUsages.CLIENT_AUTH, CertificateSpecUsages.DIGITAL_SIGNATURE, CertificateSpecUsages.KEY_ENCIPHERMENT],
      privateKey: { algorithm: CertificateSpecPrivateKeyAlgorithm.ECDSA, size: 256, rotationPolicy: CertificateSpecPrivateKeyRotationPolicy.ALWAYS },
      issuerRef: { name: cm.issuerName, kind: cm.issuerKind, group: cm.issuerGroup },
    },
  });
}
