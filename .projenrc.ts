import { javascript, typescript } from 'projen';

// A plain TypeScript library (not jsii): see ../shared/TOOLCHAIN.md for why the
// cdk8s construct-library project type does not fit (forced src/imports, old cdk8s).
const project = new typescript.TypeScriptProject({
  name: 'cdk8s-redis-sentinel',
  description: 'cdk8s constructs that synthesize a production-grade Redis + Sentinel deployment (automatic failover) for Kubernetes',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  license: 'Apache-2.0',
  copyrightOwner: 'cdk8s-redis-sentinel authors',
  minNodeVersion: '20.0.0',

  // Keep the toolchain small and offline-friendly.
  github: false,
  release: false,
  eslint: false,
  prettier: false,
  buildWorkflow: false,
  depsUpgrade: false,
  pullRequestTemplate: false,
  // projen's own package artifacts must not land in dist/, which holds the committed manifests.
  artifactsDirectory: 'build/npm',

  typescriptVersion: '~5.6.3',
  peerDeps: ['cdk8s@^2.70.106', 'cdk8s-plus-27@^2.9.5', 'constructs@^10.8.1'],
  devDeps: [
    'cdk8s-cli@2.207.60',
    'fast-check@^4.10.0',
    // 4.x: the 5.x/6.x lines require Node >= 22.
    'kubernetes-models@4.5.1',
    '@kubernetes-models/prometheus-operator@4.4.4',
    'ioredis@^5.4.0',
    // Parses the committed multi-document YAML in tests.
    'yaml@^2.9.1',
  ],

  tsconfig: {
    compilerOptions: {
      rootDir: '.',
      outDir: 'lib',
      lib: ['es2022'],
      target: 'ES2022',
    },
    include: ['src/**/*.ts', 'imports/**/*.ts'],
  },
  tsconfigDev: {
    compilerOptions: {},
    include: ['src/**/*.ts', 'imports/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
  },

  jest: true,
  jestOptions: {
    // Never rewrite snapshots: run as `jest --ci`.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    junitReporting: false,
    jestConfig: {
      testTimeout: 120_000,
      collectCoverage: false,
      // Embeds src/scripts/*.sh before any test file loads, so `npx jest <file>` sees the current scripts.
      globalSetup: '<rootDir>/scripts/embed-shell.js',
    },
  },
});

// projen merges its own defaults into these; set them outright.
project.package.file.addOverride('jest.testMatch', ['<rootDir>/test/**/*.test.ts']);
// jest prints its summary on stderr; the summary reporter prints `N passed, N failed` on stdout for CI.
project.package.file.addOverride('jest.reporters', ['default', '<rootDir>/test/support/summary-reporter.js']);
project.testTask.reset('jest --ci', { receiveArgs: true });

project.package.addField('main', 'lib/src/index.js');
project.package.addField('types', 'lib/src/index.d.ts');
project.package.addField('files', ['lib/src/**/*.js', 'lib/src/**/*.d.ts', 'lib/imports/**/*.js', 'lib/imports/**/*.d.ts']);

// dist/ holds the committed manifests of the example app: track it.
project.gitignore.include('/dist/');
project.gitignore.exclude('/build/');
// The shell scripts' text, generated from src/scripts/*.sh (scripts/embed-shell.js).
project.gitignore.exclude('/src/scripts/*.generated.ts');
// Before tsc: the compiled library carries the scripts' text and reads no file at synth time.
project.preCompileTask.exec('node scripts/embed-shell.js');
project.npmignore?.exclude('/dist/', '/imports/*.ts', '/cdk8s.yaml', '/bench/', '/.ci/', '/scripts/');

// The example app: compile, then run the compiled JS (fast; no ts-node).
const synth = project.addTask('synth', {
  description: 'Synthesize the example app (src/main.ts) into dist/',
});
synth.spawn(project.preCompileTask);
synth.spawn(project.compileTask);
synth.exec('cdk8s synth --check-upgrade=false');

project.addTask('check-dist', {
  description: 'Fail when dist/ differs from a fresh synth',
  exec: 'jest --ci test/dist.test.ts',
});

project.addTask('import', {
  description: 'Regenerate imports/ from the prometheus-operator CRDs in ../shared/crds',
  exec: 'bash scripts/import-crds.sh',
});

// Runs the compiled lib/ (compile first); `npx projen bench --quick` passes the flag on (see bench/README.md).
project.addTask('bench', {
  description: 'Run the benchmarks and print a table',
  exec: 'node bench/run.js',
  receiveArgs: true,
});

project.synth();
