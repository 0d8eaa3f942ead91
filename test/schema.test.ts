/**
 * Every synthesized object must be accepted by the Kubernetes API: it is validated against the
 * upstream OpenAPI schemas (kubernetes-models, and @kubernetes-models/prometheus-operator for
 * monitoring.coreos.com), and against the API-server rules those schemas do not encode (name
 * syntax and length, port ranges, PodDisruptionBudget fields, label syntax, selectors).
 *
 * The schema models are loaded by test/support/validate-objects.mjs in a child node process, so
 * their ESM builds load natively whatever module system jest uses here.
 */
import { spawnSync } from 'child_process';
import { readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { CUSTOM_NETWORK_PROPS, CUSTOM_PROPS } from './support/chart-variants';
import { KubeObject, ofKind, synthChart } from './support/synth';

const ROOT = path.resolve(__dirname, '..');
const VALIDATOR = path.join(__dirname, 'support', 'validate-objects.mjs');
/** The example app's files: the deployment and its monitoring (the ServiceMonitor and PrometheusRule). */
const EXAMPLE_OUTPUT = readdirSync(path.join(ROOT, 'dist')).filter((f) => f.endsWith('.k8s.yaml')).sort().map((f) => path.join(ROOT, 'dist', f));
/** The secure example (TLS with a cert-manager Certificate, ACL users): dist/redis-secure.k8s.yaml. */
const SECURE_OUTPUT = path.join(ROOT, 'dist', 'redis-secure.k8s.yaml');

// ------------------------------------------------------------------------------------------------
// Schema validation (child process)
// ------------------------------------------------------------------------------------------------

interface ValidationResult {
  index: number;
  apiVersion: string | null;
  kind: string | null;
  name: string | null;
  /** Module specifier of the model class used; null when no model matched. */
  model: string | null;
  errors: Array<{ path: string; message: string }>;
}

/** Runs the validator on the objects; one result per object, in order. */
function validateObjects(objects: unknown[]): ValidationResult[] {
  const run = spawnSync(process.execPath, [VALIDATOR], {
    cwd: ROOT,
    input: JSON.stringify(objects),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  });
  if (run.error) throw new Error(`cannot run ${VALIDATOR}: ${run.error.message}`);
  if (run.status !== 0) {
    throw new Error(`${VALIDATOR} exited with ${run.status ?? run.signal}:\n${run.stderr}${run.stdout}`);
  }
  const { results } = JSON.parse(run.stdout) as { results: ValidationResult[] };
  // The validator must answer for every object: a dropped object would pass silently.
  if (!Array.isArray(results) || results.length !== objects.length) {
    throw new Error(`validator returned ${results?.length} results for ${objects.length} objects`);
  }
  return results;
}

/** One line per schema error: `Kind/name (model): /path message`. */
function schemaErrors(results: ValidationResult[]): string[] {
  return results.flatMap((r) => r.errors.map((e) =>
    `${r.kind}/${r.name} [${r.apiVersion}] (${r.model ?? 'no model'}): ${e.path || '(object)'} ${e.message}`));
}

/** Parses a multi-document YAML file into its objects (empty documents dropped). */
function loadYamlObjects(file: string): KubeObject[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  if (!Array.isArray(docs)) throw new Error(`${file}: empty YAML stream`);
  const problems = docs.flatMap((d, i) => d.errors.map((e) => `document ${i}: ${e.message}`));
  if (problems.length > 0) throw new Error(`${file} is not valid YAML:\n${problems.join('\n')}`);
  return docs.map((d) => d.toJS()).filter((o) => o !== null && o !== undefined) as KubeObject[];
}

// ------------------------------------------------------------------------------------------------
// API-server rules the schemas do not encode
// ------------------------------------------------------------------------------------------------

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** StatefulSet names must leave room for `controller-revision-hash: <name>-<hash of up to 10>` (63). */
const STATEFULSET_NAME_MAX = 52;
/** Workload kinds whose `spec.template` is a pod template and whose `spec.selector` must match it. */
const TEMPLATED_WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

const isDns1123Label = (s: unknown) => typeof s === 'string' && s.length <= 63 && DNS_1123_LABEL.test(s);
const isDns1035Label = (s: unknown) => typeof s === 'string' && s.length <= 63 && DNS_1035_LABEL.test(s);
const isDns1123Subdomain = (s: unknown) => typeof s === 'string' && s.length <= 253 && DNS_1123_SUBDOMAIN.test(s);

/** An IANA service name: what a named port may be (1-15 chars, a letter, no leading/trailing/double '-'). */
function isIanaSvcName(s: unknown): boolean {
  return typeof s === 'string' && s.length >= 1 && s.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s)
    && /[a-z]/.test(s) && !s.includes('--');
}

