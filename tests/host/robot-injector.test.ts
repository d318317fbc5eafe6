/**
 * RobotInjector (`@jitsi/robotjs`): against a real Xvfb, where robotjs
 * injects through XTEST as it does on any Linux host, plus the platform
 * rules for Windows and macOS checked against a recording stand-in for the
 * native module (no Windows or macOS machine here).
 */
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HostAgentOptions, resolveInjectorKind } from '../../src/host/agent.js';
import { HostConfig } from '../../src/host/config.js';
import { HostError } from '../../src/host/errors.js';
import { openRobotInjector, RobotInjector, type RobotJs, type RobotPlatform } from '../../src/host/input/robot-injector.js';
import { COORD_MAX, MouseButton, PenFlag } from '../../src/shared/input.js';
import { X11Observer } from './helpers/x11-observer.js';
import { x11HeldState } from './helpers/x11-state.js';
import { startXvfb, xrun, type Xvfb } from './helpers/xvfb.js';

/** Why robotjs cannot run here, or undefined when it loads. */
const robotUnavailable = ((): string | undefined => {
  try {
    createRequire(import.meta.url)('@jitsi/robotjs');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
})();
if (robotUnavailable) console.warn(`skipping RobotInjector on Xvfb: @jitsi/robotjs does not load on ${process.platform}-${process.arch}: ${robotUnavailable}`);

/** X keycodes of the evdev US keymap Xvfb starts with. */
const KC = { shiftL: 50, a: 38, z: 52, q: 24, one: 10, two: 11, minus: 20, quote: 48, grave: 49, space: 65, enter: 36, f5: 71, left: 113 };
const XK = { a: 0x61, z: 0x7a, one: 0x31, minus: 0x2d, Return: 0xff0d, F5: 0xffc2, Left: 0xff51 };
/** Button1Mask in QueryPointer's mask. */
const BUTTON1_MASK = 0x100;

describe.skipIf(robotUnavailable !== undefined)('RobotInjector on Xvfb', () => {
  let xvfb: Xvfb;
  let injector: RobotInjector;
  let observer: X11Observer;

  async function mouseLocation(): Promise<{ x: number; y: number }> {
    const out = await xrun(xvfb.display, 'xdotool', ['getmouselocation', '--shell']);
    return { x: Number(/X=(\d+)/.exec(out)?.[1]), y: Number(/Y=(\d+)/.exec(out)?.[1]) };
  }

  /**
   * Taps a sentinel key and returns (consuming) every event observed before it.
   * The X server delivers events in the order the requests made them, so once
   * the sentinel has arrived, anything the earlier calls produced has too.
   */
  async function eventsBeforeSentinel(): Promise<string[]> {
    injector.key('KeyQ', true);
    injector.key('KeyQ', false);
    const sentinel = `KeyRelease:${KC.q}`;
    const seen = () => observer.events.map((e) => `${e.name}:${e.detail}`);
    const deadline = Date.now() + 3_000;
    while (!seen().includes(sentinel)) {
      if (Date.now() > deadline) throw new Error(`the sentinel key never arrived; got ${JSON.stringify(seen())}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const events = seen();
    observer.events.splice(0);
    expect(events.slice(-2)).toEqual([`KeyPress:${KC.q}`, sentinel]);
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
    injector = await openRobotInjector(undefined, { display: xvfb.display });
  });
  afterEach(async () => {
    await injector?.close();
    await observer?.close();
  });

  it('maps normalised positions onto the screen and moves relatively', async () => {
    expect(injector.size).toEqual({ width: 1280, height: 720 });
    injector.pointerAbs(0, 0);
    expect(await mouseLocation()).toEqual({ x: 0, y: 0 });
    injector.pointerAbs(COORD_MAX, COORD_MAX);
    expect(await mouseLocation()).toEqual({ x: 1279, y: 719 });
    injector.pointerAbs(COORD_MAX / 4, COORD_MAX / 2);
    expect(await mouseLocation()).toEqual({ x: 320, y: 360 });
    injector.pointerRel(-20, 10);
    expect(await mouseLocation()).toEqual({ x: 300, y: 370 });
  });

  it('presses keys by KeyboardEvent.code', async () => {
    for (const code of ['KeyA', 'KeyZ', 'Digit1', 'Minus', 'Enter', 'F5', 'ArrowLeft']) {
      expect(injector.key(code, true)).toBe(true);
      expect(injector.key(code, false)).toBe(true);
    }
    const events = await observer.waitForEvents(14);
    const pressed = events.filter((e) => e.name === 'KeyPress').map((e) => observer.keysymOf(e.detail));
    expect(pressed).toEqual([XK.a, XK.z, XK.one, XK.minus, XK.Return, XK.F5, XK.Left]);
    expect(events.filter((e) => e.name === 'KeyRelease')).toHaveLength(7);
  });

  it('refuses keys it cannot name or the server lacks (robotjs would crash on them) and ignores repeats and stray ups', async () => {
    expect(injector.key('NoSuchKey', true)).toBe(false);
    // Xvfb binds no F24; robotjs would send keycode 0 and Xlib would exit the process.
    expect(injector.key('F24', true)).toBe(false);
    // robotjs has no numpad keys on X11.
    expect(injector.key('Numpad1', true)).toBe(false);
    injector.key('KeyA', true);
    injector.key('KeyA', true);
    injector.key('KeyB', false);
    injector.key('KeyA', false);
    const events = await observer.waitForEvents(2);
    expect(events.map((e) => `${e.name}:${e.detail}`)).toEqual([`KeyPress:${KC.a}`, `KeyRelease:${KC.a}`]);
    expect(await eventsBeforeSentinel()).toEqual([]);
  });

  it('injects left, middle and right buttons and counts back/forward as unsupported', async () => {
    for (const b of [MouseButton.Left, MouseButton.Middle, MouseButton.Right, MouseButton.Back, MouseButton.Forward]) {
      injector.button(b, true);
      injector.button(b, false);
    }
    const events = await observer.waitForEvents(6);
    expect(events.map((e) => `${e.name}:${e.detail}`)).toEqual(['ButtonPress:1', 'ButtonRelease:1', 'ButtonPress:2', 'ButtonRelease:2', 'ButtonPress:3', 'ButtonRelease:3']);
    expect(injector.unsupportedButtons).toBe(2);
    expect(await eventsBeforeSentinel()).toEqual([]);
  });

  it('turns wheel deltas into clicks of buttons 4/5 and 6/7', async () => {
    injector.wheel(0, 240); // two notches down
    injector.wheel(0, -60); // half a notch up: nothing yet
    injector.wheel(0, -60); // the other half: one up
    injector.wheel(120, 0); // right
    injector.wheel(-120, 0); // left
    const events = await observer.waitForEvents(10);
    expect(events.filter((e) => e.name === 'ButtonPress').map((e) => e.detail)).toEqual([5, 5, 4, 7, 6]);
  });

  it('types ASCII text, adding Shift for shifted symbols, and reports what it cannot type', async () => {
    expect(injector.text('aZ!"\'@ ~\n')).toBe(0);
    const presses = (await observer.waitForEvents(28)).filter((e) => e.name === 'KeyPress').map((e) => e.detail);
    expect(presses).toEqual([
      KC.a,
      KC.shiftL, KC.z, // Z
      KC.shiftL, KC.one, // !
      KC.shiftL, KC.quote, // "
      KC.quote, // '
      KC.shiftL, KC.two, // @
      KC.space,
      KC.shiftL, KC.grave, // ~
      KC.enter,
    ]);
    // Beyond ASCII robotjs on X11 has no route (XTestInjector binds spare keycodes instead).
    expect(injector.text('é€')).toBe(2);
    expect((await x11HeldState(xvfb.display)).keycodes).toEqual([]);
  });

  it('leaves nothing held in the X server after releaseAll', async () => {
    injector.key('ShiftLeft', true);
    injector.key('KeyQ', true);
    injector.button(MouseButton.Left, true);
    const before = await x11HeldState(xvfb.display);
    expect(before.keycodes.sort((a, b) => a - b)).toEqual([KC.q, KC.shiftL]);
    expect(before.buttonMask).toBe(BUTTON1_MASK);
    expect(injector.holding()).toBe(true);

    injector.releaseAll();
    const after = await x11HeldState(xvfb.display);
    expect(after.keycodes).toEqual([]);
    expect(after.buttonMask).toBe(0);
    expect(injector.holding()).toBe(false);
    expect(injector.held()).toEqual({ keys: [], buttons: [] });
  });

  it('releases held keys and buttons when closed, and ignores input afterwards', async () => {
    injector.key('ControlLeft', true);
    injector.button(MouseButton.Right, true);
    expect((await x11HeldState(xvfb.display)).keycodes).toHaveLength(1);
    await injector.close();
    const state = await x11HeldState(xvfb.display);
    expect(state.keycodes).toEqual([]);
    expect(state.buttonMask).toBe(0);
    injector.key('KeyA', true);
    injector.button(MouseButton.Left, true);
    expect(injector.holding()).toBe(false);
    await injector.close();
  });

  it('drives the pointer and buttons from pen samples (no pressure)', async () => {
    const sample = { x: COORD_MAX / 2, y: COORD_MAX / 2, pressure: 30_000, tiltX: 20, tiltY: -10, twist: 90 };
    injector.pen({ ...sample, flags: PenFlag.InRange });
    injector.pen({ ...sample, flags: PenFlag.InRange | PenFlag.Contact });
    injector.pen({ ...sample, flags: PenFlag.InRange | PenFlag.Contact | PenFlag.Barrel });
    expect(injector.held().buttons.sort()).toEqual(['left', 'right']);
    injector.pen({ ...sample, flags: 0 });
    const events = await observer.waitForEvents(4);
    expect(events.map((e) => `${e.name}:${e.detail}`)).toEqual(['ButtonPress:1', 'ButtonPress:3', 'ButtonRelease:1', 'ButtonRelease:3']);
    expect(await mouseLocation()).toEqual({ x: 640, y: 360 });
    expect(injector.lastPen).toMatchObject({ pressure: 30_000, tiltX: 20 });
    expect(injector.holding()).toBe(false);
  });
});

describe('openRobotInjector when robotjs is unavailable', () => {
  it('reports a missing optional package with ERR_INJECTOR_UNAVAILABLE', async () => {
    const load = (): never => {
      throw Object.assign(new Error("Cannot find module '@jitsi/robotjs'"), { code: 'MODULE_NOT_FOUND' });
    };
    const err = await openRobotInjector(undefined, { platform: 'win32', load }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostError);
    expect(err).toMatchObject({ code: 'ERR_INJECTOR_UNAVAILABLE', message: expect.stringContaining('not installed') });
  });

  it('reports a native binding that does not load, and a module without the functions it needs', async () => {
    const broken = (): never => {
      throw new Error('libXtst.so.6: cannot open shared object file');
    };
    await expect(openRobotInjector(undefined, { platform: 'darwin', load: broken })).rejects.toMatchObject({ code: 'ERR_INJECTOR_UNAVAILABLE', message: expect.stringContaining('libXtst') });
    await expect(openRobotInjector(undefined, { platform: 'darwin', load: () => ({ moveMouse() {} }) })).rejects.toMatchObject({ code: 'ERR_INJECTOR_UNAVAILABLE', message: expect.stringContaining('keyToggle') });
  });

  it('needs an X display on Linux', async () => {
    const saved = process.env.DISPLAY;
    delete process.env.DISPLAY;
    try {
      await expect(openRobotInjector(undefined, { platform: 'linux', load: () => fakeRobot().robot })).rejects.toMatchObject({ code: 'ERR_INJECTOR_UNAVAILABLE' });
    } finally {
      if (saved !== undefined) process.env.DISPLAY = saved;
    }
  });
});

/** A stand-in for the native module that records calls, for the Windows and macOS rules. */
function fakeRobot(size = { width: 1920, height: 1080 }) {
  const calls: unknown[][] = [];
  const record = (name: string) => (...args: unknown[]) => void calls.push([name, ...args]);
  let pos = { x: 0, y: 0 };
  const robot: RobotJs = {
    setKeyboardDelay: record('setKeyboardDelay'),
    setMouseDelay: record('setMouseDelay'),
    keyToggle: record('keyToggle'),
    keyTap: record('keyTap'),
    unicodeTap: record('unicodeTap'),
    moveMouse: (x, y) => {
      pos = { x, y };
      calls.push(['moveMouse', x, y]);
    },
    dragMouse: (x, y, b) => {
      pos = { x, y };
      calls.push(['dragMouse', x, y, b]);
    },
    mouseToggle: record('mouseToggle'),
    scrollMouse: record('scrollMouse'),
    getMousePos: () => pos,
    getScreenSize: () => size,
    updateScreenMetrics: record('updateScreenMetrics'),
  };
  return { robot, calls };
}

function onPlatform(platform: RobotPlatform, size?: { width: number; height: number }) {
  const fake = fakeRobot(size);
  const injector = new RobotInjector(fake.robot, { platform });
  fake.calls.splice(0);
  return { injector, calls: fake.calls };
}

describe('RobotInjector platform rules (recording stand-in for robotjs)', () => {
  it('turns off robotjs per-event sleeps that would block the event loop', () => {
    const fake = fakeRobot();
    new RobotInjector(fake.robot, { platform: 'win32' });
    expect(fake.calls).toEqual(expect.arrayContaining([['setKeyboardDelay', 0], ['setMouseDelay', 0]]));
  });

  it('names keys for robotjs and refuses what a platform lacks', () => {
    const win = onPlatform('win32');
    for (const code of ['KeyQ', 'Digit7', 'Semicolon', 'F24', 'Numpad5', 'NumpadEnter', 'ControlRight', 'MetaLeft', 'AltRight', 'ContextMenu']) {
      expect(win.injector.key(code, true)).toBe(true);
    }
    expect(win.calls.map((c) => c[1])).toEqual(['q', '7', ';', 'f24', 'numpad_5', 'enter', 'right_control', 'command', 'right_alt', 'menu']);
    expect(win.injector.key('IntlBackslash', true)).toBe(false);

    const mac = onPlatform('darwin');
    for (const code of ['F21', 'Insert', 'PrintScreen', 'ContextMenu', 'NumLock']) expect(mac.injector.key(code, true)).toBe(false);
    expect(mac.injector.key('F20', true)).toBe(true);
    expect(mac.calls).toEqual([['keyToggle', 'f20', 'down']]);
  });

  it('scales the wheel: 1/120 notches pass through on Windows, pixels on macOS', () => {
    const win = onPlatform('win32');
    win.injector.wheel(0, 60);
    win.injector.wheel(-30, 0);
    win.injector.wheel(0, 1e9);
    expect(win.calls).toEqual([['scrollMouse', 0, -60], ['scrollMouse', 30, 0], ['scrollMouse', 0, -1920]]);

    const mac = onPlatform('darwin');
    mac.injector.wheel(0, 120);
    mac.injector.wheel(0, 6); // half a pixel: carried
    mac.injector.wheel(0, 6);
    expect(mac.calls).toEqual([['scrollMouse', 0, -10], ['scrollMouse', 0, -1]]);
  });

  it('types text as Unicode on Windows (surrogate pairs) and macOS (BMP only)', () => {
    const win = onPlatform('win32');
    expect(win.injector.text('é€😀\n')).toBe(0);
    expect(win.calls).toEqual([['unicodeTap', 0xe9], ['unicodeTap', 0x20ac], ['unicodeTap', 0xd83d], ['unicodeTap', 0xde00], ['keyTap', 'enter']]);

    const mac = onPlatform('darwin');
    expect(mac.injector.text('é😀\u0007')).toBe(2);
    expect(mac.calls).toEqual([['unicodeTap', 0xe9]]);
  });

  it('maps onto the primary display, follows its size, and drags on macOS while a button is held', () => {
    const size = { width: 2560, height: 1440 };
    const mac = onPlatform('darwin', size);
    mac.injector.pointerAbs(COORD_MAX, 0);
    mac.injector.button(MouseButton.Left, true);
    mac.injector.pointerRel(-9, 5);
    size.width = 1280;
    size.height = 720;
    mac.injector.pointerAbs(COORD_MAX, COORD_MAX);
    expect(mac.calls).toEqual([
      ['moveMouse', 2559, 0],
      ['mouseToggle', 'down', 'left'],
      ['dragMouse', 2550, 5, 'left'],
      ['updateScreenMetrics'],
      ['dragMouse', 1279, 719, 'left'],
    ]);
  });

  it('keeps going when robotjs throws, and does not count a failed press as held', () => {
    const fake = fakeRobot();
    const injector = new RobotInjector({ ...fake.robot, keyToggle: () => { throw new Error('Invalid key code specified.'); } }, { platform: 'win32' });
    expect(injector.key('KeyA', true)).toBe(false);
    expect(injector.holding()).toBe(false);
  });
});

describe('choosing the injector', () => {
  it('defaults to XTEST on Linux and robotjs on Windows and macOS; a forced kind wins', () => {
    expect(resolveInjectorKind('auto', 'linux')).toBe('xtest');
    expect(resolveInjectorKind('auto', 'win32')).toBe('robot');
    expect(resolveInjectorKind('auto', 'darwin')).toBe('robot');
    expect(resolveInjectorKind('robot', 'linux')).toBe('robot');
    expect(resolveInjectorKind('xtest', 'darwin')).toBe('xtest');
  });

  it('validates the option and the configuration key', () => {
    const base = { display: ':0', brokerUrl: 'https://broker.example', workstationId: 'ws-1', secret: 'x'.repeat(16) };
    expect(HostAgentOptions.parse(base).injector).toBe('auto');
    expect(HostAgentOptions.safeParse({ ...base, injector: 'robot' }).success).toBe(true);
    expect(HostAgentOptions.safeParse({ ...base, injector: 'uinput' }).success).toBe(false);
    const { display: _display, ...config } = base;
    expect(HostConfig.safeParse({ ...config, injector: 'xtest' }).success).toBe(true);
    expect(HostConfig.safeParse({ ...config, injector: 'nut' }).success).toBe(false);
  });
});
