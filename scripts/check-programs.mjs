#!/usr/bin/env node
/**
 * Checks that this machine has what .ci/programs.json lists: every program on
 * PATH (and, where dpkg can tell, from the package the list names), and every
 * build package's header, pkg-config module or program.
 *
 *   node scripts/check-programs.mjs [--list FILE]              check; exit 1 naming what is missing
 *   node scripts/check-programs.mjs --packages [--list FILE]   print the Debian packages, one a line
 *
 * .ci/run installs the `--packages` output and then runs the check. Plain
 * Node.js with no dependencies: it runs before `npm ci`.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The one list (see its $comment). */
export const LIST_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '..', '.ci', 'programs.json');

/** Debian policy's package name syntax. */
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const CHECK_KINDS = ['program', 'header', 'pkgConfig'];

/**
 * @typedef {{ name: string, package: string, for?: string, indirect?: string }} ProgramEntry
 * @typedef {{ program: string } | { header: string } | { pkgConfig: string }} BuildCheck
 * @typedef {{ package: string, for?: string, checks: BuildCheck[] }} BuildEntry
 * @typedef {{ programs: ProgramEntry[], build: BuildEntry[] }} ProgramList
 */

function fail(where, message) {
  throw new Error(`${where}: ${message}`);
}

function optionalText(value, where, key) {
  if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) fail(where, `'${key}' must be a non-empty string`);
}

function packageName(value, where) {
  if (typeof value !== 'string' || !PACKAGE_NAME.test(value)) fail(where, `names no Debian package ('package' is ${JSON.stringify(value)})`);
  return value;
}

/**
 * Reads and validates a program list; throws naming the entry that is wrong.
 * @param {string} path
 * @returns {ProgramList}
 */
export function readProgramList(path = LIST_PATH) {
  /** @type {any} */
  const raw = JSON.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(raw?.programs) || !Array.isArray(raw?.build)) fail(path, "needs a 'programs' and a 'build' array");
  const names = new Set();
  const programs = raw.programs.map((/** @type {any} */ p, /** @type {number} */ i) => {
    const where = `${path}: programs[${i}]${typeof p?.name === 'string' ? ` '${p.name}'` : ''}`;
    if (typeof p?.name !== 'string' || !/^[\w.+-]+$/.test(p.name)) fail(where, "'name' must be a program name (no path)");
    if (names.has(p.name)) fail(where, 'is listed twice');
    names.add(p.name);
    packageName(p.package, where);
    optionalText(p.for, where, 'for');
    optionalText(p.indirect, where, 'indirect');
    return p;
  });
  const build = raw.build.map((/** @type {any} */ b, /** @type {number} */ i) => {
    const where = `${path}: build[${i}]${typeof b?.package === 'string' ? ` '${b.package}'` : ''}`;
    packageName(b?.package, where);
    optionalText(b.for, where, 'for');
    if (!Array.isArray(b.checks) || b.checks.length === 0) fail(where, "needs 'checks': what shows it is installed");
    for (const c of b.checks) {
      const kinds = Object.keys(c ?? {});
      if (kinds.length !== 1 || !CHECK_KINDS.includes(kinds[0]) || typeof c[kinds[0]] !== 'string') fail(where, `each check is one of ${CHECK_KINDS.join(', ')}, got ${JSON.stringify(c)}`);
      if ('header' in c && !isAbsolute(c.header)) fail(where, `header ${c.header} must be an absolute path`);
    }
    return b;
  });
  return { programs, build };
}

/**
 * Every Debian package the list names, each once, in list order.
 * @param {ProgramList} list
 */
export function debianPackages(list) {
  return [...new Set([...list.programs.map((p) => p.package), ...list.build.map((b) => b.package)])];
}

/** Like the shell's `command -v`: the first executable file of that name on PATH. */
function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not here; keep looking.
    }
  }
  return undefined;
}

/** /usr/bin/x and /bin/x are one file on a merged-/usr system, but dpkg knows only the name the package shipped. */
function pathVariants(path) {
  const out = new Set([path]);
  try {
    out.add(realpathSync(path));
  } catch {
    // A dangling link is reported by the PATH lookup already.
  }
  for (const p of [...out]) {
    const m = /^\/usr(\/s?bin\/.*)$/.exec(p) ?? /^(\/s?bin\/.*)$/.exec(p);
    if (m) out.add(p.startsWith('/usr/') ? m[1] : `/usr${m[1]}`);
  }
  return [...out];
}

