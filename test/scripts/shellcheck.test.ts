/**
 * The shell files of src/scripts run under busybox `sh` (alpine): shellcheck checks each FILE as
 * it is (`shellcheck -s sh -S style --norc -x`, every severity), following `lib.sh` beside it and a
 * rendered `constants.sh` (source path `-P SCRIPTDIR:<dir of a rendered constants.sh>`); the
 * rendered constants.sh of several chart variants is checked too. `busybox sh -n` and `bash -n`
 * parse every file.
 *
 * Needs the shellcheck binary (Debian/Ubuntu: `apt-get install shellcheck`); without it the tests
 * fail, they are not skipped.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { RedisAuth, RedisSentinelChartProps } from '../../src';
import { ENDPOINT_FILES } from '../../src/master-endpoint';
import { SCRIPT } from '../../src/settings';
import { CUSTOM_PROPS } from '../support/chart-variants';
import { KubeObject, find, synthChart } from '../support/synth';

const SHELLCHECK = process.env.SHELLCHECK ?? 'shellcheck';
const SCRIPTS_DIR = path.join(__dirname, '..', '..', 'src', 'scripts');
const SH_FILES = readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith('.sh')).sort();

/** Runs shellcheck on `file` with `-f format`, following sources beside it and in `sourcePath`; throws when it cannot run. */
function runShellcheck(file: string, format: string, sourcePath: string) {
  // --norc: no .shellcheckrc can silence checks. -S style: every severity counts. -x: follow `. lib.sh`.
  const args = ['--norc', '-s', 'sh', '-S', 'style', '-x', '-P', `SCRIPTDIR:${sourcePath}`, '-f', format, path.basename(file)];
  const run = spawnSync(SHELLCHECK, args, { cwd: path.dirname(file), encoding: 'utf8' });
  if (run.error) {
    const missing = (run.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing
      ? `shellcheck is not installed (no '${SHELLCHECK}' on PATH): install it (Debian/Ubuntu: apt-get install shellcheck) or set SHELLCHECK to its path`
      : `cannot run ${SHELLCHECK}: ${run.error.message}`);
  }
  // 0: no findings; 1: findings; anything else: shellcheck itself failed.
  if (run.status !== 0 && run.status !== 1) {
    throw new Error(`${SHELLCHECK} failed on ${file} (exit ${run.status ?? run.signal}): ${run.stderr}`);
  }
  return run;
}

/** One line per finding (`file:line:col: level SCxxxx: message`) and shellcheck's own report. */
function shellcheck(file: string, sourcePath: string): { findings: string[]; output: string } {
  const json = runShellcheck(file, 'json1', sourcePath);
  const { comments } = JSON.parse(json.stdout) as {
    comments: Array<{ file: string; line: number; column: number; level: string; code: number; message: string }>;
  };
  if (json.status === 1 && comments.length === 0) {
    throw new Error(`${SHELLCHECK} exited 1 on ${file} without findings:\n${json.stdout}${json.stderr}`);
  }
  const findings = comments.map((c) => `${c.file}:${c.line}:${c.column}: ${c.level} SC${c.code}: ${c.message}`);
  const output = findings.length > 0 ? runShellcheck(file, 'tty', sourcePath).stdout : '';
  return { findings, output };
}

function expectClean(file: string, sourcePath: string, label: string) {
  const { findings, output } = shellcheck(file, sourcePath);
  if (findings.length > 0) {
    throw new Error(`shellcheck -s sh found ${findings.length} problem(s) in ${label}:\n${findings.join('\n')}\n\n${output}`);
  }
  expect(findings).toEqual([]);
}

