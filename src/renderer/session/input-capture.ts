/**
 * Turns DOM input on the video element into input messages. This is the hot
 * path: listeners write straight to the peer's input sink, never through
 * React state or the machine, and the element's box is cached rather than
 * measured per event.
 *
 * - Coordinates are normalised to the picture inside the element (which
 *   letterboxes it with `object-fit: contain`).
 * - Pointer lock turns mouse motion into relative motion, in remote pixels.
 * - Pen input (Pointer Events with pointerType 'pen') carries pressure,
 *   tilt, twist and the eraser/barrel buttons; coalesced events keep every
 *   sample of a fast stroke.
 * - Keys travel as physical codes (`KeyboardEvent.code`); everything held is
 *   released when the element or window loses focus or the page is hidden.
 */
import { PenFlag, toCoord, type InputMessage, type MouseButton } from '../../shared/input.js';
import type { InputSink } from './peer.js';

/** The wire counts 120 units per wheel notch; Chromium reports about 100 px per notch. */
const WHEEL_UNITS_PER_PIXEL = 120 / 100;
const WHEEL_UNITS_PER_LINE = 120 / 3;
const WHEEL_UNITS_PER_PAGE = 120;
/** `PointerEvent.button` of a pen's eraser end (Pointer Events spec). */
const ERASER_BUTTON = 5;
/** `PointerEvent.buttons` bits: barrel (as the right button) and eraser. */
const BUTTONS_BARREL = 2;
const BUTTONS_ERASER = 32;

type Box = { left: number; top: number; width: number; height: number };

/** The normalised position of a client point on the video picture, clamped to its edges. */
export function normalisedPosition(clientX: number, clientY: number, box: Box, videoWidth: number, videoHeight: number): { x: number; y: number } {
  let { left, top, width, height } = box;
  if (videoWidth > 0 && videoHeight > 0 && width > 0 && height > 0) {
    const scale = Math.min(width / videoWidth, height / videoHeight);
    const w = videoWidth * scale;
    const h = videoHeight * scale;
    left += (width - w) / 2;
    top += (height - h) / 2;
    width = w;
    height = h;
  }
  const fx = width > 0 ? (clientX - left) / width : 0;
  const fy = height > 0 ? (clientY - top) / height : 0;
  return { x: toCoord(Math.min(1, Math.max(0, fx))), y: toCoord(Math.min(1, Math.max(0, fy))) };
}

/** The pen fields of a pointer event that travel on the wire. */
export interface PenLike {
  pressure: number;
  tiltX: number;
  tiltY: number;
  twist: number;
  button: number;
  buttons: number;
}

/** Pen flags from a pointer event: contact while pressing, eraser and barrel from the buttons, always in range. */
export function penFlags(e: PenLike, type: string): number {
  let flags = PenFlag.InRange;
  const eraser = e.button === ERASER_BUTTON || (e.buttons & BUTTONS_ERASER) !== 0;
  const touching = type !== 'pointerup' && (e.buttons & (1 | BUTTONS_ERASER)) !== 0;
  if (touching) flags |= PenFlag.Contact;
  if (eraser) flags |= PenFlag.Eraser;
  if ((e.buttons & BUTTONS_BARREL) !== 0) flags |= PenFlag.Barrel;
  return flags;
}

/** A pen message from a pointer event at a normalised position. */
export function penMessage(e: PenLike, type: string, pos: { x: number; y: number }): Extract<InputMessage, { op: 'pen' }> {
  const flags = penFlags(e, type);
  const pressure = (flags & PenFlag.Contact) !== 0 ? Math.round(Math.min(1, Math.max(0, e.pressure)) * 0xffff) : 0;
  return { op: 'pen', ...pos, pressure, tiltX: e.tiltX, tiltY: e.tiltY, twist: ((Math.round(e.twist) % 360) + 360) % 360, flags };
}

/**
 * Wheel deltas in wire units, keeping the fraction a fine (touchpad or
 * high-resolution) wheel leaves over, so slow scrolls add up instead of
 * rounding to nothing.
 */
export class WheelAccumulator {
  private rx = 0;
  private ry = 0;
  add(deltaX: number, deltaY: number, deltaMode: number): { dx: number; dy: number } | null {
    const scale = deltaMode === 1 ? WHEEL_UNITS_PER_LINE : deltaMode === 2 ? WHEEL_UNITS_PER_PAGE : WHEEL_UNITS_PER_PIXEL;
    this.rx += deltaX * scale;
    this.ry += deltaY * scale;
    const dx = Math.trunc(this.rx);
    const dy = Math.trunc(this.ry);
    this.rx -= dx;
    this.ry -= dy;
    return dx === 0 && dy === 0 ? null : { dx, dy };
  }
}

function isMouseButton(b: number): b is MouseButton {
  return b >= 0 && b <= 4;
}

const KEY_CODE = /^[A-Za-z0-9]{1,32}$/;

/** Whether this browser fires `pointerrawupdate` (Chromium, in secure contexts such as the app and https pages). */
export function rawPointerEvents(): boolean {
  return typeof window !== 'undefined' && window.isSecureContext && 'onpointerrawupdate' in window;
}

