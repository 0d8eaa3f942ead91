import { createHash } from 'crypto';
import { Duration, Lazy, Size } from 'cdk8s';
import type { ContainerResources } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { renderHaproxyConfig } from './config/haproxy-cfg';
import { LABEL, componentSelector, objectLabels, podFqdn } from './names';
import * as k8s from './k8s';
import { dnsEgress, emptyDir, podMetadata, resourceRequirements, tcpPort, tlsMount, tlsVolume } from './pod';
import { internalPasswordVolume } from './acl';
import type { PodOptions } from './pod-options';
import { deploymentOf } from './part';
import { AntiAffinity } from './props';
import type { RedisSentinel } from './redis-sentinel';
import { SHELL_FILES } from './scripts/embedded.generated';
import { DeploymentSettings } from './settings';
import { TLS_DIR, TLS_FILES } from './tls';
import { Problems, checkImage, checkPort, checkResources, cpuMillis, isInt } from './validation';

/** Default HAProxy image: the official image of the 2.6 LTS line (alpine; runs as uid/gid 99). */
export const DEFAULT_HAPROXY_IMAGE = 'haproxy:2.6.18-alpine';
/** The official haproxy image's user and group (`haproxy`). */
export const HAPROXY_UID = 99;

/** Where the proxy's ConfigMap is mounted. */
const CONFIG_DIR = '/usr/local/etc/haproxy';
const FENCE_LUA = 'endpoint-fence.lua';
/** With TLS: runs HAProxy and reloads it when the certificate files change. */
const START_SH = 'endpoint-start.sh';
/** The files of src/scripts that go to the master endpoint's own ConfigMap, not to the scripts ConfigMap. */
export const ENDPOINT_FILES: readonly string[] = [FENCE_LUA, START_SH];
/** With ACL users: the checks' password file, and the memory directory of HAProxy's config file that holds it. */
const ENDPOINT_PASSWORD_FILE = '/etc/redis-auth/password';
const ENDPOINT_RUN_DIR = '/run/haproxy';
/** Loopback port of HAProxy's runtime API under endpoint-start.sh, through which it saves the servers' states before a reload. */
export const ENDPOINT_STATS_PORT = 8405;
/** Whether HAProxy runs under endpoint-start.sh: it reloads on a new certificate (TLS) or password (ACL users). */
const startScript = (s: DeploymentSettings): boolean => s.tls !== undefined || s.acl !== undefined;

/**
 * Options of the master endpoint ({@link RedisSentinelProps.masterEndpoint}, {@link RedisMasterEndpoint}):
 * HAProxy pods behind a Service `<name>-master` that always leads to the master a majority of the
 * Sentinels name (for clients that cannot ask Sentinel), and `<name>-replicas` for reads from replicas only.
 */
export interface MasterEndpointOptions {
  /**
   * HAProxy pods (a Deployment; a PodDisruptionBudget keeps all but one through voluntary disruptions).
   * @default 2
   */
  readonly replicas?: number;

  /**
   * HAProxy image, pinned; the 2.6 line or newer (tcp-check `send-lf`, `http-request return`, Lua).
   * @default 'haproxy:2.6.18-alpine'
   * @see https://hub.docker.com/_/haproxy
   */
  readonly image?: string;

  /**
   * Interval of HAProxy's checks of each Redis pod and Sentinel: after a failover, new connections
   * reach the new master at most about 1.2 times this after the Sentinels name it (a server that was
   * up leaves on a second failed check a fifth of the interval after the first: one check without an
   * answer in time, e.g. on a starved node, changes nothing).
   * @default Duration.millis(500)
   */
  readonly checkInterval?: Duration;

  /**
   * Port of the HAProxy pods' `/metrics` (Prometheus), `/healthz` and `/ready` (named `metrics`).
   * @default 8404
   */
  readonly metricsPort?: number;

  /**
   * Client and server connections idle this long are closed (HAProxy `timeout client`/`server`).
   * @default Duration.hours(1)
   */
  readonly idleTimeout?: Duration;

  /**
   * Resources of each HAProxy container.
   * @default - requests 50m CPU / 64Mi memory, limit 128Mi memory
   */
  readonly resources?: ContainerResources;
}

/** Props of {@link RedisMasterEndpoint}. */
export interface RedisMasterEndpointProps extends MasterEndpointOptions {
  /** The deployment whose master the endpoint leads to (in any Chart; objects go to its namespace). */
  readonly deployment: RedisSentinel;
}

