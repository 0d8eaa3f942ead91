import { IConstruct } from 'constructs';
import type { RedisSentinel } from './redis-sentinel';

/**
 * The deployment a construct is part of or attaches to; fails (naming the construct, its path and
 * what to pass) when it is missing, as it is for JavaScript callers or a construct created alone.
 */
export function deploymentOf(part: IConstruct, kind: string, deployment: RedisSentinel | undefined, hint: string): RedisSentinel {
  if (!deployment) throw new Error(`${kind} at ${part.node.path} needs props.deployment: ${hint}`);
  return deployment;
}
