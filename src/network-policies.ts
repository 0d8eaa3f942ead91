import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { componentSelector, objectLabels } from './names';
import { Settings } from './settings';

/**
 * NetworkPolicies that allow exactly the traffic Redis + Sentinel needs, and nothing else:
 * Sentinel <-> Sentinel, Sentinel -> Redis, Redis <-> Redis (replication), Redis -> Sentinel
 * (the start and preStop scripts ask who the master is), clients -> Sentinel and Redis, DNS, with
 * monitoring on, Prometheus -> the exporter sidecars' metrics port, and with backups on, the
 * backup pods -> Sentinel and Redis (and nothing else, in or out).
 */
export class RedisNetworkPolicies extends Construct {
  public readonly redisPolicy: k8s.KubeNetworkPolicy;
  public readonly sentinelPolicy: k8s.KubeNetworkPolicy;
  /** The backup pods' policy (Sentinel and Redis only, no ingress), when backups are on. */
  public readonly backupPolicy?: k8s.KubeNetworkPolicy;

  constructor(scope: Construct, id: string, s: Settings) {
    super(scope, id);
    const redisPods: k8s.NetworkPolicyPeer = { podSelector: { matchLabels: componentSelector(s.name, 'redis') } };
    const sentinelPods: k8s.NetworkPolicyPeer = { podSelector: { matchLabels: componentSelector(s.name, 'sentinel') } };
    const clients: k8s.NetworkPolicyPeer[] = [{ podSelector: { matchLabels: s.clientPodLabels } }];
    const backupPods: k8s.NetworkPolicyPeer[] = s.backup ? [{ podSelector: { matchLabels: componentSelector(s.name, 'backup') } }] : [];
    if (s.clientNamespaceLabels) {
      clients.push({ namespaceSelector: { matchLabels: s.clientNamespaceLabels }, podSelector: { matchLabels: s.clientPodLabels } });
    }
    const tcp = (port: number): k8s.NetworkPolicyPort => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) });
    const prometheus: k8s.NetworkPolicyIngressRule[] = s.monitoring
      ? [{
        // An empty namespaceSelector matches every namespace.
        from: [{
          namespaceSelector: Object.keys(s.prometheusNamespaceLabels).length ? { matchLabels: s.prometheusNamespaceLabels } : {},
          podSelector: { matchLabels: s.prometheusPodLabels },
        }],
        ports: [tcp(s.metricsPort)],
      }]
      : [];
    const dns: k8s.NetworkPolicyEgressRule = {
      ports: [
        { protocol: 'UDP', port: k8s.IntOrString.fromNumber(s.dnsPort) },
        { protocol: 'TCP', port: k8s.IntOrString.fromNumber(s.dnsPort) },
      ],
    };

    this.redisPolicy = new k8s.KubeNetworkPolicy(this, 'Redis', {
      metadata: { name: s.names.redisNetworkPolicy, namespace: s.namespace, labels: objectLabels(s.name, 'redis') },
      spec: {
        podSelector: { matchLabels: componentSelector(s.name, 'redis') },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [redisPods, sentinelPods, ...backupPods, ...clients], ports: [tcp(s.redisPort)] }, ...prometheus],
        egress: [
          { to: [redisPods], ports: [tcp(s.redisPort)] },
          { to: [sentinelPods], ports: [tcp(s.sentinelPort)] },
          dns,
        ],
      },
    });

    this.sentinelPolicy = new k8s.KubeNetworkPolicy(this, 'Sentinel', {
      metadata: { name: s.names.sentinelNetworkPolicy, namespace: s.namespace, labels: objectLabels(s.name, 'sentinel') },
      spec: {
        podSelector: { matchLabels: componentSelector(s.name, 'sentinel') },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [sentinelPods, redisPods, ...backupPods, ...clients], ports: [tcp(s.sentinelPort)] }, ...prometheus],
        egress: [
          { to: [sentinelPods], ports: [tcp(s.sentinelPort)] },
          { to: [redisPods], ports: [tcp(s.redisPort)] },
          dns,
        ],
      },
    });

    if (s.backup) {
      this.backupPolicy = new k8s.KubeNetworkPolicy(this, 'Backup', {
        metadata: { name: s.names.backupNetworkPolicy, namespace: s.namespace, labels: objectLabels(s.name, 'backup') },
        spec: {
          podSelector: { matchLabels: componentSelector(s.name, 'backup') },
          // Nothing may connect to a backup pod.
          policyTypes: ['Ingress', 'Egress'],
          ingress: [],
          egress: [
            { to: [sentinelPods], ports: [tcp(s.sentinelPort)] },
            { to: [redisPods], ports: [tcp(s.redisPort)] },
            dns,
          ],
        },
      });
    }
  }
}
