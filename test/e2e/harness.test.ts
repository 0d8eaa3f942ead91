/**
 * Self-test of the e2e harness on what the chart does not exercise: init containers, env
 * expansion and downward API, volume layouts and ownership, probes (readiness -> DNS, liveness ->
 * restart in place), preStop, OrderedReady StatefulSets, claims that outlive pods, and clean-up.
 * Needs root, like failover.test.ts.
 */
import { existsSync } from 'fs';
import { join } from 'path';
import { Cluster, REVISION_LABEL } from './harness/cluster';
import { expand } from './harness/env';
import { iptablesRules } from './harness/policy';
import { runSyncQuiet, waitFor } from './harness/sys';
import { KubeObject } from './harness/types';

jest.setTimeout(120_000);

const PREFIX = 'rse2e-h-';
const NS = 'h';
const BASE = '/var/lib/rse2e-selftest';
const WORK = `${BASE}/work`;
const cluster = new Cluster({ prefix: PREFIX, logDir: join(__dirname, 'results', 'harness-logs') });

const objects: KubeObject[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: NS }, data: { 'a.conf': 'alpha', 'b.conf': 'beta' } },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: NS }, data: { token: Buffer.from('s3cret').toString('base64') } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NS }, spec: { selector: { app: 'web' }, ports: [{ port: 8080 }] } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web-hl', namespace: NS }, spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 8080 }] } },
  {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web', namespace: NS },
    spec: {
      serviceName: 'web-hl', replicas: 2, podManagementPolicy: 'OrderedReady', selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          securityContext: { runAsUser: 2000, runAsGroup: 2001, fsGroup: 3000 },
          terminationGracePeriodSeconds: 5,
          initContainers: [{
            name: 'init', image: 'busybox:1.36', command: ['sh', '-c', `echo "init $$" >> ${WORK}/init.log`],
            volumeMounts: [{ name: 'work', mountPath: WORK }],
          }],
          containers: [{
            name: 'main', image: 'busybox:1.36',
            command: ['sh', '-c', 'rm -f $(WORK)/die; echo started >> $(WORK)/main.log; trap "exit 0" TERM; while :; do sleep 1; done'],
            env: [
              { name: 'WORK', value: WORK },
              { name: 'A', value: 'x' },
              { name: 'B', value: '$(A)-y' },
              { name: 'C', value: '$$(A)' },
              { name: 'D', value: '$(LATER)' },
              { name: 'LATER', value: 'z' },
              { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'sec', key: 'token' } } },
            ],
            readinessProbe: { exec: { command: ['test', '-f', `${WORK}/ready`] }, periodSeconds: 1, failureThreshold: 1 },
            livenessProbe: { exec: { command: ['sh', '-c', `test ! -f ${WORK}/die`] }, periodSeconds: 1, failureThreshold: 2 },
            lifecycle: { preStop: { exec: { command: ['sh', '-c', `echo prestop >> ${BASE}/data/prestop.log`] } } },
            securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            volumeMounts: [
              { name: 'work', mountPath: WORK },
              { name: 'cfg', mountPath: `${BASE}/config`, readOnly: true },
              { name: 'sec', mountPath: `${BASE}/secret`, readOnly: true },
              { name: 'data', mountPath: `${BASE}/data` },
            ],
          }],
          volumes: [
            { name: 'work', emptyDir: {} },
            { name: 'cfg', configMap: { name: 'cfg', items: [{ key: 'a.conf', path: 'sub/alpha.conf', mode: 0o600 }] } },
            { name: 'sec', secret: { secretName: 'sec', defaultMode: 0o400 } },
          ],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
    },
  },
];

