import { Chart } from 'cdk8s';
import * as k8s from './k8s';
import { Construct, IConstruct } from 'constructs';
import type { AbstractPod } from 'cdk8s-plus-27';
import { RedisBackup, ResolvedRestore, resolveBackupOptions, resolveRestoreOptions, s3Egress } from './backup';
import { ClientPeer, ConnectOptions, RedisConnection, checkClientPeer, connectPod, connectionOf } from './connection';
import { RedisMasterEndpoint, resolveMasterEndpointOptions } from './master-endpoint';
import { RedisMonitoring, resolveMonitoringOptions } from './monitoring';
import { componentSelector, objectLabels, statefulSetSelector } from './names';
import { applyCommonMetadata } from './part';
import { RedisNetworkPolicies } from './network-policies';
import { RedisSentinelProps } from './props';
import { RedisMaster } from './redis-master';
import { RedisReplicaSet } from './redis-replica-set';
import { SentinelQuorum } from './sentinel-quorum';
import { Certificate } from '../imports/cert-manager.io';
import { emitCertificate, tlsDnsNames } from './tls';
import { DeploymentSettings, resolveDeployment } from './settings';
import { RenderedFiles, configChecksum, renderFiles } from './shared-config';
import { ensureUniqueObjectsCheck } from './unique-objects';
import { Problems } from './validation';

/**
 * A complete Redis + Sentinel deployment with automatic failover, in any Chart: the bootstrap
 * master, the replica set, the Sentinel quorum, their ConfigMaps, Services, PodDisruptionBudgets and
 * NetworkPolicies, plus backups, monitoring and a master endpoint when their options are given. The password comes
 * from an existing Secret (`<name>-auth`, key `password`, by default). Objects go to `namespace`,
 * or the Chart's.
 */
export class RedisSentinel extends Construct {
  /** Prefix of every resource name. */
  public readonly name: string;
  /** Namespace of every object (but the monitoring objects, which may go elsewhere: see `monitoring.namespace`). */
  public readonly namespace: string;
  /** The name Sentinel monitors the master under (what clients ask for). */
  public readonly masterName: string;
  public readonly redisPort: number;
  public readonly sentinelPort: number;
  /** Sentinels that must agree the master is down. */
  public readonly quorum: number;
  public readonly master: RedisMaster;
  public readonly replicaSet: RedisReplicaSet;
  public readonly sentinels: SentinelQuorum;
  /** ClusterIP Service over every ready Redis pod (master or replica), for reads. */
  public readonly readService: k8s.KubeService;
  public readonly redisConfigMap: k8s.KubeConfigMap;
  public readonly scriptsConfigMap: k8s.KubeConfigMap;
  public readonly redisPodDisruptionBudget: k8s.KubePodDisruptionBudget;
  /** The Namespace object, with `createNamespace`. */
  public readonly namespaceObject?: k8s.KubeNamespace;
  /** The NetworkPolicies, unless `networkPolicy` is false. */
  public readonly networkPolicies?: RedisNetworkPolicies;
  /** With `restore.s3` and NetworkPolicies: the bootstrap master's egress to the object store. */
  public readonly restoreNetworkPolicy?: k8s.KubeNetworkPolicy;
  /** With `restore.s3.serviceAccountAnnotations`: the bootstrap master's ServiceAccount (workload identity). */
  public readonly restoreServiceAccount?: k8s.KubeServiceAccount;
  /** With `tls` from `CertificateSource.fromCertManager`: the cert-manager Certificate. */
  public readonly certificate?: Certificate;
  /**
   * The DNS names the TLS certificate must carry (what the emitted Certificate holds; what a certificate
   * of your own in `CertificateSource.fromSecret` needs), plus the IP 127.0.0.1.
   */
  public readonly tlsDnsNames: string[];

  /** @internal */
  public readonly _settings: DeploymentSettings;
  /** @internal */
  public readonly _files: RenderedFiles;
  /** @internal */
  public readonly _configChecksum: { redis: string; sentinel: string };
  /** @internal */
  public readonly _restore?: ResolvedRestore;
  /** Pods the NetworkPolicies admit besides `clientPodLabels` (from allowClients and connect). @internal */
  public readonly _clientPeers: ClientPeer[] = [];
  private readonly parts = new Map<string, IConstruct>();
  private backupPart?: RedisBackup;
  private monitoringPart?: RedisMonitoring;
  private masterEndpointPart?: RedisMasterEndpoint;

