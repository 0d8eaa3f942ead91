/**
 * The example app. `npx projen synth` writes dist/redis-sentinel.k8s.yaml (the deployment: built-in
 * kinds only, applies on any cluster) and dist/redis-sentinel-monitoring.k8s.yaml (its monitoring:
 * needs prometheus-operator's CRDs).
 *
 * Before applying, create the password Secret (never committed):
 *   kubectl create namespace redis
 *   kubectl -n redis create secret generic redis-auth --from-literal=password="$(openssl rand -base64 32)"
 */
import { App } from 'cdk8s';
import { buildExampleApp } from './example';

const app = new App();
buildExampleApp(app);
app.synth();