const id = (o: KubeObject) => `${o.kind}/${o.metadata?.name}`;

/**
 * Visits every value in an object (depth first) with its JSON path, skipping the payload of
 * ConfigMaps and Secrets (file contents, not API fields).
 */
function walk(o: KubeObject, visit: (key: string, value: any, parent: any, path: string) => void): void {
  const rec = (value: any, p: string) => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => rec(v, `${p}[${i}]`));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (p === '' && ['data', 'binaryData', 'stringData'].includes(k) && (o.kind === 'ConfigMap' || o.kind === 'Secret')) continue;
        visit(k, v, value, `${p}.${k}`);
        rec(v, `${p}.${k}`);
      }
    }
  };
  rec(o, '');
}

/** Names: DNS-1123 subdomains everywhere; the stricter rules of Namespaces, Services and StatefulSets. */
function nameProblems(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    const name = o.metadata?.name;
    if (typeof name !== 'string' || name === '') {
      problems.push(`${o.kind} at ${JSON.stringify(o.metadata)} has no metadata.name`);
      continue;
    }
    // Every metadata.name, including nested ones (volumeClaimTemplates, ...).
    walk(o, (key, value, _parent, p) => {
      if (key === 'metadata' && value && typeof value === 'object' && 'name' in value && !isDns1123Subdomain(value.name)) {
        problems.push(`${id(o)}: ${p}.name '${value.name}' is not a DNS-1123 subdomain (lowercase alphanumerics, '-', '.', at most 253)`);
      }
    });
    if (o.metadata.namespace !== undefined && !isDns1123Label(o.metadata.namespace)) {
      problems.push(`${id(o)}: namespace '${o.metadata.namespace}' is not a DNS-1123 label of at most 63 characters`);
    }
    if (o.kind === 'Namespace' && !isDns1123Label(name)) {
      problems.push(`${id(o)}: a Namespace name must be a DNS-1123 label of at most 63 characters`);
    }
    if (o.kind === 'Service' && !isDns1035Label(name)) {
      // Services are DNS-1035 labels (a DNS-1123 label that starts with a letter), at most 63.
      problems.push(`${id(o)}: a Service name must be a DNS-1035 label of at most 63 characters (${name.length})`);
    }
    if (o.kind === 'StatefulSet') {
      if (name.length > STATEFULSET_NAME_MAX) {
        problems.push(`${id(o)}: ${name.length} characters; a StatefulSet name over ${STATEFULSET_NAME_MAX} makes its controller-revision-hash label value exceed 63`);
      }
      const replicas = o.spec?.replicas ?? 1;
      for (let i = 0; i < replicas; i++) {
        const hostname = `${name}-${i}`;
        if (!isDns1123Label(hostname)) {
          problems.push(`${id(o)}: pod hostname '${hostname}' (${hostname.length} characters) is not a DNS-1123 label of at most 63`);
          break;
        }
      }
      const serviceName = o.spec?.serviceName;
      if (serviceName !== undefined && !isDns1035Label(serviceName)) {
        problems.push(`${id(o)}: spec.serviceName '${serviceName}' is not a valid Service name`);
      }
    }
  }
  return problems;
}

const PORT_NUMBER_KEYS = new Set(['containerPort', 'hostPort', 'nodePort', 'endPort']);
/** Keys that hold a port number or, in some places, a port name. */
const PORT_KEYS = new Set(['port', 'targetPort']);