  constructor(scope: Construct, id: string, props: RedisSentinelProps = {}) {
    super(scope, id);
    // Check every prop before creating anything: bad props throw here, listing every problem.
    const p = new Problems();
    const chart = Chart.of(this);
    const namespace = props.namespace ?? chart.namespace;
    if (namespace === undefined) {
      p.add(`namespace is not set and the Chart '${chart.node.path || chart.node.id}' has none: set namespace (pod DNS names need it), e.g. namespace: 'redis'`);
    }
    const s = resolveDeployment(p, props, id, namespace ?? 'default');
    if (props.backup) resolveBackupOptions(p, props.backup, s, 'backup.');
    if (props.monitoring) resolveMonitoringOptions(p, props.monitoring, s, 'monitoring.');
    if (props.masterEndpoint) resolveMasterEndpointOptions(p, props.masterEndpoint, s, 'masterEndpoint.');
    const restore = props.restore ? resolveRestoreOptions(p, props.restore, s, props.backup?.existingClaim) : undefined;
    if (p.list.length > 0) {
      // Leave nothing behind in the user's tree: an app that catches this emits no part of it.
      const path = this.node.path;
      scope.node.tryRemoveChild(id);
      p.throwIfAny(path);
    }

    // Two releases (of any Charts in the App) emitting the same object fail at synth, naming both.
    ensureUniqueObjectsCheck(this);
    this._settings = s;
    this._restore = restore;
    this._files = renderFiles(s);
    this._configChecksum = configChecksum(this._files);
    this.name = s.name;
    this.namespace = s.namespace;
    this.masterName = s.masterName;
    this.redisPort = s.redisPort;
    this.sentinelPort = s.sentinelPort;
    this.quorum = s.quorum;
    const n = s.names;

    if (s.createNamespace) {
      this.namespaceObject = new k8s.KubeNamespace(this, 'Namespace', {
        metadata: {
          name: s.namespace,
          labels: {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/warn': 'restricted',
            'pod-security.kubernetes.io/audit': 'restricted',
          },
        },
      });
    }

    this.redisConfigMap = new k8s.KubeConfigMap(this, 'RedisConfig', {
      metadata: { name: n.redisConfig, namespace: s.namespace, labels: objectLabels(s.name, 'redis') },
      data: { 'redis.conf': this._files.redisConf, ...(this._files.acl ? { 'acl-users': this._files.acl.redis } : {}) },
    });
    this.scriptsConfigMap = new k8s.KubeConfigMap(this, 'Scripts', {
      metadata: { name: n.scripts, namespace: s.namespace, labels: objectLabels(s.name, undefined) },
      data: this._files.scripts,
    });

    const fromS3 = restore?.s3;
    if (fromS3?.serviceAccountAnnotations) {
      this.restoreServiceAccount = new k8s.KubeServiceAccount(this, 'RestoreServiceAccount', {
        metadata: { name: n.restoreServiceAccount, namespace: s.namespace, labels: objectLabels(s.name, 'redis'), annotations: fromS3.serviceAccountAnnotations },
        automountServiceAccountToken: false,
      });
    }
    if (fromS3 && s.networkPolicy) {
      // Policies add up: this one opens only the store, only for the pod that restores.
      this.restoreNetworkPolicy = new k8s.KubeNetworkPolicy(this, 'RestoreNetworkPolicy', {
        metadata: { name: n.restoreNetworkPolicy, namespace: s.namespace, labels: objectLabels(s.name, 'redis') },
        spec: {
          podSelector: { matchLabels: statefulSetSelector(s.name, 'redis', n.master) },
          policyTypes: ['Egress'],
          egress: [s3Egress(fromS3)],
        },
      });
    }
    this.tlsDnsNames = tlsDnsNames(n, s.namespace, s.clusterDomain);
    if (s.tls?.certManager) {
      this.certificate = emitCertificate(this, 'Certificate', {
        name: n.certificate, namespace: s.namespace, tls: s.tls, dnsNames: this.tlsDnsNames, labels: objectLabels(s.name, undefined),
      });
    }
    this.master = new RedisMaster(this, 'Master', { deployment: this });
    this.replicaSet = new RedisReplicaSet(this, 'Replicas', { deployment: this });
    this.sentinels = new SentinelQuorum(this, 'Sentinels', { deployment: this });

    this.readService = new k8s.KubeService(this, 'ReadService', {
      metadata: { name: n.readService, namespace: s.namespace, labels: objectLabels(s.name, 'redis') },
      spec: {
        type: 'ClusterIP',
        selector: componentSelector(s.name, 'redis'),
        ports: [{ name: 'redis', port: s.redisPort, targetPort: k8s.IntOrString.fromString('redis') }],
      },
    });

    // One budget over master and replicas: a drain never takes two Redis pods at once.
    this.redisPodDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'RedisPdb', {
      metadata: { name: n.redisPdb, namespace: s.namespace, labels: objectLabels(s.name, 'redis') },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: componentSelector(s.name, 'redis') } },
    });

    if (props.backup) new RedisBackup(this, 'Backup', { ...props.backup, deployment: this });
    if (props.monitoring) new RedisMonitoring(this, 'Monitoring', { ...props.monitoring, deployment: this });
    if (props.masterEndpoint) new RedisMasterEndpoint(this, 'MasterEndpoint', { ...props.masterEndpoint, deployment: this });
    if (s.networkPolicy) this.networkPolicies = new RedisNetworkPolicies(this, 'NetworkPolicies', { deployment: this });
    applyCommonMetadata(this, s);
  }

  /**
   * Lets the pods of a cdk8s-plus workload (Deployment, StatefulSet, Job, CronJob, DaemonSet, Pod) connect:
   * they get the client labels the NetworkPolicies admit (`clientPodLabels`) and, with `env: true`, the
   * environment variables of the common clients (see {@link ConnectOptions.env}). A workload in another
   * namespace is admitted by that namespace's `kubernetes.io/metadata.name` label (unless
   * `clientNamespaceLabels` already admits it); its password must come from a Secret in its own
   * namespace (`passwordSecret`). Fails, changing nothing, on a label or variable the pods already have.
   */
  public connect(workload: AbstractPod, options: ConnectOptions = {}): void {
    const peer = connectPod(this, workload, options);
    if (peer) this.addClientPeer(peer);
  }

  /**
   * Admits pods you cannot give the client labels (another tool's workload, a raw `KubeDeployment`)
   * to Redis and Sentinel: pods with `podLabels`, in the deployment's namespace or in the namespaces
   * with `namespaceLabels`. They connect as in {@link connection}.
   */
  public allowClients(peer: ClientPeer): void {
    checkClientPeer(this, peer);
    this.addClientPeer({ podLabels: { ...peer.podLabels }, namespaceLabels: peer.namespaceLabels && { ...peer.namespaceLabels } });
  }

  private addClientPeer(peer: ClientPeer): void {
    const key = JSON.stringify([peer.podLabels, peer.namespaceLabels]);
    if (!this._clientPeers.some((q) => JSON.stringify([q.podLabels, q.namespaceLabels]) === key)) this._clientPeers.push(peer);
  }

  /** The deployment's backups (from `backup`, or a {@link RedisBackup} created for it), if any. */
  public get backup(): RedisBackup | undefined {
    return this.backupPart;
  }

  /** The deployment's monitoring (from `monitoring`, or a {@link RedisMonitoring} created for it), if any. */
  public get monitoring(): RedisMonitoring | undefined {
    return this.monitoringPart;
  }

  /**
   * Where and how clients connect: Sentinel addresses, master name, password Secret, Services, client
   * labels. {@link connect} wires a cdk8s-plus workload with it.
   */
  public get connection(): RedisConnection {
    return connectionOf(this._settings, this.masterEndpointPart !== undefined);
  }

  /** The deployment's master endpoint (from `masterEndpoint`, or a {@link RedisMasterEndpoint} created for it), if any. */
  public get masterEndpoint(): RedisMasterEndpoint | undefined {
    return this.masterEndpointPart;
  }

  /** Records the one `kind` part of this deployment (master, replicas, ...). @internal */
  public _attachPart(kind: string, part: IConstruct): void {
    const existing = this.parts.get(kind);
    if (existing) {
      throw new Error(`the RedisSentinel at ${this.node.path} already has its ${kind} (at ${existing.node.path}); a deployment has exactly one: use the handle on the RedisSentinel instead of creating another`);
    }
    this.parts.set(kind, part);
  }

  /** @internal */
  public _attachBackup(backup: RedisBackup): void {
    this._attachPart('RedisBackup', backup);
    this.backupPart = backup;
  }

  /** @internal */
  public _attachMonitoring(monitoring: RedisMonitoring): void {
    this._attachPart('RedisMonitoring', monitoring);
    this.monitoringPart = monitoring;
  }

  /** @internal */
  public _attachMasterEndpoint(endpoint: RedisMasterEndpoint): void {
    this._attachPart('RedisMasterEndpoint', endpoint);
    this.masterEndpointPart = endpoint;
  }
}
