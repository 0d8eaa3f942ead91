/**
 * NetworkPolicy -> iptables, one ruleset per pod, applied in the pod's own network namespace
 * (INPUT for ingress, OUTPUT for egress), the way a CNI plugin enforces policies at the pod's
 * interface. Peers are resolved to the CURRENT pod IPs; the caller recomputes when pods come, go or
 * change IP. Loopback and ESTABLISHED,RELATED are always allowed; anything else a policy does not
 * allow is dropped (not rejected), as most CNI plugins do.
 */
import { matches } from './selectors';
import { KubeObject, Labels } from './types';

export interface PolicyPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly ip: string;
  readonly ports: ReadonlyArray<{ name?: string; containerPort: number; protocol?: string }>;
}

export interface PolicyNamespace { readonly name: string; readonly labels: Labels }

interface Peer {
  podSelector?: { matchLabels?: Labels; matchExpressions?: any[] };
  namespaceSelector?: { matchLabels?: Labels; matchExpressions?: any[] };
  ipBlock?: { cidr: string; except?: string[] };
}
interface PolicyPort { protocol?: string; port?: number | string; endPort?: number }
interface Rule { from?: Peer[]; to?: Peer[]; ports?: PolicyPort[] }

/** Policies that select `pod` (same namespace, podSelector matches). */
export function policiesFor(pod: PolicyPod, policies: readonly KubeObject[]): KubeObject[] {
  return policies.filter((p) => (p.metadata.namespace ?? 'default') === pod.namespace && matches(p.spec?.podSelector, pod.labels));
}

function policyTypes(p: KubeObject): string[] {
  if (p.spec?.policyTypes?.length) return p.spec.policyTypes;
  return p.spec?.egress ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** Pods a peer designates (an ipBlock designates none: see ipBlock handling). */
function peerPods(peer: Peer, policyNs: string, pods: readonly PolicyPod[], namespaces: readonly PolicyNamespace[]): PolicyPod[] {
  if (peer.ipBlock) return [];
  const nsLabels = (n: string) => namespaces.find((x) => x.name === n)?.labels ?? { 'kubernetes.io/metadata.name': n };
  return pods.filter((q) => {
    const nsOk = peer.namespaceSelector ? matches(peer.namespaceSelector, nsLabels(q.namespace)) : q.namespace === policyNs;
    const podOk = peer.podSelector ? matches(peer.podSelector, q.labels) : true;
    return nsOk && podOk;
  });
}

/** iptables match fragments for a rule's ports; `resolveNamed` maps a named port for a given pod. */
function portMatches(ports: PolicyPort[] | undefined, named: (name: string) => number[]): string[] {
  if (!ports || ports.length === 0) return [''];
  const out: string[] = [];
  for (const p of ports) {
    const proto = (p.protocol ?? 'TCP').toLowerCase();
    if (p.port === undefined) {
      out.push(`-p ${proto}`);
    } else if (typeof p.port === 'number' || /^[0-9]+$/.test(String(p.port))) {
      const n = Number(p.port);
      out.push(`-p ${proto} -m ${proto} --dport ${p.endPort ? `${n}:${p.endPort}` : n}`);
    } else {
      for (const n of named(String(p.port))) out.push(`-p ${proto} -m ${proto} --dport ${n}`);
    }
  }
  return out;
}

const namedPorts = (pod: PolicyPod, name: string) => pod.ports.filter((p) => p.name === name).map((p) => p.containerPort);

/**
 * The iptables-restore input (filter table) enforcing every policy that selects `pod`.
 * A pod no policy isolates gets an empty, all-accepting table.
 */
export function iptablesRules(pod: PolicyPod, pods: readonly PolicyPod[], namespaces: readonly PolicyNamespace[], policies: readonly KubeObject[]): string {
  const selecting = policiesFor(pod, policies);
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]'];
  const body: string[] = [];
  let chainNo = 0;
  for (const dir of ['Ingress', 'Egress'] as const) {
    const isolating = selecting.filter((p) => policyTypes(p).includes(dir));
    if (isolating.length === 0) continue;
    const chain = dir === 'Ingress' ? 'RSE2E-IN' : 'RSE2E-OUT';
    const addr = dir === 'Ingress' ? '-s' : '-d';
    lines.push(`:${chain} - [0:0]`);
    body.push(`-A ${dir === 'Ingress' ? 'INPUT' : 'OUTPUT'} -j ${chain}`);
    body.push(`-A ${chain} ${dir === 'Ingress' ? '-i' : '-o'} lo -j ACCEPT`);
    body.push(`-A ${chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`);
    for (const policy of isolating) {
      const rules: Rule[] = (dir === 'Ingress' ? policy.spec.ingress : policy.spec.egress) ?? [];
      for (const rule of rules) {
        const peers = (dir === 'Ingress' ? rule.from : rule.to) ?? [];
        const comment = `-m comment --comment "${policy.metadata.name}"`;
        if (peers.length === 0) {
          // Any peer. Named ports: this pod's (ingress) or any pod's (egress).
          const named = (n: string) => (dir === 'Ingress' ? namedPorts(pod, n) : [...new Set(pods.flatMap((q) => namedPorts(q, n)))]);
          for (const pm of portMatches(rule.ports, named)) body.push(`-A ${chain} ${pm} ${comment} -j ACCEPT`.replace(/ +/g, ' '));
          continue;
        }
        for (const peer of peers) {
          if (peer.ipBlock) {
            const sub = `RSE2E-IPB${chainNo++}`;
            lines.push(`:${sub} - [0:0]`);
            body.push(`-A ${chain} ${addr} ${peer.ipBlock.cidr} -j ${sub}`);
            for (const ex of peer.ipBlock.except ?? []) body.push(`-A ${sub} ${addr} ${ex} -j RETURN`);
            const named = (n: string) => (dir === 'Ingress' ? namedPorts(pod, n) : []);
            for (const pm of portMatches(rule.ports, named)) body.push(`-A ${sub} ${pm} ${comment} -j ACCEPT`.replace(/ +/g, ' '));
            continue;
          }
          for (const q of peerPods(peer, policy.metadata.namespace ?? 'default', pods, namespaces)) {
            const named = (n: string) => namedPorts(dir === 'Ingress' ? pod : q, n);
            for (const pm of portMatches(rule.ports, named)) body.push(`-A ${chain} ${addr} ${q.ip}/32 ${pm} ${comment} -j ACCEPT`.replace(/ +/g, ' '));
          }
        }
      }
    }
    body.push(`-A ${chain} -j DROP`);
  }
  return [...lines, ...body, 'COMMIT', ''].join('\n');
}