/** MasterEndpointOptions resolved to values. */
export interface ResolvedMasterEndpoint {
  readonly replicas: number;
  readonly image: string;
  readonly checkIntervalMs: number;
  readonly metricsPort: number;
  readonly idleTimeoutSeconds: number;
  readonly resources: ContainerResources;
  /** Listen ports in the HAProxy pods: the master endpoint (the deployment's redisPort) and the replicas one. */
  readonly masterPort: number;
  readonly replicasPort: number;
}

/** Checks and resolves master endpoint options; `prop` prefixes every message (e.g. 'masterEndpoint.'). */
export function resolveMasterEndpointOptions(p: Problems, o: MasterEndpointOptions, s: DeploymentSettings, prop: string): ResolvedMasterEndpoint {
  const replicas = o.replicas ?? 2;
  p.check(isInt(replicas) && replicas >= 1 && replicas <= 20,
    `${prop}replicas (${replicas}) must be a whole number of HAProxy pods between 1 and 20 (2 or more keep the endpoint up through a node loss)`);
  const image = o.image ?? DEFAULT_HAPROXY_IMAGE;
  checkImage(p, `${prop}image`, image, DEFAULT_HAPROXY_IMAGE);
  const tag = /:v?(\d+)\.(\d+)(?:[.-][^@]*)?(?:@sha256:[0-9a-f]+)?$/.exec(image);
  if (tag) {
    const [major, minor] = tag.slice(1).map(Number);
    p.check(major > 2 || (major === 2 && minor >= 6),
      `${prop}image ('${image}') is older than HAProxy 2.6, whose checks and Lua API the endpoint uses; use '${DEFAULT_HAPROXY_IMAGE}' or newer`);
  }
  const checkIntervalMs = (o.checkInterval ?? Duration.millis(500)).toMilliseconds();
  p.check(isInt(checkIntervalMs) && checkIntervalMs >= 100 && checkIntervalMs <= 10_000,
    `${prop}checkInterval (${checkIntervalMs} ms) must be a whole number of milliseconds between 100 and 10000: e.g. Duration.millis(500)`);
  const idleMs = (o.idleTimeout ?? Duration.hours(1)).toMilliseconds();
  p.check(isInt(idleMs) && idleMs >= 10_000 && idleMs % 1000 === 0,
    `${prop}idleTimeout (${idleMs} ms) must be a whole number of seconds, at least 10: e.g. Duration.hours(1)`);
  const metricsPort = o.metricsPort ?? 8404;
  const masterPort = s.redisPort;
  const replicasPort = s.redisPort === 65535 ? s.redisPort - 1 : s.redisPort + 1;
  if (checkPort(p, `${prop}metricsPort`, metricsPort)) {
    p.check(metricsPort !== masterPort && metricsPort !== replicasPort,
      `${prop}metricsPort (${metricsPort}) collides with the HAProxy pods' Redis ports ${masterPort} and ${replicasPort} (redisPort and the one beside it): use another, e.g. 8404`);
    p.check(metricsPort !== ENDPOINT_STATS_PORT,
      `${prop}metricsPort (${metricsPort}) is the HAProxy pods' loopback runtime API port (${ENDPOINT_STATS_PORT}, used with TLS or ACL users): use another, e.g. 8404`);
  }
  p.check(masterPort !== ENDPOINT_STATS_PORT && replicasPort !== ENDPOINT_STATS_PORT,
    `redisPort (${s.redisPort}) puts the HAProxy pods' Redis ports (${masterPort}, ${replicasPort}) on their loopback runtime API port ${ENDPOINT_STATS_PORT}: use another redisPort, e.g. 6379, or no ${prop.replace(/\.$/, '')}`);
  const resources: ContainerResources = o.resources ?? {
    cpu: { request: cpuMillis(50) },
    memory: { request: Size.mebibytes(64), limit: Size.mebibytes(128) },
  };
  checkResources(p, `${prop}resources`, resources);
  return { replicas, image, checkIntervalMs, metricsPort, idleTimeoutSeconds: idleMs / 1000, resources, masterPort, replicasPort };
}

/** Every Redis pod of the deployment: name and FQDN (what the Sentinels announce). */
function redisPods(s: DeploymentSettings): Array<{ name: string; address: string }> {
  const pod = (sts: string, headless: string, i: number) => ({ name: `${sts}-${i}`, address: podFqdn(sts, i, headless, s.namespace, s.clusterDomain) });
  return [
    pod(s.names.master, s.names.masterHeadless, 0),
    ...Array.from({ length: s.replicas }, (_, i) => pod(s.names.replica, s.names.replicaHeadless, i)),
  ];
}

