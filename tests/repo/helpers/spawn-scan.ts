/**
 * Finds the programs the repo's code starts, by reading it: TypeScript's
 * parser, no type checker, so it is quick and reads .mjs scripts too.
 *
 * A spawn site is a call of child_process's spawn, spawnSync, execFile,
 * execFileSync, exec or execSync (or execa's), of a `promisify()` of one, of a
 * helper that passes one of its parameters on as the program (found by itself:
 * `xrun(display, cmd, args)` in tests/host/helpers/xvfb.ts, `startChild` in
 * bench/lib/proc.ts, ...), or a Playwright `executablePath:`. The program is
 * followed through string literals, constants (also imported ones), `a ? b : c`,
 * `override ?? 'default'`, array destructuring and `sh -c '...'` scripts. What
 * it cannot follow is reported as unresolved, never dropped, so a new kind of
 * spawn shows up instead of slipping through.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import ts from 'typescript';

/** A source file, its path relative to the repo root with `/` separators. */
export interface SourceText {
  path: string;
  text: string;
}

/** A program started at `file:line`, by `via` (spawn, xrun, a shell script, ...). */
export interface SpawnSite {
  file: string;
  line: number;
  via: string;
  /** A program name (the basename of a path), or `process.execPath`. */
  program: string;
}

/** A spawn site whose program the scanner could not follow. */
export interface UnresolvedSite {
  file: string;
  line: number;
  via: string;
  /** The source text of what it could not follow. */
  expression: string;
}

export interface ScanResult {
  sites: SpawnSite[];
  unresolved: UnresolvedSite[];
}

/** The folders whose code starts programs. */
export const SCANNED_DIRS = ['src', 'tests', 'bench', 'scripts'];
const SOURCE_FILE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
const SKIPPED_DIRS = new Set(['node_modules', 'tmp', 'dist']);
/** Deeper than this, a chain of constants and re-exports is given up on (and reported). */
const MAX_DEPTH = 24;

/** 'argv': the program is an argument; 'shell': the argument is a shell command line. */
type Kind = 'argv' | 'shell';

const SPAWN_FUNCTIONS = new Map<string, Kind>(Object.entries({
  spawn: 'argv',
  spawnSync: 'argv',
  execFile: 'argv',
  execFileSync: 'argv',
  exec: 'shell',
  execSync: 'shell',
  execa: 'argv',
  execaSync: 'argv',
  execaCommand: 'shell',
  execaCommandSync: 'shell',
  // fork() is left out on purpose: it always runs process.execPath.
} satisfies Record<string, Kind>));
const CHILD_PROCESS = /^(node:)?child_process$/;
const SHELLS = new Set(['sh', 'bash', 'dash']);
/** Words a shell runs itself (dash and bash both): not programs. */
const SHELL_BUILTINS = new Set([':', '.', '[', 'true', 'false', 'cd', 'echo', 'printf', 'exit', 'export', 'set', 'unset', 'shift', 'test', 'read', 'ulimit', 'umask', 'wait', 'kill', 'trap', 'command', 'type', 'local', 'return', 'eval', 'break', 'continue']);
/** Words before the command of a shell clause. */
const SHELL_PREFIXES = new Set(['do', 'then', 'else', 'elif', 'while', 'until', 'if', '!', '{', '(', 'exec']);
/** Clauses that run nothing themselves. */
const SHELL_SKIPPED = new Set(['for', 'case', 'done', 'fi', 'esac', '}', ')']);
/** Stands for a `${...}` in a template literal. */
const HOLE = '\u0000';

interface Parsed {
  path: string;
  sf: ts.SourceFile;
}

/** What an identifier is bound to. */
type Decl =
  | { kind: 'var'; decl: ts.VariableDeclaration; file: Parsed; index?: number }
  | { kind: 'param'; fn: ts.SignatureDeclaration; index: number; file: Parsed }
  | { kind: 'function'; node: ts.FunctionDeclaration; file: Parsed }
  | { kind: 'import'; module: string }
  | { kind: 'other' };

interface Param {
  fn: ts.SignatureDeclaration;
  index: number;
  file: Parsed;
}

/** The possible programs of an expression. */
interface Outcome {
  programs: string[];
  params: Param[];
  unknown: string[];
}

