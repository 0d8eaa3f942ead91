/**
 * One App-wide check, registered once per App by every {@link RedisSentinel}: no two ApiObjects of
 * any Charts in the App may be the same Kubernetes object (API group, kind, namespace, name), or the
 * second `kubectl apply` silently replaces the first (and deleting one release's file deletes the
 * other's object).
 */
import { ApiObject, Chart } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';

/** Construct id of the singleton under the App. */
export const UNIQUE_OBJECTS_ID = 'RedisSentinelUniqueObjects';

/** The identity of an object in a cluster: API group (not version), kind, namespace, name. */
function identity(o: ApiObject): string {
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  return `${group}|${o.kind}|${o.metadata.namespace ?? ''}|${o.name}`;
}

/** `Kind namespace/name` as kubectl shows it. */
function describe(o: ApiObject): string {
  const group = o.apiVersion.includes('/') ? `.${o.apiVersion.split('/')[0]}` : '';
  return `${o.kind}${group} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.name}`;
}

/** Every pair of ApiObjects under `root` that are the same Kubernetes object: one message each. */
export function duplicateObjects(root: IConstruct): string[] {
  const first = new Map<string, ApiObject>();
  const problems: string[] = [];
  for (const c of root.node.findAll()) {
    if (!(c instanceof ApiObject)) continue;
    const key = identity(c);
    const earlier = first.get(key);
    if (!earlier) {
      first.set(key, c);
      continue;
    }
    const hint = c.kind === 'Namespace'
      ? 'emit the Namespace from one of them only (createNamespace: false on the others)'
      : 'give one of them another name or namespace';
    problems.push(`${describe(c)} is emitted twice: by ${earlier.node.path} (Chart '${Chart.of(earlier).node.path}') and by ${c.node.path} (Chart '${Chart.of(c).node.path}'); `
      + `applying both files, the second replaces the first, and deleting either deletes it for both: ${hint}`);
  }
  return problems;
}

/** The check's home: one per App, found with tryFindChild. */
class UniqueObjects extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.node.addValidation({ validate: () => duplicateObjects(this.node.root) });
  }
}

/** Registers the App-wide check on the root of `scope` (the App), once. */
export function ensureUniqueObjectsCheck(scope: IConstruct): void {
  const root = scope.node.root as Construct;
  if (!root.node.tryFindChild(UNIQUE_OBJECTS_ID)) new UniqueObjects(root, UNIQUE_OBJECTS_ID);
}
