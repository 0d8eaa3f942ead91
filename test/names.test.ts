import { execFileSync } from 'child_process';
import * as fc from 'fast-check';
import {
  DNS_LABEL_MAX, DNS_SUBDOMAIN_MAX, LABEL, STATEFULSET_NAME_MAX, componentSelector, objectLabels, podFqdn, podFqdns, podName,
  resourceNames, sentinelIdFor, serviceDomain, statefulSetSelector,
} from '../src/names';
import { RedisSentinelProps } from '../src/props';
import { DeploymentSettings as Settings } from '../src/settings';
import { tlsDnsNames } from '../src/tls';
import { settingsOf } from './support/synth';

describe('resourceNames', () => {
  it('derives every name from the prefix', () => {
    expect(resourceNames('redis')).toEqual({
      master: 'redis-master',
      certificate: 'redis',
      defaultTlsSecret: 'redis-tls',
      defaultAclSecret: 'redis-acl',
      replica: 'redis-replica',
      sentinel: 'redis-sentinel',
      masterHeadless: 'redis-master-headless',
      replicaHeadless: 'redis-replica-headless',
      sentinelHeadless: 'redis-sentinel-headless',
      sentinelService: 'redis-sentinel',
      readService: 'redis-read',
      redisConfig: 'redis-config',
      sentinelConfig: 'redis-sentinel-config',
      scripts: 'redis-scripts',
      redisPdb: 'redis',
      sentinelPdb: 'redis-sentinel',
      defaultAuthSecret: 'redis-auth',
      redisNetworkPolicy: 'redis',
      sentinelNetworkPolicy: 'redis-sentinel',
      redisMetrics: 'redis-metrics',
      sentinelMetrics: 'redis-sentinel-metrics',
      serviceMonitor: 'redis',
      prometheusRule: 'redis',
      dashboard: 'redis-dashboard',
      backup: 'redis-backup',
      backupClaim: 'redis-backup',
      backupNetworkPolicy: 'redis-backup',
      masterEndpoint: 'redis-master',
      replicasEndpoint: 'redis-replicas',
      proxy: 'redis-proxy',
      proxyMetrics: 'redis-proxy-metrics',
      backupServiceAccount: 'redis-backup',
      restoreServiceAccount: 'redis-restore',
      restoreNetworkPolicy: 'redis-restore',
    });
  });

  it('gives distinct names to objects of the same kind', () => {
    const n = resourceNames('x');
    const services = [n.masterHeadless, n.replicaHeadless, n.sentinelHeadless, n.sentinelService, n.readService, n.redisMetrics, n.sentinelMetrics,
      n.masterEndpoint, n.replicasEndpoint, n.proxyMetrics];
    const statefulSets = [n.master, n.replica, n.sentinel];
    const configMaps = [n.redisConfig, n.sentinelConfig, n.scripts, n.dashboard, n.proxy];
    for (const group of [services, statefulSets, configMaps, [n.redisPdb, n.sentinelPdb, n.proxy], [n.redisNetworkPolicy, n.sentinelNetworkPolicy, n.backupNetworkPolicy, n.restoreNetworkPolicy, n.proxy], [n.backupServiceAccount, n.restoreServiceAccount]]) {
      expect(new Set(group).size).toBe(group.length);
    }
  });
});

describe('DNS names', () => {
  it('builds pod names, service domains and pod FQDNs', () => {
    expect(podName('redis-sentinel', 2)).toBe('redis-sentinel-2');
    expect(serviceDomain('redis-sentinel-headless', 'redis', 'cluster.local')).toBe('redis-sentinel-headless.redis.svc.cluster.local');
    expect(podFqdn('redis-master', 0, 'redis-master-headless', 'redis', 'cluster.local'))
      .toBe('redis-master-0.redis-master-headless.redis.svc.cluster.local');
  });

  it('lists one FQDN per pod, in ordinal order', () => {
    expect(podFqdns('s', 3, 'h', 'ns', 'c.l')).toEqual(['s-0.h.ns.svc.c.l', 's-1.h.ns.svc.c.l', 's-2.h.ns.svc.c.l']);
    expect(podFqdns('s', 0, 'h', 'ns', 'c.l')).toEqual([]);
  });

  it('has the Kubernetes limits', () => {
    expect(DNS_LABEL_MAX).toBe(63);
    expect(STATEFULSET_NAME_MAX).toBe(52);
    expect(DNS_SUBDOMAIN_MAX).toBe(253);
  });
});

