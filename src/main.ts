/**
 * The example app. `npx projen synth` writes into dist/:
 * - redis-sentinel.k8s.yaml: the deployment (built-in kinds only, applies on any cluster);
 * - redis-sentinel-monitoring.k8s.yaml: its monitoring (needs prometheus-operator's CRDs);
 * - redis-secure.k8s.yaml: the secure example, another release in namespace redis-secure with TLS from
 *   cert-manager and ACL users (needs cert-manager and a ClusterIssuer `redis-ca`).
 *
 * Before applying, create the Secrets (never committed):
 *   kubectl create namespace redis
 *   kubectl -n redis create secret generic redis-auth --from-literal=password="$(openssl rand -base64 32)"
 *   kubectl create namespace redis-secure
 *   kubectl -n redis-secure create secret generic redis-auth --from-literal=password="$(openssl rand -base64 32)"
 *   kubectl -n redis-secure create secret generic redis-acl $(for u in replication sentinel sentinel-peer backup endpoint; do
 *     printf -- '--from-literal=%s=%s ' "$u" "$(openssl rand -hex 24)"; done)
 *   kubectl -n redis-secure create secret generic redis-app --from-literal=password="$(openssl rand -base64 32)"
 */
import { App } from 'cdk8s';
import { buildExampleApp, buildSecureExample } from './example';

const app = new App();
buildExampleApp(app);
buildSecureExample(app);
app.synth();
