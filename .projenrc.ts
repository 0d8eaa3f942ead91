import { javascript, typescript } from 'projen';

const REPOSITORY_URL = 'https://example.invalid/cdk8s-redis-sentinel.git';

// The package version, set by hand with each entry of CHANGELOG.md (its policy: semver, 0.x while the
// API is experimental, so a minor bump may break). projen's own release flow (version from git tags,
// bumped by a release workflow) needs the GitHub workflows this project turns off; without it projen
// writes 0.0.0, which npm and Construct Hub read as "nothing released".
const VERSION = '0.1.0';

// A plain TypeScript project compiled by jsii (see ../shared/TOOLCHAIN.md for why projen's
// cdk8s construct-library project type does not fit: forced src/imports, old cdk8s). jsii compiles
// with the tsconfig.json below (`jsii.tsconfig`), so src/ and the generated imports/ both land in lib/.
const project = new typescript.TypeScriptProject({
  name: 'cdk8s-redis-sentinel',
  description: 'cdk8s constructs that synthesize a production-grade Redis + Sentinel deployment (automatic failover) for Kubernetes',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  license: 'Apache-2.0',
  copyrightOwner: 'cdk8s-redis-sentinel authors',
  // jsii requires author and repository.
  authorName: 'cdk8s-redis-sentinel authors',
  authorOrganization: false,
  // Placeholder until the project has a public home: jsii needs a repository URL, Construct Hub
  // and the Go/Java targets need the real one.
  repository: REPOSITORY_URL,
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
    '@kubernetes-models/cert-manager@4.4.4',
    'ioredis@^5.4.0',
    // A local S3-compatible server for the S3 backup tests (test/support/s3-server.js).
    's3rver@3.7.1',
    // Parses the committed multi-document YAML in tests.
    'yaml@^2.9.1',
    // jsii toolchain (exact versions): compile, Python/Java/Go/.NET bindings, API.md.
    'jsii@6.0.16',
    'jsii-pacmak@1.140.0',
    'jsii-docgen@10.12.6',
    // peer dependency of jsii-docgen and jsii-pacmak (same 6.0 line as jsii).
    'jsii-rosetta@6.0.17',
  ],

  // Also jsii's tsconfig (validated against jsii's "strict" rule set): both compilers see one config.
  tsconfig: {
    compilerOptions: {
      rootDir: '.',
      outDir: 'lib',
      lib: ['es2022'],
      target: 'es2022',
      // jsii's strict rule set: no stripInternal, no emit on error, skipLibCheck.
      stripInternal: false,
      noEmitOnError: true,
      skipLibCheck: true,
      // No source maps in lib/ (projen's default inlines them, with the sources, into every .js
      // file of the package): the ES2022 output is the source minus its types.
      inlineSourceMap: false,
      inlineSources: false,
      // The library compiles without jest's globals; the tests' tsconfig adds them.
      types: ['node'],
    },
    include: ['src/**/*.ts', 'imports/**/*.ts'],
  },
  tsconfigDev: {
    compilerOptions: {
      types: ['jest', 'node'],
    },
    include: ['src/**/*.ts', 'imports/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    // test/consumer/ (paths here are relative to test/): the consumer app imports the package by name;
    // test/consumer.test.ts compiles it against the packed tarball.
    exclude: ['consumer'],
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

project.package.addField('version', VERSION);
project.package.addField('main', 'lib/src/index.js');
project.package.addField('types', 'lib/src/index.d.ts');
project.package.addField('stability', 'experimental');
// jsii: compiles with tsconfig.json (src/** and imports/** into lib/), writes the assembly `.jsii`
// (shipped: Construct Hub and jsii-pacmak read it). `outdir` is where `jsii-pacmak` puts packages
// by default: not dist/, which holds the committed manifests.
project.package.addField('jsii', {
  outdir: 'build/jsii',
  tsconfig: 'tsconfig.json',
  validateTsconfig: 'strict',
  versionFormat: 'full',
  targets: {
    python: {
      distName: 'cdk8s-redis-sentinel',
      module: 'cdk8s_redis_sentinel',
    },
  },
});
project.compileTask.reset('jsii --silence-warnings=reserved-word');
project.tasks.tryFind('watch')?.reset('jsii --watch --silence-warnings=reserved-word');
project.gitignore.exclude('/.jsii');
project.package.addField('files', [
  'lib/src/**/*.js', 'lib/src/**/*.d.ts', 'lib/imports/**/*.js', 'lib/imports/**/*.d.ts',
  // The example app synthesizes on load (main) and is not library code (example).
  '!lib/src/main.*', '!lib/src/main-one-node.*', '!lib/src/example.*',
  // The jsii assembly: Construct Hub and the jsii runtimes of other languages read it.
  '.jsii',
  // npm ships README and LICENSE by itself, not the changelog.
  'CHANGELOG.md',
]);

// dist/ holds the committed manifests of the example app: track it.
project.gitignore.include('/dist/');
project.gitignore.exclude('/build/');
// A worktree's node_modules is a symlink to the main checkout's, which `node_modules/` does not match.
project.gitignore.exclude('/node_modules');
// The shell scripts' text, generated from src/scripts/*.sh (scripts/embed-shell.js).
project.gitignore.exclude('/src/scripts/*.generated.ts');
// Before tsc: the compiled library carries the scripts' text and reads no file at synth time.
project.preCompileTask.exec('node scripts/embed-shell.js');
project.npmignore?.exclude('/dist/', '/examples/', '/imports/*.ts', '/cdk8s.yaml', '/bench/', '/.ci/', '/scripts/');

// API.md: the API reference jsii-docgen writes from the assembly (compile first); test/jsii.test.ts
// fails when it is stale.
project.addTask('docgen', {
  description: 'Write API.md from the jsii assembly (run compile first)',
  exec: 'jsii-docgen -o API.md',
});

// The Python bindings, generated (not built: no Python packaging toolchain needed) into build/, and
// byte-compiled as a syntax check. Java, Go and .NET need names of the project's public home first.
const packagePython = project.addTask('package:python', {
  description: 'Generate the Python bindings into build/pacmak/python and byte-compile them (run compile first)',
});
packagePython.exec('jsii-pacmak --code-only --targets python -o build/pacmak');
packagePython.exec("find build/pacmak/python -name '*.py' -print0 | xargs -0 python3 -m py_compile");

// The fast tier: everything but the end-to-end suites (which need root); `npm test` runs everything.
project.addTask('test:fast', {
  description: 'Unit, snapshot, schema, shellcheck, jsii and loopback tests: everything but test/e2e (no root)',
  exec: 'jest --ci --testPathIgnorePatterns=/node_modules/ --testPathIgnorePatterns=/test/e2e/',
  receiveArgs: true,
});

// The example app: compile, then run the compiled JS (fast; no ts-node). The one-node and secure examples
// go to examples/, outside dist/ so that `kubectl apply -f dist/` never applies them.
const synth = project.addTask('synth', {
  description: 'Synthesize the example app (src/main.ts: the example, its monitoring and the secure example) into dist/ and the one-node example (src/main-one-node.ts) into examples/one-node/',
});
synth.spawn(project.preCompileTask);
synth.spawn(project.compileTask);
synth.exec('cdk8s synth --check-upgrade=false');
synth.exec('node lib/src/main-one-node.js');

project.addTask('check-dist', {
  description: 'Fail when dist/ or examples/ differs from a fresh synth',
  exec: 'jest --ci test/dist.test.ts',
});

// docs/topology.svg: the picture of what the example deploys, drawn from dist/ by graphviz (test/topology.test.ts
// fails when it is stale).
const topology = project.addTask('topology', {
  description: 'Synthesize, then draw docs/topology.svg from dist/ (needs graphviz: scripts/install-test-deps.sh)',
});
topology.spawn(synth);
topology.exec('node scripts/topology.js --in dist --namespace redis --out docs/topology.svg');

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