interface Helper {
  name: string;
  kind: Kind;
  programIndex: number;
  argsIndex: number | undefined;
}

interface Located {
  node: ts.Expression;
  file: Parsed;
}

const none = (): Outcome => ({ programs: [], params: [], unknown: [] });
const unknown = (text: string): Outcome => ({ programs: [], params: [], unknown: [text] });
const merge = (...all: Outcome[]): Outcome => ({
  programs: all.flatMap((o) => o.programs),
  params: all.flatMap((o) => o.params),
  unknown: all.flatMap((o) => o.unknown),
});

function skipOuter(e: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isNonNullExpression(e) || ts.isSatisfiesExpression(e) || ts.isTypeAssertionExpression(e)) e = e.expression;
  return e;
}

function scriptKind(path: string): ts.ScriptKind {
  if (path.endsWith('.tsx')) return ts.ScriptKind.TSX;
  return /\.[mc]?js$/.test(path) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
}

function bindsName(name: ts.BindingName, wanted: string): boolean {
  if (ts.isIdentifier(name)) return name.text === wanted;
  return name.elements.some((el) => !ts.isOmittedExpression(el) && bindsName(el.name, wanted));
}

function isExported(s: ts.Statement): boolean {
  return ts.canHaveModifiers(s) && (ts.getModifiers(s) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

/** The name a helper function is called by, if it has one. */
function functionName(fn: ts.SignatureDeclaration): { name: string; key: ts.Node } | undefined {
  if (ts.isFunctionDeclaration(fn) && fn.name) return { name: fn.name.text, key: fn };
  if ((ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) && ts.isVariableDeclaration(fn.parent) && ts.isIdentifier(fn.parent.name)) return { name: fn.parent.name.text, key: fn.parent };
  return undefined;
}

class Scanner {
  private readonly texts = new Map<string, string>();
  /** Parsed on first use: parsing every file costs seconds, and most start nothing. */
  private readonly parsed = new Map<string, Parsed>();
  /** Helper functions, by their FunctionDeclaration or VariableDeclaration. */
  private readonly helpers = new Map<ts.Node, Helper>();
  private sites: SpawnSite[] = [];
  private unresolved: UnresolvedSite[] = [];

  constructor(sources: SourceText[]) {
    for (const { path, text } of sources) this.texts.set(path, text);
  }

  scan(): ScanResult {
    // A helper found late (its callers were read first) needs another pass; a chain of n helpers settles in n + 1.
    for (let size = -1; size !== this.helpers.size; ) {
      size = this.helpers.size;
      this.sites = [];
      this.unresolved = [];
      // Only a file naming a spawn function (not as a method: `/re/.exec()`), child_process or `executablePath`,
      // or calling a helper, can hold a site (see callee()).
      const word = (names: string[]) => names.map((n) => n.replace(/[$]/g, '\\$&')).join('|');
      const helperNames = [...this.helpers.values()].map((h) => h.name);
      const called = helperNames.length > 0 ? `|(?<![\\w$#])(${word(helperNames)})\\s*(\\(|<|\\?\\.)` : '';
      const candidate = new RegExp(`(?<![.\\w$#])(${word([...SPAWN_FUNCTIONS.keys(), 'child_process', 'executablePath'])})(?![\\w$])${called}`);
      for (const [path, text] of this.texts) {
        if (!candidate.test(text)) continue;
        const file = this.file(path)!;
        this.visit(file.sf, file);
      }
    }
    return { sites: this.sites, unresolved: this.unresolved };
  }

  private file(path: string): Parsed | undefined {
    let file = this.parsed.get(path);
    const text = this.texts.get(path);
    if (!file && text !== undefined) {
      file = { path, sf: ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, scriptKind(path)) };
      this.parsed.set(path, file);
    }
    return file;
  }

  private visit(node: ts.Node, file: Parsed): void {
    if (ts.isCallExpression(node)) this.call(node, file);
    if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && node.name.text === 'executablePath') this.executablePath(node.initializer, node, file);
    if (ts.isShorthandPropertyAssignment(node) && node.name.text === 'executablePath') this.executablePath(node.name, node, file);
    ts.forEachChild(node, (child) => this.visit(child, file));
  }

  private line(node: ts.Node, file: Parsed): number {
    return file.sf.getLineAndCharacterOfPosition(node.getStart(file.sf)).line + 1;
  }

  private record(outcome: Outcome, at: ts.Node, file: Parsed, via: string): void {
    const line = this.line(at, file);
    for (const p of outcome.programs) this.sites.push({ file: file.path, line, via, program: p === 'process.execPath' ? p : posix.basename(p) });
    for (const expression of outcome.unknown) this.unresolved.push({ file: file.path, line, via, expression });
  }

  private executablePath(value: ts.Expression, at: ts.Node, file: Parsed): void {
    const outcome = this.program(value, file, 0);
    // A launcher taking the path as a parameter is not followed to its callers (none does so yet).
    const params = outcome.params.map((p) => `${p.fn.parameters[p.index]!.name.getText(p.file.sf)} (a parameter)`);
    this.record({ ...outcome, unknown: [...outcome.unknown, ...params] }, at, file, 'executablePath');
  }

  private call(call: ts.CallExpression, file: Parsed): void {
    const how = this.callee(call, file);
    if (!how) return;
    const programArg = call.arguments[how.programIndex];
    if (!programArg || ts.isSpreadElement(programArg)) {
      if (call.arguments.some(ts.isSpreadElement)) this.record(unknown(call.getText(file.sf)), call, file, how.via);
      return;
    }
    if (how.kind === 'shell') {
      const outcome = this.shellOutcome(programArg, file, () => none());
      this.record(outcome, call, file, how.via);
      this.registerHelpers(outcome.params, 'shell', undefined, call, file);
      return;
    }
    const outcome = this.program(programArg, file, 0);
    this.record(outcome, call, file, how.via);
    const argsArg = how.argsIndex === undefined ? undefined : call.arguments[how.argsIndex];
    this.registerHelpers(outcome.params, 'argv', argsArg, call, file);
    // `sh -c 'script' $0 $1 ...`: the script's commands are started too.
    if (argsArg && outcome.programs.some((p) => SHELLS.has(posix.basename(p)))) {
      const flag = this.elementAt(argsArg, file, 0, 0);
      const isDashC = flag.some((f) => typeof f !== 'string' && ts.isStringLiteralLike(skipOuter(f.node)) && (skipOuter(f.node) as ts.StringLiteralLike).text === '-c');
      if (isDashC) {
        const positional = (n: number) => merge(...this.elementAt(argsArg, file, 2 + n, 0).map((el) => (typeof el === 'string' ? unknown(el) : this.program(el.node, el.file, 0))));
        const scripts = this.elementAt(argsArg, file, 1, 0);
        for (const s of scripts) {
          const script = typeof s === 'string' ? unknown(s) : this.shellOutcome(s.node, s.file, positional);
          this.record(script, call, file, `${how.via} (shell script)`);
          // `(script) => spawn('sh', ['-c', script])` is a helper whose callers pass a command line.
          this.registerHelpers(script.params, 'shell', undefined, call, file);
        }
      }
    }
  }

  /** A spawn site whose program is a parameter makes its function a helper; its callers are the sites then. */
  private registerHelpers(params: Param[], kind: Kind, argsArg: ts.Expression | undefined, call: ts.CallExpression, file: Parsed): void {
    for (const p of params) {
      const named = functionName(p.fn);
      if (!named) {
        this.record(unknown(`${p.fn.parameters[p.index]!.name.getText(p.file.sf)} (a parameter of a method or unnamed function)`), call, file, 'spawn');
        continue;
      }
      let argsIndex: number | undefined;
      if (argsArg && ts.isIdentifier(skipOuter(argsArg))) {
        const d = this.declarationOf(skipOuter(argsArg) as ts.Identifier, file, 0);
        if (d?.kind === 'param' && d.fn === p.fn) argsIndex = d.index;
      }
      if (!this.helpers.has(named.key)) this.helpers.set(named.key, { name: named.name, kind, programIndex: p.index, argsIndex });
    }
  }

  /** How a call starts a program, if it does. */
  private callee(call: ts.CallExpression, file: Parsed): { kind: Kind; programIndex: number; argsIndex: number | undefined; via: string } | undefined {
    const c = skipOuter(call.expression);
    if (ts.isIdentifier(c)) {
      const d = this.declarationOf(c, file, 0);
      const key = d?.kind === 'function' ? d.node : d?.kind === 'var' && d.index === undefined ? d.decl : undefined;
      const helper = key && this.helpers.get(key);
      if (helper) return { ...helper, via: helper.name };
      // By name, whatever it is bound to: child_process's, execa's, or one injected for tests (src/main/demo.ts).
      const kind = SPAWN_FUNCTIONS.get(c.text);
      if (kind) return { kind, programIndex: 0, argsIndex: 1, via: c.text };
      const alias = d?.kind === 'var' && d.index === undefined ? d : undefined;
      const init = alias?.decl.initializer && skipOuter(alias.decl.initializer);
      if (alias && init && ts.isCallExpression(init) && /^(util\.)?promisify$/.test(init.expression.getText(alias.file.sf))) {
        const inner = init.arguments[0] && skipOuter(init.arguments[0]);
        const innerName = inner && (ts.isIdentifier(inner) ? inner.text : ts.isPropertyAccessExpression(inner) ? inner.name.text : undefined);
        const innerKind = innerName === undefined ? undefined : SPAWN_FUNCTIONS.get(innerName);
        if (innerKind) return { kind: innerKind, programIndex: 0, argsIndex: 1, via: `${c.text} (promisify(${inner!.getText(alias.file.sf)}))` };
      }
      return undefined;
    }
    if (ts.isPropertyAccessExpression(c) && ts.isIdentifier(c.expression)) {
      // `cp.spawn(...)` with `import * as cp from 'node:child_process'`, or `h.xrun(...)` with `import * as h from './helpers/xvfb.js'`.
      const d = this.declarationOf(c.expression, file, 0);
      if (d?.kind !== 'import') return undefined;
      const kind = SPAWN_FUNCTIONS.get(c.name.text);
      if (kind && CHILD_PROCESS.test(d.module)) return { kind, programIndex: 0, argsIndex: 1, via: c.getText(file.sf) };
      const target = this.resolveModule(file, d.module);
      const exported = target && this.exportOf(target, c.name.text, 0);
      const key = exported?.kind === 'function' ? exported.node : exported?.kind === 'var' && exported.index === undefined ? exported.decl : undefined;
      const helper = key && this.helpers.get(key);
      if (helper) return { ...helper, via: c.getText(file.sf) };
    }
    return undefined;
  }

  /** The possible programs an expression names. */
  private program(expr: ts.Expression, file: Parsed, depth: number): Outcome {
    const e = skipOuter(expr);
    if (depth > MAX_DEPTH) return unknown(e.getText(file.sf));
    if (ts.isStringLiteralLike(e)) return { programs: [e.text], params: [], unknown: [] };
    if (ts.isPropertyAccessExpression(e) && e.getText(file.sf) === 'process.execPath') return { programs: ['process.execPath'], params: [], unknown: [] };
    if (ts.isConditionalExpression(e)) return merge(this.program(e.whenTrue, file, depth + 1), this.program(e.whenFalse, file, depth + 1));
    if (ts.isBinaryExpression(e) && (e.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken || e.operatorToken.kind === ts.SyntaxKind.BarBarToken)) {
      const left = this.program(e.left, file, depth + 1);
      const right = this.program(e.right, file, depth + 1);
      // `options.ffmpegPath ?? 'ffmpeg'`, `process.env.BACKLOT_CHROMIUM ?? '/usr/bin/chromium'`: the default names
      // the program; what may override it (an option, the environment) is the user's own choice.
      const defaulted = right.programs.length > 0 || right.params.length > 0;
      return { programs: [...left.programs, ...right.programs], params: [...left.params, ...right.params], unknown: defaulted ? right.unknown : [...left.unknown, ...right.unknown] };
    }
    if (ts.isIdentifier(e)) {
      const d = this.declarationOf(e, file, depth + 1);
      if (d?.kind === 'param') return { programs: [], params: [{ fn: d.fn, index: d.index, file: d.file }], unknown: [] };
      if (d?.kind === 'var' && d.decl.initializer) {
        if (d.index === undefined) return this.program(d.decl.initializer, d.file, depth + 1);
        return merge(...this.elementAt(d.decl.initializer, d.file, d.index, depth + 1).map((el) => (typeof el === 'string' ? unknown(el) : this.program(el.node, el.file, depth + 1))));
      }
    }
    return unknown(e.getText(file.sf));
  }

  /** Element `index` of an array expression, followed through constants and `? :`; a string where it cannot tell. */
  private elementAt(expr: ts.Expression, file: Parsed, index: number, depth: number): (Located | string)[] {
    const e = skipOuter(expr);
    if (depth > MAX_DEPTH) return [e.getText(file.sf)];
    if (ts.isArrayLiteralExpression(e)) {
      const upTo = e.elements.slice(0, index + 1);
      const el = e.elements[index];
      if (!el || upTo.some(ts.isSpreadElement)) return [`${e.getText(file.sf)}[${index}]`];
      return [{ node: el, file }];
    }
    if (ts.isConditionalExpression(e)) return [...this.elementAt(e.whenTrue, file, index, depth + 1), ...this.elementAt(e.whenFalse, file, index, depth + 1)];
    if (ts.isIdentifier(e)) {
      const d = this.declarationOf(e, file, depth + 1);
      if (d?.kind === 'var' && d.index === undefined && d.decl.initializer) return this.elementAt(d.decl.initializer, d.file, index, depth + 1);
    }
    return [`${e.getText(file.sf)}[${index}]`];
  }

  /** The text of a shell script, `${...}` as HOLE; undefined where it is not a literal. */
  private scriptTexts(expr: ts.Expression, file: Parsed, depth: number): string[] | undefined {
    const e = skipOuter(expr);
    if (depth > MAX_DEPTH) return undefined;
    if (ts.isStringLiteralLike(e)) return [e.text];
    if (ts.isTemplateExpression(e)) return [e.head.text + e.templateSpans.map((s) => HOLE + s.literal.text).join('')];
    if (ts.isConditionalExpression(e)) {
      const a = this.scriptTexts(e.whenTrue, file, depth + 1);
      const b = this.scriptTexts(e.whenFalse, file, depth + 1);
      return a && b ? [...a, ...b] : undefined;
    }
    if (ts.isIdentifier(e)) {
      const d = this.declarationOf(e, file, depth + 1);
      if (d?.kind === 'var' && d.index === undefined && d.decl.initializer) return this.scriptTexts(d.decl.initializer, d.file, depth + 1);
    }
    return undefined;
  }

  private shellOutcome(expr: ts.Expression, file: Parsed, positional: (n: number) => Outcome): Outcome {
    const e = skipOuter(expr);
    if (ts.isIdentifier(e)) {
      const d = this.declarationOf(e, file, 0);
      if (d?.kind === 'param') return { programs: [], params: [{ fn: d.fn, index: d.index, file: d.file }], unknown: [] };
    }
    const texts = this.scriptTexts(e, file, 0);
    if (!texts) return unknown(e.getText(file.sf));
    return merge(...texts.map((t) => shellCommands(t, positional)));
  }

  /** What `id` is bound to where it is used: the innermost parameter, variable, function or import of that name. */
  private declarationOf(id: ts.Identifier, file: Parsed, depth: number): Decl | undefined {
    const name = id.text;
    for (let node: ts.Node | undefined = id.parent; node; node = node.parent) {
      if (ts.isFunctionLike(node)) {
        const index = node.parameters.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === name);
        if (index >= 0) return { kind: 'param', fn: node, index, file };
        if (node.parameters.some((p) => bindsName(p.name, name))) return { kind: 'other' };
      }
      if (ts.isCatchClause(node) && node.variableDeclaration && bindsName(node.variableDeclaration.name, name)) return { kind: 'other' };
      if ((ts.isForOfStatement(node) || ts.isForInStatement(node) || ts.isForStatement(node)) && node.initializer && ts.isVariableDeclarationList(node.initializer)) {
        if (node.initializer.declarations.some((d) => bindsName(d.name, name))) return { kind: 'other' };
      }
      if (ts.isSourceFile(node) || ts.isBlock(node) || ts.isModuleBlock(node) || ts.isCaseClause(node) || ts.isDefaultClause(node)) {
        const d = this.declaredIn(node.statements, name, file, depth);
        if (d) return d;
      }
    }
    return undefined;
  }

  private declaredIn(statements: readonly ts.Statement[], name: string, file: Parsed, depth: number): Decl | undefined {
    for (const s of statements) {
      if (ts.isVariableStatement(s)) {
        for (const decl of s.declarationList.declarations) {
          if (ts.isIdentifier(decl.name)) {
            if (decl.name.text === name) return { kind: 'var', decl, file };
          } else if (ts.isArrayBindingPattern(decl.name)) {
            const index = decl.name.elements.findIndex((el) => ts.isBindingElement(el) && !el.dotDotDotToken && ts.isIdentifier(el.name) && el.name.text === name);
            if (index >= 0) return { kind: 'var', decl, file, index };
            if (bindsName(decl.name, name)) return { kind: 'other' };
          } else if (bindsName(decl.name, name)) {
            return { kind: 'other' };
          }
        }
      } else if (ts.isFunctionDeclaration(s) && s.name?.text === name) {
        return { kind: 'function', node: s, file };
      } else if ((ts.isClassDeclaration(s) || ts.isEnumDeclaration(s)) && s.name?.text === name) {
        return { kind: 'other' };
      } else if (ts.isImportDeclaration(s) && ts.isStringLiteral(s.moduleSpecifier) && s.importClause) {
        const module = s.moduleSpecifier.text;
        const { name: defaultName, namedBindings } = s.importClause;
        if (defaultName?.text === name) return { kind: 'import', module };
        if (namedBindings && ts.isNamespaceImport(namedBindings) && namedBindings.name.text === name) return { kind: 'import', module };
        if (namedBindings && ts.isNamedImports(namedBindings)) {
          const el = namedBindings.elements.find((x) => x.name.text === name);
          if (el) {
            const target = this.resolveModule(file, module);
            return (target && this.exportOf(target, (el.propertyName ?? el.name).text, depth + 1)) ?? { kind: 'import', module };
          }
        }
      }
    }
    return undefined;
  }

  /** What a module exports under `name`, through `export { x } from` and `export *`. */
  private exportOf(file: Parsed, name: string, depth: number): Decl | undefined {
    if (depth > MAX_DEPTH) return undefined;
    for (const s of file.sf.statements) {
      if (isExported(s)) {
        const d = this.declaredIn([s], name, file, depth);
        if (d) return d;
      }
      if (!ts.isExportDeclaration(s)) continue;
      const from = s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier) ? this.resolveModule(file, s.moduleSpecifier.text) : undefined;
      if (s.exportClause && ts.isNamedExports(s.exportClause)) {
        const el = s.exportClause.elements.find((x) => x.name.text === name);
        if (!el) continue;
        const local = (el.propertyName ?? el.name).text;
        return from ? this.exportOf(from, local, depth + 1) : s.moduleSpecifier ? undefined : this.declaredIn(file.sf.statements, local, file, depth + 1);
      }
      if (!s.exportClause && from) {
        const d = this.exportOf(from, name, depth + 1);
        if (d) return d;
      }
    }
    return undefined;
  }

  /** A relative import's file among the scanned ones (`./x.js` is `./x.ts` in the source). */
  private resolveModule(from: Parsed, spec: string): Parsed | undefined {
    if (!spec.startsWith('.')) return undefined;
    const base = posix.normalize(posix.join(posix.dirname(from.path), spec));
    const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, `${base}.tsx`, `${base}/index.ts`];
    const found = candidates.find((c) => this.texts.has(c));
    return found === undefined ? undefined : this.file(found);
  }
}

