/**
 * "Start local demo": when no broker is configured, main can run the web
 * demo launcher (broker + host agent on loopback, with a demo account) as a
 * child process and point the client at it. Only from a source checkout: the
 * launcher runs TypeScript through tsx, which a packaged app does not ship.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { DemoInfo } from '../shared/ipc.js';
import { parseJson } from '../shared/protocol.js';
import { normaliseBrokerUrl } from './config.js';
import { BacklotError } from './errors.js';

/** The launcher, relative to the app's root. */
export const DEMO_CLI_PATH = join('src', 'demo', 'cli.ts');
/** The launcher starts a broker and a host agent (and transpiles them); allow for a slow first run. */
export const DEMO_READY_TIMEOUT_MS = 60_000;
/** After SIGTERM, how long the demo gets to close its sockets before it is killed. */
export const DEMO_STOP_GRACE_MS = 3_000;
/** Keep only the end of the demo's stderr, for the log when it fails. */
const MAX_STDERR_TAIL_CHARS = 4_096;
/** A stdout line longer than this is not the ready line. */
const MAX_STDOUT_LINE_CHARS = 16 * 1024;

export interface DemoCommand {
  command: string;
  args: string[];
  cwd: string;
}

/**
 * The command that runs the demo launcher: the Node binary that ran npm (not
 * `process.execPath`, which inside Electron is Electron itself), else `node`
 * from PATH.
 */
export function demoCommand(appRoot: string, env: Record<string, string | undefined>): DemoCommand {
  const node = env.npm_node_execpath !== undefined && env.npm_node_execpath !== '' ? env.npm_node_execpath : 'node';
  return { command: node, args: ['--import', 'tsx', DEMO_CLI_PATH, '--no-browser', '--json'], cwd: appRoot };
}

/** Node's `spawn`, narrowed to the overload we use (injected for tests). */
export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface DemoLauncherOptions {
  spawn: SpawnFn;
  command: DemoCommand;
  env: Record<string, string | undefined>;
  warn: (message: string) => void;
  readyTimeoutMs?: number;
  stopGraceMs?: number;
}

/** Runs at most one demo at a time and remembers its connection details. */
export class DemoLauncher {
  readonly #options: DemoLauncherOptions;
  #child: ChildProcess | null = null;
  #ready: Promise<DemoInfo> | null = null;

  constructor(options: DemoLauncherOptions) {
    this.#options = options;
  }

  /** Starts the demo (or returns the one already running) and resolves with its broker URL and account. */
  start(): Promise<DemoInfo> {
    this.#ready ??= this.#spawn();
    return this.#ready;
  }

  /** True while a demo process is alive. */
  get running(): boolean {
    return this.#child !== null;
  }

  /** Stops the demo: SIGTERM, then SIGKILL after a grace period. Resolves when it has exited. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const grace = setTimeout(() => child.kill('SIGKILL'), this.#options.stopGraceMs ?? DEMO_STOP_GRACE_MS);
    await exited;
    clearTimeout(grace);
  }

  #spawn(): Promise<DemoInfo> {
    const { spawn, command, env, warn } = this.#options;
    return new Promise<DemoInfo>((resolve, reject) => {
      let settled = false;
      let stdoutBuffer = '';
      let stderrTail = '';

      const child = spawn(command.command, command.args, {
        cwd: command.cwd,
        env,
        // stdin stays an open pipe: the launcher can treat its closing as "the app has gone" and exit.
        stdio: ['pipe', 'pipe', 'pipe'],
        windowsHide: true,
      });
      this.#child = child;

      const fail = (err: BacklotError, log: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        warn(log);
        this.#ready = null;
        if (this.#child === child && child.exitCode === null) child.kill('SIGTERM');
        reject(err);
      };
      const timeoutMs = this.#options.readyTimeoutMs ?? DEMO_READY_TIMEOUT_MS;
      const timer = setTimeout(() => {
        fail(
          new BacklotError('ERR_INTERNAL', `The local demo did not start within ${timeoutMs / 1000} s. Run "npm run demo:web" in a terminal to see why.`),
          `Demo launcher not ready after ${timeoutMs} ms; stderr: ${stderrTail}`,
        );
      }, timeoutMs);

      const onLine = (line: string): void => {
        // The launcher may print log lines too; the ready line is the one JSON object.
        if (!line.trimStart().startsWith('{')) return;
        const parsed = parseJson(DemoInfo, line);
        const url = parsed.ok ? normaliseBrokerUrl(parsed.value.brokerUrl) : null;
        if (!parsed.ok || !url?.ok) {
          fail(new BacklotError('ERR_PROTOCOL', 'The local demo printed something this app does not understand.'), `Demo launcher printed an unexpected JSON line: ${parsed.ok ? 'bad brokerUrl' : parsed.reason}`);
          return;
        }
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...parsed.value, brokerUrl: url.url });
      };

      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        stdoutBuffer += chunk;
        let newline: number;
        while ((newline = stdoutBuffer.indexOf('\n')) >= 0) {
          onLine(stdoutBuffer.slice(0, newline));
          stdoutBuffer = stdoutBuffer.slice(newline + 1);
        }
        if (stdoutBuffer.length > MAX_STDOUT_LINE_CHARS) stdoutBuffer = '';
      });
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        stderrTail = (stderrTail + chunk).slice(-MAX_STDERR_TAIL_CHARS);
      });

      child.once('error', (err) => {
        if (this.#child === child) this.#child = null;
        fail(new BacklotError('ERR_INTERNAL', `Could not run Node.js to start the local demo (${command.command}).`), `Demo launcher failed to spawn: ${err.message}`);
      });
      child.once('exit', (code, signal) => {
        if (this.#child === child) {
          this.#child = null;
          // A demo that stops later (crash, killed) can be started again.
          this.#ready = null;
        }
        fail(
          new BacklotError('ERR_INTERNAL', 'The local demo stopped before it was ready. Run "npm run demo:web" in a terminal to see why.'),
          `Demo launcher exited (code ${String(code)}, signal ${String(signal)}) before it was ready; stderr: ${stderrTail}`,
        );
      });
    });
  }
}