describe('labels', () => {
  it('selects a component and a StatefulSet', () => {
    expect(componentSelector('redis', 'redis')).toEqual({
      [LABEL.name]: 'redis', [LABEL.instance]: 'redis', [LABEL.component]: 'redis',
    });
    expect(componentSelector('redis', 'sentinel')[LABEL.name]).toBe('redis-sentinel');
    expect(statefulSetSelector('redis', 'redis', 'redis-master')).toEqual({
      ...componentSelector('redis', 'redis'), [LABEL.statefulSet]: 'redis-master',
    });
  });

  it('object labels carry the selector and cannot be overridden by extras', () => {
    const labels = objectLabels('redis', 'sentinel', { [LABEL.instance]: 'other', team: 'a' });
    expect(labels[LABEL.instance]).toBe('redis');
    expect(labels.team).toBe('a');
    expect(labels[LABEL.managedBy]).toBe('cdk8s');
    expect(labels[LABEL.component]).toBe('sentinel');
  });
});

describe('sentinelIdFor', () => {
  it('is the SHA-1 of the FQDN', () => {
    expect(sentinelIdFor('abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
  });

  it('matches what the start script computes at runtime (printf %s | sha1sum | cut -c1-40)', () => {
    const fqdn = 'redis-sentinel-1.redis-sentinel-headless.redis.svc.cluster.local';
    const runtime = execFileSync('sh', ['-c', 'printf \'%s\' "$SELF_FQDN" | sha1sum | cut -c1-40'], {
      env: { ...process.env, SELF_FQDN: fqdn },
    }).toString().trim();
    expect(sentinelIdFor(fqdn)).toBe(runtime);
  });

  it('property: 40 hex characters, and a different id for every pod', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 99 }), fc.constantFrom('redis', 'cache', 'r'), fc.constantFrom('redis', 'ns-1'),
      (sentinels, name, ns) => {
        const n = resourceNames(name);
        const ids = podFqdns(n.sentinel, sentinels, n.sentinelHeadless, ns, 'cluster.local').map(sentinelIdFor);
        for (const id of ids) expect(id).toMatch(/^[0-9a-f]{40}$/);
        expect(new Set(ids).size).toBe(sentinels);
      },
    ), { numRuns: 100 });
  });

  it('property: distinct FQDNs give distinct ids', () => {
    fc.assert(fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b) => {
      fc.pre(a !== b);
      return sentinelIdFor(a) !== sentinelIdFor(b) && /^[0-9a-f]{40}$/.test(sentinelIdFor(a));
    }));
  });
});

// --- property tests over the resolved settings -------------------------------------------------------

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
const LETTERS = 'abcdefghijklmnopqrstuvwxyz'.split('');

/** A DNS label of 1..maxLength characters, starting with a letter when `letterFirst`. */
function dnsLabel(maxLength: number, letterFirst: boolean): fc.Arbitrary<string> {
  return fc.integer({ min: 1, max: maxLength }).chain((len) => {
    if (len === 1) return fc.constantFrom(...(letterFirst ? LETTERS : ALNUM));
    return fc.tuple(
      fc.constantFrom(...(letterFirst ? LETTERS : ALNUM)),
      fc.string({ unit: fc.constantFrom(...ALNUM, '-'), minLength: len - 2, maxLength: len - 2 }),
      fc.constantFrom(...ALNUM),
    ).map(([a, b, c]) => a + b + c);
  });
}

/** A domain of exactly `length` characters made of labels of at most 63 characters. */
function domainOfLength(length: number): string {
  const labels: string[] = [];
  let remaining = length;
  while (remaining > 0) {
    const take = remaining <= DNS_LABEL_MAX ? remaining : Math.min(DNS_LABEL_MAX, remaining - 2);
    labels.push('d'.repeat(take));
    remaining -= take + 1;
  }
  return labels.join('.');
}

/** Every object name, and every pod FQDN and certificate DNS name (`tls`) of a deployment. */
function namesOf(s: Settings) {
  const n = s.names;
  const fqdns = [
    s.bootstrapMasterFqdn,
    ...podFqdns(n.replica, s.replicas, n.replicaHeadless, s.namespace, s.clusterDomain),
    ...s.sentinelFqdns,
    ...tlsDnsNames(n, s.namespace, s.clusterDomain),
  ];
  const podNames = [podName(n.master, 0), ...Array.from({ length: s.replicas }, (_, i) => podName(n.replica, i)),
    ...Array.from({ length: s.sentinels }, (_, i) => podName(n.sentinel, i))];
  return { resources: Object.values(n), statefulSets: [n.master, n.replica, n.sentinel], fqdns, podNames };
}

