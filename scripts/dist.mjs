// Builds the installers, with a studio's policy baked in:
//
//   BACKLOT_POLICY=./studio-policy.json npm run dist -- --win   (or --mac, --linux)
//
// 1. validates BACKLOT_POLICY against the policy schema (the same zod schema the
//    app uses) and copies it to dist/policy/installer-policy.json, which goes
//    into app.asar (covered by the asar integrity fuse on macOS and Windows);
//    without BACKLOT_POLICY any policy left from an earlier build is removed;
// 2. builds the renderer and the Electron bundles;
// 3. runs electron-builder with the remaining arguments and --publish never.
//    BACKLOT_UPDATE_URL (default: the policy's updateUrl) is written into
//    app-update.yml; the running app uses the policy's updateUrl either way.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { buildElectron } from './build-electron.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const INSTALLER_POLICY = join(root, 'dist', 'policy', 'installer-policy.json');
/** Placeholder feed for app-update.yml when neither the policy nor the environment names one (updates stay off). */
const NO_UPDATE_URL = 'https://updates.invalid/backlot/';

/** Validates and stages the studio policy; returns it (or null). */
async function stagePolicy() {
  const source = process.env.BACKLOT_POLICY;
  rmSync(INSTALLER_POLICY, { force: true });
  if (!source) {
    console.log('dist: no BACKLOT_POLICY, building without a baked-in policy');
    return null;
  }
  const { ClientPolicy } = await tsImport(pathToFileURL(join(root, 'src', 'shared', 'managed-policy.ts')).href, import.meta.url);
  const { z } = await import('zod');
  const path = resolve(source);
  const parsed = ClientPolicy.safeParse(JSON.parse(readFileSync(path, 'utf8').replace(/^\uFEFF/, '')));
  if (!parsed.success) {
    console.error(`dist: ${path} is not a valid Backlot policy:\n${z.prettifyError(parsed.error)}`);
    process.exit(1);
  }
  mkdirSync(dirname(INSTALLER_POLICY), { recursive: true });
  writeFileSync(INSTALLER_POLICY, `${JSON.stringify(parsed.data, null, 2)}\n`);
  console.log(`dist: baked ${path} into the app as ${INSTALLER_POLICY}`);
  return parsed.data;
}

function run(command, args, env = process.env) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env, shell: process.platform === 'win32' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const policy = await stagePolicy();
run(npx, ['vite', 'build']);
await buildElectron();
const updateUrl = process.env.BACKLOT_UPDATE_URL || policy?.settings?.updateUrl || NO_UPDATE_URL;
run(npx, ['electron-builder', '--config', 'electron-builder.yml', '--publish', 'never', ...process.argv.slice(2)], { ...process.env, BACKLOT_UPDATE_URL: updateUrl });
