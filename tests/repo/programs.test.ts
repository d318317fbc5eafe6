/**
 * .ci/programs.json names every external program src/, tests/, bench/ and
 * scripts/ start, with its Debian package, and nothing they do not start
 * (issue 11: a fresh clone's CI failed on xsetroot, which nothing installed).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkList, debianPackages, LIST_PATH, readProgramList, type ProgramList } from '../../scripts/check-programs.mjs';
import { compareWithList, scanRepo, scanSources, type ListedPrograms, type ScanResult } from './helpers/spawn-scan.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SCAN_TIMEOUT_MS = 60_000;

/** Started, but not from the operating system: nothing to install, so not on the list. */
const NOT_EXTERNAL: Record<string, string> = {
  'process.execPath': 'the Node.js running the test or script: the broker, host agent and demo CLIs (through tsx), node-gyp, vite',
  node: 'demoCommand() in src/main/demo.ts: the Node.js that ran npm, else `node` on PATH; Node.js is there before anything',
  npx: "comes with Node.js; runs the repo's own devDependencies (vite, tsx, electron-builder)",
  'npx.cmd': 'npx on Windows (scripts/start.mjs, scripts/dist.mjs)',
  electron: "the electron npm package's binary (node_modules/electron/dist), where it could be downloaded",
};

/** What the sites the scanner cannot follow start, keyed `file: expression` as it reports them. */
const RESOLVED_BY_HAND: Record<string, { programs: string[]; why: string }> = {
  'src/main/demo.ts: command.command': { programs: ['node'], why: 'the DemoCommand main passes in: demoCommand(), npm_node_execpath or node' },
  'tests/e2e/electron.smoke.test.ts: electronBinary()': { programs: ['electron'], why: "the electron package's binary, when one is installed" },
  'scripts/start.mjs: electron.path': { programs: ['electron'], why: "findElectron(): the electron package's binary" },
};

function listed(list: ProgramList): ListedPrograms {
  return {
    programs: list.programs,
    alsoListed: list.build.flatMap((b) => b.checks.flatMap((c) => ('program' in c ? [c.program] : []))),
  };
}

const list = readProgramList(LIST_PATH);

describe('.ci/programs.json against what the code starts', () => {
  let scan: ScanResult;
  // Parsing some 40 files takes well under a second warm, but TypeScript's first parse on a loaded 2-core machine took 12 s.
  beforeAll(() => {
    scan = scanRepo(ROOT);
  }, SCAN_TIMEOUT_MS);
  const disagreement = () => compareWithList(scan, listed(list), NOT_EXTERNAL, RESOLVED_BY_HAND);

  it('lists every program src/, tests/, bench/ and scripts/ start', () => {
    const { unlisted } = disagreement();
    const advice = unlisted.map((u) => `'${u.program}' is started at ${u.sites.join(', ')} but not listed: add it with its package (dpkg -S $(command -v ${u.program}))`);
    expect(advice).toEqual([]);
    // The scan found the programs of issue 11 at all (a scanner that finds nothing passes the line above).
    expect(scan.sites.map((s) => s.program)).toEqual(expect.arrayContaining(['xsetroot', 'xmodmap', 'xdotool', 'Xvfb', 'ffmpeg', 'chromium']));
  });

  it('lists nothing that nothing starts, unless it says why (indirect)', () => {
    const { stale, notIndirect } = disagreement();
    expect(stale.map((p) => `'${p}' is listed but nothing starts it: remove it, or give the reason in "indirect"`)).toEqual([]);
    expect(notIndirect.map((n) => `'${n.program}' is marked indirect, but ${n.sites.join(', ')} starts it: drop "indirect"`)).toEqual([]);
  });

  it('understands every spawn site, and every exception is still needed', () => {
    const { unresolved, unusedExceptions } = disagreement();
    // A new one: pass a literal or a constant, or say in RESOLVED_BY_HAND what it starts.
    expect(unresolved).toEqual([]);
    expect(unusedExceptions).toEqual([]);
  });

  it('is what .ci/run installs', () => {
    const run = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    expect(run).toContain('node scripts/check-programs.mjs --packages');
    expect(run).toMatch(/^if ! node scripts\/check-programs\.mjs; then$/m);
    expect(debianPackages(list)).toEqual(expect.arrayContaining(['x11-xserver-utils', 'xvfb', 'procps', 'libavcodec-dev']));
  });
});