/**
 * The programs a shell command line starts: the first word of each clause
 * (split at `;`, `&`, `|` and newlines), after `do`, `then`, `exec`, ... and
 * variable assignments; builtins are not programs. `$0`..`$9` are `positional(n)`.
 */
function shellCommands(script: string, positional: (n: number) => Outcome = () => none()): Outcome {
  const out = none();
  for (const clause of script.split(/[;&|\n]+/)) {
    const words = clause.trim().split(/\s+/).filter((w) => w !== '');
    while (words.length > 0 && (SHELL_PREFIXES.has(words[0]!) || /^[A-Za-z_]\w*=/.test(words[0]!))) words.shift();
    const word = words[0]?.replace(/^["']|["']$/g, '');
    if (word === undefined || word === '' || SHELL_SKIPPED.has(word) || SHELL_BUILTINS.has(word) || word.startsWith('#')) continue;
    const pos = /^\$\{?(\d)\}?$/.exec(word);
    if (pos) {
      const o = positional(Number(pos[1]));
      out.programs.push(...o.programs);
      out.unknown.push(...(o.programs.length > 0 ? o.unknown : [...o.unknown, `${word} in: ${script.replaceAll(HOLE, '${…}')}`]));
    } else if (word.includes(HOLE) || word.includes('$') || word.includes('`')) {
      out.unknown.push(`${word.replaceAll(HOLE, '${…}')} in: ${script.replaceAll(HOLE, '${…}')}`);
    } else {
      out.programs.push(word);
    }
  }
  return out;
}

/** Scans source texts (for tests of the scanner itself). */
export function scanSources(sources: SourceText[]): ScanResult {
  return new Scanner(sources).scan();
}

function listSources(root: string, dir: string): SourceText[] {
  const out: SourceText[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) out.push(...listSources(root, path));
    } else if (SOURCE_FILE.test(entry.name) && !entry.name.endsWith('.d.ts') && !entry.name.endsWith('.d.mts')) {
      out.push({ path, text: readFileSync(join(root, path), 'utf8') });
    }
  }
  return out;
}

