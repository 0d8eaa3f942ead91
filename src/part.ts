import { ApiObject, Chart } from 'cdk8s';
import { IConstruct } from 'constructs';
import type { RedisSentinel } from './redis-sentinel';
import type { DeploymentSettings } from './settings';

/**
 * The deployment a construct is part of or attaches to; fails (naming the construct, its path and
 * what to pass) when it is missing, as it is for JavaScript callers or a construct created alone.
 */
export function deploymentOf(part: IConstruct, kind: string, deployment: RedisSentinel | undefined, hint: string): RedisSentinel {
  if (!deployment) throw new Error(`${kind} at ${part.node.path} needs props.deployment: ${hint}`);
  return deployment;
}

/**
 * Puts commonLabels and commonAnnotations on every ApiObject under `scope`. An object's own labels
 * win (the library's keys are refused in commonLabels anyway); commonLabels win over the enclosing
 * Chart's labels, which cdk8s merged into every object's metadata.
 */
export function applyCommonMetadata(scope: IConstruct, s: DeploymentSettings): void {
  for (const c of scope.node.findAll()) {
    if (!(c instanceof ApiObject)) continue;
    const chartLabels = Chart.of(c).labels;
    for (const [k, v] of Object.entries(s.commonLabels)) {
      const current = c.metadata.getLabel(k);
      if (current === undefined || current === chartLabels[k]) c.metadata.addLabel(k, v);
    }
    for (const [k, v] of Object.entries(s.commonAnnotations)) c.metadata.addAnnotation(k, v);
  }
}
