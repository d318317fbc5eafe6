/** XTestInjector against a real Xvfb: what the X server and its clients see. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { COORD_MAX, MouseButton, PenFlag } from '../../src/shared/input.js';
import { XTestInjector } from '../../src/host/input/xtest-injector.js';
import { startXvfb, xrun, type Xvfb } from './helpers/xvfb.js';
import { X11Observer } from './helpers/x11-observer.js';

const XK = { q: 0x71, a: 0x61, z: 0x7a, one: 0x31, Return: 0xff0d, Shift_L: 0xffe1, F5: 0xffc2, minus: 0x2d, Left: 0xff51 };

let xvfb: Xvfb;
let injector: XTestInjector;
let observer: X11Observer;

async function mouseLocation(): Promise<{ x: number; y: number }> {
  const out = await xrun(xvfb.display, 'xdotool', ['getmouselocation', '--shell']);
  const x = /X=(\d+)/.exec(out)?.[1];
  const y = /Y=(\d+)/.exec(out)?.[1];
  return { x: Number(x), y: Number(y) };
}

/**
 * Taps a sentinel key and returns (consuming) every event observed before it.
 * The X server delivers events in the order the requests made them, so once
 * the sentinel has arrived, anything the earlier calls produced has too.
 */
async function eventsBeforeSentinel(): Promise<string[]> {
  injector.key('KeyQ', true);
  injector.key('KeyQ', false);
  await injector.flush();
  const named = () => observer.events.map((e) => `${e.name}:${observer.keysymOf(e.detail) === XK.q ? 'q' : e.detail}`);
  const deadline = Date.now() + 3_000;
  while (!named().includes('KeyRelease:q')) {
    if (Date.now() > deadline) throw new Error(`the sentinel key never arrived; got ${JSON.stringify(named())}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const events = named();
  observer.events.splice(0);
  expect(events.slice(-2)).toEqual(['KeyPress:q', 'KeyRelease:q']);
  return events.slice(0, -2);
}

beforeAll(async () => {
  xvfb = await startXvfb('1280x720');
});
afterAll(async () => {
  await xvfb?.stop();
});
beforeEach(async () => {
  observer = await X11Observer.open(xvfb.display);
  injector = await XTestInjector.open(xvfb.display);
});
afterEach(async () => {
  await injector?.close();
  await observer?.close();
});

describe('XTestInjector on Xvfb', () => {
  it('reports the screen size', () => {
    expect(injector.size).toEqual({ width: 1280, height: 720 });
  });

  it('moves the pointer to normalised positions across the whole screen', async () => {
    injector.pointerAbs(0, 0);
    await injector.flush();
    expect(await mouseLocation()).toEqual({ x: 0, y: 0 });
    injector.pointerAbs(COORD_MAX, COORD_MAX);
    await injector.flush();
    expect(await mouseLocation()).toEqual({ x: 1279, y: 719 });
    injector.pointerAbs(COORD_MAX / 4, COORD_MAX / 2);
    await injector.flush();
    expect(await mouseLocation()).toEqual({ x: 320, y: 360 });
    injector.pointerRel(-20, 10);
    await injector.flush();
    expect(await mouseLocation()).toEqual({ x: 300, y: 370 });
  });

  it('types keys by KeyboardEvent.code through the server keymap', async () => {
    for (const code of ['KeyA', 'KeyZ', 'Digit1', 'Minus', 'Enter', 'F5', 'ArrowLeft']) {
      expect(injector.key(code, true)).toBe(true);
      expect(injector.key(code, false)).toBe(true);
    }
    await injector.flush();
    const events = await observer.waitForEvents(14);
    const pressed = events.filter((e) => e.name === 'KeyPress').map((e) => observer.keysymOf(e.detail));
    expect(pressed).toEqual([XK.a, XK.z, XK.one, XK.minus, XK.Return, XK.F5, XK.Left]);
    expect(events.filter((e) => e.name === 'KeyRelease')).toHaveLength(7);
  });

  it('refuses codes it cannot map and ignores auto-repeat downs and stray ups', async () => {
    expect(injector.key('NoSuchKey', true)).toBe(false);
    injector.key('KeyA', true);
    injector.key('KeyA', true);
    injector.key('KeyB', false);
    injector.key('KeyA', false);
    await injector.flush();
    const events = await observer.waitForEvents(2);
    expect(events.map((e) => e.name)).toEqual(['KeyPress', 'KeyRelease']);
    expect(await eventsBeforeSentinel()).toEqual([]);
  });

  it('maps DOM buttons to X buttons 1, 2, 3, 8, 9', async () => {
    for (const b of [MouseButton.Left, MouseButton.Middle, MouseButton.Right, MouseButton.Back, MouseButton.Forward]) {
      injector.button(b, true);
      injector.button(b, false);
    }
    await injector.flush();
    const events = await observer.waitForEvents(10);
    expect(events.filter((e) => e.name === 'ButtonPress').map((e) => e.detail)).toEqual([1, 2, 3, 8, 9]);
  });

  it('turns wheel deltas into clicks of buttons 4/5 and 6/7', async () => {
    injector.wheel(0, 240); // two notches down
    injector.wheel(0, -60); // half a notch up: nothing yet
    injector.wheel(0, -60); // the other half: one up
    injector.wheel(120, 0); // right
    injector.wheel(-120, 0); // left
    await injector.flush();
    const events = await observer.waitForEvents(10);
    expect(events.filter((e) => e.name === 'ButtonPress').map((e) => e.detail)).toEqual([5, 5, 4, 7, 6]);
  });

  it('releases every held key and button on releaseAll, as the server sees it', async () => {
    injector.key('ShiftLeft', true);
    injector.key('KeyQ', true);
    injector.button(MouseButton.Left, true);
    await injector.flush();
    const held = await observer.pressedKeycodes();
    expect(held.map((k) => observer.keysymOf(k))).toEqual(expect.arrayContaining([XK.Shift_L, XK.q]));
    expect(injector.held().buttons).toEqual([1]);

    injector.releaseAll();
    await injector.flush();
    expect(await observer.pressedKeycodes()).toEqual([]);
    expect(injector.held()).toEqual({ keycodes: [], buttons: [] });
    const events = await observer.waitForEvents(6);
    expect(events.filter((e) => e.name.endsWith('Release'))).toHaveLength(3);
  });

  it('releases held keys when closed', async () => {
    injector.key('ControlLeft', true);
    await injector.flush();
    expect(await observer.pressedKeycodes()).toHaveLength(1);
    await injector.close();
    expect(await observer.pressedKeycodes()).toEqual([]);
  });

  it('presses physical keycodes on this evdev server (KeyA is keycode 38)', async () => {
    expect(injector.physicalKeys).toBe(true);
    injector.key('KeyA', true);
    injector.key('KeyA', false);
    injector.key('ArrowUp', true);
    injector.key('ArrowUp', false);
    await injector.flush();
    const events = await observer.waitForEvents(4);
    expect(events.filter((e) => e.name === 'KeyPress').map((e) => e.detail)).toEqual([38, 111]);
  });

  it('types characters the layout lacks on spare keycodes and gives them back on close', async () => {
    const untyped = await injector.text('A€');
    expect(untyped).toBe(0);
    await injector.flush();
    const events = await observer.waitForEvents(6);
    // 'A' is Shift + the a key; '€' a spare keycode bound to the Unicode keysym for U+20AC.
    const presses = events.filter((e) => e.name === 'KeyPress').map((e) => e.detail);
    expect(presses.slice(0, 2)).toEqual([50, 38]);
    const spare = presses[2]!;
    const bound = await boundKeysyms(spare);
    expect(bound[0]).toBe(0x010020ac);
    await injector.close();
    expect((await boundKeysyms(spare)).filter((k) => k !== 0)).toEqual([]);
    expect(await observer.pressedKeycodes()).toEqual([]);
  });

  it('drives the pointer and buttons from pen samples, keeping pressure and tilt at the boundary', async () => {
    const sample = { x: COORD_MAX / 2, y: COORD_MAX / 2, pressure: 30_000, tiltX: 20, tiltY: -10, twist: 90 };
    injector.pen({ ...sample, flags: PenFlag.InRange });
    injector.pen({ ...sample, flags: PenFlag.InRange | PenFlag.Contact });
    injector.pen({ ...sample, flags: PenFlag.InRange | PenFlag.Contact | PenFlag.Barrel });
    expect(injector.held().buttons.sort()).toEqual([1, 3]);
    injector.pen({ ...sample, flags: 0 });
    await injector.flush();
    const events = await observer.waitForEvents(4);
    expect(events.map((e) => `${e.name}:${e.detail}`)).toEqual(['ButtonPress:1', 'ButtonPress:3', 'ButtonRelease:1', 'ButtonRelease:3']);
    expect(await mouseLocation()).toEqual({ x: 640, y: 360 });
    expect(injector.lastPen).toMatchObject({ pressure: 30_000, tiltX: 20, tiltY: -10, twist: 90 });
    expect(injector.holding()).toBe(false);
  });
});

/** The keysyms the server has bound to a keycode now (a fresh connection, so no cached mapping). */
async function boundKeysyms(keycode: number): Promise<number[]> {
  const out = await xrun(xvfb.display, 'xmodmap', ['-pke']);
  const line = out.split('\n').find((l) => new RegExp(`^keycode\\s+${keycode} =`).test(l)) ?? '';
  const names = line.split('=')[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
  return names.map((n) => (n === 'EuroSign' ? 0x010020ac : /^U[0-9A-F]+$/.test(n) ? 0x01000000 + parseInt(n.slice(1), 16) : n === 'NoSymbol' ? 0 : -1));
}
