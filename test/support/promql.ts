/**
 * A small PromQL reader for the tests: which metric names an alert or dashboard expression reads,
 * so they can be checked against what a real redis_exporter serves.
 */

/** Aggregation operators: followed by `(` or by `by`/`without`, never metric names. */
const AGGREGATIONS = new Set([
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile',
  'limitk', 'limit_ratio',
]);
/** Keywords followed by a parenthesized list of label names. */
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
/** Other keywords and literals that look like identifiers. */
const KEYWORDS = new Set(['bool', 'and', 'or', 'unless', 'offset', 'atan2', 'inf', 'nan']);

/**
 * The metric names a PromQL expression reads, sorted and unique. Ignores functions and
 * aggregations, keywords (by, on, without, ignoring, group_left, group_right, bool, and, or,
 * unless, offset), label names in `{}` and in label lists, quoted strings, durations in `[]` and
 * after `offset`, numbers, and Grafana variables (`$__rate_interval`, `$datasource`).
 */
export function metricNamesIn(expr: string): string[] {
  const names = new Set<string>();
  let i = 0;
  const n = expr.length;
  const skipSpace = () => {
    while (i < n && /\s/.test(expr[i])) i++;
  };
  const skipString = () => {
    const quote = expr[i++];
    while (i < n && expr[i] !== quote) i += expr[i] === '\\' && quote !== '`' ? 2 : 1;
    i++;
  };
  /** Skips a bracketed block (`{}`, `[]` or `()`), minding strings inside. */
  const skipBlock = (open: string, close: string) => {
    let depth = 0;
    while (i < n) {
      const c = expr[i];
      if (c === '"' || c === "'" || c === '`') {
        skipString();
        continue;
      }
      if (c === open) depth++;
      if (c === close) {
        depth--;
        if (depth === 0) {
          i++;
          return;
        }
      }
      i++;
    }
  };
  while (i < n) {
    const c = expr[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'" || c === '`') {
      skipString();
    } else if (c === '{') {
      skipBlock('{', '}');
    } else if (c === '[') {
      skipBlock('[', ']');
    } else if (c === '$') {
      // A Grafana variable.
      i++;
      while (i < n && /[A-Za-z0-9_{}]/.test(expr[i])) i++;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(expr[i + 1] ?? ''))) {
      // A number, hex number or duration (5m, 1h30m, 1e3, 0x1f).
      i++;
      while (i < n && /[0-9A-Za-z_.]/.test(expr[i])) {
        if ((expr[i] === 'e' || expr[i] === 'E') && /[+-]/.test(expr[i + 1] ?? '')) i++;
        i++;
      }
    } else if (/[A-Za-z_:]/.test(c)) {
      const start = i;
      while (i < n && /[A-Za-z0-9_:]/.test(expr[i])) i++;
      const word = expr.slice(start, i);
      const lower = word.toLowerCase();
      skipSpace();
      const next = expr[i];
      if (LABEL_LIST_KEYWORDS.has(lower)) {
        if (next === '(') skipBlock('(', ')');
      } else if (AGGREGATIONS.has(lower) || KEYWORDS.has(lower)) {
        // not a metric
      } else if (next === '(') {
        // a function call
      } else {
        names.add(word);
      }
    } else {
      i++;
    }
  }
  return [...names].sort();
}
