// Prints jest's totals as one plain line on stdout, `N passed, N failed[, N skipped]`, which CI reads
// (jest's own summary goes to stderr).
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    // A suite that fails to run (syntax error, failing beforeAll) has no failed tests of its own: count it.
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `${results.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : '');
    process.stdout.write(`\n${line}\n`);
  }
}
module.exports = SummaryReporter;