/** Wires the video element to the input sink; returns the function that unwires it. */
export function attachInput(video: HTMLVideoElement, sink: InputSink): () => void {
  const heldKeys = new Set<string>();
  const wheel = new WheelAccumulator();
  let box: Box = video.getBoundingClientRect();
  const measure = () => {
    box = video.getBoundingClientRect();
  };
  const resize = new ResizeObserver(measure);
  resize.observe(video);
  const position = (e: { clientX: number; clientY: number }) => normalisedPosition(e.clientX, e.clientY, box, video.videoWidth, video.videoHeight);
  const locked = () => document.pointerLockElement === video;

  const samples = (e: PointerEvent): PointerEvent[] => {
    // Coalesced events keep every sample of a fast stroke; the last one is the event itself.
    const list = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    return list.length > 0 ? list : [e];
  };

  const onMove = (e: PointerEvent) => {
    if (e.pointerType === 'pen') {
      for (const ev of samples(e)) sink.send(penMessage(ev, e.type, position(ev)));
      return;
    }
    if (locked()) {
      // Relative motion in remote pixels: one CSS pixel of the picture is videoWidth / pictureWidth of them.
      const scale = video.videoWidth > 0 && box.width > 0 ? Math.max(video.videoWidth / box.width, video.videoHeight / box.height) : 1;
      for (const ev of samples(e)) {
        const dx = Math.round(ev.movementX * scale);
        const dy = Math.round(ev.movementY * scale);
        if (dx !== 0 || dy !== 0) sink.send({ op: 'pointerRel', dx, dy });
      }
      return;
    }
    for (const ev of samples(e)) sink.send({ op: 'pointerAbs', ...position(ev) });
  };
  const onButton = (down: boolean) => (e: PointerEvent) => {
    e.preventDefault();
    if (down) {
      video.focus();
      if (!locked()) video.setPointerCapture(e.pointerId);
    }
    if (e.pointerType === 'pen') {
      sink.send(penMessage(e, e.type, position(e)));
      return;
    }
    if (!isMouseButton(e.button)) return;
    sink.send({ op: 'button', button: e.button, down, ...position(e) });
  };
  const onPenLeave = (e: PointerEvent) => {
    // Out of range: a zero-flag sample lifts the pen on the host.
    if (e.pointerType === 'pen') sink.send({ op: 'pen', ...position(e), pressure: 0, tiltX: 0, tiltY: 0, twist: 0, flags: 0 });
  };
  const onWheel = (e: WheelEvent) => {
    e.preventDefault();
    const d = wheel.add(e.deltaX, e.deltaY, e.deltaMode);
    if (d) sink.send({ op: 'wheel', ...d });
  };
  const onKey = (down: boolean) => (e: KeyboardEvent) => {
    if (!KEY_CODE.test(e.code)) return;
    // Everything goes to the remote, browser shortcuts included; with the
    // Keyboard Lock API in full screen that covers Alt+Tab, Esc and Ctrl+W too.
    e.preventDefault();
    e.stopPropagation();
    if (down) heldKeys.add(e.code);
    else if (!heldKeys.delete(e.code)) return; // a release whose press we never sent (focus came mid-press)
    sink.send({ op: 'key', code: e.code, down });
  };
  const releaseAll = () => {
    // Losing focus must never leave a key held on the workstation.
    heldKeys.clear();
    sink.send({ op: 'releaseAll' });
  };
  const onVisibility = () => {
    if (document.visibilityState === 'hidden') releaseAll();
  };
  const noMenu = (e: Event) => e.preventDefault();

  const down = onButton(true);
  const up = onButton(false);
  const keyDown = onKey(true);
  const keyUp = onKey(false);
  // Chromium holds pointermove back until the next animation frame (up to a
  // frame of added latency, more when the page is busy); pointerrawupdate
  // fires as soon as the OS event arrives, so motion goes out at once.
  const moveEvent = rawPointerEvents() ? 'pointerrawupdate' : 'pointermove';
  video.addEventListener(moveEvent, onMove as EventListener);
  video.addEventListener('pointerdown', down);
  video.addEventListener('pointerup', up);
  video.addEventListener('pointerleave', onPenLeave);
  video.addEventListener('wheel', onWheel, { passive: false });
  video.addEventListener('keydown', keyDown);
  video.addEventListener('keyup', keyUp);
  video.addEventListener('blur', releaseAll);
  video.addEventListener('contextmenu', noMenu);
  window.addEventListener('blur', releaseAll);
  window.addEventListener('scroll', measure, { passive: true });
  document.addEventListener('visibilitychange', onVisibility);
  document.addEventListener('fullscreenchange', measure);
  return () => {
    resize.disconnect();
    video.removeEventListener(moveEvent, onMove as EventListener);
    video.removeEventListener('pointerdown', down);
    video.removeEventListener('pointerup', up);
    video.removeEventListener('pointerleave', onPenLeave);
    video.removeEventListener('wheel', onWheel);
    video.removeEventListener('keydown', keyDown);
    video.removeEventListener('keyup', keyUp);
    video.removeEventListener('blur', releaseAll);
    video.removeEventListener('contextmenu', noMenu);
    window.removeEventListener('blur', releaseAll);
    window.removeEventListener('scroll', measure);
    document.removeEventListener('visibilitychange', onVisibility);
    document.removeEventListener('fullscreenchange', measure);
  };
}