/** Scans src/, tests/, bench/ and scripts/ of the repo at `root`. */
export function scanRepo(root: string): ScanResult {
  return scanSources(SCANNED_DIRS.flatMap((dir) => listSources(root, dir)));
}

/** What a list of programs says, as far as the comparison needs it. */
export interface ListedPrograms {
  /** Programs the list names; `indirect` says why one is needed although nothing here starts it. */
  programs: { name: string; indirect?: string }[];
  /** Programs a build package's checks name (pkg-config, cc, ...): listed too. */
  alsoListed: string[];
}

/** The ways the scan and the list disagree; all empty when the list is true. */
export interface Disagreement {
  /** Started, not listed and not allowlisted: `program`, where. */
  unlisted: { program: string; sites: string[] }[];
  /** Listed, started nowhere, and not marked indirect. */
  stale: string[];
  /** Marked indirect, but something here starts it after all. */
  notIndirect: { program: string; sites: string[] }[];
  /** Sites the scanner could not follow and nobody resolved by hand: `file:line: expression`. */
  unresolved: string[];
  /** Allowlist and by-hand entries that match nothing any more. */
  unusedExceptions: string[];
}

/**
 * Compares a scan with a list. `notExternal` names programs that need no
 * package (Node.js itself, npx, the electron package's binary); `byHand` says
 * what an unresolved site starts, keyed `file: expression`.
 */
