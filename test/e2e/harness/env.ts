/**
 * Container environment as the kubelet builds it: image ENV, `envFrom`, then `env` in order, each value
 * `$(VAR)`-expanded against the variables defined before it; `valueFrom` from Secrets, ConfigMaps,
 * the downward API (fieldRef, resourceFieldRef). Command and args are expanded against the result.
 */
import { cpus, totalmem } from 'os';
import { parseQuantity } from './selectors';
import { Container, EnvVar, KubeObject, Labels } from './types';

/** Kubernetes' `$(VAR)` expansion: `$$` is a literal `$`; an undefined `$(VAR)` stays as written. */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const n = input[i + 1];
    if (n === '$') {
      out += '$';
      i++;
    } else if (n === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const v = lookup(name);
      out += v === undefined ? `$(${name})` : v;
      i = close;
    } else {
      out += c + n;
      i++;
    }
  }
  return out;
}

/** What the downward API and key references need to know about the pod. */
export interface PodFacts {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly labels: Labels;
  readonly annotations: Record<string, string>;
  readonly podIp: string;
  readonly nodeName: string;
  readonly hostIp: string;
  readonly serviceAccountName: string;
  /** Looks up a Secret or ConfigMap in the pod's namespace. */
  readonly object: (kind: 'Secret' | 'ConfigMap', name: string) => KubeObject | undefined;
}

/** The value of a Secret (`data` is base64; `stringData` as the API server merges it) or ConfigMap key. */
export function keyOf(obj: KubeObject | undefined, key: string): string | undefined {
  if (!obj) return undefined;
  if (obj.kind === 'Secret') {
    if (obj.stringData && key in obj.stringData) return String(obj.stringData[key]);
    if (obj.data && key in obj.data) return Buffer.from(String(obj.data[key]), 'base64').toString();
    return undefined;
  }
  if (obj.data && key in obj.data) return String(obj.data[key]);
  if (obj.binaryData && key in obj.binaryData) return Buffer.from(String(obj.binaryData[key]), 'base64').toString();
  return undefined;
}

function fieldRef(path: string, p: PodFacts): string {
  const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (sub) return (sub[1] === 'labels' ? p.labels : p.annotations)[sub[2]] ?? '';
  switch (path) {
    case 'metadata.name': return p.name;
    case 'metadata.namespace': return p.namespace;
    case 'metadata.uid': return p.uid;
    case 'spec.nodeName': return p.nodeName;
    case 'spec.serviceAccountName': return p.serviceAccountName;
    case 'status.podIP': case 'status.podIPs': return p.podIp;
    case 'status.hostIP': case 'status.hostIPs': return p.hostIp;
    default: throw new Error(`fieldRef ${path} is not supported by the e2e harness`);
  }
}

function resourceField(ref: NonNullable<EnvVar['valueFrom']>['resourceFieldRef'], c: Container): string {
  const [kind, res] = ref!.resource.split('.');
  const raw = (kind === 'limits' ? c.resources?.limits : c.resources?.requests)?.[res];
  let value: number;
  if (raw !== undefined) value = parseQuantity(raw);
  else if (res === 'memory') value = kind === 'limits' ? totalmem() : 0;
  else if (res === 'cpu') value = kind === 'limits' ? cpus().length : 0;
  else value = 0;
  const divisor = ref!.divisor === undefined ? 1 : parseQuantity(ref!.divisor);
  return String(Math.ceil(value / divisor));
}

/**
 * Resolves a container's environment. Returns the variables in order (image ENV first) and the lookup that
 * command and args are expanded with.
 * Throws like the kubelet's CreateContainerConfigError when a required key is missing.
 */
export function containerEnv(c: Container, p: PodFacts, imageEnv: Record<string, string>): { env: Array<[string, string]>; lookup: (n: string) => string | undefined } {
  const vars = new Map<string, string>(Object.entries(imageEnv));
  // The kubelet does not know the image's ENV: $(VAR) sees only variables of the pod spec.
  const defined = new Map<string, string>();
  for (const src of c.envFrom ?? []) {
    const ref = src.configMapRef ?? src.secretRef;
    if (!ref) continue;
    const kind = src.configMapRef ? 'ConfigMap' : 'Secret';
    const obj = p.object(kind, ref.name);
    if (!obj) {
      if (ref.optional) continue;
      throw new Error(`CreateContainerConfigError: ${kind.toLowerCase()} "${ref.name}" not found (envFrom)`);
    }
    for (const k of Object.keys({ ...(obj.data ?? {}), ...(obj.stringData ?? {}) })) {
      const v = keyOf(obj, k)!;
      defined.set(`${src.prefix ?? ''}${k}`, v);
      vars.set(`${src.prefix ?? ''}${k}`, v);
    }
  }
  for (const e of c.env ?? []) {
    let v: string;
    if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) v = fieldRef(vf.fieldRef.fieldPath, p);
      else if (vf.resourceFieldRef) v = resourceField(vf.resourceFieldRef, c);
      else if (vf.secretKeyRef || vf.configMapKeyRef) {
        const ref = (vf.secretKeyRef ?? vf.configMapKeyRef)!;
        const kind = vf.secretKeyRef ? 'Secret' : 'ConfigMap';
        const found = keyOf(p.object(kind, ref.name), ref.key);
        if (found === undefined) {
          if (ref.optional) continue;
          throw new Error(`CreateContainerConfigError: ${kind.toLowerCase()} "${ref.name}" key "${ref.key}" not found (env ${e.name})`);
        }
        v = found;
      } else throw new Error(`env ${e.name}: unsupported valueFrom`);
    } else {
      // Only variables defined before this one (and the image's) are visible to $(...).
      v = expand(e.value ?? '', (n) => defined.get(n));
    }
    defined.set(e.name, v);
    vars.set(e.name, v);
  }
  return { env: [...vars.entries()], lookup: (n) => defined.get(n) };
}
