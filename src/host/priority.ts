/**
 * Scheduling priority for the host agent. An artist feels every millisecond
 * between their hand and the remote cursor, and on a busy workstation (a
 * render, a simulation) the agent's threads otherwise wait in the run queue
 * behind it: measured in BENCHMARKS.md, input latency fell from 22.9 to 9.4 ms
 * p50 at nice -10 with two cores saturated. The agent raises itself where it
 * may (root or CAP_SYS_NICE) and runs at normal priority where it may not.
 *
 * On Linux, nice values are per thread: every thread that exists now is set,
 * and threads started later (libwebrtc's, libuv's pool) inherit it.
 */
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The nice value `--priority auto` asks for. */
export const AUTO_NICE = -10;

export type PriorityResult = { ok: true; nice: number; threads: number } | { ok: false; nice: number; reason: string };

export function setProcessPriority(nice: number): PriorityResult {
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) return { ok: false, nice, reason: `nice must be an integer from -20 to 19, got ${nice}` };
  let tids: number[] = [0];
  if (process.platform === 'linux') {
    try {
      tids = readdirSync('/proc/self/task').map(Number).filter(Number.isInteger);
    } catch {
      // No /proc: the calling thread only.
    }
  }
  let done = 0;
  for (const tid of tids) {
    try {
      setPriority(tid, nice);
      done++;
    } catch (err) {
      // Node raises a SystemError whose errno name is in `info.code`.
      const e = err as NodeJS.ErrnoException & { info?: { code?: string } };
      const code = e.info?.code ?? e.code ?? e.message;
      if (done === 0) return { ok: false, nice, reason: code === 'EACCES' || code === 'EPERM' ? 'not permitted (needs root or CAP_SYS_NICE)' : String(code) };
      // A thread that ended meanwhile (ESRCH) is fine.
    }
  }
  return { ok: true, nice, threads: done };
}