/** Every port number in 1..65535 and every named port an IANA service name. Returns problems and how many ports were seen. */
function portProblems(objects: KubeObject[]): { problems: string[]; seen: number } {
  const problems: string[] = [];
  let seen = 0;
  const checkNumber = (o: KubeObject, p: string, v: unknown) => {
    seen++;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
      problems.push(`${id(o)}: ${p} = ${JSON.stringify(v)} is not a port number in 1..65535`);
    }
  };
  for (const o of objects) {
    walk(o, (key, value, parent, p) => {
      if (PORT_NUMBER_KEYS.has(key)) {
        // hostPort 0 means "none"; any other value must be a real port.
        if (!(key === 'hostPort' && value === 0)) checkNumber(o, p, value);
      } else if (PORT_KEYS.has(key) && (typeof value === 'number' || typeof value === 'string')) {
        if (typeof value === 'number') {
          checkNumber(o, p, value);
        } else {
          seen++;
          if (!isIanaSvcName(value)) problems.push(`${id(o)}: ${p} = '${value}' is neither a port number nor a valid port name`);
        }
      }
      // Container port names are what named targetPorts and probes refer to.
      if (key === 'name' && parent && typeof parent === 'object' && 'containerPort' in parent && !isIanaSvcName(value)) {
        problems.push(`${id(o)}: ${p} = '${value}' is not a valid container port name (IANA service name)`);
      }
    });
  }
  return { problems, seen };
}

/** PodDisruptionBudgets: at most one of minAvailable/maxUnavailable, int or percentage, a non-empty selector. */
function pdbProblems(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const o of ofKind(objects, 'PodDisruptionBudget')) {
    const spec = o.spec ?? {};
    if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
      problems.push(`${id(o)}: sets both minAvailable and maxUnavailable (the API server rejects that)`);
    }
    for (const field of ['minAvailable', 'maxUnavailable']) {
      const v = spec[field];
      if (v === undefined) continue;
      const ok = typeof v === 'number' ? Number.isInteger(v) && v >= 0 : typeof v === 'string' && /^[0-9]+%$/.test(v) && parseInt(v, 10) <= 100;
      if (!ok) problems.push(`${id(o)}: ${field} = ${JSON.stringify(v)} is neither a non-negative integer nor a percentage`);
    }
    const sel = spec.selector;
    const empty = !sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0);
    if (empty) problems.push(`${id(o)}: an empty selector matches every pod of the namespace`);
  }
  return problems;
}

function labelMapProblems(where: string, labels: unknown): string[] {
  if (labels === undefined) return [];
  if (labels === null || typeof labels !== 'object') return [`${where}: labels must be a map`];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const parts = key.split('/');
    const [prefix, labelName] = parts.length === 2 ? parts : [undefined, parts[0]];
    if (parts.length > 2 || labelName.length > 63 || !LABEL_NAME.test(labelName)
      || (prefix !== undefined && !isDns1123Subdomain(prefix))) {
      problems.push(`${where}: label key '${key}' is not a valid qualified name`);
    }
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
      problems.push(`${where}: label '${key}' value ${JSON.stringify(value)} is not a valid label value`);
    }
  }
  return problems;
}

/** Label syntax everywhere labels or label selectors appear, and workload selectors that match their template. */
function labelProblems(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    walk(o, (key, value, _parent, p) => {
      if ((key === 'labels' && p.endsWith('metadata.labels')) || key === 'matchLabels' || key === 'nodeSelector'
        || (key === 'selector' && o.kind === 'Service' && p === '.spec.selector')) {
        problems.push(...labelMapProblems(`${id(o)} ${p}`, value));
      }
    });
    if (TEMPLATED_WORKLOADS.has(o.kind)) {
      const matchLabels: Record<string, string> = o.spec?.selector?.matchLabels ?? {};
      const templateLabels: Record<string, string> = o.spec?.template?.metadata?.labels ?? {};
      if (Object.keys(matchLabels).length === 0 && (o.spec?.selector?.matchExpressions ?? []).length === 0 && o.kind !== 'Job') {
        problems.push(`${id(o)}: empty spec.selector`);
      }
      for (const [k, v] of Object.entries(matchLabels)) {
        if (templateLabels[k] !== v) {
          problems.push(`${id(o)}: spec.selector.matchLabels ${k}=${v} does not match the pod template label (${templateLabels[k]}): "selector does not match template labels"`);
        }
      }
    }
  }
  return problems;
}

// ------------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------------

