/**
 * The scripts ship inside the compiled library: scripts/embed-shell.js turns src/scripts/*.sh into
 * src/scripts/embedded.generated.ts (jest's globalSetup runs it, so this checks the current files),
 * and synthesizing reads no script from disk (as when installed from npm, or bundled by esbuild).
 */
import * as fs from 'fs';
import { join } from 'path';
import { ENDPOINT_FILES } from '../../src/master-endpoint';
import { SHELL_FILES } from '../../src/scripts/embedded.generated';

const DIR = join(__dirname, '..', '..', 'src', 'scripts');

it('holds every src/scripts/*.sh and *.lua file, as it is on disk', () => {
  const onDisk = fs.readdirSync(DIR).filter((f) => f.endsWith('.sh') || f.endsWith('.lua')).sort();
  expect(Object.keys(SHELL_FILES).sort()).toEqual(onDisk);
  for (const f of onDisk) expect({ f, text: SHELL_FILES[f] }).toEqual({ f, text: fs.readFileSync(join(DIR, f), 'utf8') });
});

it('synthesizing a chart reads no .sh file', () => {
  // The fs module object itself (the library's `import ... from 'fs'` reads its properties at call time).
  const nodeFs: Record<string, any> = require('fs');
  const reads: string[] = [];
  const real: Record<string, any> = {};
  for (const name of ['readFileSync', 'openSync', 'existsSync', 'statSync', 'readFile', 'createReadStream']) {
    real[name] = nodeFs[name];
    nodeFs[name] = (p: unknown, ...rest: unknown[]) => {
      if (String(p).endsWith('.sh')) {
        reads.push(`${name}(${String(p)})`);
        throw new Error(`${name}(${String(p)}): the library must not read scripts at synth time`);
      }
      return real[name](p, ...rest);
    };
  }
  try {
    jest.isolateModules(() => {
      // A fresh copy of the library, loaded under the guard.
      const { synthChart, find } = require('../support/synth');
      const objects = synthChart({ backup: {}, restore: { file: 'latest' }, masterEndpoint: {}, tls: {} });
      const data = find(objects, 'ConfigMap', 'redis-scripts').data;
      const endpoint = find(objects, 'ConfigMap', 'redis-proxy').data;
      // The master endpoint's files (the Lua fence, its TLS start script) go to its own ConfigMap.
      for (const [f, text] of Object.entries(SHELL_FILES)) expect((ENDPOINT_FILES.includes(f) ? endpoint : data)[f]).toBe(text);
    });
  } finally {
    Object.assign(nodeFs, real);
  }
  expect(reads).toEqual([]);
});
