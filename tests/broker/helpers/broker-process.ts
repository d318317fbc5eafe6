/**
 * Runs the real broker as a separate process (`backlot-broker serve`) on a
 * fresh SQLite file, and opens the same file in the test for setup through
 * the admin operations (the CLI's code path), as an IT admin would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Admin } from '../../../src/broker/admin.js';
import { openDatabase } from '../../../src/broker/db.js';
import { SqliteStore } from '../../../src/broker/store.js';

export const ROOT = resolve(import.meta.dirname, '../../..');
const START_TIMEOUT_MS = 20_000;

export interface BrokerProcess {
  url: string;
  dir: string;
  configPath: string;
  store: SqliteStore;
  admin: Admin;
  /** Everything the broker printed (pino JSON lines). */
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

/** Runs `tsx src/broker/cli.ts <args>` to completion (for CLI tests). */
export function runCli(args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/broker/cli.ts', ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input);
    child.on('exit', (code) => resolveRun({ code: code ?? -1, stdout, stderr }));
  });
}

export async function startBrokerProcess(config: Record<string, unknown> = {}, env: Record<string, string> = {}): Promise<BrokerProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'backlot-broker-test-'));
  const configPath = join(dir, 'broker.json');
  await writeFile(configPath, JSON.stringify({ host: '127.0.0.1', port: 0, database: 'broker.db', ...config }));
  const store = new SqliteStore(openDatabase(join(dir, 'broker.db')));
  const admin = new Admin(store, 'Backlot', 3_600_000);
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/broker/cli.ts', 'serve', '--config', configPath], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${out}`)), START_TIMEOUT_MS);
    const check = () => {
      const m = /"msg":"broker listening"/.test(out) && /"url":"(http[^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code}:\n${out}`));
    });
  });
  return {
    url,
    dir,
    configPath,
    store,
    admin,
    output: () => out,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((r) => {
          child.once('exit', () => r());
          child.kill('SIGTERM');
        });
      }
      store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** JSON request helper returning status and parsed body. */
export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}
