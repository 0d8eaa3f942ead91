import { Lazy } from 'cdk8s';
import * as k8s from './k8s';
import { Construct } from 'constructs';
import { componentSelector, objectLabels } from './names';
import { dnsEgress, tcpPort } from './pod';
import { deploymentOf } from './part';
import type { RedisSentinel } from './redis-sentinel';

/** Props of {@link RedisNetworkPolicies}. */
export interface RedisNetworkPoliciesProps {
  /** The deployment whose Redis and Sentinel pods the policies select. */
  readonly deployment: RedisSentinel;
}

/**
 * NetworkPolicies that allow exactly the traffic Redis + Sentinel needs, and nothing else:
 * Sentinel <-> Sentinel, Sentinel -> Redis, Redis <-> Redis (replication), Redis -> Sentinel
 * (the start and preStop scripts ask who the master is), clients -> Sentinel and Redis, DNS; when
 * a {@link RedisMonitoring} is attached, Prometheus -> the exporter sidecars' metrics port; when a
 * {@link RedisBackup} is attached, the backup pods -> Sentinel and Redis (its own policy is the
 * backup's); when a {@link RedisMasterEndpoint} is attached, its HAProxy pods -> Sentinel and Redis
 * (its own policy is the endpoint's). {@link RedisSentinel} creates this when `networkPolicy` is on (the default).
 */
export class RedisNetworkPolicies extends Construct {
  public readonly redisPolicy: k8s.KubeNetworkPolicy;
  public readonly sentinelPolicy: k8s.KubeNetworkPolicy;

  constructor(scope: Construct, id: string, props: RedisNetworkPoliciesProps) {
    super(scope, id);
    const deployment = deploymentOf(this, 'RedisNetworkPolicies', props?.deployment, 'the RedisSentinel whose pods it protects');
    deployment._attachPart('RedisNetworkPolicies', this);
    const s = deployment._settings;
    const redisPods: k8s.NetworkPolicyPeer = { podSelector: { matchLabels: componentSelector(s.name, 'redis') } };
    const sentinelPods: k8s.NetworkPolicyPeer = { podSelector: { matchLabels: componentSelector(s.name, 'sentinel') } };
    const clients: k8s.NetworkPolicyPeer[] = [{ podSelector: { matchLabels: s.clientPodLabels } }];
    if (s.clientNamespaceLabels) {
      clients.push({ namespaceSelector: { matchLabels: s.clientNamespaceLabels }, podSelector: { matchLabels: s.clientPodLabels } });
    }
    // Clients added later (RedisSentinel.connect for another namespace, allowClients): read at synth time.
    const moreClients = (): k8s.NetworkPolicyPeer[] => deployment._clientPeers.map((c) => ({
      podSelector: { matchLabels: c.podLabels },
      ...(c.namespaceLabels ? { namespaceSelector: { matchLabels: c.namespaceLabels } } : {}),
    }));
    // Backups and monitoring may be attached after this construct: their rules are added at synth time.
    const backupPods = (): k8s.NetworkPolicyPeer[] => deployment.backup
      ? [{ podSelector: { matchLabels: componentSelector(s.name, 'backup') } }] : [];
    // The master endpoint's HAProxy pods check and proxy to Redis, and ask the Sentinels.
    const proxyPods = (): k8s.NetworkPolicyPeer[] => deployment.masterEndpoint
      ? [{ podSelector: { matchLabels: componentSelector(s.name, 'proxy') } }] : [];
    const prometheus = (): k8s.NetworkPolicyIngressRule[] => {
      const m = deployment.monitoring?._resolved;
      return m ? [{
        // An empty namespaceSelector matches every namespace.
        from: [{
          namespaceSelector: Object.keys(m.prometheusNamespaceLabels).length ? { matchLabels: m.prometheusNamespaceLabels } : {},
          podSelector: { matchLabels: m.prometheusPodLabels },
        }],
        ports: [tcpPort(m.metricsPort)],
      }] : [];
    };
    const ingress = (own: k8s.NetworkPolicyPeer, other: k8s.NetworkPolicyPeer, port: number): k8s.NetworkPolicyIngressRule[] => Lazy.any({
      produce: () => [{ from: [own, other, ...backupPods(), ...proxyPods(), ...clients, ...moreClients()], ports: [tcpPort(port)] }, ...prometheus()],
    });
    const dns = dnsEgress(s.dnsPort);

    this.redisPolicy = new k8s.KubeNetworkPolicy(this, 'Redis', {
      metadata: { name: s.names.redisNetworkPolicy, namespace: s.namespace, labels: objectLabels(s.name, 'redis') },
      spec: {
        podSelector: { matchLabels: componentSelector(s.name, 'redis') },
        policyTypes: ['Ingress', 'Egress'],
        ingress: ingress(redisPods, sentinelPods, s.redisPort),
        egress: [
          { to: [redisPods], ports: [tcpPort(s.redisPort)] },
          { to: [sentinelPods], ports: [tcpPort(s.sentinelPort)] },
          dns,
        ],
      },
    });

    this.sentinelPolicy = new k8s.KubeNetworkPolicy(this, 'Sentinel', {
      metadata: { name: s.names.sentinelNetworkPolicy, namespace: s.namespace, labels: objectLabels(s.name, 'sentinel') },
      spec: {
        podSelector: { matchLabels: componentSelector(s.name, 'sentinel') },
        policyTypes: ['Ingress', 'Egress'],
        ingress: ingress(sentinelPods, redisPods, s.sentinelPort),
        egress: [
          { to: [sentinelPods], ports: [tcpPort(s.sentinelPort)] },
          { to: [redisPods], ports: [tcpPort(s.redisPort)] },
          dns,
        ],
      },
    });
  }
}
