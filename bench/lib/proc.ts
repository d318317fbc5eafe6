/**
 * Processes the benchmark starts, and what they cost: every child is started
 * in its own process group and registered, so one `cleanupAll()` (also run on
 * SIGINT/SIGTERM and on a crash) stops the whole tree, ffmpeg children
 * included. CPU is read from /proc/<pid>/stat (utime + stime) over a process
 * and all its descendants, as a percentage of one core.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100;
/** After SIGTERM a process group gets this long before SIGKILL. */
const STOP_GRACE_MS = 4_000;

type Cleanup = { name: string; run: () => Promise<void> };
const cleanups: Cleanup[] = [];

/** Registers something to undo at the end (last registered, first undone). Returns an unregister function. */
export function onCleanup(name: string, run: () => Promise<void>): () => void {
  const entry = { name, run };
  cleanups.push(entry);
  return () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/** Runs every registered cleanup, newest first; errors are logged, never thrown. */
export async function cleanupAll(): Promise<void> {
  while (cleanups.length > 0) {
    const c = cleanups.pop()!;
    try {
      await c.run();
    } catch (err) {
      console.error(`bench: cleanup of ${c.name} failed: ${(err as Error).message}`);
    }
  }
}

let handlersInstalled = false;
/** SIGINT/SIGTERM and crashes still stop every process the benchmark started. */
export function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const bail = (why: string, code: number) => {
    console.error(`bench: ${why}; cleaning up`);
    const hard = setTimeout(() => process.exit(code), 20_000);
    hard.unref();
    void cleanupAll().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => bail('interrupted', 130));
  process.once('SIGTERM', () => bail('terminated', 143));
  process.on('uncaughtException', (err) => {
    console.error(err);
    bail('uncaught exception', 1);
  });
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** Everything it printed (stdout and stderr), bounded. */
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

/** Starts a child in its own process group, registered for cleanup. */
export function startChild(name: string, command: string, args: string[], options: SpawnOptions = {}): Child {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options, detached: true });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  proc.on('error', (err) => keep(Buffer.from(`spawn error: ${err.message}\n`)));
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`cannot start ${name} (${command})`);
  const exited = () => proc.exitCode !== null || proc.signalCode !== null;
  const stop = async () => {
    unregister();
    if (exited()) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        killGroup(pid, 'SIGKILL');
        resolve();
      }, STOP_GRACE_MS);
      proc.once('exit', () => {
        clearTimeout(timer);
        // Whatever it left behind in its group (an ffmpeg child) goes too.
        killGroup(pid, 'SIGKILL');
        resolve();
      });
      killGroup(pid, 'SIGTERM');
    });
  };
  const unregister = onCleanup(name, stop);
  return { proc, pid, output: () => out, exited, stop };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

interface ProcStat {
  pid: number;
  ppid: number;
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { pid, ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** A process and its descendants' CPU ticks, per pid (so a child that exits between samples is not counted negative). */
export function treeTicks(rootPid: number): Map<number, number> {
  const stats = allStats();
  const children = new Map<number, number[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s.pid);
    children.set(s.ppid, list);
  }
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const out = new Map<number, number>();
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    const s = byPid.get(pid);
    if (!s) continue;
    out.set(pid, s.ticks);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Finds the root process of a Chromium whose command line names this profile directory. */
export function findChromiumRoot(profileDir: string): number | undefined {
  const candidates: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmd.includes(profileDir) && !cmd.includes('--type=')) candidates.push(Number(name));
  }
  // The browser process is the oldest (lowest pid is a fair proxy here) of those without --type.
  return candidates.sort((a, b) => a - b)[0];
}

/** Measures CPU of process trees over a window: `start()`, then `stop()` gives % of one core per tree. */
export class CpuMeter {
  private startAt = 0;
  private startTicks = new Map<string, Map<number, number>>();

  constructor(private readonly roots: Record<string, number | undefined>) {}

  start(): void {
    this.startAt = performance.now();
    for (const [name, pid] of Object.entries(this.roots)) if (pid !== undefined) this.startTicks.set(name, treeTicks(pid));
  }

  stop(): Record<string, number | null> {
    const seconds = (performance.now() - this.startAt) / 1000;
    const out: Record<string, number | null> = {};
    for (const [name, pid] of Object.entries(this.roots)) {
      const before = this.startTicks.get(name);
      if (pid === undefined || !before) {
        out[name] = null;
        continue;
      }
      const after = treeTicks(pid);
      let ticks = 0;
      // Only processes alive at both ends count in full; new ones count from zero.
      for (const [p, t] of after) ticks += t - (before.get(p) ?? 0);
      out[name] = Math.round(((ticks / CLK_TCK / seconds) * 100) * 10) / 10;
    }
    return out;
  }
}

/** VmRSS of a process in MiB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value (not undefined/false) or the time runs out. */
export async function waitUntil<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
