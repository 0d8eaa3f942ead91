#!/usr/bin/env node
/**
 * The topology picture (docs/topology.svg), drawn from the synthesized objects, not from a list
 * kept by hand: reads every `*.k8s.yaml` of a directory (default dist/), derives
 *
 * - workloads (StatefulSets, Deployments, CronJobs) with the pods each runs, their container ports;
 * - the flows the NetworkPolicies allow: a flow from A to B on a port is drawn when B admits it
 *   (an ingress rule of a policy selecting B, or no Ingress policy selects B) and A may send it
 *   (an egress rule of a policy selecting A, or no Egress policy selects A); peers that select none
 *   of the workloads become outside nodes (clients, Prometheus, "any address");
 * - workloads selected by the same NetworkPolicies drawn as one box, and flows that are the same
 *   for every member drawn once, to the box;
 * - Services (what their selectors pick), the ServiceMonitor (the Services it selects), the Secrets
 *   the pods reference (created by the user when no file holds them) and the claims (each
 *   StatefulSet's volumeClaimTemplates, the PersistentVolumeClaims pods mount);
 *
 * and writes it as Graphviz DOT, rendered to SVG by Debian's `dot` (graphviz):
 *
 *   node scripts/topology.js [--in dist] [--namespace redis] [--out docs/topology.svg] [--dot]
 *
 * --namespace: only that release's objects (dist/ also holds the secure example, in redis-secure).
 *
 * `npx projen topology` runs it; test/topology.test.ts fails when docs/topology.svg is not what it
 * writes now. Deterministic: everything is sorted, and the SVG carries no date (graphviz's layout is
 * the same for one graphviz version and the fonts it measures text with: DejaVu Sans).
 */
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

const FONT = 'DejaVu Sans';

// --- reading -----------------------------------------------------------------------------------

/**
 * Every object of every `*.k8s.yaml` in `dir`, with the file it came from; with `namespace`, only the
 * objects in it (and the Namespace object of that name).
 */
function loadDir(dir, namespace) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.k8s.yaml')).sort();
  if (files.length === 0) throw new Error(`topology: no *.k8s.yaml in ${dir}`);
  return files.flatMap((file) => YAML.parseAllDocuments(fs.readFileSync(path.join(dir, file), 'utf8'))
    .map((d) => d.toJSON())
    .filter((o) => o && o.kind)
    .filter((o) => !namespace || (o.metadata.namespace ?? (o.kind === 'Namespace' ? o.metadata.name : undefined)) === namespace)
    .map((object) => ({ file, object })));
}

// --- selectors ---------------------------------------------------------------------------------

