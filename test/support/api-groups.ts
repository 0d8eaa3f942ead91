/**
 * Which objects need a CustomResourceDefinition: decided by the API group of `apiVersion`, against
 * the explicit list of groups a Kubernetes API server serves itself (v1.30-1.32, GA and beta).
 * A suffix rule would be wrong both ways: `snapshot.storage.k8s.io` (VolumeSnapshot) and
 * `gateway.networking.k8s.io` are CRDs although they end in `k8s.io`.
 */
export const BUILT_IN_API_GROUPS: readonly string[] = [
  '', // the core group: apiVersion `v1`
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'apps',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'internal.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
  'storagemigration.k8s.io',
];

/** The API group of an apiVersion: `apps/v1` -> `apps`, `v1` -> `` (core). */
export function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** True when the object's kind comes from a CRD (its group is not one the API server serves itself). */
export function needsCrd(o: { apiVersion: string }): boolean {
  return !BUILT_IN_API_GROUPS.includes(apiGroup(o.apiVersion));
}
