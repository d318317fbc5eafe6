/**
 * Input fidelity on a real desktop: a Chromium page on Xvfb (the demo
 * desktop, which logs its DOM events) driven through a real HostSession with
 * the XTEST injector, from a second, headless Chromium as the client (its
 * RTCPeerConnection shaped like the web client's: tests/host/helpers/
 * browser-client.ts), over the encoded pipeline the agent runs (XCB capture,
 * libx264, libdatachannel on loopback). What the page and the X server see
 * is what an artist's application would see.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoStack } from '../../src/demo/stack.js';
import { startXvfb, type VirtualDisplay } from '../../src/demo/xvfb.js';
import { COORD_MAX, MouseButton, type InputMessage } from '../../src/shared/input.js';
import { DEFAULT_SESSION_POLICY } from '../../src/shared/policy.js';
import { XcbCapture } from '../../src/host/capture/xcb-capture.js';
import { loadXcbNative } from '../../src/host/capture/xcb-native.js';
import { X11Clipboard } from '../../src/host/clipboard/x11-clipboard.js';
import { loadAvNative } from '../../src/host/encoder/av-native.js';
import { HEARTBEAT_TIMEOUT_MS } from '../../src/host/input/input-router.js';
import { XTestInjector } from '../../src/host/input/xtest-injector.js';
import { HostSession, type SessionEndReason } from '../../src/host/session.js';
import { openBrowserClient, openEncodedPipeline, selectLibx264, SignalRelay, type BrowserClient } from '../host/helpers/browser-client.js';
import { pollUntil } from '../host/helpers/browser-peer.js';
import { x11HeldState } from '../host/helpers/x11-state.js';
import { startDesktop, type HostEvent } from './fixtures.js';

const WIDTH = 1280;
const HEIGHT = 720;
const HEARTBEAT_MS = 1_000;
/** A SIGKILLed client is noticed by the host's transport within this (ICE consent fails: ~30 s measured). */
const KILLED_CLIENT_NOTICED_MS = 45_000;
const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
const addonsMissing = [loadAvNative(), loadXcbNative()].flatMap((l) => (l.ok ? [] : [l.reason]));

/** US-layout physical keys for printable ASCII: [code, shifted]. */
const US_KEYS: Record<string, [string, boolean]> = (() => {
  const map: Record<string, [string, boolean]> = { ' ': ['Space', false] };
  for (let c = 0; c < 26; c++) {
    const lower = String.fromCharCode(97 + c);
    map[lower] = [`Key${lower.toUpperCase()}`, false];
    map[lower.toUpperCase()] = [`Key${lower.toUpperCase()}`, true];
  }
  const rows: [string, string, string][] = [
    ['1', '!', 'Digit1'], ['2', '@', 'Digit2'], ['3', '#', 'Digit3'], ['4', '$', 'Digit4'], ['5', '%', 'Digit5'],
    ['6', '^', 'Digit6'], ['7', '&', 'Digit7'], ['8', '*', 'Digit8'], ['9', '(', 'Digit9'], ['0', ')', 'Digit0'],
    ['-', '_', 'Minus'], ['=', '+', 'Equal'], ['[', '{', 'BracketLeft'], [']', '}', 'BracketRight'], ['\\', '|', 'Backslash'],
    [';', ':', 'Semicolon'], ["'", '"', 'Quote'], ['`', '~', 'Backquote'], [',', '<', 'Comma'], ['.', '>', 'Period'], ['/', '?', 'Slash'],
  ];
  for (const [plain, shifted, code] of rows) {
    map[plain] = [code, false];
    map[shifted] = [code, true];
  }
  return map;
})();

/** Screen pixel → wire coordinate (the picture is the whole 1280x720 screen). */
const nx = (px: number): number => Math.round((px * COORD_MAX) / (WIDTH - 1));
const ny = (py: number): number => Math.round((py * COORD_MAX) / (HEIGHT - 1));

