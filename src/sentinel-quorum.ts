import { aclMounts, aclVolumes } from './acl';
import { Lazy, Size } from 'cdk8s';
import * as k8s from './k8s';
import { Construct } from 'constructs';
import { componentSelector, objectLabels, serviceDomain, statefulSetSelector } from './names';
import {
  exporterCredential, scriptResources, affinity, authMount, authVolume, tlsMount, tlsVolume, claimTemplate, commonPodSpec, containerSecurityContext, emptyDir, execProbe, identityEnv,
  podMetadata, resourceRequirements, zoneSpread,
} from './pod';
import { deploymentOf } from './part';
import type { RedisSentinel } from './redis-sentinel';
import { exporters } from './monitoring';
import { DeploymentSettings, PATHS, SCRIPT, TIDY } from './settings';

/** Props of {@link SentinelQuorum}. */
export interface SentinelQuorumProps {
  /** The deployment whose master these Sentinels monitor (`sentinels` is their number). */
  readonly deployment: RedisSentinel;
}

/**
 * The Sentinels: a StatefulSet of `sentinels` pods with a headless Service (stable names for
 * gossip and announce-hostnames), the client-facing Sentinel Service, the sentinel.conf ConfigMap
 * and a PodDisruptionBudget. Each Sentinel keeps its state on a small volume.
 * {@link RedisSentinel} creates it; a deployment has exactly one.
 */
export class SentinelQuorum extends Construct {
  /** The StatefulSet (the construct's `Resource` child). */
  public readonly statefulSet: k8s.KubeStatefulSet;
  public readonly headlessService: k8s.KubeService;
  /** The Service clients ask for the current master (port `sentinelPort`). */
  public readonly service: k8s.KubeService;
  public readonly configMap: k8s.KubeConfigMap;
  public readonly podDisruptionBudget: k8s.KubePodDisruptionBudget;

