/**
 * The example app. `npx projen synth` writes dist/redis-sentinel.k8s.yaml.
 *
 * Before applying, create the password Secret (never committed):
 *   kubectl create namespace redis
 *   kubectl -n redis create secret generic redis-auth --from-literal=password="$(openssl rand -base64 32)"
 */
import { App } from 'cdk8s';
import { EXAMPLE_CHART_ID, EXAMPLE_PROPS } from './example';
import { RedisSentinelChart } from './redis-sentinel-chart';

const app = new App();
new RedisSentinelChart(app, EXAMPLE_CHART_ID, EXAMPLE_PROPS);
app.synth();
