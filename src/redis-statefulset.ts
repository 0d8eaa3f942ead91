import { aclMounts, aclVolumes } from './acl';
import { createHash } from 'crypto';
import { Lazy, Size } from 'cdk8s';
import * as k8s from './k8s';
import { Construct } from 'constructs';
import { exporters } from './monitoring';
import { componentSelector, objectLabels, serviceDomain, statefulSetSelector } from './names';
import {
  exporterCredential, affinity, authMount, authVolume, tlsMount, tlsVolume, claimTemplate, commonPodSpec, containerSecurityContext, emptyDir, execProbe, identityEnv,
  podMetadata, resourceRequirements, zoneSpread,
} from './pod';
import type { RedisSentinel } from './redis-sentinel';
import { PATHS, SCRIPT } from './settings';
import { restoreContainerEnv, s3ContainerEnv } from './shared-config';
import type { ResolvedRestore } from './backup';
import { cpuMillis } from './validation';

/** What differs between the bootstrap master StatefulSet and the replica StatefulSet. */
export interface RedisStatefulSetOptions {
  readonly statefulSetName: string;
  readonly headlessServiceName: string;
  readonly podCount: number;
  /** Annotation values that change when the rendered config or scripts change, so pods roll. */
  readonly configChecksum: string;
  /** Run the restore init container(s) before Redis, restoring `file` from a claim or S3: the bootstrap master only. */
  readonly restore?: ResolvedRestore;
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
    pod: commonPodSpec(s, s.redisPod),
    podOptions: s.redisPod,
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
  const pod = s.redisPod;
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
    ...tlsMount(s),
  ];
  const extraMounts = pod.extraVolumeMounts ?? [];

  const credential = exporterCredential(s, s.image, s.redisPort);
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
    volumeMounts: [...mounts, ...aclMounts(s.acl, 'redis'), ...credential.mounts, ...extraMounts],
  };

  const restore = o.restore;
  const initContainers = [...credential.initContainers, ...restore ? restoreContainers(deployment, o, restore, mounts) : []];
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
        metadata: podMetadata(s, pod, labels, { 'redis-sentinel.cdk8s.io/config-checksum': o.configChecksum }),
        spec: {
          ...commonPodSpec(s, pod),
          // Covers the preStop hand-over (failover wait) plus Redis' own shutdown save.
          terminationGracePeriodSeconds: s.redisGracePeriodSeconds,
          affinity: affinity(s, selector, componentSelector(s.name, 'redis'), pod),
          topologySpreadConstraints: zoneSpread(s, selector, pod),
          ...(initContainers.length || pod.extraInitContainers?.length
            ? { initContainers: [...initContainers, ...pod.extraInitContainers ?? []] } : {}),
          ...(restore?.s3?.serviceAccountAnnotations ? { serviceAccountName: s.names.restoreServiceAccount } : {}),
          // Monitoring may be attached after this construct: its sidecar is added at synth time.
          // REDIS_REVISION: what this pod runs, the same in both Redis StatefulSets (see redisRevision).
          containers: Lazy.any({
            produce: () => [
              { ...redis, env: [...redis.env ?? [], { name: 'REDIS_REVISION', value: redisRevision(deployment, redis, o.configChecksum) }] },
              ...exporters(deployment, 'redis'),
              ...pod.extraContainers ?? [],
            ],
          }),
          volumes: [
            { name: 'config', configMap: { name: s.names.redisConfig } },
            { name: 'scripts', configMap: { name: s.names.scripts } },
            // Holds the runtime config with the password: memory-backed, private to the pod.
            emptyDir('run', Size.mebibytes(1), true),
            emptyDir('tmp', Size.mebibytes(32)),
            ...authVolume(s),
            ...tlsVolume(s),
            ...aclVolumes(s.acl, 'redis'),
            ...credential.volumes,
            ...(restore?.claimName ? [{ name: 'restore', persistentVolumeClaim: { claimName: restore.claimName, readOnly: true } }] : []),
            ...pod.extraVolumes ?? [],
          ],
        },
      },
      ...(s.pvcRetentionPolicy ? { persistentVolumeClaimRetentionPolicy: s.pvcRetentionPolicy } : {}),
      volumeClaimTemplates: [claimTemplate('data', s.storageSize, s.storageClassName, objectLabels(s.name, 'redis'), s.storageAccessModes)],
    },
  });
  return { statefulSet, headlessService };
}

/**
 * The restore init containers: on the first start only, `restore` turns the chosen backup into this
 * pod's data (see redis-restore.sh); with `restore.s3`, `restore-fetch` (rclone image) downloads it
 * first onto the data volume (see s3-fetch.sh).
 */
function restoreContainers(d: RedisSentinel, o: RedisStatefulSetOptions, r: ResolvedRestore, mounts: k8s.VolumeMount[]): k8s.Container[] {
  const s = d._settings;
  const script = (f: string) => ['sh', `${PATHS.scriptsDir}/${f}`];
  const restoreEnv = restoreContainerEnv(s, r.file, r.s3 !== undefined);
  const fetch: k8s.Container[] = r.s3 ? [{
    name: 'restore-fetch',
    image: r.s3.image,
    imagePullPolicy: s.imagePullPolicy,
    command: script(SCRIPT.s3Fetch),
    env: [...restoreEnv, ...s3ContainerEnv(r.s3)],
    resources: resourceRequirements({ cpu: { request: cpuMillis(50) }, memory: { request: Size.mebibytes(64), limit: Size.mebibytes(256) } }),
    securityContext: containerSecurityContext(s),
    volumeMounts: mounts.filter((m) => m.name !== 'auth' && m.name !== 'tls'),
  }] : [];
  return [...fetch, {
    name: 'restore',
    image: s.image,
    imagePullPolicy: s.imagePullPolicy,
    command: script(SCRIPT.restore),
    env: [...identityEnv(serviceDomain(o.headlessServiceName, s.namespace, s.clusterDomain)), ...restoreEnv],
    // It loads the whole data set once, as Redis will.
    resources: resourceRequirements(s.redisResources),
    securityContext: containerSecurityContext(s),
    volumeMounts: [...mounts, ...(r.claimName ? [{ name: 'restore', mountPath: PATHS.restoreDir, readOnly: true }] : [])],
  }];
}
