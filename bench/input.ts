/**
 * Input latency, from the artist's browser to the application on the host
 * display. Both ends are pages on this machine, so one clock.
 *
 * - Start: the client page's input event, at its platform timestamp
 *   (performance.timeOrigin + event.timeStamp: when the client's browser got
 *   the event). Everything Backlot does is after it: the browser's dispatch to
 *   the web client, our input code, the data channel, the host agent, XTEST
 *   and the X server.
 * - End, "received": the host application's event at its platform timestamp,
 *   when the host's browser (the application) got it from the X server.
 * - End, "handled": when the application's own handler ran. The difference is
 *   the application's dispatch (Chromium delivers mousemove at its next
 *   animation frame, and this page animates a canvas in software), which no
 *   remote-desktop tool can change; it is reported, not hidden.
 * - Floor: the same application fed by XTEST straight from the benchmark
 *   process (the agent's own XTestInjector, no network, no client): what
 *   injection costs on this display by itself.
 *
 * Pointer moves are matched by position, clicks by order and position, keys
 * by code and order.
 */
import type { Page } from 'playwright-core';
import { XTestInjector } from '../src/host/input/xtest-injector.js';
import { COORD_MAX } from '../src/shared/input.js';
import { clockOffset } from './lib/probe.js';
import { sleep } from './lib/proc.js';
import { summary } from './lib/stats.js';

type Summary = ReturnType<typeof summary>;

export interface InputResult {
  /** Client event → application received it (platform timestamps at both ends). */
  pointer_ms_p50: number | null;
  pointer_ms_p95: number | null;
  key_ms_p50: number | null;
  key_ms_p95: number | null;
  click_ms_p50: number | null;
  click_ms_p95: number | null;
  pointer: Summary;
  click: Summary;
  key: Summary;
  /** Client event → the application's handler ran. */
  handled: { pointer: Summary; click: Summary; key: Summary };
  /** XTEST from the benchmark process → application received / handled: the floor of this display and application. */
  floor: { pointer: Summary; key: Summary; pointer_handled: Summary; key_handled: Summary };
  sent: { pointer: number; click: number; key: number };
  clock: { client: { offsetMs: number; uncertaintyMs: number }; host: { offsetMs: number; uncertaintyMs: number } };
}

interface Ev {
  type: string;
  x: number;
  y: number;
  code?: string;
  /** Platform timestamp, epoch ms. */
  ts: number;
  /** Handler time, epoch ms. */
  t: number;
}

const CLIENT_RECORDER = `(() => {
  const log = (window.__benchInput = []);
  const rec = (e) => log.push({ type: e.type, x: e.clientX, y: e.clientY, code: e.code, ts: performance.timeOrigin + e.timeStamp, t: performance.timeOrigin + performance.now() });
  for (const type of ['pointermove', 'pointerdown', 'keydown']) addEventListener(type, rec, { capture: true, passive: true });
})()`;

const KEYS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('').map((c) => `Key${c}`);
const gap = () => sleep(90 + Math.random() * 40);

/** Latencies from a start time to the host event's receipt (platform timestamp) and to its handler. */
class Latencies {
  readonly received: number[] = [];
  readonly handled: number[] = [];
  add(start: number, end: Ev): void {
    this.received.push(end.ts - start);
    this.handled.push(end.t - start);
  }
}

/** Pairs each start with the first matching end at or after it, in order, without reusing an end. */
function pairInOrder<S, E extends Ev>(starts: S[], ends: E[], startTime: (s: S) => number, matches: (s: S, e: E) => boolean): [S, E][] {
  const out: [S, E][] = [];
  let j = 0;
  for (const s of starts) {
    const from = j;
    while (j < ends.length && !(matches(s, ends[j]!) && ends[j]!.ts >= startTime(s) - 5)) j++;
    if (j >= ends.length) {
      j = from; // this one was lost; the next start may still match
      continue;
    }
    out.push([s, ends[j]!]);
    j++;
  }
  return out;
}

