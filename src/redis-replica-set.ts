import * as k8s from './k8s';
import { Construct } from 'constructs';
import { deploymentOf } from './part';
import type { RedisSentinel } from './redis-sentinel';
import { redisStatefulSet } from './redis-statefulset';

/** Props of {@link RedisReplicaSet}. */
export interface RedisReplicaSetProps {
  /** The deployment this StatefulSet is part of (`replicas` is its size). */
  readonly deployment: RedisSentinel;
}

/**
 * The replica StatefulSet (`<name>-replica-<i>`, `replicas` pods). Its pods replicate whichever
 * pod the Sentinels name as master, and any of them may be promoted. {@link RedisSentinel} creates
 * it; a deployment has exactly one.
 */
export class RedisReplicaSet extends Construct {
  /** The StatefulSet (the construct's `Resource` child). */
  public readonly statefulSet: k8s.KubeStatefulSet;
  /** The headless Service that gives every pod a stable DNS name. */
  public readonly headlessService: k8s.KubeService;

  constructor(scope: Construct, id: string, props: RedisReplicaSetProps) {
    super(scope, id);
    const d = deploymentOf(this, 'RedisReplicaSet', props?.deployment, 'create a RedisSentinel, which creates its RedisReplicaSet');
    d._attachPart('RedisReplicaSet', this);
    const s = d._settings;
    const made = redisStatefulSet(this, d, {
      statefulSetName: s.names.replica,
      headlessServiceName: s.names.replicaHeadless,
      podCount: s.replicas,
      configChecksum: d._configChecksum.redis,
    });
    this.statefulSet = made.statefulSet;
    this.headlessService = made.headlessService;
  }
}