const sh = async (pod: string, script: string) => {
  const r = await cluster.exec(NS, pod, 'main', ['sh', '-c', script]);
  return (r.stdout + r.stderr).trim();
};
/** Lines in `file` inside the pod's main container; a file that cannot be read fails the test (no error text counted as a line). */
const lines = async (pod: string, file: string) => {
  const r = await cluster.exec(NS, pod, 'main', ['cat', file]);
  if (r.code !== 0) throw new Error(`cat ${file} in ${pod} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter(Boolean).length;
};
/** The A records busybox nslookup prints for a name ('' when it does not resolve). */
const resolve = async (pod: string, name: string) => (await sh(pod, `nslookup ${name} 2>/dev/null | sed -n 's/^Address: \\([0-9.]*\\)$/\\1/p' | sort -u`)).split('\n').filter(Boolean);

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('test/e2e needs root (network namespaces, mounts, iptables, setpriv): run `npm test` as root. It is never skipped.');
  await cluster.start({ waitForOtherRunMs: 15 * 60_000 });
  await cluster.apply(objects);
}, 20 * 60_000);

afterAll(() => cluster.shutdown());

describe('e2e harness', () => {
  test('$(VAR) expansion follows Kubernetes: earlier variables only, $$ escapes, unknown references stay', () => {
    const vars = new Map([['A', 'x']]);
    expect(expand('$(A)-$(B)-$$(A)-$A-$', (n) => vars.get(n))).toBe('x-$(B)-$(A)-$A-$');
  });

  test('a NetworkPolicy becomes DROP-by-default chains with loopback, established flows and each peer allowed', () => {
    const pod = { namespace: 'n', name: 'p', labels: { app: 'db' }, ip: '10.213.1.1', ports: [{ name: 'db', containerPort: 5432 }] };
    const client = { namespace: 'n', name: 'c', labels: { role: 'client' }, ip: '10.213.1.2', ports: [] };
    const rules = iptablesRules(pod, [pod, client], [{ name: 'n', labels: {} }], [{
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'db', namespace: 'n' },
      spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }], ports: [{ port: 'db' }] }] },
    }]);
    expect(rules).toContain('-A RSE2E-IN -s 10.213.1.2/32 -p tcp -m tcp --dport 5432');
    expect(rules).toContain('-A RSE2E-IN -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT');
    expect(rules).toMatch(/-A RSE2E-IN -j DROP\n/);
    expect(rules).not.toContain('RSE2E-OUT');
  });

  test('OrderedReady: web-1 is created only once web-0 is Ready', async () => {
    await waitFor('web-0 running', () => cluster.pod(NS, 'web-0')?.phase === 'Running', 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(cluster.pod(NS, 'web-1')).toBeUndefined();
    expect(await sh('web-0', `touch ${WORK}/ready`)).toBe('');
    await waitFor('web-1 running', () => cluster.pod(NS, 'web-1')?.phase === 'Running', 30_000);
    expect(cluster.pod(NS, 'web-0')!.ready).toBe(true);
  });

  test('env, identity and volumes are what the kubelet would give', async () => {
    const pod = cluster.mustPod(NS, 'web-0');
    expect(await sh('web-0', 'echo "$B|$C|$D|$POD_IP|$NAME|$TOKEN|$PATH"')).toBe(`x-y|$(A)|$(LATER)|${pod.ip}|web-0|s3cret|${cluster.root}/images/busybox/bin`);
    expect(await sh('web-0', 'id -u; id -g; id -G')).toBe('2000\n2001\n2001 3000');
    expect(await sh('web-0', `ls ${BASE}/config; cat ${BASE}/config/sub/alpha.conf; stat -L -c '%a %u %g' ${BASE}/config/sub/alpha.conf ${BASE}/secret/token`))
      .toBe('sub\nalpha640 0 3000\n440 0 3000');
    expect(await sh('web-0', `touch /x 2>&1; touch ${BASE}/config/y 2>&1; touch ${WORK}/ok ${BASE}/data/ok && echo writable`))
      .toMatch(/Read-only file system[\s\S]*Read-only file system[\s\S]*writable$/);
    expect(await sh('web-0', 'hostname; grep web-0 /etc/hosts; cat /etc/resolv.conf')).toBe([
      'web-0', `${pod.ip}\tweb-0.web-hl.h.svc.cluster.local\tweb-0`,
      'search h.svc.cluster.local svc.cluster.local cluster.local', `nameserver ${cluster.dnsIp}`, 'options ndots:5',
    ].join('\n'));
    // The harness's state (other pods' volumes) is hidden.
    expect(await sh('web-0', `find ${cluster.root}/pods ${cluster.root}/pvc -mindepth 1 | wc -l`)).toBe('0');
  });

  test('readiness decides what a Service name resolves to; unknown names do not resolve', async () => {
    expect(await sh('web-1', `touch ${WORK}/ready`)).toBe('');
    const ips = [cluster.mustPod(NS, 'web-0').ip!, cluster.mustPod(NS, 'web-1').ip!].sort();
    await waitFor('both pods behind the Service', async () => JSON.stringify(await resolve('web-0', 'web.h.svc.cluster.local')) === JSON.stringify(ips), 10_000);
    expect(await resolve('web-0', 'web-1.web-hl.h.svc.cluster.local')).toEqual([cluster.mustPod(NS, 'web-1').ip]);
    expect(await sh('web-1', `rm ${WORK}/ready`)).toBe('');
    await waitFor('web-1 out of the Service', async () => JSON.stringify(await resolve('web-0', 'web.h.svc.cluster.local')) === JSON.stringify([cluster.mustPod(NS, 'web-0').ip]), 10_000);
    // Not publishNotReadyAddresses: the unready pod's own name goes too.
    expect(await resolve('web-0', 'web-1.web-hl.h.svc.cluster.local')).toEqual([]);
    expect(await resolve('web-0', 'nothing.h.svc.cluster.local')).toEqual([]);
    expect(await sh('web-1', `touch ${WORK}/ready`)).toBe('');
  });

  test('a liveness failure restarts the container in place: same IP and emptyDir, init not rerun, preStop run', async () => {
    const pod = cluster.mustPod(NS, 'web-0');
    const ip = pod.ip;
    expect(await sh('web-0', `touch ${WORK}/die`)).toBe('');
    await waitFor('the restart', () => pod.container('main').restartCount === 1 && pod.ready, 30_000);
    expect(cluster.mustPod(NS, 'web-0')).toBe(pod);
    expect(pod.ip).toBe(ip);
    expect(await lines('web-0', `${WORK}/init.log`)).toBe(1);
    expect(await lines('web-0', `${WORK}/main.log`)).toBe(2);
    expect(await lines('web-0', `${BASE}/data/prestop.log`)).toBe(1);
  });

  test('a deleted pod runs preStop and comes back with a new IP, a fresh emptyDir and the same claim', async () => {
    const old = cluster.mustPod(NS, 'web-0');
    await cluster.deletePod(NS, 'web-0');
    // Its main container started and wrote its line (phase Running comes with the init container already).
    const pod = await waitFor('web-0 recreated, its main container started', () => {
      const p = cluster.pod(NS, 'web-0');
      return p && p !== old && p.container('main').started ? p : undefined;
    }, 30_000);
    await waitFor('main.log written', async () => (await sh('web-0', `cat ${WORK}/main.log 2>/dev/null`)) !== '', 10_000);
    expect(pod).not.toBe(old);
    expect(pod.ip).not.toBe(old.ip);
    expect(await lines('web-0', `${WORK}/init.log`)).toBe(1);
    expect(await lines('web-0', `${WORK}/main.log`)).toBe(1);
    expect(await lines('web-0', `${BASE}/data/prestop.log`)).toBe(2);
  });

  test('scale down removes the highest ordinal and keeps its claim for the next scale up', async () => {
    expect(await sh('web-1', `echo kept > ${BASE}/data/marker`)).toBe('');
    expect(await sh('web-0', `touch ${WORK}/ready`)).toBe('');
    await cluster.scale(NS, 'web', 1);
    expect(cluster.pod(NS, 'web-1')).toBeUndefined();
    expect(cluster.pod(NS, 'web-0')).toBeDefined();
    void cluster.scale(NS, 'web', 2);
    await waitFor('web-1 back', () => cluster.pod(NS, 'web-1')?.phase === 'Running', 30_000);
    expect(await sh('web-1', `cat ${BASE}/data/marker`)).toBe('kept');
  });

  test('a template change rolls the pods: highest ordinal first, one at a time, each after the one before is Ready; a partition holds the lower ordinals', async () => {
    const readyUp = async () => {
      for (const p of ['web-0', 'web-1']) if (cluster.pod(NS, p)?.phase === 'Running' && !cluster.pod(NS, p)!.ready) await sh(p, `touch ${WORK}/ready`);
    };
    await readyUp();
    await waitFor('web ready', () => cluster.pod(NS, 'web-0')?.ready && cluster.pod(NS, 'web-1')?.ready, 30_000);
    const before = cluster.revision(NS, 'web')!;
    expect(before.current).toBe(before.update);
    const web = JSON.parse(JSON.stringify(objects.find((o) => o.kind === 'StatefulSet')!)) as KubeObject;
    web.spec.template.metadata.annotations = { rev: '2' };
    web.spec.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 1 } };
    const from = cluster.events.length;
    const old0 = cluster.mustPod(NS, 'web-0');
    await cluster.apply([web]);
    const after = cluster.revision(NS, 'web')!;
    expect(after.update).not.toBe(before.update);
    expect(after.current).toBe(before.current);
    // The new web-1 waits for readiness (its emptyDir is fresh); nothing else moves meanwhile.
    await waitFor('web-1 recreated', () => cluster.pod(NS, 'web-1')?.labels[REVISION_LABEL] === after.update && cluster.pod(NS, 'web-1')?.phase === 'Running', 30_000);
    await readyUp();
    await cluster.waitRolledOut(NS, 'web', 30_000);
    expect(cluster.mustPod(NS, 'web-0')).toBe(old0);
    expect(old0.labels[REVISION_LABEL]).toBe(before.update);
    // Partition 0: web-0 follows.
    web.spec.updateStrategy = { type: 'RollingUpdate' };
    await cluster.apply([web]);
    await waitFor('web-0 rolled', async () => {
      await readyUp();
      const p = cluster.pod(NS, 'web-0');
      return p && p !== old0 && p.ready && p.labels[REVISION_LABEL] === after.update;
    }, 30_000, { intervalMs: 300 });
    await cluster.waitRolledOut(NS, 'web', 30_000);
    expect(cluster.revision(NS, 'web')).toEqual({ current: after.update, update: after.update });
    const ev = cluster.events.slice(from);
    const at = (re: RegExp) => ev.findIndex((e) => re.test(e));
    expect(at(/web-1: rolling update: deleting/)).toBeGreaterThanOrEqual(0);
    expect(at(/web-1: Ready/)).toBeGreaterThan(at(/web-1: rolling update: deleting/));
    expect(at(/web-0: rolling update: deleting/)).toBeGreaterThan(at(/web-1: Ready/));
    expect(ev.filter((e) => /rolling update: deleting/.test(e))).toHaveLength(2);
  });

  test('shutdown leaves no namespace, process, state or mountpoint behind', async () => {
    const pids = cluster.allPods().map((p) => p.pausePid!);
    await cluster.shutdown();
    expect(runSyncQuiet('ip', ['netns', 'list']).split('\n').filter((l) => l.startsWith(PREFIX))).toEqual([]);
    // Killed processes are gone once reaped.
    await waitFor('every pod process to be reaped', () => pids.every((pid) => !existsSync(`/proc/${pid}`)), 5000);
    expect(existsSync(cluster.root)).toBe(false);
    expect(existsSync(BASE)).toBe(false);
  });
});