const CASES: Array<[string, () => KubeObject[]]> = [
  ['default chart', () => synthChart()],
  ['customised chart (no auth, no NetworkPolicies, custom ports, 5 sentinels, 0 replicas, ...)', () => synthChart(CUSTOM_PROPS)],
  ['customised chart with custom auth Secret and client-namespace NetworkPolicies', () => synthChart(CUSTOM_NETWORK_PROPS)],
  [`example app output (${EXAMPLE_OUTPUT.map((f) => path.relative(ROOT, f)).join(', ')})`, () => EXAMPLE_OUTPUT.flatMap(loadYamlObjects)],
  ['the secure example (dist/redis-secure.k8s.yaml: TLS, a cert-manager Certificate, ACL users)', () => loadYamlObjects(SECURE_OUTPUT)],
];

describe.each(CASES)('%s', (_label, load) => {
  let objects: KubeObject[];
  beforeAll(() => {
    objects = load();
  });

  test('has the objects of a deployment', () => {
    expect(objects.length).toBeGreaterThan(0);
    // Three per release (dist/ holds two: the example, namespace redis, and the secure example, redis-secure).
    const statefulSets = ofKind(objects, 'StatefulSet');
    const namespaces = [...new Set(statefulSets.map((o) => o.metadata.namespace))];
    expect(namespaces.length).toBeGreaterThan(0);
    for (const ns of namespaces) expect({ ns, statefulSets: statefulSets.filter((o) => o.metadata.namespace === ns).length }).toEqual({ ns, statefulSets: 3 });
    expect(ofKind(objects, 'Service').length).toBeGreaterThanOrEqual(4);
    expect(ofKind(objects, 'PodDisruptionBudget').length).toBeGreaterThanOrEqual(2);
  });

  test('every object is valid against its upstream Kubernetes schema (and has a known model)', () => {
    const results = validateObjects(objects);
    expect(schemaErrors(results)).toEqual([]);
    // Every object was checked by the model of its own kind.
    for (const r of results) {
      expect(r.model).not.toBeNull();
      expect(r.model!.endsWith(`/${r.apiVersion}/${r.kind}`)).toBe(true);
    }
  });

  test('every metadata.name is a DNS-1123 subdomain; Namespace, Service names and StatefulSet pod hostnames are DNS labels <= 63', () => {
    expect(nameProblems(objects)).toEqual([]);
  });

  test('every port is in 1..65535 and every named port is a valid port name', () => {
    const { problems, seen } = portProblems(objects);
    expect(problems).toEqual([]);
    expect(seen).toBeGreaterThan(0);
  });

  test('no PodDisruptionBudget sets both minAvailable and maxUnavailable, and each selects pods', () => {
    expect(pdbProblems(objects)).toEqual([]);
  });

  test('labels and label selectors are valid, and workload selectors match their pod templates', () => {
    expect(labelProblems(objects)).toEqual([]);
  });
});

