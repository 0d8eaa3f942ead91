/**
 * The pod network: one Linux bridge inside a "hub" network namespace of our own, and one network
 * namespace per pod joined to it by a veth pair. Every address is in one private /16 and exists only
 * inside these namespaces; no namespace has a default route, so nothing can leave.
 */
import { run, runOk } from './sys';

export interface NetworkOptions {
  /** Prefix of every namespace and state path of the harness (leftovers are found by it). */
  readonly prefix: string;
  /** First two octets of the /16, e.g. '10.213'. */
  readonly subnet16: string;
}

export interface PodLink {
  /** Network namespace name (`ip netns`). */
  readonly netns: string;
  /** The veth end on the bridge, inside the hub namespace. */
  readonly hostVeth: string;
  readonly ip: string;
}

export class Network {
  readonly hub: string;
  readonly bridge = 'br0';
  /** A fixed MAC: a bridge otherwise takes its lowest port's MAC, which changes as ports go (stale ARP, ~20 s stalls). */
  readonly bridgeMac = '02:00:0a:d5:00:01';
  private nextHost = 1;
  private nextVeth = 1;

  constructor(private readonly o: NetworkOptions) {
    this.hub = `${o.prefix}hub`;
  }

  get cidr(): string {
    return `${this.o.subnet16}.0.0/16`;
  }

  /** Creates the hub namespace and its bridge. */
  async create(): Promise<void> {
    await runOk('ip', ['netns', 'add', this.hub]);
    const ip = (...a: string[]) => runOk('ip', ['-n', this.hub, ...a]);
    await ip('link', 'set', 'lo', 'up');
    await ip('link', 'add', this.bridge, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0');
    await ip('link', 'set', 'dev', this.bridge, 'address', this.bridgeMac);
    await ip('link', 'set', this.bridge, 'up');
  }

  /** A pod IP never handed out before in this run (a recreated pod gets a new one, as on a cluster). */
  allocateIp(): string {
    const n = this.nextHost++;
    // 10.213.0.x is reserved for infrastructure (DNS); pods from 10.213.1.1 on.
    const hi = 1 + Math.floor((n - 1) / 254);
    const lo = 1 + ((n - 1) % 254);
    if (hi > 254) throw new Error('pod IP range exhausted');
    return `${this.o.subnet16}.${hi}.${lo}`;
  }

  /** An infrastructure address in x.x.0.0/24. */
  infraIp(host: number): string {
    return `${this.o.subnet16}.0.${host}`;
  }

  /** Creates a network namespace with `eth0` = `ip`/16 on the bridge, and `lo` up. */
  async attach(netns: string, ip: string): Promise<PodLink> {
    const hostVeth = `rsv${this.nextVeth++}`;
    await runOk('ip', ['netns', 'add', netns]);
    await runOk('ip', ['-n', this.hub, 'link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    await runOk('ip', ['-n', this.hub, 'link', 'set', hostVeth, 'master', this.bridge, 'up']);
    const batch = [
      'link set lo up',
      `addr add ${ip}/16 dev eth0`,
      'link set eth0 up',
    ].join('\n');
    await runOk('ip', ['-n', netns, '-batch', '-'], { input: `${batch}\n` });
    // No IPv6 on eth0 (the DNS answers A only; no address in "tentative" state).
    await run('nsenter', [`--net=/run/netns/${netns}`, '--', 'sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6']);
    return { netns, hostVeth, ip };
  }

  /** Deletes the veth pair and the namespace. */
  async detach(link: PodLink): Promise<void> {
    await run('ip', ['-n', this.hub, 'link', 'del', link.hostVeth]);
    await run('ip', ['netns', 'del', link.netns]);
  }

  /** Veths taken down by setLink (partitioned pods). */
  readonly down = new Set<string>();

  /** Takes the pod's link to the bridge down (a network partition of that pod) or back up. */
  async setLink(link: PodLink, up: boolean): Promise<void> {
    await runOk('ip', ['-n', this.hub, 'link', 'set', link.hostVeth, up ? 'up' : 'down']);
    if (up) this.down.delete(link.hostVeth);
    else this.down.add(link.hostVeth);
  }
}
