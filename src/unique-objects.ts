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

/**
 * Every ApiObject that is the same Kubernetes object as an earlier one: one message per pair of
 * Charts (two releases with one name and namespace clash on every object: that is one mistake),
 * naming both Charts, the objects (the first few) and their construct paths.
 */
export function duplicateObjects(objects: ApiObject[]): string[] {
  const first = new Map<string, ApiObject>();
  const byCharts = new Map<string, Array<[ApiObject, ApiObject]>>();
  for (const c of objects) {
    const key = identity(c);
    const earlier = first.get(key);
    if (!earlier) {
      first.set(key, c);
      continue;
    }
    const charts = `${Chart.of(earlier).node.path}\0${Chart.of(c).node.path}`;
    byCharts.set(charts, [...(byCharts.get(charts) ?? []), [earlier, c]]);
  }
  return [...byCharts.values()].map((pairs) => {
    const [a, b] = pairs[0];
    const shown = pairs.slice(0, 3).map(([x, y]) => `${describe(y)} (${x.node.path} and ${y.node.path})`).join(', ');
    const more = pairs.length > 3 ? ` and ${pairs.length - 3} more` : '';
    const hint = pairs.every(([, y]) => y.kind === 'Namespace')
      ? 'emit the Namespace from one of them only (createNamespace: false on the others)'
      : 'give one of them another name or namespace';
    return `Chart '${Chart.of(a).node.path}' and Chart '${Chart.of(b).node.path}' both emit ${pairs.length === 1 ? 'the object' : `${pairs.length} objects`} ${shown}${more}; `
      + `applying both, the second replaces the first, and deleting either deletes it for both: ${hint}`;
  });
}

/**
 * The check's home: one per App, found with tryFindChild. cdk8s validates the whole App once per
 * Chart it synthesizes; an object's apiVersion, kind, namespace and name are fixed at construction,
 * so while the App holds the same objects the last answer stands (a walk instead of a recount).
 */
class UniqueObjects extends Construct {
  private lastObjects: IConstruct[] = [];
  private lastProblems: string[] = [];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.node.addValidation({ validate: () => this.validateApp() });
  }

  private validateApp(): string[] {
    const objects = this.node.root.node.findAll().filter((c) => c instanceof ApiObject);
    const same = objects.length === this.lastObjects.length && objects.every((o, i) => o === this.lastObjects[i]);
    if (!same) {
      this.lastObjects = objects;
      this.lastProblems = duplicateObjects(objects as ApiObject[]);
    }
    return this.lastProblems;
  }
}

/** Registers the App-wide check on the root of `scope` (the App), once. */
export function ensureUniqueObjectsCheck(scope: IConstruct): void {
  const root = scope.node.root as Construct;
  if (!root.node.tryFindChild(UNIQUE_OBJECTS_ID)) new UniqueObjects(root, UNIQUE_OBJECTS_ID);
}
