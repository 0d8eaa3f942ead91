import { createHash } from 'crypto';
import { Lazy, Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { exporters } from './monitoring';
import { componentSelector, objectLabels, serviceDomain, statefulSetSelector } from './names';
import {
  affinity, authMount, authVolume, claimTemplate, commonPodSpec, containerSecurityContext, emptyDir, execProbe, identityEnv,
  resourceRequirements, zoneSpread,
} from './pod';
import type { RedisSentinel } from './redis-sentinel';
import { PATHS, SCRIPT } from './settings';
import { restoreContainerEnv } from './shared-config';

/** What differs between the bootstrap master StatefulSet and the replica StatefulSet. */
export interface RedisStatefulSetOptions {
  readonly statefulSetName: string;
  readonly headlessServiceName: string;
  readonly podCount: number;
  /** Annotation values that change when the rendered config or scripts change, so pods roll. */
  readonly configChecksum: string;
  /** Run the restore init container before Redis, restoring `file` from this claim: the bootstrap master only. */
  readonly restore?: { readonly claimName: string; readonly file: string };
}

/**
 * The Redis pods' revision: a digest of what both Redis StatefulSets' pod templates share (the Redis
 * container but its identity env, the sidecars, the pod-level settings, the rendered config). A
 * change to it rolls both StatefulSets; the start script publishes it (proc-title-template), and a
 * departing master compares it with its peers' to know which of them a rolling update has already
 * replaced (redis-prestop.sh). What only one StatefulSet has (the restore init container) is left
 * out: changing it rolls only that StatefulSet, and the others keep the revision.
 */
function redisRevision(deployment: RedisSentinel, redis: k8s.Container, configChecksum: string): string {
  const s = deployment._settings;
  const shared = {
    redis: { ...redis, env: undefined },
    sidecars: exporters(deployment, 'redis'),
    pod: commonPodSpec(s),
    grace: s.redisGracePeriodSeconds,
    configChecksum,
  };
  return createHash('sha256').update(JSON.stringify(shared)).digest('hex').slice(0, 16);
}

/**
 * A StatefulSet of Redis pods (id `Resource` in `scope`) and its headless Service (id `Headless`).
 * The bootstrap master and the replicas run the same pod: every pod decides its role at every
 * start by asking the Sentinels.
 */
export function redisStatefulSet(scope: Construct, deployment: RedisSentinel, o: RedisStatefulSetOptions) {
  const s = deployment._settings;
  const selector = statefulSetSelector(s.name, 'redis', o.statefulSetName);
  const labels = objectLabels(s.name, 'redis', { ...selector });
  const script = (f: string) => `${PATHS.scriptsDir}/${f}`;

  const headlessService = new k8s.KubeService(scope, 'Headless', {
    metadata: { name: o.headlessServiceName, namespace: s.namespace, labels },
    spec: {
      clusterIp: 'None',
      // Sentinel must be able to resolve (and fail over) a pod that is not ready.
      publishNotReadyAddresses: true,
      selector,
      ports: [{ name: 'redis', port: s.redisPort, targetPort: k8s.IntOrString.fromString('redis') }],
    },
  });

  const mounts: k8s.VolumeMount[] = [
    { name: 'data', mountPath: PATHS.data },
    { name: 'config', mountPath: PATHS.redisTemplateDir, readOnly: true },
    { name: 'scripts', mountPath: PATHS.scriptsDir, readOnly: true },
    { name: 'run', mountPath: PATHS.runDir },
    { name: 'tmp', mountPath: PATHS.tmp },
    ...authMount(s),
  ];

  const redis: k8s.Container = {
    name: 'redis',
    image: s.image,
    imagePullPolicy: s.imagePullPolicy,
    command: ['sh', script(SCRIPT.redisStart)],
    env: identityEnv(serviceDomain(o.headlessServiceName, s.namespace, s.clusterDomain)),
    ports: [{ name: 'redis', containerPort: s.redisPort, protocol: 'TCP' }],
    resources: resourceRequirements(s.redisResources),
    securityContext: containerSecurityContext(s),
    // The start script may wait for the Sentinels, then Redis may load a large AOF (LOADING passes).
    startupProbe: execProbe(script(SCRIPT.redisProbe), ['liveness'], { periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 24 }),
    livenessProbe: execProbe(script(SCRIPT.redisProbe), ['liveness'], { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 }),
    readinessProbe: execProbe(script(SCRIPT.redisProbe), ['readiness'], { periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 2, successThreshold: 1 }),
    lifecycle: { preStop: { exec: { command: ['sh', script(SCRIPT.preStop)] } } },
    volumeMounts: mounts,
  };

  const restore = o.restore;
  // On the first start only, turns the chosen backup into this pod's data (see redis-restore.sh).
  const restoreInit: k8s.Container | undefined = restore ? {
    name: 'restore',
    image: s.image,
    imagePullPolicy: s.imagePullPolicy,
    command: ['sh', script(SCRIPT.restore)],
    env: [...identityEnv(serviceDomain(o.headlessServiceName, s.namespace, s.clusterDomain)), ...restoreContainerEnv(s, restore.file)],
    // It loads the whole data set once, as Redis will.
    resources: resourceRequirements(s.redisResources),
    securityContext: containerSecurityContext(s),
    volumeMounts: [...mounts, { name: 'restore', mountPath: PATHS.restoreDir, readOnly: true }],
  } : undefined;

  const statefulSet = new k8s.KubeStatefulSet(scope, 'Resource', {
    metadata: { name: o.statefulSetName, namespace: s.namespace, labels },
    spec: {
      serviceName: o.headlessServiceName,
      replicas: o.podCount,
      // Pods are peers whose roles change at runtime: no reason to start them one by one.
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate' },
      selector: { matchLabels: selector },
      template: {
        metadata: { labels, annotations: { 'redis-sentinel.cdk8s.io/config-checksum': o.configChecksum } },
        spec: {
          ...commonPodSpec(s),
          // Covers the preStop hand-over (failover wait) plus Redis' own shutdown save.
          terminationGracePeriodSeconds: s.redisGracePeriodSeconds,
          affinity: affinity(s, selector, componentSelector(s.name, 'redis')),
          topologySpreadConstraints: zoneSpread(s, selector),
          ...(restoreInit ? { initContainers: [restoreInit] } : {}),
          // Monitoring may be attached after this construct: its sidecar is added at synth time.
          // REDIS_REVISION: what this pod runs, the same in both Redis StatefulSets (see redisRevision).
          containers: Lazy.any({
            produce: () => [
              { ...redis, env: [...redis.env ?? [], { name: 'REDIS_REVISION', value: redisRevision(deployment, redis, o.configChecksum) }] },
              ...exporters(deployment, 'redis'),
            ],
          }),
          volumes: [
            { name: 'config', configMap: { name: s.names.redisConfig } },
            { name: 'scripts', configMap: { name: s.names.scripts } },
            // Holds the runtime config with the password: memory-backed, private to the pod.
            emptyDir('run', Size.mebibytes(1), true),
            emptyDir('tmp', Size.mebibytes(32)),
            ...authVolume(s),
            ...(restore ? [{ name: 'restore', persistentVolumeClaim: { claimName: restore.claimName, readOnly: true } }] : []),
          ],
        },
      },
      volumeClaimTemplates: [claimTemplate('data', s.storageSize, s.storageClassName, objectLabels(s.name, 'redis'))],
    },
  });
  return { statefulSet, headlessService };
}
