/**
 * The scripts the chart ships in its scripts ConfigMap run under busybox `sh` (alpine): they must
 * be clean POSIX sh for shellcheck (`shellcheck -s sh`, default checks, every severity), start
 * with `#!/bin/sh`, and carry no indentation leaked from template literals.
 *
 * Needs the shellcheck binary (Debian/Ubuntu: `apt-get install shellcheck`); without it the tests
 * fail, they are not skipped.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { RedisAuth, RedisSentinelChartProps } from '../src';
import { CUSTOM_PROPS } from './support/chart-variants';
import { KubeObject, find, synthChart } from './support/synth';

const SHELLCHECK = process.env.SHELLCHECK ?? 'shellcheck';

/** Runs shellcheck with the given extra arguments on a file in `dir`; throws when it cannot run. */
function runShellcheck(dir: string, fileName: string, format: string) {
  // --norc: no .shellcheckrc can silence checks. -S style: every severity counts.
  const run = spawnSync(SHELLCHECK, ['--norc', '-s', 'sh', '-S', 'style', '-f', format, fileName], { cwd: dir, encoding: 'utf8' });
  if (run.error) {
    const missing = (run.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing
      ? `shellcheck is not installed (no '${SHELLCHECK}' on PATH): install it (Debian/Ubuntu: apt-get install shellcheck) or set SHELLCHECK to its path`
      : `cannot run ${SHELLCHECK}: ${run.error.message}`);
  }
  // 0: no findings; 1: findings; anything else: shellcheck itself failed.
  if (run.status !== 0 && run.status !== 1) {
    throw new Error(`${SHELLCHECK} failed on ${fileName} (exit ${run.status ?? run.signal}): ${run.stderr}`);
  }
  return run;
}

/**
 * Runs `shellcheck -s sh` on one script (written to a temp file under its own name). Returns one
 * line per finding (`file:line:col: level SCxxxx: message`) and shellcheck's own report.
 */
function shellcheck(fileName: string, content: string): { findings: string[]; output: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'shellcheck-'));
  try {
    writeFileSync(path.join(dir, fileName), content);
    const json = runShellcheck(dir, fileName, 'json1');
    const { comments } = JSON.parse(json.stdout) as {
      comments: Array<{ file: string; line: number; column: number; level: string; code: number; message: string }>;
    };
    if (json.status === 1 && comments.length === 0) {
      throw new Error(`${SHELLCHECK} exited 1 on ${fileName} without findings:\n${json.stdout}${json.stderr}`);
    }
    const findings = comments.map((c) => `${c.file}:${c.line}:${c.column}: ${c.level} SC${c.code}: ${c.message}`);
    const output = findings.length > 0 ? runShellcheck(dir, fileName, 'tty').stdout : '';
    return { findings, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The scripts ConfigMap of a synthesized chart (`<name>-scripts`): file name to content. */
function scriptsOf(objects: KubeObject[], name: string): Record<string, string> {
  return find(objects, 'ConfigMap', `${name}-scripts`).data ?? {};
}

/** Every `<dir>/<file>.sh` path a container runs (command, args, probes, lifecycle hooks). */
function scriptPathsRun(objects: KubeObject[]): string[] {
  const paths = new Set<string>();
  const rec = (v: unknown) => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(/(?:^|\s)(\/[^\s'"]+\.sh)\b/g)) paths.add(m[1]);
    } else if (Array.isArray(v)) {
      v.forEach(rec);
    } else if (v && typeof v === 'object') {
      Object.values(v).forEach(rec);
    }
  };
  for (const o of objects.filter((x) => x.kind === 'StatefulSet')) rec([...o.spec.template.spec.containers, ...(o.spec.template.spec.initContainers ?? [])]);
  for (const o of objects.filter((x) => x.kind === 'CronJob')) rec(o.spec.jobTemplate.spec.template.spec.containers);
  return [...paths];
}

test('shellcheck is installed', () => {
  const run = spawnSync(SHELLCHECK, ['--version'], { encoding: 'utf8' });
  if (run.error || run.status !== 0) {
    throw new Error(`shellcheck is not installed or does not run ('${SHELLCHECK} --version': ${run.error?.message ?? run.stderr}): install it (Debian/Ubuntu: apt-get install shellcheck)`);
  }
  expect(run.stdout).toMatch(/version: \d+\.\d+/);
});

test('the shellcheck harness reports findings (a script with unquoted expansions fails)', () => {
  const { findings, output } = shellcheck('bad.sh', '#!/bin/sh\nfor f in $(ls $1); do echo $f; done\n');
  expect(findings.length).toBeGreaterThan(0);
  expect(output).toContain('SC2086');
  expect(shellcheck('good.sh', '#!/bin/sh\nset -eu\nprintf \'%s\\n\' "${1:-}"\n').findings).toEqual([]);
});

const CASES: Array<[string, RedisSentinelChartProps, string]> = [
  ['default chart', {}, 'redis'],
  ['backup on and a restore configured', { backup: {}, restore: { file: 'latest' } }, 'redis'],
  ['RedisAuth.none()', { auth: RedisAuth.none() }, 'redis'],
  ['customised chart (custom ports, master name, cluster domain, 5 sentinels, no auth)', CUSTOM_PROPS, CUSTOM_PROPS.name!],
];

describe.each(CASES)('%s', (label, props, name) => {
  // Synthesized while collecting tests, so that each script gets its own test.
  const objects = synthChart(props);
  const scripts = scriptsOf(objects, name);
  const fileNames = Object.keys(scripts).sort();

  test('the scripts ConfigMap holds every script a container runs', () => {
    expect(fileNames.length).toBeGreaterThan(0);
    const run = scriptPathsRun(objects);
    expect(run.length).toBeGreaterThan(0);
    for (const p of run) expect(fileNames).toContain(path.basename(p));
  });

  describe.each(fileNames)('%s', (fileName) => {
    const content = scripts[fileName];

    test('starts with #!/bin/sh and has no indentation leaked from template literals', () => {
      expect(content.split('\n')[0]).toBe('#!/bin/sh');
      const lines = content.split('\n');
      const tabbed = lines.map((l, i) => [i + 1, l] as const).filter(([, l]) => /^\t/.test(l));
      expect(tabbed).toEqual([]);
      // Template-literal indentation shifts every line; the script's own top level is at column 0.
      const nonEmpty = lines.filter((l) => l.trim() !== '');
      expect(Math.min(...nonEmpty.map((l) => l.length - l.trimStart().length))).toBe(0);
      expect(content).not.toMatch(/\r/);
      expect(content.endsWith('\n')).toBe(true);
    });

    test('shellcheck -s sh reports nothing', () => {
      const { findings, output } = shellcheck(fileName, content);
      if (findings.length > 0) {
        throw new Error(`shellcheck -s sh found ${findings.length} problem(s) in ${fileName} (${label}):\n${findings.join('\n')}\n\n${output}`);
      }
      expect(findings).toEqual([]);
    });
  });
});