/** The rendered haproxy.cfg of a deployment's endpoint. */
export function renderEndpointConfig(s: DeploymentSettings, e: ResolvedMasterEndpoint): string {
  return renderHaproxyConfig({
    masterName: s.masterName,
    redis: redisPods(s),
    sentinels: s.sentinelFqdns.map((address) => ({ name: address.split('.')[0], address })),
    redisPort: s.redisPort,
    sentinelPort: s.sentinelPort,
    masterListenPort: e.masterPort,
    replicasListenPort: e.replicasPort,
    metricsPort: e.metricsPort,
    auth: s.auth,
    ...(s.acl ? { user: 'endpoint' } : {}),
    checkIntervalMs: e.checkIntervalMs,
    fenceLuaPath: `${CONFIG_DIR}/${FENCE_LUA}`,
    resolvers: true,
    idleTimeoutSeconds: e.idleTimeoutSeconds,
    tls: s.tls && { caFile: `${TLS_DIR}/${TLS_FILES.ca}`, certFile: `${TLS_DIR}/${TLS_FILES.cert}` },
    ...(startScript(s) ? { reloadState: { file: `${ENDPOINT_RUN_DIR}/servers.state`, statsPort: ENDPOINT_STATS_PORT } } : {}),
  });
}

/** The HAProxy container. */
function proxyContainer(s: DeploymentSettings, e: ResolvedMasterEndpoint): k8s.Container {
  const port = (name: string, containerPort: number): k8s.ContainerPort => ({ name, containerPort, protocol: 'TCP' });
  const probe = (path: string, periodSeconds: number, failureThreshold: number): k8s.Probe => ({
    httpGet: { path, port: k8s.IntOrString.fromString('metrics') }, periodSeconds, timeoutSeconds: 1, failureThreshold,
  });
  return {
    name: 'haproxy',
    image: e.image,
    imagePullPolicy: s.imagePullPolicy,
    // -db: foreground, logs to stdout. SIGTERM stops at once (clients reconnect to another pod). With TLS
    // or ACL users, endpoint-start.sh runs it and reloads it when the certificate files or the checks'
    // password change (a renewal, a rotation).
    command: startScript(s) ? ['sh', `${CONFIG_DIR}/${START_SH}`, `${CONFIG_DIR}/haproxy.cfg`] : ['haproxy', '-db', '-f', `${CONFIG_DIR}/haproxy.cfg`],
    ...(s.auth || s.tls ? { env: [
      // With ACL users, the checks log in as `endpoint` (INFO on Redis, get-master-addr-by-name on
      // Sentinel); its password is a file, read again when it changes.
      ...(s.acl ? [{ name: 'PASSWORD_FILE', value: ENDPOINT_PASSWORD_FILE }]
        : s.auth ? [{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: s.authSecretName, key: s.authSecretKey } } }] : []),
      // Under endpoint-start.sh: its memory directory (the password's config file, the servers' states) and the runtime API port.
      ...(startScript(s) ? [{ name: 'RUN_DIR', value: ENDPOINT_RUN_DIR }, { name: 'STATS_PORT', value: String(ENDPOINT_STATS_PORT) }] : []),
      ...(s.tls ? [{ name: 'TLS_DIR', value: TLS_DIR }] : []),
    ] } : {}),
    ports: [port('redis', e.masterPort), port('replicas', e.replicasPort), port('metrics', e.metricsPort)],
    resources: resourceRequirements(e.resources),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: HAPROXY_UID,
      runAsGroup: HAPROXY_UID,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
      ...tlsMount(s),
      ...(s.acl ? [{ name: 'auth', mountPath: ENDPOINT_PASSWORD_FILE.replace(/\/[^/]*$/, ''), readOnly: true }] : []),
      ...(startScript(s) ? [{ name: 'run', mountPath: ENDPOINT_RUN_DIR }] : []),
    ],
    livenessProbe: probe('/healthz', 10, 3),
    // Unready while this pod sees no Sentinel majority naming a master (e.g. it is partitioned):
    // the Service then sends clients to the other HAProxy pods.
    readinessProbe: probe('/ready', 2, 3),
    // Leave the Service's endpoints before the listeners close.
    lifecycle: { preStop: { exec: { command: ['sleep', '2'] } } },
  };
}

