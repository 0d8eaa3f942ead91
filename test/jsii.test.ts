/**
 * The jsii build, which lets Python, Java, Go and .NET (and Construct Hub) use the library:
 * the public API compiles with jsii, API.md is what jsii-docgen writes from that assembly, and the
 * Python bindings generate and byte-compile.
 *
 * Runs the project's own tasks (`compile`, `docgen`, `package:python`, as .projen/tasks.json has
 * them) in a copy of the package in a temporary directory, so the work tree's lib/, .jsii and
 * API.md are left alone.
 */
import { spawnSync } from 'child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const ROOT = join(__dirname, '..');
const TASKS = JSON.parse(readFileSync(join(ROOT, '.projen', 'tasks.json'), 'utf8')).tasks;

let dir: string;

/** Runs one projen task's exec steps with sh, as projen does, in the copy. */
function runTask(name: string): { ok: boolean; output: string } {
  let output = '';
  for (const step of TASKS[name].steps) {
    if (step.exec === undefined) throw new Error(`task ${name}: only exec steps are supported here`);
    const run = spawnSync('sh', ['-c', step.exec], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` },
    });
    output += `$ ${step.exec}\n${run.stdout}${run.stderr}`;
    if (run.status !== 0) return { ok: false, output };
  }
  return { ok: true, output };
}

let compiled: { ok: boolean; output: string };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jsii-'));
  for (const f of ['package.json', 'tsconfig.json', 'README.md', 'LICENSE', 'src', 'imports']) {
    cpSync(join(ROOT, f), join(dir, f), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  compiled = runTask('compile');
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the public API compiles with jsii (npx projen compile)', () => {
  if (!compiled.ok) throw new Error(`jsii failed:\n${compiled.output}`);
  expect(existsSync(join(dir, '.jsii'))).toBe(true);
});

test('API.md equals jsii-docgen of the assembly', () => {
  if (!compiled.ok) throw new Error('jsii failed (see the test above)');
  const docgen = runTask('docgen');
  if (!docgen.ok) throw new Error(`jsii-docgen failed:\n${docgen.output}`);
  const fresh = readFileSync(join(dir, 'API.md'), 'utf8');
  const committed = existsSync(join(ROOT, 'API.md')) ? readFileSync(join(ROOT, 'API.md'), 'utf8') : '';
  if (committed !== fresh) {
    const a = committed.split('\n');
    const b = fresh.split('\n');
    let line = 0;
    while (line < a.length && a[line] === b[line]) line++;
    throw new Error(`API.md is stale (first difference at line ${line + 1}: ${JSON.stringify(a[line] ?? '<end of file>')}, `
      + `jsii-docgen writes ${JSON.stringify(b[line] ?? '<end of file>')}): run \`npx projen compile && npx projen docgen\` and commit API.md`);
  }
});

test('the Python bindings generate and byte-compile (npx projen package:python)', () => {
  if (!compiled.ok) throw new Error('jsii failed (see the test above)');
  const pacmak = runTask('package:python');
  if (!pacmak.ok) throw new Error(`package:python failed:\n${pacmak.output}`);
  const pkg = join(dir, 'build', 'pacmak', 'python', 'src', 'cdk8s_redis_sentinel');
  expect(readdirSync(pkg)).toContain('__init__.py');
  // The bindings name the constructs users instantiate and the option structs they pass.
  const init = readFileSync(join(pkg, '__init__.py'), 'utf8');
  for (const cls of ['RedisSentinel', 'RedisSentinelChart', 'RedisBackup', 'RedisMonitoring', 'BackupOptions', 'MonitoringOptions', 'RedisAuth', 'AclOptions', 'AclUser']) {
    expect(init).toMatch(new RegExp(`^class ${cls}\\b`, "m"));
  }
  // The option objects are keyword arguments, as Python users expect (jsii orders them by name).
  expect(init).toMatch(/def __init__\(\s*self,\s*scope: "_constructs_77d1e7e8\.Construct",\s*id: builtins\.str,\s*\*,\s*acl:[^)]*\ballow_minority_quorum:/);
});
