/**
 * Turns DOM input on the video element into input messages. Coordinates are
 * normalised to the video's content box (the element letterboxes the picture
 * with `object-fit: contain`), so a click lands on the same remote pixel
 * whatever the window size.
 */
import type { MouseButton} from '../../shared/input.js';
import { toCoord } from '../../shared/input.js';
import type { InputSink } from './peer.js';

/** Chromium reports about 100 px per wheel notch; the wire counts 120 units per notch. */
const WHEEL_UNITS_PER_PIXEL = 120 / 100;
const WHEEL_UNITS_PER_LINE = 120 / 3;

/** The normalised position of a client point on the video picture, clamped to its edges. */
export function normalisedPosition(
  clientX: number,
  clientY: number,
  box: { left: number; top: number; width: number; height: number },
  videoWidth: number,
  videoHeight: number,
): { x: number; y: number } {
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

function isMouseButton(b: number): b is MouseButton {
  return b >= 0 && b <= 4;
}

/** Wires the video element to the input sink; returns the function that unwires it. */
export function attachInput(video: HTMLVideoElement, sink: InputSink): () => void {
  const heldKeys = new Set<string>();
  const position = (e: MouseEvent) => normalisedPosition(e.clientX, e.clientY, video.getBoundingClientRect(), video.videoWidth, video.videoHeight);

  const onMove = (e: PointerEvent) => {
    // Coalesced events keep every sample of a fast stroke; the last one is the event itself.
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    for (const ev of events.length > 0 ? events : [e]) sink.send({ op: 'pointerAbs', ...position(ev) });
  };
  const onButton = (down: boolean) => (e: PointerEvent) => {
    if (!isMouseButton(e.button)) return;
    e.preventDefault();
    if (down) {
      video.focus();
      video.setPointerCapture(e.pointerId);
    }
    sink.send({ op: 'button', button: e.button, down, ...position(e) });
  };
  const onWheel = (e: WheelEvent) => {
    e.preventDefault();
    const scale = e.deltaMode === WheelEvent.DOM_DELTA_LINE ? WHEEL_UNITS_PER_LINE : e.deltaMode === WheelEvent.DOM_DELTA_PAGE ? 120 : WHEEL_UNITS_PER_PIXEL;
    sink.send({ op: 'wheel', dx: e.deltaX * scale, dy: e.deltaY * scale });
  };
  const onKey = (down: boolean) => (e: KeyboardEvent) => {
    if (!/^[A-Za-z0-9]{1,32}$/.test(e.code)) return;
    e.preventDefault();
    if (down) heldKeys.add(e.code);
    else heldKeys.delete(e.code);
    sink.send({ op: 'key', code: e.code, down });
  };
  const releaseAll = () => {
    // Losing focus must never leave a key held on the workstation.
    heldKeys.clear();
    sink.send({ op: 'releaseAll' });
  };
  const noMenu = (e: Event) => e.preventDefault();

  const down = onButton(true);
  const up = onButton(false);
  const keyDown = onKey(true);
  const keyUp = onKey(false);
  video.addEventListener('pointermove', onMove);
  video.addEventListener('pointerdown', down);
  video.addEventListener('pointerup', up);
  video.addEventListener('wheel', onWheel, { passive: false });
  video.addEventListener('keydown', keyDown);
  video.addEventListener('keyup', keyUp);
  video.addEventListener('blur', releaseAll);
  video.addEventListener('contextmenu', noMenu);
  window.addEventListener('blur', releaseAll);
  return () => {
    video.removeEventListener('pointermove', onMove);
    video.removeEventListener('pointerdown', down);
    video.removeEventListener('pointerup', up);
    video.removeEventListener('wheel', onWheel);
    video.removeEventListener('keydown', keyDown);
    video.removeEventListener('keyup', keyUp);
    video.removeEventListener('blur', releaseAll);
    video.removeEventListener('contextmenu', noMenu);
    window.removeEventListener('blur', releaseAll);
  };
}