/**
 * The master endpoint of a {@link RedisSentinel}, for clients that do not speak Sentinel: HAProxy
 * pods (a Deployment, `replicas` of them, anti-affinity, a PodDisruptionBudget) behind a Service
 * `<name>-master` that leads only to the Redis pod a strict majority of the Sentinels name AND that
 * reports role:master (nowhere while they disagree), closing every session of a master that is demoted,
 * unreachable or no longer named; and a Service `<name>-replicas` over the replicas in sync (never the
 * master). Checks authenticate with the password from the Secret (an environment variable; nothing
 * secret in the ConfigMap). With the deployment's NetworkPolicies on, it adds its own (clients in;
 * Redis, Sentinel and DNS out) and the Redis and Sentinel policies admit it. With monitoring, its
 * metrics (HAProxy's Prometheus exporter) are scraped, alerted on and shown on the dashboard.
 * Works in any Chart: its objects go to the deployment's namespace.
 */
export class RedisMasterEndpoint extends Construct {
  /** The HAProxy Deployment (the construct's `Resource` child). */
  public readonly proxyDeployment: k8s.KubeDeployment;
  /** `<name>-master`: the master the Sentinels agree on. */
  public readonly masterService: k8s.KubeService;
  /** `<name>-replicas`: replicas in sync, never the master. */
  public readonly replicasService: k8s.KubeService;
  /** Headless Service over the HAProxy pods' metrics port (scraped when the deployment has monitoring). */
  public readonly metricsService: k8s.KubeService;
  public readonly configMap: k8s.KubeConfigMap;
  public readonly podDisruptionBudget: k8s.KubePodDisruptionBudget;
  /** The HAProxy pods' NetworkPolicy, when the deployment has NetworkPolicies. */
  public readonly networkPolicy?: k8s.KubeNetworkPolicy;
  /** The deployment the endpoint leads to. */
  public readonly deployment: RedisSentinel;
  /** @internal */
  public readonly _resolved: ResolvedMasterEndpoint;

