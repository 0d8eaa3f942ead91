import * as k8s from './k8s';
import { Construct } from 'constructs';
import { deploymentOf } from './part';
import type { RedisSentinel } from './redis-sentinel';
import { redisStatefulSet } from './redis-statefulset';

/** Props of {@link RedisMaster}. */
export interface RedisMasterProps {
  /** The deployment this StatefulSet is part of (its ConfigMaps, Secret and settings). */
  readonly deployment: RedisSentinel;
}

/**
 * The bootstrap master: a StatefulSet of one Redis pod (`<name>-master-0`) that Sentinels without
 * state monitor on a first install (no Redis pod holds a key); it never makes itself master. After
 * a failover it is an ordinary replica.
 * Runs the restore init container when the deployment has `restore`. {@link RedisSentinel} creates
 * it; a deployment has exactly one.
 */
export class RedisMaster extends Construct {
  /** The StatefulSet (the construct's `Resource` child). */
  public readonly statefulSet: k8s.KubeStatefulSet;
  /** The headless Service that gives the pod a stable DNS name. */
  public readonly headlessService: k8s.KubeService;

  constructor(scope: Construct, id: string, props: RedisMasterProps) {
    super(scope, id);
    const d = deploymentOf(this, 'RedisMaster', props?.deployment, 'create a RedisSentinel, which creates its RedisMaster');
    d._attachPart('RedisMaster', this);
    const s = d._settings;
    const restore = d._restore;
    const made = redisStatefulSet(this, d, {
      statefulSetName: s.names.master,
      headlessServiceName: s.names.masterHeadless,
      podCount: 1,
      configChecksum: d._configChecksum.redis,
      restore,
    });
    this.statefulSet = made.statefulSet;
    this.headlessService = made.headlessService;
  }
}
