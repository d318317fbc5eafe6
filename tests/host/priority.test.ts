/** The host agent's scheduling priority, set on every thread, in child processes (so this test process keeps its own). */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { setProcessPriority } from '../../src/host/priority.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const SCRIPT = `
import { setProcessPriority } from './src/host/priority.ts';
import { Worker } from 'node:worker_threads';
import { readdirSync, readFileSync } from 'node:fs';
// A thread that exists before the call, and one started after it.
const before = new Worker('setInterval(() => {}, 1000)', { eval: true });
await new Promise((r) => before.once('online', r));
const result = setProcessPriority(Number(process.env.NICE));
const after = new Worker('setInterval(() => {}, 1000)', { eval: true });
await new Promise((r) => after.once('online', r));
const nices = readdirSync('/proc/self/task').map((t) => Number(readFileSync('/proc/self/task/' + t + '/stat', 'utf8').split(') ')[1].split(' ')[16]));
console.log(JSON.stringify({ result, nices }));
process.exit(0);
`;

async function inChild(nice: number, asNobody = false): Promise<{ result: { ok: boolean; reason?: string; threads?: number }; nices: number[] }> {
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', SCRIPT];
  const [cmd, ...args] = asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...node] : node;
  const { stdout } = await run(cmd!, args, { cwd: ROOT, env: { ...process.env, NICE: String(nice) } });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as never;
}

describe('setProcessPriority', () => {
  it('sets every thread, and threads started later inherit it', async () => {
    const { result, nices } = await inChild(7);
    expect(result, JSON.stringify(result)).toMatchObject({ ok: true });
    expect(result.threads).toBeGreaterThan(2);
    expect(new Set(nices)).toEqual(new Set([7]));
  });

  it.runIf(process.getuid?.() === 0)('says why when raising is not permitted', async () => {
    const { result, nices } = await inChild(-10, true);
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/not permitted/) as unknown });
    expect(new Set(nices)).toEqual(new Set([0]));
  });

  it('refuses values outside -20..19', () => {
    expect(setProcessPriority(-21)).toMatchObject({ ok: false });
    expect(setProcessPriority(20)).toMatchObject({ ok: false });
    expect(setProcessPriority(1.5)).toMatchObject({ ok: false });
  });
});
