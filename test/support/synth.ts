import { tmpdir } from 'os';
import { join } from 'path';
import { App, Cron, Testing } from 'cdk8s';
import { RedisSentinelChart, RedisSentinelChartProps } from '../../src';
import { buildExampleApp } from '../../src/example';
import { DeploymentSettings } from '../../src/settings';

/** A synthesized Kubernetes object (plain JSON). */
export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: any }; [k: string]: any };

/**
 * An App for tests that synthesize in memory (Testing.synth). Unlike Testing.app(), it creates no
 * temporary directory per call: nothing is ever written to its outdir.
 */
export function testApp(): App {
  return new App({ outdir: join(tmpdir(), 'cdk8s-redis-sentinel-unwritten') });
}

/** Synthesizes a chart with the given props into plain objects. */
export function synthChart(props: RedisSentinelChartProps = {}, id = 'redis'): KubeObject[] {
  const app: App = testApp();
  const chart = new RedisSentinelChart(app, id, props);
  return Testing.synth(chart) as KubeObject[];
}

/** The example app (src/example.ts), as src/main.ts builds it, with `overrides` on the deployment's props. */
export interface ExampleObjects {
  /** dist/redis-sentinel.k8s.yaml: the deployment. */
  readonly core: KubeObject[];
  /** dist/redis-sentinel-monitoring.k8s.yaml: its monitoring. */
  readonly monitoring: KubeObject[];
  /** Both, core first (what `kubectl apply -f dist/` applies). */
  readonly all: KubeObject[];
  /** The deployment's resolved settings. */
  readonly settings: DeploymentSettings;
}

/** Synthesizes the example app (both Charts) into plain objects. */
export function synthExample(overrides: RedisSentinelChartProps = {}): ExampleObjects {
  const { core, monitoring } = buildExampleApp(testApp(), overrides);
  const c = Testing.synth(core) as KubeObject[];
  const m = Testing.synth(monitoring) as KubeObject[];
  return { core: c, monitoring: m, all: [...c, ...m], settings: core.redis._settings };
}

/** Finds one object by kind and name; throws when there is not exactly one. */
export function find(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0];
}

/** Every object of a kind. */
export function ofKind(objects: KubeObject[], kind: string): KubeObject[] {
  return objects.filter((o) => o.kind === kind);
}

/**
 * A Cron with exactly this expression (5 fields, `@daily`, or anything invalid, to test checks):
 * cdk8s' Cron builds its expression from fields only.
 */
export function cron(expression: string): Cron {
  return Object.assign(new Cron(), { expressionString: expression });
}

/** The core settings a chart with these props resolves to (throws for invalid props, as the chart does). */
export function settingsOf(props: RedisSentinelChartProps = {}, id = 'redis'): DeploymentSettings {
  return new RedisSentinelChart(testApp(), id, props).redis._settings;
}