function tryResolve(props: RedisSentinelProps): Settings | undefined {
  try {
    return settingsOf(props, 'redis');
  } catch {
    return undefined;
  }
}

describe('names of accepted settings', () => {
  const topology = fc.record({
    sentinels: fc.integer({ min: 1, max: 50 }).map((k) => 2 * k + 1),
    replicas: fc.integer({ min: 0, max: 120 }),
  });

  it('property: every resource name <= 63, StatefulSet names <= 52, pod names <= 63, pod FQDNs <= 253', () => {
    let accepted = 0;
    fc.assert(fc.property(
      dnsLabel(55, true), dnsLabel(70, false), fc.constantFrom('cluster.local', 'k8s.example.com', 'c'), topology,
      (name, namespace, clusterDomain, t) => {
        const s = tryResolve({ name, namespace, clusterDomain, ...t });
        if (!s) return;
        accepted++;
        const { resources, statefulSets, fqdns, podNames } = namesOf(s);
        for (const r of resources) expect(r.length).toBeLessThanOrEqual(63);
        for (const r of statefulSets) expect(r.length).toBeLessThanOrEqual(52);
        for (const p of podNames) expect(p.length).toBeLessThanOrEqual(63);
        for (const f of fqdns) expect(f.length).toBeLessThanOrEqual(253);
      },
    ), { numRuns: 500 });
    // The generator must exercise the accepted space, not only rejections.
    expect(accepted).toBeGreaterThan(100);
  });

  it('property: names at the length limits are accepted exactly when they fit', () => {
    fc.assert(fc.property(dnsLabel(60, true), (name) => {
      const s = tryResolve({ name });
      const fits = `${name}-sentinel`.length <= 52 && `${name}-sentinel-headless`.length <= 63;
      expect(s !== undefined).toBe(fits);
    }), { numRuns: 300 });
  });

  it('property: pod FQDNs near the 253 limit are accepted only when every one fits', () => {
    // Pick name, namespace and counts, then a clusterDomain that brings the longest FQDN to 245..258 characters.
    let accepted = 0;
    fc.assert(fc.property(
      dnsLabel(43, true), dnsLabel(63, false), topology, fc.integer({ min: 245, max: 258 }),
      (name, namespace, t, target) => {
        const longestWithoutDomain = Math.max(
          `${name}-sentinel-${t.sentinels - 1}.${name}-sentinel-headless.${namespace}.svc.`.length,
          `${name}-replica-${Math.max(t.replicas - 1, 0)}.${name}-replica-headless.${namespace}.svc.`.length,
        );
        fc.pre(target - longestWithoutDomain >= 1);
        const clusterDomain = domainOfLength(target - longestWithoutDomain);
        const s = tryResolve({ name, namespace, clusterDomain, ...t });
        if (!s) return;
        accepted++;
        for (const f of namesOf(s).fqdns) expect({ fqdn: f, length: f.length }).toEqual({ fqdn: f, length: Math.min(f.length, 253) });
      },
    ), { numRuns: 500 });
    expect(accepted).toBeGreaterThan(50);
  });

  it('an FQDN of exactly 254 characters is refused (sentinels outnumber replicas)', () => {
    const name = 'redis';
    const namespace = 'redis';
    const prefix = `${name}-sentinel-2.${name}-sentinel-headless.${namespace}.svc.`;
    const clusterDomain = domainOfLength(254 - prefix.length);
    expect(`${prefix}${clusterDomain}`.length).toBe(254);
    expect(() => settingsOf({ name, namespace, clusterDomain, sentinels: 3, replicas: 2 }, 'redis')).toThrow(/clusterDomain|253/);
  });

  it('property: every label of every pod FQDN is at most 63 characters (DNS label limit)', () => {
    const longLabelDomain = fc.tuple(fc.integer({ min: 1, max: 100 }), fc.constantFrom('', '.local', '.cluster.local'))
      .map(([len, suffix]) => 'x'.repeat(len) + suffix);
    fc.assert(fc.property(longLabelDomain, (clusterDomain) => {
      const s = tryResolve({ clusterDomain });
      if (!s) return;
      for (const f of namesOf(s).fqdns) {
        for (const label of f.split('.')) expect({ label, length: label.length }).toEqual({ label, length: Math.min(label.length, 63) });
      }
    }), { numRuns: 200 });
  });
});
