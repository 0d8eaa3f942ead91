/**
 * Loading the library must not load cdk8s-plus-27's index (28 modules, about 20-35 ms of a cold synth:
 * README Performance): the L1 classes come from src/k8s.ts (cdk8s-plus-27/lib/imports/k8s), every other
 * import of cdk8s-plus-27 is `import type`, and connect() requires it only when a workload connects.
 * test/consumer.test.ts checks the same on the packed package at run time.
 */
import { readdirSync, readFileSync } from 'fs';
import { join, relative } from 'path';

const SRC = join(__dirname, '..', 'src');
// The example app is not library code (not in the package): it imports Cpu as users do.
const NOT_LIBRARY = new Set(['example.ts', 'main.ts', 'main-one-node.ts']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && !NOT_LIBRARY.has(e.name) ? [p] : [];
  });
}

test('library sources load cdk8s-plus-27 only through src/k8s.ts (its L1 module) or import types only', () => {
  const offending: string[] = [];
  for (const file of sources(SRC)) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      const runtimeImport = /^import (?!type )[^;]*from 'cdk8s-plus-27'/.test(line);
      const eagerRequire = /require\('cdk8s-plus-27'\)/.test(line) && !/^\s+const \w+: typeof \w+ = require\('cdk8s-plus-27'\);/.test(line);
      if (runtimeImport || eagerRequire) offending.push(`${relative(SRC, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  expect(offending).toEqual([]);
});
