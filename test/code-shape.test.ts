/**
 * The shape of the source a maintainer relies on: no function (or constructor, method, arrow
 * function) in src/ longer than 120 lines, and shell only as real .sh files under src/.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const SRC = path.join(__dirname, '..', 'src');
const MAX_LINES = 120;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.generated.ts') ? [p] : [];
  });
}

/** `file:line name (N lines)` for every function-like node longer than `max` lines. */
function longFunctions(file: string, max: number): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      if (end - start + 1 > max) {
        const name = (node as ts.FunctionLikeDeclaration).name?.getText(sf) ?? ts.SyntaxKind[node.kind];
        found.push(`${path.relative(SRC, file)}:${start + 1} ${name} (${end - start + 1} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

test(`no function in src/ is longer than ${MAX_LINES} lines`, () => {
  expect(sourceFiles(SRC).flatMap((f) => longFunctions(f, MAX_LINES))).toEqual([]);
});

test('the checker finds a long function (control)', () => {
  const tmp = fs.mkdtempSync(path.join(require('os').tmpdir(), 'shape-'));
  const file = path.join(tmp, 'long.ts');
  fs.writeFileSync(file, `export function long() {\n${'  void 0;\n'.repeat(MAX_LINES)}}\n`);
  expect(longFunctions(file, MAX_LINES)).toEqual([`${path.relative(SRC, file)}:1 long (${MAX_LINES + 2} lines)`]);
  fs.rmSync(tmp, { recursive: true });
});
