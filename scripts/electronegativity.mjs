// Runs Electronegativity (@doyensec/electronegativity) over the main process and
// preload sources and fails on any HIGH or MEDIUM finding that
// .electronegativity.json does not accept with a justification. Accepted
// findings are printed with their justification, so a reviewer sees them on
// every run. Exit code: 0 clean, 1 findings, 2 the scan itself failed.
//
// Electronegativity also tries to fetch the list of Electron releases; on a
// machine without internet that fails after a few seconds and the scan goes on.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const run = require('@doyensec/electronegativity');

/** Severities that fail the build. */
const FAILING = new Set(['HIGH', 'MEDIUM']);

const config = JSON.parse(readFileSync(join(root, '.electronegativity.json'), 'utf8'));
for (const entry of config.accepted) {
  if (!entry.check || !entry.file || !entry.justification || entry.justification.length < 40) {
    console.error(`.electronegativity.json: every accepted finding needs check, file and a real justification (${JSON.stringify(entry)})`);
    process.exit(2);
  }
}

const severityName = (issue) => issue.severity?.name ?? String(issue.severity);
const confidenceName = (issue) => issue.confidence?.name ?? String(issue.confidence);

const started = Date.now();
const failing = [];
const accepted = [];
let others = 0;
// The inputs are scanned together (copied into one folder): the global checks
// (navigation limits, permission handler, CSP) look across all files, and the
// preload alone would fail them although main.ts covers them.
const scanDir = mkdtempSync(join(tmpdir(), 'backlot-electronegativity-'));
try {
  for (const input of config.inputs) cpSync(join(root, input), join(scanDir, input), { recursive: true });
  {
    const result = await run({ input: scanDir, electronVersionOverride: config.electronVersion, isRelative: true });
    const fatal = result.errors.filter((e) => !e.tolerable);
    if (fatal.length > 0) throw new Error(`could not parse: ${fatal.map((e) => `${e.file}: ${e.message}`).join('; ')}`);
    for (const issue of result.issues) {
      const finding = { id: issue.id, file: issue.file, line: issue.location?.line, severity: severityName(issue), confidence: confidenceName(issue) };
      if (!FAILING.has(finding.severity)) {
        others += 1;
        continue;
      }
      const acceptance = config.accepted.find((a) => a.check === issue.id && basename(issue.file) === a.file);
      (acceptance ? accepted : failing).push({ ...finding, justification: acceptance?.justification });
    }
  }
} catch (err) {
  rmSync(scanDir, { recursive: true, force: true });
  console.error(`electronegativity: the scan failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}

rmSync(scanDir, { recursive: true, force: true });
const seconds = ((Date.now() - started) / 1000).toFixed(1);
for (const f of accepted) console.log(`accepted  ${f.severity} ${f.id} ${f.file}:${f.line}\n          ${f.justification}`);
if (failing.length > 0) {
  for (const f of failing) console.error(`FINDING   ${f.severity}/${f.confidence} ${f.id} ${f.file}:${f.line}`);
  console.error(`electronegativity: ${failing.length} HIGH/MEDIUM finding(s) (${seconds} s). Fix them or accept them with a justification in .electronegativity.json.`);
  process.exit(1);
}
console.log(`electronegativity: no unaccepted HIGH/MEDIUM findings (${accepted.length} accepted, ${others} low/informational) in ${seconds} s`);