export async function measureInput(client: Page, host: Page, display: string, screen: { width: number; height: number }, samples: number): Promise<InputResult> {
  const box = await client.evaluate<{ x: number; y: number; w: number; h: number }>(`(() => { const r = document.querySelector('video').getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; })()`);
  const scale = Math.min(box.w / screen.width, box.h / screen.height);
  const offX = box.x + (box.w - screen.width * scale) / 2;
  const offY = box.y + (box.h - screen.height * scale) / 2;
  const toClient = (hx: number, hy: number) => ({ x: offX + hx * scale, y: offY + hy * scale });
  const tol = Math.ceil(1 / scale) + 2;
  const near = (e: Ev, hx: number, hy: number) => Math.abs(e.x - hx) <= tol && Math.abs(e.y - hy) <= tol;
  const hostEvents = () => host.evaluate<Ev[]>('window.__backlotEvents.slice()');

  // Focus the video (keys go to the focused element), away from where the samples land.
  const focus = toClient(screen.width * 0.5, screen.height * 0.9);
  await client.mouse.click(focus.x, focus.y);
  await sleep(300);
  await client.evaluate(CLIENT_RECORDER);
  await host.evaluate('window.__backlotEvents.length = 0');

  const moves: { hx: number; hy: number }[] = [];
  for (let i = 0; i < samples; i++) {
    const hx = Math.round(screen.width * 0.25 + ((i * 97) % Math.round(screen.width * 0.5)));
    const hy = Math.round(screen.height * 0.25 + ((i * 61) % Math.round(screen.height * 0.5)));
    moves.push({ hx, hy });
    const p = toClient(hx, hy);
    await client.mouse.move(p.x, p.y);
    await gap();
  }
  const clicks: { hx: number; hy: number }[] = [];
  const clickCount = Math.max(10, Math.round(samples / 2));
  for (let i = 0; i < clickCount; i++) {
    const hx = Math.round(screen.width * 0.3 + ((i * 131) % Math.round(screen.width * 0.4)));
    const hy = Math.round(screen.height * 0.3 + ((i * 71) % Math.round(screen.height * 0.4)));
    clicks.push({ hx, hy });
    const p = toClient(hx, hy);
    await client.mouse.click(p.x, p.y);
    await gap();
  }
  const keys: string[] = [];
  for (let i = 0; i < samples; i++) {
    const code = KEYS[i % KEYS.length]!;
    keys.push(code);
    await client.keyboard.press(code);
    await gap();
  }
  await sleep(1_000);

  const clientEvents = await client.evaluate<Ev[]>('window.__benchInput.slice()');
  const remote = await hostEvents();
  const inHost = (e: Ev) => ({ ...e, x: (e.x - offX) / scale, y: (e.y - offY) / scale });

  const pointer = new Latencies();
  for (const m of moves) {
    const c = clientEvents.find((e) => e.type === 'pointermove' && near(inHost(e), m.hx, m.hy));
    if (!c) continue;
    const h = remote.find((e) => e.type === 'mousemove' && near(e, m.hx, m.hy) && e.ts >= c.ts - 5);
    if (h) pointer.add(c.ts, h);
  }
  const click = new Latencies();
  const clientDowns = clientEvents.filter((e) => e.type === 'pointerdown');
  const hostDowns = remote.filter((e) => e.type === 'mousedown');
  for (const k of clicks) {
    const c = clientDowns.find((e) => near(inHost(e), k.hx, k.hy));
    if (!c) continue;
    const h = hostDowns.find((e) => near(e, k.hx, k.hy) && e.ts >= c.ts - 5);
    if (h) click.add(c.ts, h);
  }
  const key = new Latencies();
  const keyPairs = pairInOrder(
    clientEvents.filter((e) => e.type === 'keydown'),
    remote.filter((e) => e.type === 'keydown'),
    (c) => c.ts,
    (c, h) => h.code === c.code,
  );
  for (const [c, h] of keyPairs) key.add(c.ts, h);

  const floor = await measureFloor(host, display, screen, samples, near);
  const p = summary(pointer.received);
  const cl = summary(click.received);
  const k = summary(key.received);
  return {
    pointer_ms_p50: p.p50,
    pointer_ms_p95: p.p95,
    key_ms_p50: k.p50,
    key_ms_p95: k.p95,
    click_ms_p50: cl.p50,
    click_ms_p95: cl.p95,
    pointer: p,
    click: cl,
    key: k,
    handled: { pointer: summary(pointer.handled), click: summary(click.handled), key: summary(key.handled) },
    floor,
    sent: { pointer: moves.length, click: clicks.length, key: keys.length },
    clock: { client: await clockOffset(client), host: await clockOffset(host) },
  };
}

/** The application fed by XTEST from this process: the same injector the agent uses, minus client and network. */
async function measureFloor(
  host: Page,
  display: string,
  screen: { width: number; height: number },
  samples: number,
  near: (e: Ev, hx: number, hy: number) => boolean,
): Promise<InputResult['floor']> {
  const injector = await XTestInjector.open(display);
  const now = () => performance.timeOrigin + performance.now();
  try {
    await host.evaluate('window.__backlotEvents.length = 0');
    const moves: { hx: number; hy: number; t0: number }[] = [];
    for (let i = 0; i < samples; i++) {
      const hx = Math.round(screen.width * 0.2 + ((i * 89) % Math.round(screen.width * 0.6)));
      const hy = Math.round(screen.height * 0.2 + ((i * 53) % Math.round(screen.height * 0.6)));
      const t0 = now();
      injector.pointerAbs(Math.round((hx * COORD_MAX) / (screen.width - 1)), Math.round((hy * COORD_MAX) / (screen.height - 1)));
      await injector.flush();
      moves.push({ hx, hy, t0 });
      await gap();
    }
    const keys: { code: string; t0: number }[] = [];
    for (let i = 0; i < samples; i++) {
      const code = KEYS[(i * 7) % KEYS.length]!;
      const t0 = now();
      injector.key(code, true);
      await injector.flush();
      keys.push({ code, t0 });
      injector.key(code, false);
      await injector.flush();
      await gap();
    }
    await sleep(500);
    const events = await host.evaluate<Ev[]>('window.__backlotEvents.slice()');
    const pointer = new Latencies();
    for (const m of moves) {
      const h = events.find((e) => e.type === 'mousemove' && near(e, m.hx, m.hy) && e.ts >= m.t0 - 5);
      if (h) pointer.add(m.t0, h);
    }
    const key = new Latencies();
    for (const [s, h] of pairInOrder(keys, events.filter((e) => e.type === 'keydown'), (s) => s.t0, (s, e) => e.code === s.code)) key.add(s.t0, h);
    return { pointer: summary(pointer.received), key: summary(key.received), pointer_handled: summary(pointer.handled), key_handled: summary(key.handled) };
  } finally {
    injector.releaseAll();
    await injector.close();
  }
}
