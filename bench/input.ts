/**
 * Input latency: from the client page's own DOM event on the video (a
 * capture-phase listener added by the benchmark, time taken as
 * performance.timeOrigin + performance.now()) to the moment the application
 * on the host display receives the event (the content page's own listener,
 * timed the same way). Both are pages on this machine, so one clock.
 * Pointer moves are matched by position, clicks by order and position, keys
 * by code and order.
 */
import type { Page } from 'playwright-core';
import { clockOffset } from './lib/probe.js';
import { sleep } from './lib/proc.js';
import { summary } from './lib/stats.js';

export interface InputResult {
  pointer_ms_p50: number | null;
  pointer_ms_p95: number | null;
  key_ms_p50: number | null;
  key_ms_p95: number | null;
  click_ms_p50: number | null;
  click_ms_p95: number | null;
  pointer: ReturnType<typeof summary>;
  click: ReturnType<typeof summary>;
  key: ReturnType<typeof summary>;
  sent: { pointer: number; click: number; key: number };
  clock: { client: { offsetMs: number; uncertaintyMs: number }; host: { offsetMs: number; uncertaintyMs: number } };
}

interface Ev {
  type: string;
  x: number;
  y: number;
  code?: string;
  t: number;
}

const CLIENT_RECORDER = `(() => {
  const log = (window.__benchInput = []);
  const rec = (e) => log.push({ type: e.type, x: e.clientX, y: e.clientY, code: e.code, t: performance.timeOrigin + performance.now() });
  for (const type of ['pointermove', 'pointerdown', 'keydown']) addEventListener(type, rec, { capture: true, passive: true });
})()`;

const KEYS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('').map((c) => `Key${c}`);

export async function measureInput(client: Page, host: Page, screen: { width: number; height: number }, samples: number): Promise<InputResult> {
  const box = await client.evaluate<{ x: number; y: number; w: number; h: number }>(`(() => { const r = document.querySelector('video').getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; })()`);
  const scale = Math.min(box.w / screen.width, box.h / screen.height);
  const offX = box.x + (box.w - screen.width * scale) / 2;
  const offY = box.y + (box.h - screen.height * scale) / 2;
  const toClient = (hx: number, hy: number) => ({ x: offX + hx * scale, y: offY + hy * scale });
  const tol = Math.ceil(1 / scale) + 2;

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
    await sleep(90 + Math.random() * 40);
  }
  const clicks: { hx: number; hy: number }[] = [];
  const clickCount = Math.max(10, Math.round(samples / 2));
  for (let i = 0; i < clickCount; i++) {
    const hx = Math.round(screen.width * 0.3 + ((i * 131) % Math.round(screen.width * 0.4)));
    const hy = Math.round(screen.height * 0.3 + ((i * 71) % Math.round(screen.height * 0.4)));
    clicks.push({ hx, hy });
    const p = toClient(hx, hy);
    await client.mouse.click(p.x, p.y);
    await sleep(90 + Math.random() * 40);
  }
  const keys: string[] = [];
  for (let i = 0; i < samples; i++) {
    const code = KEYS[i % KEYS.length]!;
    keys.push(code);
    await client.keyboard.press(code);
    await sleep(90 + Math.random() * 40);
  }
  await sleep(1_000);

  const clientEvents = await client.evaluate<Ev[]>('window.__benchInput.slice()');
  const hostEvents = await host.evaluate<Ev[]>('window.__backlotEvents.slice()');
  const near = (e: Ev, hx: number, hy: number) => Math.abs(e.x - hx) <= tol && Math.abs(e.y - hy) <= tol;

  const pointer: number[] = [];
  for (const m of moves) {
    const c = clientEvents.find((e) => e.type === 'pointermove' && near({ ...e, x: (e.x - offX) / scale, y: (e.y - offY) / scale }, m.hx, m.hy));
    if (!c) continue;
    const h = hostEvents.find((e) => e.type === 'mousemove' && near(e, m.hx, m.hy) && e.t >= c.t - 5);
    if (h) pointer.push(h.t - c.t);
  }
  const click: number[] = [];
  const clientDowns = clientEvents.filter((e) => e.type === 'pointerdown');
  const hostDowns = hostEvents.filter((e) => e.type === 'mousedown');
  for (const k of clicks) {
    const c = clientDowns.find((e) => near({ ...e, x: (e.x - offX) / scale, y: (e.y - offY) / scale }, k.hx, k.hy));
    if (!c) continue;
    const h = hostDowns.find((e) => near(e, k.hx, k.hy) && e.t >= c.t - 5);
    if (h) click.push(h.t - c.t);
  }
  const key: number[] = [];
  const clientKeys = clientEvents.filter((e) => e.type === 'keydown');
  const hostKeys = hostEvents.filter((e) => e.type === 'keydown');
  let hi = 0;
  for (const c of clientKeys) {
    // In order: the next host keydown with the same code.
    while (hi < hostKeys.length && (hostKeys[hi]!.code !== c.code || hostKeys[hi]!.t < c.t - 5)) hi++;
    const h = hostKeys[hi];
    if (!h) break;
    key.push(h.t - c.t);
    hi++;
  }

  const p = summary(pointer);
  const cl = summary(click);
  const k = summary(key);
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
    sent: { pointer: moves.length, click: clicks.length, key: keys.length },
    clock: { client: await clockOffset(client), host: await clockOffset(host) },
  };
}
