/**
 * The example app for a one-node cluster (kind, minikube, k3d): `npx projen synth` writes it into
 * examples/one-node/ (not dist/: `kubectl apply -f dist/` must not apply a second release of the
 * same names). NOT for production: see ONE_NODE_OVERRIDES in src/example.ts.
 */
import { App } from 'cdk8s';
import { ONE_NODE_OUTDIR, ONE_NODE_OVERRIDES, buildExampleApp } from './example';

// CDK8S_OUTDIR: where test/dist.test.ts writes a fresh copy to compare.
const app = new App({ outdir: process.env.CDK8S_OUTDIR ?? ONE_NODE_OUTDIR });
buildExampleApp(app, ONE_NODE_OVERRIDES);
app.synth();