describe.skipIf(addonsMissing.length > 0)('host input on a real desktop application', () => {
  let display: VirtualDisplay;
  let desktop: Awaited<ReturnType<typeof startDesktop>>;
  let session: HostSession;
  let client: BrowserClient;
  let heartbeat: NodeJS.Timeout | undefined;
  const ended: SessionEndReason[] = [];

  /** Sends on the reliable input channel, in order (one page call for all of them). */
  const send = (...msgs: InputMessage[]): Promise<void> => client.send('input', ...msgs);
  const move = (x: number, y: number): Promise<void> => client.send('pointer', { op: 'pointerAbs', x: nx(x), y: ny(y) });
  const tapKeys = (code: string, shift = false): InputMessage[] => [
    ...(shift ? [{ op: 'key', code: 'ShiftLeft', down: true } as const] : []),
    { op: 'key', code, down: true },
    { op: 'key', code, down: false },
    ...(shift ? [{ op: 'key', code: 'ShiftLeft', down: false } as const] : []),
  ];
  const tap = (code: string, shift = false): Promise<void> => send(...tapKeys(code, shift));
  const startHeartbeat = (): void => {
    let seq = 0;
    heartbeat = setInterval(() => void send({ op: 'heartbeat', seq: seq++ }).catch(() => undefined), HEARTBEAT_MS);
  };
  const events = (): Promise<HostEvent[]> => desktop.events();
  const textValue = (): Promise<string> => desktop.page.evaluate(() => (document.getElementById('typed') as HTMLTextAreaElement).value);
  const clearLog = (): Promise<void> => desktop.page.evaluate(() => void ((window as unknown as { __backlotEvents: unknown[] }).__backlotEvents.length = 0));

  beforeAll(async () => {
    display = await startXvfb(WIDTH, HEIGHT);
    // startDesktop only needs the display of a stack; this test brings its own host, not the demo stack.
    desktop = await startDesktop({ display } as Pick<DemoStack, 'display'> as DemoStack);
    await desktop.page.evaluate(() => {
      const area = document.createElement('textarea');
      area.id = 'typed';
      area.style.cssText = 'position:fixed;left:100px;top:100px;width:400px;height:150px;z-index:10;font:16px monospace';
      document.body.appendChild(area);
      // Back/forward buttons would navigate the page away from the log.
      addEventListener('mouseup', (e) => {
        if (e.button === 3 || e.button === 4) e.preventDefault();
      });
    });
    const selected = await selectLibx264(logger, WIDTH, HEIGHT);
    const capture = new XcbCapture({ display: display.display, logger });
    const relay = new SignalRelay();
    session = new HostSession({
      sessionId: 'e2e-input',
      user: 'alice',
      iceServers: [],
      policy: DEFAULT_SESSION_POLICY,
      fps: 30,
      capture,
      openPipeline: openEncodedPipeline(selected, capture, DEFAULT_SESSION_POLICY, logger),
      openInjector: () => XTestInjector.open(display.display, logger),
      openClipboard: () => X11Clipboard.open(display.display, logger),
      logger,
      sendSignal: relay.toClient,
      onEnded: (reason) => ended.push(reason),
    });
    await session.start();
    // Killable: the last test kills the client's browser outright.
    client = await openBrowserClient(relay, (data) => session.signal(data), { killable: true });
    await client.peer.channelsOpen();
    // The client decodes the desktop: input goes to the session the picture comes from.
    await pollUntil('the desktop decoded', () => client.peer.inbound(), (v) => v?.frameWidth === WIDTH && v.framesDecoded > 0, 20_000);
    startHeartbeat();
  });

  afterAll(async () => {
    clearInterval(heartbeat);
    await client?.close();
    await session?.end('agent-stopping');
    await desktop?.close();
    await display?.stop();
  });

  it('types shifted symbols through physical keys, exactly', async () => {
    await move(300, 175);
    await send({ op: 'button', button: MouseButton.Left, down: true, x: nx(300), y: ny(175) }, { op: 'button', button: MouseButton.Left, down: false, x: nx(300), y: ny(175) });
    await expect.poll(() => desktop.page.evaluate(() => document.activeElement?.id)).toBe('typed');
    const typed = 'Hello, World! ~!@#$%^&*()_+{}|:"<>? `1234567890-=[]\\;\',./';
    for (const ch of typed) {
      const [code, shifted] = US_KEYS[ch]!;
      await tap(code, shifted);
    }
    await expect.poll(textValue, { timeout: 10_000 }).toBe(typed);
  });

  it('types text the layout has no keys for through the text fallback', async () => {
    await desktop.page.evaluate(() => void ((document.getElementById('typed') as HTMLTextAreaElement).value = ''));
    const text = 'héllo wörld — €½ 日本語 😀 ß';
    // The same characters again reuse their temporary keycodes; mixing with keys keeps the order.
    await send({ op: 'text', text }, ...tapKeys('Space'), { op: 'text', text: 'é€' });
    await expect.poll(textValue, { timeout: 10_000 }).toBe(`${text} é€`);
  });

  it('pastes the client\'s clipboard into the application and sends back what it copies', async () => {
    await desktop.page.evaluate(() => void ((document.getElementById('typed') as HTMLTextAreaElement).value = ''));
    await client.sendControl({ type: 'clipboard', text: 'from the artist ✓ ünïcode' });
    // Let the host take the selection before the application asks for it.
    await new Promise((r) => setTimeout(r, 200));
    const chord = (code: string): Promise<void> => send({ op: 'key', code: 'ControlLeft', down: true }, ...tapKeys(code), { op: 'key', code: 'ControlLeft', down: false });
    await chord('KeyV');
    await expect.poll(textValue, { timeout: 10_000 }).toBe('from the artist ✓ ünïcode');
    await desktop.page.evaluate(() => void ((document.getElementById('typed') as HTMLTextAreaElement).value = 'copied on the workstation'));
    await chord('KeyA');
    await chord('KeyC');
    await expect.poll(async () => (await client.controls()).filter((m) => m.type === 'clipboard').at(-1), { timeout: 10_000 }).toEqual({
      type: 'clipboard',
      text: 'copied on the workstation',
    });
  });

  it('round-trips KeyboardEvent.code for keys across the keyboard', async () => {
    // Not F1 (help tab), F3/F6/F7/F11/F12 or Tab: the browser acts on those and the page loses focus.
    await clearLog();
    const codes = [
      'KeyQ', 'KeyZ', 'Digit7', 'Minus', 'Equal', 'BracketLeft', 'BracketRight', 'Backslash', 'Semicolon', 'Quote',
      'Backquote', 'Comma', 'Period', 'Slash', 'IntlBackslash', 'Space', 'Enter', 'Backspace', 'ArrowLeft', 'ArrowUp',
      'ArrowRight', 'ArrowDown', 'Home', 'End', 'PageUp', 'PageDown', 'Insert', 'Delete', 'ShiftLeft', 'ShiftRight',
      'ControlLeft', 'ControlRight', 'AltLeft', 'MetaLeft', 'Numpad0', 'Numpad5', 'NumpadAdd', 'NumpadSubtract',
      'NumpadMultiply', 'NumpadDivide', 'NumpadDecimal', 'NumpadEnter', 'F2', 'F8', 'F9', 'Escape',
    ];
    await send(...codes.flatMap((code) => tapKeys(code)));
    await expect.poll(async () => (await events()).filter((e) => e.type === 'keyup').length, { timeout: 10_000 }).toBe(codes.length);
    const all = await events();
    expect(all.filter((e) => e.type === 'keydown').map((e) => e.code)).toEqual(codes);
    expect(all.filter((e) => e.type === 'keyup').map((e) => e.code)).toEqual(codes);
  });

  it('delivers all five buttons, both wheel axes, a drag and relative motion', async () => {
    await clearLog();
    const at = { x: 700, y: 400 };
    await move(at.x, at.y);
    for (const button of [MouseButton.Left, MouseButton.Middle, MouseButton.Right, MouseButton.Back, MouseButton.Forward]) {
      await send({ op: 'button', button, down: true, x: nx(at.x), y: ny(at.y) }, { op: 'button', button, down: false, x: nx(at.x), y: ny(at.y) });
    }
    for (const [dx, dy] of [[0, 120], [0, -120], [120, 0], [-120, 0]] as const) {
      await send({ op: 'wheel', dx, dy });
      // Chromium coalesces wheel events that arrive within one frame into one.
      await new Promise((r) => setTimeout(r, 100));
    }
    await expect.poll(async () => (await events()).filter((e) => e.type === 'wheel').length, { timeout: 10_000 }).toBe(4);
    let all = await events();
    expect(all.filter((e) => e.type === 'mousedown').map((e) => [e.button, e.x, e.y])).toEqual([0, 1, 2, 3, 4].map((b) => [b, at.x, at.y]));
    expect(all.filter((e) => e.type === 'mouseup').map((e) => e.button)).toEqual([0, 1, 2, 3, 4]);
    const wheels = all.filter((e) => e.type === 'wheel');
    expect(wheels.map((e) => [Math.sign(e.deltaX!) + 0, Math.sign(e.deltaY!) + 0])).toEqual([[0, 1], [0, -1], [1, 0], [-1, 0]]);

    // A drag: press, move on the unordered channel, release somewhere else.
    await clearLog();
    await send({ op: 'button', button: MouseButton.Left, down: true, x: nx(400), y: ny(300) });
    for (let i = 1; i <= 10; i++) {
      await move(400 + i * 20, 300 + i * 10);
      await new Promise((r) => setTimeout(r, 15));
    }
    await send({ op: 'button', button: MouseButton.Left, down: false, x: nx(600), y: ny(400) });
    await expect.poll(async () => (await events()).some((e) => e.type === 'mouseup'), { timeout: 10_000 }).toBe(true);
    all = await events();
    const dragMoves = all.filter((e) => e.type === 'mousemove' && e.buttons === 1);
    expect(dragMoves.length).toBeGreaterThanOrEqual(5);
    expect(dragMoves.at(-1)).toMatchObject({ x: 600, y: 400 });
    expect(all.find((e) => e.type === 'mouseup')).toMatchObject({ button: 0, buttons: 0, x: 600, y: 400 });

    // Relative motion (pointer lock on the client): from where the pointer is, by the delta.
    await clearLog();
    await client.send('pointer', { op: 'pointerRel', dx: 40, dy: -25 });
    await expect.poll(async () => (await events()).filter((e) => e.type === 'mousemove').at(-1), { timeout: 10_000 }).toMatchObject({ x: 640, y: 375 });
  });

  it('releases held keys and buttons when heartbeats stop', async () => {
    await clearLog();
    clearInterval(heartbeat);
    heartbeat = undefined;
    await send({ op: 'key', code: 'ShiftLeft', down: true }, { op: 'button', button: MouseButton.Left, down: true, x: nx(700), y: ny(400) });
    await expect.poll(async () => (await x11HeldState(display.display)).buttonMask).not.toBe(0);
    const start = Date.now();
    await expect.poll(async () => (await x11HeldState(display.display)).buttonMask, { timeout: HEARTBEAT_TIMEOUT_MS + 3_000 }).toBe(0);
    expect(Date.now() - start).toBeGreaterThanOrEqual(HEARTBEAT_TIMEOUT_MS - 1_000);
    expect((await x11HeldState(display.display)).keycodes).toEqual([]);
    const all = await events();
    expect(all.filter((e) => e.type === 'keyup').map((e) => e.code)).toEqual(['ShiftLeft']);
    expect(all.filter((e) => e.type === 'mouseup').map((e) => e.buttons)).toEqual([0]);
    expect(ended).toEqual([]);
  });

  it('leaves nothing held when the client is killed mid-drag', async () => {
    await clearLog();
    // As a live client does: heartbeats, which stop when it dies.
    startHeartbeat();
    await send({ op: 'key', code: 'ShiftLeft', down: true }, { op: 'key', code: 'ControlLeft', down: true }, { op: 'button', button: MouseButton.Left, down: true, x: nx(500), y: ny(300) });
    await move(550, 320);
    await expect.poll(async () => (await x11HeldState(display.display)).keycodes.length).toBe(2);
    expect((await x11HeldState(display.display)).buttonMask).not.toBe(0);
    // The client's browser dies: its peer goes away without a releaseAll, a key up or a goodbye.
    client.peer.kill();
    const killedAt = Date.now();
    // Nothing answers the host any more, but nothing said goodbye either: the
    // heartbeat watchdog is what lets go, long before the transport notices.
    await expect.poll(async () => (await x11HeldState(display.display)).buttonMask, { timeout: HEARTBEAT_TIMEOUT_MS + 3_000 }).toBe(0);
    expect((await x11HeldState(display.display)).keycodes).toEqual([]);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(HEARTBEAT_TIMEOUT_MS - 1_000);
    // libdatachannel calls the connection failed once the client stops answering ICE (~30 s here).
    await expect.poll(() => ended, { timeout: KILLED_CLIENT_NOTICED_MS }).toEqual(['peer-error']);
    await expect.poll(async () => (await events()).filter((e) => e.type === 'mouseup').at(-1)?.buttons).toBe(0);
    const all = await events();
    expect(all.filter((e) => e.type === 'keyup').map((e) => e.code).sort()).toEqual(['ControlLeft', 'ShiftLeft']);
  }, KILLED_CLIENT_NOTICED_MS + 20_000);
});
