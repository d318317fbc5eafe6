/** A virtual X display (Xvfb) for the demo and the tests. */
import { spawn, type ChildProcess } from 'node:child_process';

/** Xvfb writes its display number within this time, or we give up. */
const START_TIMEOUT_MS = 10_000;

export interface VirtualDisplay {
  /** e.g. ":99" */
  display: string;
  width: number;
  height: number;
  stop(): Promise<void>;
}

export function stopProcess(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts Xvfb on a free display number (Xvfb picks it and reports it through
 * -displayfd). `-noreset` keeps the pointer where it is when the last client
 * leaves; `-extension RANDR` lets Chromium's getDisplayMedia work on it.
 */
export async function startXvfb(width: number, height: number): Promise<VirtualDisplay> {
  const child = spawn(
    'Xvfb',
    ['-displayfd', '3', '-screen', '0', `${width}x${height}x24`, '-noreset', '-extension', 'RANDR', '-nolisten', 'tcp'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] },
  );
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const display = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Xvfb did not start in time: ${stderr.join('')}`)), START_TIMEOUT_MS);
    let out = '';
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(`:${m[1]}`);
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run Xvfb (apt-get install xvfb): ${err.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited with ${code}: ${stderr.join('')}`));
    });
  });
  return { display, width, height, stop: () => stopProcess(child) };
}