  constructor(scope: Construct, id: string, props: RedisMasterEndpointProps) {
    super(scope, id);
    this.deployment = deploymentOf(this, 'RedisMasterEndpoint', props?.deployment, 'the RedisSentinel whose master it leads to');
    const s = this.deployment._settings;
    const p = new Problems();
    const e = resolveMasterEndpointOptions(p, props, s, '');
    p.throwIfAny(this.node.path);
    this._resolved = e;
    this.deployment._attachMasterEndpoint(this);
    const n = s.names;
    const labels = objectLabels(s.name, 'proxy');
    const selector = componentSelector(s.name, 'proxy');
    const files: Record<string, string> = {
      'haproxy.cfg': renderEndpointConfig(s, e), [FENCE_LUA]: SHELL_FILES[FENCE_LUA], ...(startScript(s) ? { [START_SH]: SHELL_FILES[START_SH] } : {}),
    };

    this.configMap = new k8s.KubeConfigMap(this, 'Config', { metadata: { name: n.proxy, namespace: s.namespace, labels }, data: files });

    // The deployment-level pod options that place and label a pod (a tainted pool, a node selector, a
    // priority, pod labels and annotations) apply to the proxy pods too; extra containers, volumes and
    // the ServiceAccount are the Redis/Sentinel/backup pods' own.
    const d = s.podDefaults;
    const pod: PodOptions = {
      tolerations: d.tolerations, nodeSelector: d.nodeSelector, priorityClassName: d.priorityClassName,
      podLabels: d.podLabels, podAnnotations: d.podAnnotations,
    };
    const hostname = 'kubernetes.io/hostname';
    const term: k8s.PodAffinityTerm = { topologyKey: hostname, labelSelector: { matchLabels: selector } };
    this.proxyDeployment = new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: n.proxy, namespace: s.namespace, labels },
      spec: {
        replicas: e.replicas,
        selector: { matchLabels: selector },
        // One new pod Ready before an old one goes: the endpoint never drops below `replicas`.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) } },
        template: {
          metadata: podMetadata(s, pod, labels, { 'redis-sentinel.cdk8s.io/config-checksum': createHash('sha256').update(JSON.stringify(files)).digest('hex') }),
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            // fsGroup: the Secrets' files (mode 0440) become readable by HAProxy's group.
            securityContext: { runAsNonRoot: true, runAsUser: HAPROXY_UID, runAsGroup: HAPROXY_UID, ...(s.tls || s.acl ? { fsGroup: HAPROXY_UID } : {}), seccompProfile: { type: 'RuntimeDefault' } },
            ...(pod.nodeSelector && Object.keys(pod.nodeSelector).length ? { nodeSelector: pod.nodeSelector } : {}),
            ...(pod.tolerations?.length ? { tolerations: pod.tolerations } : {}),
            ...(pod.priorityClassName ? { priorityClassName: pod.priorityClassName } : {}),
            ...(s.imagePullSecrets.length ? { imagePullSecrets: s.imagePullSecrets.map((name) => ({ name })) } : {}),
            affinity: {
              podAntiAffinity: s.antiAffinity === AntiAffinity.REQUIRED
                ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
                : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] },
            },
            terminationGracePeriodSeconds: 10,
            containers: [proxyContainer(s, e)],
            volumes: [
              { name: 'config', configMap: { name: n.proxy } },
              ...tlsVolume(s),
              // With ACL users: the endpoint user's password only, and where endpoint-start.sh puts it for HAProxy.
              ...(s.acl ? [internalPasswordVolume(s.acl, 'endpoint')] : []),
              ...(startScript(s) ? [emptyDir('run', Size.mebibytes(1), true)] : []),
            ],
          },
        },
      },
    });

    const service = (sid: string, name: string, port: k8s.ServicePort, extra: Partial<k8s.ServiceSpec>, metadataLabels = labels) =>
      new k8s.KubeService(this, sid, { metadata: { name, namespace: s.namespace, labels: metadataLabels }, spec: { selector, ports: [port], ...extra } });
    const redisPort = (target: string): k8s.ServicePort => ({ name: 'redis', port: s.redisPort, targetPort: k8s.IntOrString.fromString(target) });
    this.masterService = service('MasterService', n.masterEndpoint, redisPort('redis'), { type: 'ClusterIP' });
    this.replicasService = service('ReplicasService', n.replicasEndpoint, redisPort('replicas'), { type: 'ClusterIP' });
    // Selected by the deployment's ServiceMonitor (its label and the port name `metrics`) when monitoring is on.
    this.metricsService = service('MetricsService', n.proxyMetrics,
      { name: 'metrics', port: e.metricsPort, targetPort: k8s.IntOrString.fromString('metrics') },
      { clusterIp: 'None', publishNotReadyAddresses: true }, objectLabels(s.name, 'proxy', { [LABEL.metrics]: s.name, [LABEL.instance]: s.name }));

    this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'Pdb', {
      metadata: { name: n.proxy, namespace: s.namespace, labels },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
    });

    if (s.networkPolicy) this.networkPolicy = this.policy(s, e, selector, labels);
  }

  private policy(s: DeploymentSettings, e: ResolvedMasterEndpoint, selector: Record<string, string>, labels: Record<string, string>): k8s.KubeNetworkPolicy {
    const clients: k8s.NetworkPolicyPeer[] = [{ podSelector: { matchLabels: s.clientPodLabels } }];
    if (s.clientNamespaceLabels) {
      clients.push({ namespaceSelector: { matchLabels: s.clientNamespaceLabels }, podSelector: { matchLabels: s.clientPodLabels } });
    }
    // Monitoring may be attached after this construct: the Prometheus rule is added at synth time.
    const prometheus = (): k8s.NetworkPolicyIngressRule[] => {
      const m = this.deployment.monitoring?._resolved;
      return m ? [{
        from: [{
          namespaceSelector: Object.keys(m.prometheusNamespaceLabels).length ? { matchLabels: m.prometheusNamespaceLabels } : {},
          podSelector: { matchLabels: m.prometheusPodLabels },
        }],
        ports: [tcpPort(e.metricsPort)],
      }] : [];
    };
    return new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
      metadata: { name: s.names.proxy, namespace: s.namespace, labels },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress', 'Egress'],
        ingress: Lazy.any({ produce: () => [{ from: clients, ports: [tcpPort(e.masterPort), tcpPort(e.replicasPort)] }, ...prometheus()] }),
        egress: [
          { to: [{ podSelector: { matchLabels: componentSelector(s.name, 'redis') } }], ports: [tcpPort(s.redisPort)] },
          { to: [{ podSelector: { matchLabels: componentSelector(s.name, 'sentinel') } }], ports: [tcpPort(s.sentinelPort)] },
          dnsEgress(s.dnsPort),
        ],
      },
    });
  }
}
