/**
 * The seam between decoded input and the operating system. Two implementations
 * exist: XTEST on Linux/X11 (xtest-injector.ts) and `@jitsi/robotjs` on Windows
 * and macOS (robot-injector.ts); RegionInjector wraps either for one monitor of
 * several. A uinput pen injector that carries pressure and tilt is planned
 * (issue "pen pressure") and will implement this interface; it is not written.
 */
import type { InputMessage, MouseButton } from '../../shared/input.js';

/** A pen sample exactly as it came off the wire: position, pressure, tilt, twist and flags (PenFlag bits). */
export type PenSample = Omit<Extract<InputMessage, { op: 'pen' }>, 'op'>;

export interface Injector {
  /** Moves the pointer to a position normalised to 0..COORD_MAX on both axes. */
  pointerAbs(x: number, y: number): void;
  /** Moves the pointer by a relative amount in screen pixels. */
  pointerRel(dx: number, dy: number): void;
  /** Presses or releases a mouse button (DOM numbering). */
  button(button: MouseButton, down: boolean): void;
  /** Scrolls by deltas in 1/120 of a notch; positive is down/right. */
  wheel(dx: number, dy: number): void;
  /**
   * Presses or releases the physical key a `KeyboardEvent.code` names, so the
   * host's layout decides the character. Returns false when the host has no
   * such key, so the caller can count it.
   */
  key(code: string, down: boolean): boolean;
  /**
   * Types text the host layout may not have keys for (the fallback for
   * characters the client could not send as keys). Resolves to the number of
   * characters that could not be typed; later input waits for it.
   */
  text(text: string): Promise<number> | number;
  /**
   * A pen sample. Implementations inject what their platform can carry: the
   * X11 one drives the pointer and buttons only (XTEST has no pressure), a
   * tablet-device implementation would pass pressure and tilt through.
   */
  pen(sample: PenSample): void;
  /** Releases every key and button this injector holds down. */
  releaseAll(): void;
  /** Whether any key or button is held down now. */
  holding(): boolean;
  /** Releases everything and frees the injector's resources. Idempotent. */
  close(): Promise<void>;
}
