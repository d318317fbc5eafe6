/** Starts a private Xvfb for a test and stops it again. */
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const READY_TIMEOUT_MS = 10_000;
const POLL_MS = 50;
const STOP_TIMEOUT_MS = 3_000;

export interface Xvfb {
  display: string;
  stop(): Promise<void>;
}

/** Starts `Xvfb` on a free display (it picks one itself through -displayfd) and waits until xdpyinfo answers. */
export async function startXvfb(size = '1280x720'): Promise<Xvfb> {
  const proc = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', `${size}x24`, '-noreset', '-extension', 'RANDR', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  try {
    const fd3 = proc.stdio[3] as NodeJS.ReadableStream;
    const num = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`Xvfb did not report a display: ${stderr}`)), READY_TIMEOUT_MS);
      fd3.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('\n')) {
          clearTimeout(timer);
          resolve(text.trim());
        }
      });
      proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Xvfb exited with ${code}: ${stderr}`));
      });
    });
    const display = `:${num}`;
    await waitForDisplay(display);
    return { display, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitForDisplay(display: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await execFileAsync('xdpyinfo', ['-display', display]);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}

/** Runs an X utility against a display and returns its stdout. */
export async function xrun(display: string, cmd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(cmd, args, { env: { ...process.env, DISPLAY: display } });
  return stdout;
}
