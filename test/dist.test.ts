/**
 * dist/ is committed and applied with `kubectl apply -f dist/`: it must equal a fresh synth of the
 * example app (src/main.ts). Run `npx projen synth` and commit dist/ when this fails.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

test('dist/ equals a fresh synth of the example app', () => {
  const out = mkdtempSync(join(tmpdir(), 'synth-'));
  const previous = process.env.CDK8S_OUTDIR;
  try {
    process.env.CDK8S_OUTDIR = out;
    jest.isolateModules(() => {
      require('../src/main');
    });
    const dist = join(__dirname, '..', 'dist');
    const fresh = readdirSync(out).sort();
    expect(readdirSync(dist).sort()).toEqual(fresh);
    expect(fresh).toContain('redis-sentinel.k8s.yaml');
    for (const f of fresh) {
      expect(`${f}:\n${readFileSync(join(dist, f), 'utf8')}`).toBe(`${f}:\n${readFileSync(join(out, f), 'utf8')}`);
    }
  } finally {
    if (previous === undefined) delete process.env.CDK8S_OUTDIR;
    else process.env.CDK8S_OUTDIR = previous;
    rmSync(out, { recursive: true, force: true });
  }
});
