/**
 * Certificates for TLS tests, made with the openssl binary: a CA and a certificate signed by it, laid
 * out as a kubernetes.io/tls Secret mounts them (tls.crt, tls.key, ca.crt), plus the CA's key (kept
 * beside, in `ca/`) so that a test can renew the certificate as cert-manager would.
 */
import { execFileSync } from 'child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';

export interface Certs {
  /** The Secret's directory and its three files. */
  readonly dir: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface CertOptions {
  /** DNS names of the certificate (besides localhost). */
  readonly dnsNames?: string[];
  /** IP addresses (besides 127.0.0.1). */
  readonly ips?: string[];
  /** Days of validity. */
  readonly days?: number;
  /**
   * Where the certificate, its key and a copy of the CA go (a Secret of its own, e.g. a client's or
   * another namespace's, signed by the same CA).
   * @default - `dir`
   */
  readonly outDir?: string;
  /** @default 'redis' */
  readonly commonName?: string;
}

function openssl(args: string[], cwd: string): string {
  return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Makes a CA (unless `dir/ca` has one) and a certificate + key signed by it, into `dir`. */
export function makeCerts(dir: string, o: CertOptions = {}): Certs {
  const caDir = join(dir, 'ca');
  mkdirSync(caDir, { recursive: true });
  const caKey = join(caDir, 'ca.key');
  const caCrt = join(dir, 'ca.crt');
  try {
    readFileSync(caKey);
  } catch {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', caCrt,
      '-days', '30', '-subj', '/CN=cdk8s-redis-sentinel test CA'], dir);
  }
  return issue(dir, o);
}

/** Issues a new certificate and key (a new serial) into `dir`, signed by its CA: what a renewal does. */
export function issue(dir: string, o: CertOptions = {}): Certs {
  const caDir = join(dir, 'ca');
  const san = [
    ...['localhost', ...o.dnsNames ?? []].map((d) => `DNS:${d}`),
    ...['127.0.0.1', ...o.ips ?? []].map((ip) => `IP:${ip}`),
  ].join(',');
  const ext = join(caDir, 'ext.cnf');
  writeFileSync(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n`);
  const newKey = join(caDir, 'new.key');
  const csr = join(caDir, 'new.csr');
  const newCrt = join(caDir, 'new.crt');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', newKey, '-out', csr, '-subj', `/CN=${o.commonName ?? 'redis'}`], dir);
  openssl(['x509', '-req', '-in', csr, '-CA', join(dir, 'ca.crt'), '-CAkey', join(caDir, 'ca.key'), '-set_serial', `0x${Date.now().toString(16)}${Math.floor(Math.random() * 1e6).toString(16)}`,
    '-days', String(o.days ?? 30), '-extfile', ext, '-out', newCrt], dir);
  // Key and certificate replaced together, each file readable by the servers only.
  const out = o.outDir ?? dir;
  mkdirSync(out, { recursive: true });
  if (out !== dir) writeFileSync(join(out, 'ca.crt'), readFileSync(join(dir, 'ca.crt')));
  writeFileSync(join(out, 'tls.key'), readFileSync(newKey), { mode: 0o600 });
  writeFileSync(join(out, 'tls.crt'), readFileSync(newCrt));
  return { dir: out, ca: join(out, 'ca.crt'), cert: join(out, 'tls.crt'), key: join(out, 'tls.key') };
}

/** The certificate as the kubernetes.io/tls Secret (with ca.crt) cert-manager would write, for kubectl apply. */
export function tlsSecret(certs: Certs, name: string, namespace: string) {
  const b64 = (f: string) => readFileSync(f).toString('base64');
  return {
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
    metadata: { name, namespace },
    data: { 'tls.crt': b64(certs.cert), 'tls.key': b64(certs.key), 'ca.crt': b64(certs.ca) },
  };
}

/** The serial number (hex, as openssl prints it) of the certificate in `file`. */
export function serialOf(file: string): string {
  return openssl(['x509', '-noout', '-serial', '-in', file], '.').trim().replace(/^serial=/, '').toUpperCase();
}

/** The serial of the certificate a TLS server at `host:port` presents to a new connection. */
export function servedSerial(host: string, port: number, certs: Certs): string {
  const pem = execFileSync('sh', ['-c', `openssl s_client -connect ${host}:${port} -CAfile "$1" -cert "$2" -key "$3" </dev/null 2>/dev/null | openssl x509 -noout -serial`,
    'sh', certs.ca, certs.cert, certs.key], { timeout: 5000 }).toString();
  return pem.trim().replace(/^serial=/, '').toUpperCase();
}