describe('the checks catch broken objects', () => {
  const statefulSet = (): KubeObject => JSON.parse(JSON.stringify(synthChart().find((o) => o.kind === 'StatefulSet')));

  test('a StatefulSet with spec.replicas "three" fails schema validation', () => {
    const bad = statefulSet();
    bad.spec.replicas = 'three';
    const [result] = validateObjects([bad]);
    expect(result.model).toBe('kubernetes-models/apps/v1/StatefulSet');
    expect(result.errors).toEqual([expect.objectContaining({ path: '/spec/replicas', message: expect.stringContaining('must be integer') })]);
    // ...and the same object unbroken passes, so the failure is the broken field.
    expect(validateObjects([statefulSet()])[0].errors).toEqual([]);
  });

  test('wrong types deep inside objects fail schema validation', () => {
    const objects = synthChart();
    const service = JSON.parse(JSON.stringify(objects.find((o) => o.kind === 'Service')));
    service.spec.ports[0].port = '6379';
    const pdb = JSON.parse(JSON.stringify(ofKind(objects, 'PodDisruptionBudget')[0]));
    pdb.spec.selector.matchLabels = ['not', 'a', 'map'];
    const sts = statefulSet();
    sts.spec.template.spec.containers[0].securityContext.runAsUser = -1.5;
    const results = validateObjects([service, pdb, sts]);
    expect(results.map((r) => [...new Set(r.errors.map((e) => e.path))])).toEqual([
      ['/spec/ports/0/port'],
      ['/spec/selector/matchLabels'],
      ['/spec/template/spec/containers/0/securityContext/runAsUser'],
    ]);
  });

  test('an object whose kind has no model fails (it is not skipped)', () => {
    const results = validateObjects([
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
      { apiVersion: 'apps/v1', kind: 'StatefulSetSpec', metadata: { name: 's' } },
      { apiVersion: 'apps/v1', kind: 'Service', metadata: { name: 's' } },
      { apiVersion: 'v1', kind: '../../v1/Service', metadata: { name: 's' } },
      { metadata: { name: 'no-type' } },
    ]);
    for (const r of results) {
      expect(r.model).toBeNull();
      expect(r.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/no schema model|not a well-formed|must be strings/) })]);
    }
  });

  test('monitoring.coreos.com kinds are validated with the prometheus-operator models', () => {
    const monitor = (port: unknown) => ({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'redis', namespace: 'redis' },
      spec: { selector: { matchLabels: { app: 'redis' } }, endpoints: [{ port, interval: '30s' }] },
    });
    const [good, bad] = validateObjects([monitor('metrics'), monitor(9121)]);
    expect(good).toMatchObject({ model: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor', errors: [] });
    expect(bad.errors.map((e) => e.path)).toContain('/spec/endpoints/0/port');
  });

  test('bad names are caught', () => {
    const objects = synthChart();
    const svc = JSON.parse(JSON.stringify(objects.find((o) => o.kind === 'Service')));
    svc.metadata.name = '6-starts-with-a-digit';
    const cm = JSON.parse(JSON.stringify(objects.find((o) => o.kind === 'ConfigMap')));
    cm.metadata.name = 'Upper_Case';
    const sts = statefulSet();
    sts.metadata.name = 'a'.repeat(62);
    sts.spec.volumeClaimTemplates[0].metadata.name = 'Data';
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } };
    const problems = nameProblems([svc, cm, sts, ns] as KubeObject[]);
    expect(problems).toEqual([
      expect.stringContaining('a Service name must be a DNS-1035 label'),
      expect.stringContaining("'Upper_Case' is not a DNS-1123 subdomain"),
      expect.stringContaining(".spec.volumeClaimTemplates[0].metadata.name 'Data'"),
      expect.stringContaining('controller-revision-hash'),
      expect.stringMatching(/pod hostname 'a{62}-0' \(64 characters\)/),
      expect.stringContaining('a Namespace name must be a DNS-1123 label'),
    ]);
  });

  test('ports out of range and bad port names are caught', () => {
    const sts = statefulSet();
    sts.spec.template.spec.containers[0].ports[0].containerPort = 70000;
    sts.spec.template.spec.containers[0].ports[0].name = 'redis--port-name-too-long';
    const svc = JSON.parse(JSON.stringify(synthChart().find((o) => o.kind === 'Service')));
    svc.spec.ports[0].port = 0;
    svc.spec.ports[0].targetPort = 'Redis';
    const { problems } = portProblems([sts, svc]);
    expect(problems).toEqual([
      expect.stringContaining('containerPort = 70000'),
      expect.stringContaining('not a valid container port name'),
      expect.stringContaining('port = 0 is not a port number'),
      expect.stringContaining("targetPort = 'Redis'"),
    ]);
  });

  test('a PodDisruptionBudget with both minAvailable and maxUnavailable is caught', () => {
    const pdb = JSON.parse(JSON.stringify(ofKind(synthChart(), 'PodDisruptionBudget')[0]));
    pdb.spec.minAvailable = 1;
    expect(pdbProblems([pdb])).toEqual([expect.stringContaining('sets both minAvailable and maxUnavailable')]);
    delete pdb.spec.selector;
    delete pdb.spec.minAvailable;
    pdb.spec.maxUnavailable = '150%';
    expect(pdbProblems([pdb])).toEqual([
      expect.stringContaining('neither a non-negative integer nor a percentage'),
      expect.stringContaining('empty selector'),
    ]);
  });

  test('bad labels and a selector that does not match the template are caught', () => {
    const sts = statefulSet();
    sts.metadata.labels['bad key!'] = 'x';
    sts.spec.template.metadata.labels['app.kubernetes.io/instance'] = 'other';
    sts.spec.template.spec.nodeSelector = { zone: '-bad-value-' };
    expect(labelProblems([sts])).toEqual([
      expect.stringContaining("label key 'bad key!'"),
      expect.stringContaining('nodeSelector: label \'zone\' value'),
      expect.stringContaining('selector does not match template labels'),
    ]);
  });
});