/** A label selector (matchLabels + matchExpressions) against labels; `{}` matches everything. */
function selects(selector, labels) {
  if (!selector) return false;
  const l = labels || {};
  for (const [k, v] of Object.entries(selector.matchLabels || {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions || []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    if (e.operator === 'In' && !(has && e.values.includes(l[e.key]))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(l[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** A Service's selector is a plain map (and selects nothing when absent). */
const selectsMap = (map, labels) => !!map && Object.keys(map).length > 0 && selects({ matchLabels: map }, labels);

const showLabels = (sel) => {
  const parts = Object.entries((sel && sel.matchLabels) || {}).map(([k, v]) => `${k}=${v}`)
    .concat(((sel && sel.matchExpressions) || []).map((e) => `${e.key} ${e.operator} ${(e.values || []).join(',')}`.trim()));
  return parts.length ? parts.join(', ') : 'any labels';
};

// --- the model ---------------------------------------------------------------------------------

/** The pod template, and the pods running at once, of a workload object; undefined for other kinds. */
function workloadOf(o) {
  switch (o.kind) {
    case 'StatefulSet':
    case 'Deployment':
      return { template: o.spec.template, pods: o.spec.replicas ?? 1, summary: [`${o.kind}, ${o.spec.replicas ?? 1} pod${(o.spec.replicas ?? 1) === 1 ? '' : 's'}`] };
    case 'CronJob': {
      const job = o.spec.jobTemplate.spec;
      const n = job.parallelism ?? 1;
      return { template: job.template, pods: n, summary: [`CronJob '${o.spec.schedule}'`, `${n} Job pod per run`] };
    }
    default:
      return undefined;
  }
}

/**
 * The flows the NetworkPolicies allow between the workloads and the outside peers their rules name:
 * every (source, destination, port) a rule mentions, kept when the destination admits it and the
 * source may send it.
 */
function policyFlows(workloads, policies, namespaces) {
  const selectedBy = (p) => workloads.filter((w) => w.ns === p.metadata.namespace && selects(p.spec.podSelector, w.labels));
  const types = (p) => p.spec.policyTypes || (p.spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);
  const outside = new Map();

  /** The endpoints a policy peer designates: workloads, or one outside node. */
  function peerEnds(peer, ns) {
    if (peer === undefined) return [outsideNode('any', 'any address', 'in or outside the cluster')];
    if (peer.ipBlock) return [outsideNode(`ip/${peer.ipBlock.cidr}`, `addresses ${peer.ipBlock.cidr}`, (peer.ipBlock.except || []).map((c) => `except ${c}`).join(', '))];
    const nsSel = peer.namespaceSelector;
    const nsMatch = (wns) => (nsSel ? selects(nsSel, namespaces.get(wns) || { 'kubernetes.io/metadata.name': wns }) : wns === ns);
    const podSel = peer.podSelector || {};
    const ours = workloads.filter((w) => nsMatch(w.ns) && selects(podSel, w.labels));
    if (ours.length) return ours.map((w) => w.id);
    const where = !nsSel ? `in namespace ${ns}` : Object.keys(nsSel.matchLabels || {}).length || (nsSel.matchExpressions || []).length ? `in namespaces ${showLabels(nsSel)}` : 'in any namespace';
    return [outsideNode(`pods/${JSON.stringify(podSel)}/${where}`, showLabels(podSel), `pods ${where}`)];
  }
  function outsideNode(key, title, detail) {
    const id = `outside/${key}`;
    if (!outside.has(id)) outside.set(id, { id, title, detail });
    return id;
  }

  /** `port/protocol` of a rule's port, a named port resolved in the destination workload's containers. */
  function portsOf(rule, dst) {
    if (!rule.ports || rule.ports.length === 0) return ['any port'];
    return rule.ports.map((p) => {
      let port = p.port;
      if (typeof port === 'string' && dst) {
        const found = dst.spec.containers.flatMap((c) => c.ports || []).find((cp) => cp.name === port);
        if (found) port = found.containerPort;
      }
      return `${port === undefined ? 'any' : port}${p.endPort ? `-${p.endPort}` : ''}/${p.protocol || 'TCP'}`;
    });
  }
  const byId = new Map(workloads.map((w) => [w.id, w]));
  const portCovers = (allowed, port) => allowed.includes('any port') || allowed.includes(port);

  /** Does some rule of `direction` of a policy selecting `end` allow `peer` on `port`? */
  function allows(end, direction, peer, port) {
    const w = byId.get(end);
    if (!w) return true; // outside: its own policies are not ours to know
    const relevant = policies.filter((p) => types(p).includes(direction) && selectedBy(p).includes(w));
    if (relevant.length === 0) return true;
    const key = direction === 'Ingress' ? 'from' : 'to';
    return relevant.some((p) => (p.spec[direction.toLowerCase()] || []).some((rule) => {
      const peers = rule[key] && rule[key].length ? rule[key].flatMap((x) => peerEnds(x, p.metadata.namespace)) : peerEnds(undefined);
      const dst = direction === 'Ingress' ? w : byId.get(peer);
      return peers.includes(peer) && portCovers(portsOf(rule, dst), port);
    }));
  }

  const candidates = new Map();
  const candidate = (src, dst, port) => {
    const k = `${src}\u0000${dst}`;
    if (!candidates.has(k)) candidates.set(k, { src, dst, ports: new Set() });
    candidates.get(k).ports.add(port);
  };
  for (const p of policies) {
    for (const w of selectedBy(p)) {
      if (types(p).includes('Ingress')) {
        for (const rule of p.spec.ingress || []) {
          const srcs = rule.from && rule.from.length ? rule.from.flatMap((x) => peerEnds(x, p.metadata.namespace)) : peerEnds(undefined);
          for (const src of srcs) for (const port of portsOf(rule, w)) candidate(src, w.id, port);
        }
      }
      if (types(p).includes('Egress')) {
        for (const rule of p.spec.egress || []) {
          const dsts = rule.to && rule.to.length ? rule.to.flatMap((x) => peerEnds(x, p.metadata.namespace)) : peerEnds(undefined);
          for (const dst of dsts) for (const port of portsOf(rule, byId.get(dst))) candidate(w.id, dst, port);
        }
      }
    }
  }
  const flows = [...candidates.values()].map((c) => ({
    src: c.src, dst: c.dst,
    ports: [...c.ports].filter((port) => allows(c.dst, 'Ingress', c.src, port) && allows(c.src, 'Egress', c.dst, port)).sort(portOrder),
  })).filter((f) => f.ports.length > 0);

  return { flows, outside, selectedBy };
}

/** The Secrets and the claims the workloads' pods use. */
function references(workloads, objects) {
  const secretNames = new Set(objects.filter((o) => o.kind === 'Secret').map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
  const secretRefs = [];
  const claimRefs = [];
  const claims = new Map();
  for (const w of workloads) {
    const refs = new Set();
    for (const v of w.spec.volumes || []) if (v.secret) refs.add(v.secret.secretName);
    for (const c of [...(w.spec.initContainers || []), ...w.spec.containers]) {
      for (const e of c.env || []) if (e.valueFrom && e.valueFrom.secretKeyRef) refs.add(e.valueFrom.secretKeyRef.name);
      for (const e of c.envFrom || []) if (e.secretRef) refs.add(e.secretRef.name);
    }
    for (const name of [...refs].sort()) secretRefs.push({ from: w.id, to: `Secret/${w.ns}/${name}`, name, ns: w.ns, inFiles: secretNames.has(`${w.ns}/${name}`) });
    for (const t of w.object.spec.volumeClaimTemplates || []) {
      const id = `Claims/${w.ns}/${t.metadata.name}-${w.name}`;
      const n = w.pods;
      claims.set(id, {
        id, title: `${t.metadata.name}-${w.name}-${n === 1 ? '0' : `{0..${n - 1}}`}`,
        detail: `${n === 1 ? '' : `${n} x `}${t.spec.resources.requests.storage}, volumeClaimTemplate`,
        storageClass: t.spec.storageClassName,
      });
      claimRefs.push({ from: w.id, to: id });
    }
    for (const v of w.spec.volumes || []) {
      if (!v.persistentVolumeClaim) continue;
      const id = `Claims/${w.ns}/${v.persistentVolumeClaim.claimName}`;
      const pvc = objects.find((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === v.persistentVolumeClaim.claimName && o.metadata.namespace === w.ns);
      claims.set(id, {
        id, title: v.persistentVolumeClaim.claimName,
        detail: pvc ? `${pvc.spec.resources.requests.storage}, PersistentVolumeClaim` : 'PersistentVolumeClaim, in no file',
        storageClass: pvc && pvc.spec.storageClassName,
      });
      claimRefs.push({ from: w.id, to: id });
    }
  }

  return { secretRefs, claims, claimRefs };
}

/**
 * The graph: nodes (workloads, outside peers, Services, Secrets, claims, monitoring objects) and
 * the edges between them, all with stable ids and sorted.
 */
function model(entries) {
  const objects = entries.map((e) => e.object);
  const fileOf = new Map(entries.map((e) => [e.object, e.file]));
  const namespaces = new Map(objects.filter((o) => o.kind === 'Namespace').map((o) => [o.metadata.name, o.metadata.labels || {}]));

  const workloads = objects.flatMap((o) => {
    const w = workloadOf(o);
    if (!w) return [];
    const ns = o.metadata.namespace;
    return [{
      id: `${o.kind}/${ns}/${o.metadata.name}`, kind: o.kind, name: o.metadata.name, ns, object: o, file: fileOf.get(o),
      labels: (w.template.metadata && w.template.metadata.labels) || {}, spec: w.template.spec, pods: w.pods, summary: w.summary,
    }];
  }).sort((a, b) => a.id.localeCompare(b.id));

  // --- NetworkPolicy flows ---
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy').sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const { flows, outside, selectedBy } = policyFlows(workloads, policies, namespaces);

  // Workloads selected by the same NetworkPolicies form one box.
  const groupKey = (w) => policies.filter((p) => selectedBy(p).includes(w)).map((p) => p.metadata.name).join(', ');
  const groups = new Map();
  for (const w of workloads) {
    const k = groupKey(w);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(w);
  }

  // --- Services, Secrets, claims, monitoring ---
  const services = objects.filter((o) => o.kind === 'Service').map((o) => ({
    id: `Service/${o.metadata.namespace}/${o.metadata.name}`, object: o, file: fileOf.get(o),
    targets: workloads.filter((w) => w.ns === o.metadata.namespace && selectsMap(o.spec.selector, w.labels)).map((w) => w.id),
  })).sort((a, b) => a.id.localeCompare(b.id));

  const { secretRefs, claims, claimRefs } = references(workloads, objects);

  const monitors = objects.filter((o) => o.kind === 'ServiceMonitor').map((o) => ({
    id: `ServiceMonitor/${o.metadata.namespace}/${o.metadata.name}`, object: o, file: fileOf.get(o),
    targets: services.filter((s) => {
      const nsSel = o.spec.namespaceSelector || {};
      const nsOk = nsSel.any || (nsSel.matchNames ? nsSel.matchNames.includes(s.object.metadata.namespace) : s.object.metadata.namespace === o.metadata.namespace);
      return nsOk && selects(o.spec.selector, s.object.metadata.labels);
    }).map((s) => s.id),
    ports: (o.spec.endpoints || []).map((e) => e.port || e.targetPort).filter(Boolean),
  }));
  // The monitoring file's other objects (alert rules, dashboard) are shown as one node.
  const others = objects.filter((o) => ['PrometheusRule', 'ConfigMap'].includes(o.kind) && fileOf.get(o) !== fileOf.get(workloads[0] && workloads[0].object))
    .map((o) => ({ id: `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`, object: o, file: fileOf.get(o) }));

  // The file of the workloads first.
  const files = [...new Set(entries.map((e) => e.file))].sort((a, b) => (workloads.some((w) => w.file === b) - workloads.some((w) => w.file === a)) || a.localeCompare(b));
  return { workloads, groups, outside, flows, policies: policies.length, services, secretRefs, claims, claimRefs, monitors, others, files, namespaces: [...new Set(workloads.map((w) => w.ns))] };
}

function portOrder(a, b) {
  const n = (p) => Number.parseInt(p, 10);
  return (n(a) - n(b)) || a.localeCompare(b);
}

// --- DOT ---------------------------------------------------------------------------------------

const q = (s) => `"${String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
/** An HTML-like label: lines, the first bold. */
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const htmlLeft = (title, ...lines) => `<<b>${esc(title)}</b><br align="left"/>${lines.filter(Boolean).map((l) => `<font point-size="10">${esc(l)}</font><br align="left"/>`).join('')}>`;
const html = (title, ...lines) => `<<b>${esc(title)}</b>${lines.filter(Boolean).map((l) => `<br/><font point-size="10">${esc(l)}</font>`).join('')}>`;
/** `6379`, `53 TCP+UDP`: port numbers, with the protocols when not TCP alone. */
function ports(ps) {
  const byPort = new Map();
  for (const p of ps) {
    const [port, protocol] = p.split('/');
    if (!byPort.has(port)) byPort.set(port, []);
    if (protocol) byPort.get(port).push(protocol);
  }
  return [...byPort].map(([port, protocols]) => (protocols.length === 0 || (protocols.length === 1 && protocols[0] === 'TCP') ? port : `${port} ${protocols.sort().join('+')}`)).join(', ');
}

/**
 * The boxes: workloads selected by the same NetworkPolicies. `within` holds, per box, the ports every
 * ordered pair of its members reaches each other on (written on the box instead of as arrows), and
 * `collapse` turns edges into one edge per pair of ends, an end being a whole box when every member
 * has the same edge with the same label (drawn to the box's border: lhead/ltail).
 */
function boxesOf(m) {
  const groupList = [...m.groups.entries()].sort(([a], [b]) => a.localeCompare(b));
  const boxOf = new Map();
  groupList.forEach(([policies, members], i) => {
    if (!policies) return;
    const box = { cluster: `cluster_np${i}`, policies, members: members.map((w) => w.id) };
    for (const w of members) boxOf.set(w.id, box);
  });
  const multiBox = (id) => (boxOf.has(id) && boxOf.get(id).members.length > 1 ? boxOf.get(id) : undefined);

  const flowPorts = new Map(m.flows.map((f) => [`${f.src}\u0000${f.dst}`, f.ports.join(',')]));
  const within = new Map();
  for (const [policies, members] of groupList) {
    if (!policies) continue;
    const ids = members.map((w) => w.id);
    const common = flowPorts.get(`${ids[0]}\u0000${ids[0]}`);
    if (common && ids.every((a) => ids.every((b) => flowPorts.get(`${a}\u0000${b}`) === common))) within.set(policies, common.split(','));
  }
  const inBox = (f) => boxOf.has(f.src) && boxOf.get(f.src) === boxOf.get(f.dst) && within.has(boxOf.get(f.src).policies);

  function collapse(list) {
    const label = new Map(list.map((e) => [`${e.from}\u0000${e.to}`, e.label || '']));
    const done = new Set();
    const result = [];
    for (const e of list) {
      const k = `${e.from}\u0000${e.to}`;
      if (done.has(k)) continue;
      const fb = multiBox(e.from);
      const tb = multiBox(e.to);
      const froms = fb ? fb.members : [e.from];
      const tos = tb ? tb.members : [e.to];
      const whole = (fb || tb) && froms.every((a) => tos.every((b) => label.get(`${a}\u0000${b}`) === label.get(k)));
      if (whole) {
        for (const a of froms) for (const b of tos) done.add(`${a}\u0000${b}`);
        result.push({ ...e, from: froms[0], to: tos[0], tailBox: fb, headBox: tb });
      } else {
        done.add(k);
        result.push(e);
      }
    }
    return result;
  }
  return { groupList, within, inBox, collapse };
}

/**
 * The NetworkPolicy flows as edges labelled with their ports; a destination that every flow (two or
 * more) reaches on the same ports says so itself (`reachedOn`) instead of each arrow.
 */
function flowEdgesOf(m, boxes) {
  const endKey = (id, box) => (box ? box.cluster : id);
  const flows = boxes.collapse(m.flows.filter((f) => !boxes.inBox(f)).map((f) => ({ from: f.src, to: f.dst, label: ports(f.ports) })).sort(byEnds));
  const labels = new Map();
  for (const e of flows) {
    const k = endKey(e.to, e.headBox);
    if (!labels.has(k)) labels.set(k, new Set());
    labels.get(k).add(e.label);
  }
  const reachedOn = new Map();
  for (const [k, set] of labels) if (set.size === 1 && flows.filter((e) => endKey(e.to, e.headBox) === k).length > 1) reachedOn.set(k, [...set][0]);
  const edges = flows.map((e) => ({ ...e, attrs: [reachedOn.has(endKey(e.to, e.headBox)) ? '' : `label=${q(e.label)}`] }));
  return { edges, reachedOn };
}

/** Services grouped by the pods they select: one node per group. */
function serviceSetsOf(m) {
  const sets = new Map();
  for (const s of m.services) {
    const k = s.targets.join(' ');
    if (!sets.has(k)) sets.set(k, { id: `Services/${k}`, targets: s.targets, services: [] });
    sets.get(k).services.push(s);
  }
  return [...sets.values()];
}

const GREY = 'style="rounded,filled,dashed", fillcolor="#f2f2f2", color="#888888"';
const serviceKind = (spec) => `${spec.ports.map((p) => p.port).join(', ')} ${spec.clusterIP === 'None' ? 'headless' : spec.type || 'ClusterIP'}`;

/** The node of a group of Services: the Service itself, or a table with a row per Service. */
function serviceNode(set, isExtra) {
  if (set.services.length === 1) {
    const [svc] = set.services;
    return `${q(set.id)} [label=${html(`Service ${svc.object.metadata.name}`, serviceKind(svc.object.spec))}, fillcolor="#eef6ee", color="#3c7a3c"${isExtra(svc.file) ? ', style="rounded,filled,dashed", fontcolor="#777777"' : ''}];`;
  }
  const rows = set.services.map((s) => {
    const font = (t) => `<font point-size="10"${isExtra(s.file) ? ' color="#777777"' : ''}>${esc(t)}</font>`;
    return `<tr><td align="left">${font(s.object.metadata.name)}</td><td align="left">${font(serviceKind(s.object.spec))}</td></tr>`;
  });
  return `${q(set.id)} [label=<<table border="0" cellborder="0" cellspacing="0" cellpadding="1"><tr><td align="left" colspan="2"><b>Services</b></td></tr>${rows.join('')}</table>>, fillcolor="#eef6ee", color="#3c7a3c"];`;
}

/** Renders the model as DOT. */
function toDot(m) {
  const out = [];
  const line = (s = '') => out.push(s);
  const extra = m.files.slice(1);
  const isExtra = (file) => file !== m.files[0];
  const boxes = boxesOf(m);
  const flows = flowEdgesOf(m, boxes);
  const reached = (key) => (flows.reachedOn.has(key) ? `reached on ${flows.reachedOn.get(key)}` : '');
  const edgeLine = (e, attrs) => {
    const a = [attrs, ...(e.attrs || [])];
    if (e.tailBox) a.push(`ltail=${e.tailBox.cluster}`);
    if (e.headBox) a.push(`lhead=${e.headBox.cluster}`);
    line(`  ${q(e.from)} -> ${q(e.to)} [${a.filter(Boolean).join(', ')}];`);
  };

  line('digraph topology {');
  line(`  graph [rankdir=TB, compound=true, newrank=true, nodesep=0.2, ranksep=0.55, fontname=${q(FONT)}, fontsize=12, labelloc=t, labeljust=l,`);
  line(`    label=${htmlLeft(`Namespace ${m.namespaces.join(', ')}: ${m.files.join(' + ')}`,
    'drawn by scripts/topology.js from the synthesized objects',
    m.policies ? 'blue arrows: connections the NetworkPolicies allow, labelled with the port they reach' : 'no NetworkPolicies: every pod may connect to every pod',
    extra.length ? `grey dashed: objects of ${extra.join(', ')}` : '')}];`);
  line(`  node [fontname=${q(FONT)}, fontsize=11, shape=box, style="rounded,filled", fillcolor="#ffffff", color="#555555"];`);
  line(`  edge [fontname=${q(FONT)}, fontsize=10, color="#555555"];`);

  // --- nodes ---
  const workloadNode = (w) => {
    const containers = w.spec.containers.map((c) => `${c.name}${(c.ports || []).length ? ` ${c.ports.map((p) => p.containerPort).join(',')}` : ''}`).join(', ');
    return `${q(w.id)} [label=${html(w.name, ...w.summary, containers, reached(w.id))}, fillcolor="#dbe9f6", color="#2f5f8a", penwidth=1.5];`;
  };
  boxes.groupList.forEach(([policies, members], i) => {
    if (!policies) {
      for (const w of members) line(`  ${workloadNode(w)}`);
      return;
    }
    const among = boxes.within.get(policies);
    line(`  subgraph cluster_np${i} {`);
    line(`    graph [label=${html(`NetworkPolicy ${policies}`, among ? `its pods reach each other on ${ports(among)}` : '', reached(`cluster_np${i}`))}, style="rounded,dashed", color="#2f5f8a", fontcolor="#2f5f8a"];`);
    for (const w of members) line(`    ${workloadNode(w)}`);
    if (members.length > 1) line(`    { rank=same; ${members.map((w) => q(w.id)).join('; ')}; }`);
    line('  }');
  });
  for (const o of [...m.outside.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    line(`  ${q(o.id)} [label=${html(o.title, o.detail, reached(o.id))}, style="rounded,filled,dotted", fillcolor="#fff6d6", color="#8a6d00"];`);
  }
  const serviceSets = serviceSetsOf(m);
  const serviceNodeOf = new Map(serviceSets.flatMap((set) => set.services.map((svc) => [svc.id, set.id])));
  for (const set of serviceSets) line(`  ${serviceNode(set, isExtra)}`);
  for (const mon of m.monitors) {
    line(`  ${q(mon.id)} [label=${html(`ServiceMonitor ${mon.object.metadata.name}`, `scrapes port '${mon.ports.join("', '")}'`)}${isExtra(mon.file) ? `, ${GREY}` : ''}];`);
  }
  if (m.others.length) {
    const [first, ...rest] = m.others.map((o) => `${o.object.kind} ${o.object.metadata.name}`);
    line(`  "others" [label=${html(first, ...rest)}, ${GREY}];`);
  }
  const secrets = new Map(m.secretRefs.map((r) => [r.to, r]));
  for (const [id, r] of [...secrets].sort(([a], [b]) => a.localeCompare(b))) {
    line(`  ${q(id)} [label=${html(`Secret ${r.name}`, r.inFiles ? '' : 'you create it: in no file')}, shape=note, style=filled, fillcolor="#fde2e2", color="#aa3333"];`);
  }
  for (const c of [...m.claims.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    line(`  ${q(c.id)} [label=${html(c.title, c.detail, c.storageClass ? `StorageClass ${c.storageClass}` : 'default StorageClass')}, shape=cylinder, style=filled, fillcolor="#ece6f5", color="#5b4a8a", fontsize=10];`);
  }

  // --- edges ---
  for (const e of flows.edges) edgeLine(e, 'color="#2f5f8a", fontcolor="#2f5f8a", penwidth=1.3');
  for (const e of boxes.collapse(serviceSets.flatMap((set) => set.targets.map((t) => ({ from: set.id, to: t }))).sort(byEnds))) {
    edgeLine(e, 'style=dashed, color="#3c7a3c", arrowhead=vee');
  }
  const monitorEdges = new Set(m.monitors.flatMap((mon) => mon.targets.map((t) => `${mon.id}\u0000${serviceNodeOf.get(t)}`)));
  for (const k of [...monitorEdges].sort()) {
    const [from, to] = k.split('\u0000');
    edgeLine({ from, to }, 'style=dashed, color="#888888", arrowhead=vee');
  }
  // Keeps the monitoring file's objects side by side.
  if (m.others.length && m.monitors.length) line(`  ${q(m.monitors[0].id)} -> "others" [style=invis];`);
  for (const e of boxes.collapse(m.secretRefs.map((r) => ({ from: r.from, to: r.to })).sort(byEnds))) edgeLine(e, 'style=dotted, color="#aa3333", arrowhead=none');
  for (const e of boxes.collapse(m.claimRefs.slice().sort(byEnds))) edgeLine(e, 'style=dotted, color="#5b4a8a", arrowhead=none');

  // Rows, top to bottom: who connects from outside and what watches; Services; (the workloads, placed
  // by the layout); what they use (claims, Secrets) and reach outside.
  const row = (ids) => {
    if (ids.length) line(`  { rank=same; ${ids.map(q).join('; ')}; }`);
  };
  const outsideIds = [...m.outside.values()].map((o) => o.id).sort();
  const sinks = outsideIds.filter((id) => !m.flows.some((f) => f.src === id));
  row([...outsideIds.filter((id) => !sinks.includes(id)), ...m.monitors.map((x) => x.id), ...(m.others.length ? ['others'] : [])]);
  row(serviceSets.map((x) => x.id));
  row([...[...m.claims.keys()].sort(), ...[...secrets.keys()].sort(), ...sinks]);
  line('}');
  return `${out.join('\n')}\n`;
}

function byEnds(a, b) {
  return (a.from || a.src).localeCompare(b.from || b.src) || (a.to || a.dst).localeCompare(b.to || b.dst);
}

/** DOT of the objects in `dir`. */
function topologyDot(dir, namespace) {
  return toDot(model(loadDir(dir, namespace)));
}

/** SVG of DOT text, by graphviz's `dot` (the comment graphviz writes first names its version only). */
function renderSvg(dot) {
  return execFileSync('dot', ['-Tsvg'], { input: dot, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
}

function main(argv) {
  const arg = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const root = path.join(__dirname, '..');
  const dot = topologyDot(path.resolve(root, arg('--in', 'dist')), arg('--namespace', undefined));
  if (argv.includes('--dot')) {
    process.stdout.write(dot);
    return;
  }
  const out = path.resolve(root, arg('--out', path.join('docs', 'topology.svg')));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, renderSvg(dot));
  process.stdout.write(`topology: wrote ${path.relative(process.cwd(), out)}\n`);
}

module.exports = { loadDir, model, toDot, topologyDot, renderSvg, selects };

if (require.main === module) main(process.argv.slice(2));