/** A temp directory holding one file. */
function withFile<T>(name: string, content: string, f: (file: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'shellcheck-'));
  try {
    writeFileSync(path.join(dir, name), content);
    return f(path.join(dir, name));
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

test('the shellcheck harness reports findings (unquoted expansions; a sourced file it cannot find)', () => {
  withFile('bad.sh', '#!/bin/sh\nfor f in $(ls $1); do echo $f; done\n', (f) => {
    const { findings, output } = shellcheck(f, path.dirname(f));
    expect(findings.length).toBeGreaterThan(0);
    expect(output).toContain('SC2086');
  });
  withFile('good.sh', '#!/bin/sh\nset -eu\nprintf \'%s\\n\' "${1:-}"\n', (f) => expect(shellcheck(f, path.dirname(f)).findings).toEqual([]));
  // Without the rendered constants.sh on the source path, lib.sh's `. constants.sh` is a finding.
  withFile('empty.sh', '', (f) => {
    expect(shellcheck(path.join(SCRIPTS_DIR, SCRIPT.lib), path.dirname(f)).findings.join('\n')).toMatch(/SC1091.*constants\.sh/);
  });
});

test('src/scripts holds lib.sh and every script of the ConfigMap, the master endpoint\'s start script, and nothing else', () => {
  expect(SH_FILES.filter((f) => !ENDPOINT_FILES.includes(f))).toEqual(Object.values(SCRIPT).filter((f) => f !== SCRIPT.constants).sort());
  expect(SH_FILES.filter((f) => ENDPOINT_FILES.includes(f))).toEqual(['endpoint-start.sh']);
});

describe.each(SH_FILES)('src/scripts/%s', (fileName) => {
  const file = path.join(SCRIPTS_DIR, fileName);
  const content = readFileSync(file, 'utf8');

  test('starts with #!/bin/sh (lib.sh, only sourced: # shellcheck shell=sh), no CR, ends with a newline', () => {
    expect(content.split('\n')[0]).toBe(fileName === SCRIPT.lib ? '# shellcheck shell=sh' : '#!/bin/sh');
    expect(content).not.toMatch(/\r/);
    expect(content.endsWith('\n')).toBe(true);
  });

  test('shellcheck -s sh -x reports nothing (following lib.sh and a rendered constants.sh)', () => {
    const objects = synthChart({ backup: {}, restore: { file: 'latest' } });
    withFile(SCRIPT.constants, scriptsOf(objects, 'redis')[SCRIPT.constants], (constants) => {
      expectClean(file, path.dirname(constants), `src/scripts/${fileName}`);
    });
  });

  test('busybox sh -n and bash -n parse it', () => {
    for (const [cmd, ...args] of [['busybox', 'sh', '-n'], ['bash', '-n']]) {
      const r = spawnSync(cmd, [...args, file], { encoding: 'utf8' });
      expect({ cmd, status: r.status, stderr: r.stderr }).toEqual({ cmd, status: 0, stderr: '' });
    }
  });
});

const CASES: Array<[string, RedisSentinelChartProps, string]> = [
  ['default chart', {}, 'redis'],
  ['backup on and a restore configured', { backup: {}, restore: { file: 'latest' } }, 'redis'],
  ['RedisAuth.none()', { auth: RedisAuth.none() }, 'redis'],
  ['customised chart (custom ports, master name, cluster domain, 5 sentinels, no auth)', CUSTOM_PROPS, CUSTOM_PROPS.name!],
];

describe.each(CASES)('%s', (label, props, name) => {
  const objects = synthChart(props);
  const scripts = scriptsOf(objects, name);

  test('the scripts ConfigMap holds every script a container runs, lib.sh and constants.sh', () => {
    const run = scriptPathsRun(objects);
    expect(run.length).toBeGreaterThan(0);
    for (const p of run) expect(Object.keys(scripts)).toContain(path.basename(p));
    expect(Object.keys(scripts)).toEqual(expect.arrayContaining([SCRIPT.lib, SCRIPT.constants]));
  });

  test('its constants.sh: shellcheck -s sh reports nothing', () => {
    withFile(SCRIPT.constants, scripts[SCRIPT.constants], (f) => expectClean(f, path.dirname(f), `constants.sh (${label})`));
  });
});