export function compareWithList(scan: ScanResult, list: ListedPrograms, notExternal: Record<string, string>, byHand: Record<string, { programs: string[] }>): Disagreement {
  const where = new Map<string, string[]>();
  const add = (program: string, site: string) => where.set(program, [...(where.get(program) ?? []), site]);
  for (const s of scan.sites) add(s.program, `${s.file}:${s.line} (${s.via})`);
  const usedByHand = new Set<string>();
  const unresolved: string[] = [];
  for (const u of scan.unresolved) {
    const key = `${u.file}: ${u.expression}`;
    const resolved = byHand[key];
    if (resolved) {
      usedByHand.add(key);
      for (const p of resolved.programs) add(p, `${u.file}:${u.line} (${u.via}, resolved by hand)`);
    } else {
      unresolved.push(`${u.file}:${u.line}: ${u.via}(${u.expression})`);
    }
  }
  const listed = new Set([...list.programs.map((p) => p.name), ...list.alsoListed]);
  const sorted = (m: Map<string, string[]>, keep: (program: string) => boolean) =>
    [...m].filter(([p]) => keep(p)).map(([program, sites]) => ({ program, sites })).sort((a, b) => a.program.localeCompare(b.program));
  return {
    unlisted: sorted(where, (p) => !listed.has(p) && !(p in notExternal)),
    stale: list.programs.filter((p) => !where.has(p.name) && p.indirect === undefined).map((p) => p.name),
    notIndirect: sorted(where, (p) => list.programs.some((e) => e.name === p && e.indirect !== undefined)),
    unresolved,
    unusedExceptions: [
      ...Object.keys(notExternal).filter((p) => !where.has(p)).map((p) => `not external: ${p}`),
      ...Object.keys(notExternal).filter((p) => listed.has(p)).map((p) => `not external, yet listed: ${p}`),
      ...Object.keys(byHand).filter((k) => !usedByHand.has(k)).map((k) => `resolved by hand: ${k}`),
    ],
  };
}
