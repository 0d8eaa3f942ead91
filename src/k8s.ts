/**
 * The Kubernetes 1.27 L1 classes (`KubeStatefulSet`, `KubeService`, ...), the same module
 * cdk8s-plus-27 exports as `k8s`, loaded by its own path: `import { k8s } from 'cdk8s-plus-27'` would
 * also load the rest of cdk8s-plus-27 (28 more modules, about 20 ms of a cold synth; see README
 * Performance). Same classes, same objects: `instanceof k8s.KubeService` holds either way.
 * Every runtime use of cdk8s-plus-27 in src/ goes through here; other imports of it are `import type`
 * (test/load.test.ts fails when loading the library loads cdk8s-plus-27's index).
 */
export * from 'cdk8s-plus-27/lib/imports/k8s';