  constructor(scope: Construct, id: string, props: SentinelQuorumProps) {
    super(scope, id);
    const d = deploymentOf(this, 'SentinelQuorum', props?.deployment, 'create a RedisSentinel, which creates its SentinelQuorum');
    d._attachPart('SentinelQuorum', this);
    const s = d._settings;
    const n = s.names;
    const pod = s.sentinelPod;
    const selector = statefulSetSelector(s.name, 'sentinel', n.sentinel);
    const labels = objectLabels(s.name, 'sentinel', { ...selector });
    const script = (f: string) => `${PATHS.scriptsDir}/${f}`;
    const ports: k8s.ServicePort[] = [{ name: 'sentinel', port: s.sentinelPort, targetPort: k8s.IntOrString.fromString('sentinel') }];

    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: n.sentinelConfig, namespace: s.namespace, labels: objectLabels(s.name, 'sentinel') },
      data: { 'sentinel.conf': d._files.sentinelConf, ...(d._files.acl ? { 'acl-users': d._files.acl.sentinel } : {}) },
    });

    this.headlessService = new k8s.KubeService(this, 'Headless', {
      metadata: { name: n.sentinelHeadless, namespace: s.namespace, labels },
      spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector, ports },
    });

    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name: n.sentinelService, namespace: s.namespace, labels: objectLabels(s.name, 'sentinel') },
      spec: { type: 'ClusterIP', selector, ports },
    });

    const credential = exporterCredential(s, s.sentinelImage, s.sentinelPort);
    const sentinel: k8s.Container = {
      name: 'sentinel',
      image: s.sentinelImage,
      imagePullPolicy: s.imagePullPolicy,
      command: ['sh', script(SCRIPT.sentinelStart)],
      env: identityEnv(serviceDomain(n.sentinelHeadless, s.namespace, s.clusterDomain)),
      ports: [{ name: 'sentinel', containerPort: s.sentinelPort, protocol: 'TCP' }],
      resources: resourceRequirements(s.sentinelResources),
      securityContext: containerSecurityContext(s),
      // The start script may wait up to 30 s for the master's name to resolve.
      startupProbe: execProbe(script(SCRIPT.sentinelProbe), [], { periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 12 }),
      livenessProbe: execProbe(script(SCRIPT.sentinelProbe), [], { periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 6 }),
      readinessProbe: execProbe(script(SCRIPT.sentinelProbe), [], { periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 2 }),
      // A Sentinel running a failover (a hand-over in a rolling update) stays until it ends.
      lifecycle: { preStop: { exec: { command: ['sh', script(SCRIPT.sentinelPreStop)] } } },
      volumeMounts: [
        { name: 'data', mountPath: PATHS.data },
        { name: 'config', mountPath: PATHS.sentinelTemplateDir, readOnly: true },
        { name: 'scripts', mountPath: PATHS.scriptsDir, readOnly: true },
        { name: 'tmp', mountPath: PATHS.tmp },
        ...authMount(s),
        ...tlsMount(s),
        ...aclMounts(s.acl, 'sentinel'),
        ...credential.mounts,
        ...pod.extraVolumeMounts ?? [],
      ],
    };

    const tidy = tidyContainer(s);

    this.statefulSet = new k8s.KubeStatefulSet(this, 'Resource', {
      metadata: { name: n.sentinel, namespace: s.namespace, labels },
      spec: {
        serviceName: n.sentinelHeadless,
        replicas: s.sentinels,
        podManagementPolicy: 'Parallel',
        updateStrategy: { type: 'RollingUpdate' },
        selector: { matchLabels: selector },
        template: {
          metadata: podMetadata(s, pod, labels, { 'redis-sentinel.cdk8s.io/config-checksum': d._configChecksum.sentinel }),
          spec: {
            ...commonPodSpec(s, pod),
            // Covers the preStop wait for a failover this Sentinel runs.
            terminationGracePeriodSeconds: s.sentinelGracePeriodSeconds,
            affinity: affinity(s, selector, componentSelector(s.name, 'sentinel'), pod),
            topologySpreadConstraints: zoneSpread(s, selector, pod),
            ...(credential.initContainers.length || pod.extraInitContainers?.length
              ? { initContainers: [...credential.initContainers, ...pod.extraInitContainers ?? []] } : {}),
            // Monitoring may be attached after this construct: its sidecar is added at synth time.
            containers: Lazy.any({ produce: () => [sentinel, tidy, ...exporters(d, 'sentinel'), ...pod.extraContainers ?? []] }),
            volumes: [
              { name: 'config', configMap: { name: n.sentinelConfig } },
              { name: 'scripts', configMap: { name: n.scripts } },
              emptyDir('tmp', Size.mebibytes(16)),
              ...authVolume(s),
              ...tlsVolume(s),
              ...aclVolumes(s.acl, 'sentinel'),
              ...credential.volumes,
              ...pod.extraVolumes ?? [],
            ],
          },
        },
        ...(s.pvcRetentionPolicy ? { persistentVolumeClaimRetentionPolicy: s.pvcRetentionPolicy } : {}),
        volumeClaimTemplates: [claimTemplate('data', s.sentinelStorageSize, s.sentinelStorageClassName, objectLabels(s.name, 'sentinel'), s.sentinelStorageAccessModes)],
      },
    });

    this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'Pdb', {
      metadata: { name: n.sentinelPdb, namespace: s.namespace, labels: objectLabels(s.name, 'sentinel') },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
    });
  }
}

/**
 * The Sentinel pods' `tidy` sidecar: forgets scaled-down replicas and Sentinels (sentinel-tidy.sh says
 * when that is safe). A sidecar rather than a background job of the Sentinel's entrypoint: its own log
 * (`kubectl logs <pod> -c tidy`), restarted alone if it ever exits, and no change to how the Sentinel
 * itself starts and stops.
 */
function tidyContainer(s: DeploymentSettings): k8s.Container {
  const n = s.names;
  const script = (f: string) => `${PATHS.scriptsDir}/${f}`;
  return {
    name: 'tidy',
    image: s.sentinelImage,
    imagePullPolicy: s.imagePullPolicy,
    command: ['sh', script(SCRIPT.sentinelTidy)],
    env: [
      ...identityEnv(serviceDomain(n.sentinelHeadless, s.namespace, s.clusterDomain)),
      { name: 'TIDY_INTERVAL', value: String(TIDY.intervalSeconds) },
      { name: 'TIDY_GRACE', value: String(TIDY.graceSeconds) },
    ],
    resources: scriptResources(),
    securityContext: containerSecurityContext(s),
    volumeMounts: [
      { name: 'scripts', mountPath: PATHS.scriptsDir, readOnly: true },
      ...authMount(s),
      ...tlsMount(s),
    ],
  };
}
