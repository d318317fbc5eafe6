/**
 * Backlot's side of the run: the demo stack (Xvfb, the broker with SQLite and
 * a real enrolment), the host agent as its own process (so its CPU, with its
 * ffmpeg child, can be read), and the web client in the artist's browser
 * signing in and connecting through its own UI.
 */
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { DEMO_WORKSTATION, startDemoStack, type DemoStack } from '../../src/demo/stack.js';
import { onCleanup, startChild, waitUntil, type Child } from './proc.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLIENT_PASSWORD = 'bench horse battery staple';

export async function startStack(width: number, height: number, webRoot: string): Promise<DemoStack> {
  const stack = await startDemoStack({ width, height, webRoot, desktop: false, host: false, password: CLIENT_PASSWORD });
  onCleanup('demo stack', () => stack.stop());
  return stack;
}

/** Starts `src/host/cli.ts run` for the stack's workstation at `fps`, and waits until the broker sees it online. */
export async function startHostProcess(stack: DemoStack, fps: number): Promise<Child> {
  const child = startChild(
    `host agent @${fps}`,
    process.execPath,
    [
      '--import', 'tsx', 'src/host/cli.ts', 'run',
      '--display', stack.display.display,
      '--broker', stack.url,
      '--workstation', DEMO_WORKSTATION.id,
      '--secret', stack.hostSecret,
      '--fps', String(fps),
      // Benchmarks keep their traffic on loopback.
      '--ice-bind-address', '127.0.0.1',
      // info: the session's stats lines (encoder, capture) every 5 s, read by agentStats().
      '--log-level', 'info',
      '--stats-interval', '5',
    ],
    { cwd: ROOT, env: { ...process.env, HOME: process.env.HOME ?? '/tmp' } },
  );
  try {
    await waitUntil('host agent online', () => (child.exited() ? Promise.reject(new Error(`host agent exited:\n${child.output()}`)) : stack.broker.hub.isOnline(DEMO_WORKSTATION.id)), 30_000);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return child;
}

export interface AgentStats {
  /** Session stats lines in the window. */
  samples: number;
  capture_backend: string | null;
  /** Median over the window of each line's median grab + convert time, ms (in-process capture only). */
  capture_grab_to_frame_ms: number | null;
  encode_ms_per_frame: number | null;
  packet_send_delay_ms: number | null;
  encoder_fps: number | null;
  encoder_kbps: number | null;
  quality_limitation: string[];
  low_latency_playout: boolean;
  /** Quality changes the client asked for during the window (the session lowers fps by itself on a decode backlog). */
  quality_changes: { at: number; fps: number | undefined }[];
}

/** The agent's own report of a window: its 'session stats' log lines (pino JSON) between `from` and `to` (epoch ms). */
export function agentStats(output: string, from: number, to: number): AgentStats {
  const lines: Record<string, unknown>[] = [];
  let lowLatency = false;
  const changes: { at: number; fps: number | undefined }[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const j = JSON.parse(line) as Record<string, unknown>;
      if (typeof j.msg === 'string' && j.msg.startsWith('libwebrtc field trials set') && j.playoutDelayMaxMs !== null) lowLatency = true;
      if (j.msg === 'session stats' && typeof j.time === 'number' && j.time >= from && j.time <= to) lines.push(j);
      if (j.msg === 'quality applied' && typeof j.time === 'number' && j.time >= from && j.time <= to) {
        changes.push({ at: j.time - from, fps: (j.applied as { fps?: number } | undefined)?.fps });
      }
    } catch {
      // not a log line
    }
  }
  const med = (xs: (number | undefined)[]): number | null => {
    const v = xs.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
    return v.length ? Math.round(v[v.length >> 1]! * 100) / 100 : null;
  };
  const enc = lines.map((l) => (l.encoder ?? {}) as Record<string, number | string | undefined>);
  const cap = lines.map((l) => (l.capture ?? {}) as Record<string, number | string | undefined>);
  return {
    samples: lines.length,
    capture_backend: (cap.find((c) => typeof c.backend === 'string')?.backend as string | undefined) ?? null,
    capture_grab_to_frame_ms: med(cap.map((c) => c.grabToFrameMs as number | undefined)),
    encode_ms_per_frame: med(enc.map((e) => e.encodeMs as number | undefined)),
    packet_send_delay_ms: med(enc.map((e) => e.packetSendDelayMs as number | undefined)),
    encoder_fps: med(enc.map((e) => e.fps as number | undefined)),
    encoder_kbps: med(enc.map((e) => e.kbps as number | undefined)),
    quality_limitation: [...new Set(enc.map((e) => e.qualityLimitationReason).filter((r): r is string => typeof r === 'string'))],
    low_latency_playout: lowLatency,
    quality_changes: changes,
  };
}

/** Signs in through the web client's form and connects to the workstation; resolves when video plays. */
export async function connectClient(page: Page, stack: DemoStack): Promise<void> {
  await page.goto(`${stack.url}/`);
  await page.getByLabel('Username').fill(stack.username);
  await page.getByLabel('Password').fill(CLIENT_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const row = page.locator(`[data-workstation="${DEMO_WORKSTATION.id}"]`);
  await waitUntil('workstation online in the list', async () => ((await row.textContent().catch(() => '')) ?? '').includes('Online'), 20_000);
  await row.getByRole('button', { name: 'Connect' }).click();
  await page.waitForFunction(
    () => {
      const v = document.querySelector('video');
      return !!v && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames >= 10;
    },
    undefined,
    { timeout: 30_000 },
  );
}

/** Ends the session from the client (or just leaves the page) and waits until the broker has no session. */
export async function disconnectClient(page: Page, stack: DemoStack): Promise<void> {
  await page.goto('about:blank').catch(() => undefined);
  await waitUntil('session ended', () => !stack.broker.hub.isInUse(DEMO_WORKSTATION.id), 10_000).catch(() => undefined);
}