/**
 * Which packages own these files, per file (empty where dpkg knows none), or
 * undefined when dpkg-query is not there to ask (not a Debian system).
 * @param {string[]} paths
 */
function owners(paths) {
  const result = spawnSync('dpkg-query', ['-S', ...paths], { encoding: 'utf8' });
  if (result.error) return undefined;
  /** @type {Map<string, string[]>} */
  const byPath = new Map();
  for (const line of result.stdout.split('\n')) {
    // "pkg1, pkg2:amd64: /usr/bin/x"; skip "diversion by dash from: /bin/sh".
    const at = line.lastIndexOf(': ');
    if (at < 0 || line.startsWith('diversion by ')) continue;
    const pkgs = line.slice(0, at).split(', ').map((p) => p.replace(/:[a-z0-9]+$/, ''));
    byPath.set(line.slice(at + 2), pkgs);
  }
  return byPath;
}

/**
 * What this machine lacks of the list (empty: all there). `install` is false
 * where installing cannot help because the list itself is wrong.
 * @param {ProgramList} list
 * @param {string} listName how to call the list in messages
 * @returns {{ message: string, package: string, install: boolean }[]}
 */
export function checkList(list, listName = '.ci/programs.json') {
  /** @type {{ message: string, package: string, install: boolean }[]} */
  const problems = [];
  const missing = (pkg, message) => problems.push({ message, package: pkg, install: true });
  /** @type {{ entry: ProgramEntry, path: string, variants: string[] }[]} */
  const found = [];
  for (const entry of list.programs) {
    const path = onPath(entry.name);
    if (path) found.push({ entry, path, variants: pathVariants(path) });
    else missing(entry.package, `program '${entry.name}' (package ${entry.package}) not found on PATH`);
  }
  const owned = found.length > 0 ? owners(found.flatMap((f) => f.variants)) : undefined;
  for (const { entry, path, variants } of found) {
    // A program from outside any package (a developer's /usr/local build) is fine; a listed package that is not the owner is a wrong list.
    const by = owned ? [...new Set(variants.flatMap((v) => owned.get(v) ?? []))] : [];
    if (by.length > 0 && !by.includes(entry.package)) {
      problems.push({ message: `program '${entry.name}' is ${path}, from package ${by.join(', ')}, but ${listName} says package ${entry.package}`, package: entry.package, install: false });
    }
  }
  for (const b of list.build) {
    for (const c of b.checks) {
      if ('program' in c) {
        if (!onPath(c.program)) missing(b.package, `build package ${b.package}: program '${c.program}' not found on PATH`);
      } else if ('header' in c) {
        if (!existsSync(c.header)) missing(b.package, `build package ${b.package}: header ${c.header} not found`);
      } else {
        const r = spawnSync('pkg-config', ['--exists', c.pkgConfig]);
        if (r.error) missing(b.package, `build package ${b.package}: cannot run pkg-config to look for '${c.pkgConfig}' (${r.error.message})`);
        else if (r.status !== 0) missing(b.package, `build package ${b.package}: pkg-config module '${c.pkgConfig}' not found`);
      }
    }
  }
  return problems;
}

function main(argv) {
  let listPath = LIST_PATH;
  let printPackages = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--packages') printPackages = true;
    else if (argv[i] === '--list' && argv[i + 1]) listPath = resolve(argv[++i]);
    else {
      console.error(`check-programs: unknown argument ${argv[i]}\nusage: node scripts/check-programs.mjs [--packages] [--list FILE]`);
      return 2;
    }
  }
  let list;
  try {
    list = readProgramList(listPath);
  } catch (err) {
    console.error(`check-programs: ${err.message}`);
    return 2;
  }
  if (printPackages) {
    console.log(debianPackages(list).join('\n'));
    return 0;
  }
  const problems = checkList(list, listPath === LIST_PATH ? '.ci/programs.json' : listPath);
  for (const p of problems) console.error(`check-programs: ${p.message}`);
  const install = [...new Set(problems.filter((p) => p.install).map((p) => p.package))];
  if (install.length > 0) console.error(`check-programs: on Debian: apt-get install ${install.join(' ')}`);
  if (problems.length > 0) return 1;
  console.log(`check-programs: all ${list.programs.length} programs and ${list.build.length} build packages of ${listPath === LIST_PATH ? '.ci/programs.json' : listPath} are here`);
  return 0;
}

// Run directly (by .ci/run or by hand), not when imported by tests/repo/programs.test.ts.
if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  process.exit(main(process.argv.slice(2)));
}
