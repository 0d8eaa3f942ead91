// Prints jest's totals as one plain line on stdout, `N passed, N failed[, N skipped]`, which CI reads
// (jest's own summary goes to stderr). Before it, the slowest suites and tests, so a CI log tells
// where the run's time went (the e2e suites run one at a time, so theirs add up to most of it).
const path = require('path');

const SLOWEST = 30;

function timings(results, rootDir) {
  const rel = (f) => path.relative(rootDir, f);
  const suites = results.testResults
    .map((r) => ({ name: rel(r.testFilePath), s: (r.perfStats.end - r.perfStats.start) / 1000 }))
    .filter((x) => x.s > 0)
    .sort((a, b) => b.s - a.s);
  const tests = results.testResults
    .flatMap((r) => r.testResults.map((t) => ({ name: `${rel(r.testFilePath)} > ${t.title}`, s: (t.duration || 0) / 1000 })))
    .sort((a, b) => b.s - a.s);
  const row = (x) => `${x.s.toFixed(1).padStart(7)} s  ${x.name.slice(0, 160)}`;
  return [
    `slowest suites (of ${suites.length}; together ${suites.reduce((n, x) => n + x.s, 0).toFixed(0)} s):`,
    ...suites.slice(0, SLOWEST).map(row),
    `slowest tests (of ${tests.length}):`,
    ...tests.slice(0, SLOWEST).map(row),
  ].join('\n');
}

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = (globalConfig && globalConfig.rootDir) || process.cwd();
  }

  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    // A suite that fails to run (syntax error, failing beforeAll) has no failed tests of its own: count it.
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `${results.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : '');
    process.stdout.write(`\n${timings(results, this.rootDir)}\n\n${line}\n`);
  }
}
module.exports = SummaryReporter;
