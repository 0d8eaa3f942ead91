/**
 * The secure example (SECURE_PROPS in src/example.ts): the example's deployment with TLS on every
 * connection, certificates from cert-manager. `npx projen synth` writes it into examples/secure/.
 *
 * Before applying: cert-manager, a CA ClusterIssuer named `redis-ca` (it must fill ca.crt), and the
 * password Secret (never committed):
 *   kubectl create namespace redis-secure
 *   kubectl -n redis-secure create secret generic redis-auth --from-literal=password="$(openssl rand -base64 32)"
 */
import { App } from 'cdk8s';
import { SECURE_OUTDIR, buildSecureExample } from './example';

// CDK8S_OUTDIR: where test/dist.test.ts writes a fresh copy to compare.
const app = new App({ outdir: process.env.CDK8S_OUTDIR ?? SECURE_OUTDIR });
buildSecureExample(app);
app.synth();
