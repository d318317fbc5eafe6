/**
 * The seam between decoded input and the operating system. On Linux/X11 the
 * XTEST implementation sits behind it; uinput, Windows and macOS injectors
 * will implement the same interface.
 */
import type { MouseButton } from '../../shared/input.js';

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
   * Presses or releases a key given as `KeyboardEvent.code`. Returns false when
   * the host cannot type that key, so the caller can count it.
   */
  key(code: string, down: boolean): boolean;
  /** Releases every key and button this injector holds down. */
  releaseAll(): void;
  /** Releases everything and frees the injector's resources. Idempotent. */
  close(): Promise<void>;
}