describe('the spawn scanner', () => {
  it('reports a direct spawn of a program the list does not name', () => {
    const scan = scanSources([{ path: 'tests/fake.test.ts', text: "import { spawn } from 'node:child_process';\nspawn('xeyes', ['-geometry', '10x10']);\n" }]);
    expect(scan.sites).toEqual([{ file: 'tests/fake.test.ts', line: 2, via: 'spawn', program: 'xeyes' }]);
    expect(compareWithList(scan, listed(list), {}, {}).unlisted).toEqual([{ program: 'xeyes', sites: ['tests/fake.test.ts:2 (spawn)'] }]);
  });

  it('reports a program started through a helper that takes its name (xrun)', () => {
    const helper = 'tests/host/helpers/xvfb.ts';
    const scan = scanSources([
      { path: helper, text: readFileSync(join(ROOT, helper), 'utf8') },
      { path: 'tests/host/fake.test.ts', text: "import { startXvfb, xrun } from './helpers/xvfb.js';\nconst x = await startXvfb();\nawait xrun(x.display, 'xclock', []);\n" },
      { path: 'tests/host/other.test.ts', text: "import * as x11 from './helpers/xvfb.js';\nawait x11.xrun(':1', 'xlogo', []);\n" },
    ]);
    expect(scan.sites).toContainEqual({ file: 'tests/host/fake.test.ts', line: 3, via: 'xrun', program: 'xclock' });
    expect(scan.sites).toContainEqual({ file: 'tests/host/other.test.ts', line: 2, via: 'x11.xrun', program: 'xlogo' });
    expect(compareWithList(scan, listed(list), {}, {}).unlisted.map((u) => u.program)).toEqual(['xclock', 'xlogo']);
  });

  it('follows constants, imports, defaults, promisify, shell scripts and `sh -c`', () => {
    const scan = scanSources([
      { path: 'src/paths.ts', text: "export const TOOL = process.env.TOOL ?? '/usr/bin/xwininfo';\n" },
      { path: 'src/again.ts', text: "export { TOOL } from './paths.js';\n" },
      {
        path: 'scripts/fake.mjs',
        text: [
          "import * as cp from 'node:child_process';",
          "import { promisify } from 'node:util';",
          "import { TOOL } from '../src/again.js';",
          'const run = promisify(cp.execFile);',
          'const execFileAsync = promisify(execFile);',
          "const [cmd, ...args] = flag ? ['xprop', '-root'] : [process.execPath, '-v'];",
          'cp.spawnSync(TOOL, []);',
          'await run(cmd, args);',
          "await execFileAsync('xrdb', ['-query']);",
          "cp.execSync('xkbcomp -xkb $DISPLAY - | grep -q us && xset q');",
          "spawn('sh', ['-c', `while true; do xlsfonts -display ${d}; sleep 1; done`]);",
          "spawn('bash', ['-c', 'ulimit -n 1; exec \"$0\"', 'xev']);",
          'function mine(name, argv) { return spawn(name, argv); }',
          "mine('xwd', []);",
          "const shell = (script) => spawn('sh', ['-c', script]);",
          "shell('xdpyinfo -queryExtensions | head -1');",
        ].join('\n'),
      },
    ]);
    const programs = new Set(scan.sites.map((s) => s.program));
    expect([...programs].sort()).toEqual(['bash', 'grep', 'head', 'process.execPath', 'sh', 'sleep', 'xdpyinfo', 'xev', 'xkbcomp', 'xlsfonts', 'xprop', 'xrdb', 'xset', 'xwd', 'xwininfo']);
    expect(scan.unresolved).toEqual([]);
  });

  it('reports what it cannot follow instead of dropping it', () => {
    const scan = scanSources([{ path: 'tests/fake.test.ts', text: "import { spawn } from 'node:child_process';\nspawn(pickProgram(), []);\nspawn('sh', ['-c', `${cmd} --now`]);\n" }]);
    expect(scan.sites.map((s) => s.program)).toEqual(['sh']);
    expect(scan.unresolved.map((u) => `${u.line}: ${u.expression}`)).toEqual(['2: pickProgram()', '3: ${…} in: ${…} --now']);
  });
});

describe('scripts/check-programs.mjs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'backlot-programs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (value: unknown) => {
    const path = join(dir, `list-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, JSON.stringify(value));
    return path;
  };

  it('names a missing program and its package, and a missing build package', () => {
    const path = write({
      programs: [{ name: 'backlot-no-such-program', package: 'backlot-nothing' }],
      build: [{ package: 'libbacklot-dev', checks: [{ header: '/nonexistent/backlot.h' }] }],
    });
    expect(checkList(readProgramList(path)).map((p) => p.message)).toEqual([
      "program 'backlot-no-such-program' (package backlot-nothing) not found on PATH",
      'build package libbacklot-dev: header /nonexistent/backlot.h not found',
    ]);
  });

  it('refuses a program without a package, and a build package without a check', () => {
    expect(() => readProgramList(write({ programs: [{ name: 'xsetroot' }], build: [] }))).toThrow(/programs\[0\] 'xsetroot': names no Debian package/);
    expect(() => readProgramList(write({ programs: [], build: [{ package: 'libyuv-dev', checks: [] }] }))).toThrow(/build\[0\] 'libyuv-dev': needs 'checks'/);
  });
});
