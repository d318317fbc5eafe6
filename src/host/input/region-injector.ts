/**
 * Coordinates on the wire are normalised to the streamed picture; when the
 * picture is one monitor of several, they must be mapped onto that monitor's
 * part of the desktop before the injector (which normalises to the whole
 * desktop) sees them. Everything else passes straight through.
 */
import { COORD_MAX, type MouseButton } from '../../shared/input.js';
import type { CaptureRegion } from '../capture/capture-source.js';
import type { Injector, PenSample } from './injector.js';

export class RegionInjector implements Injector {
  private region: CaptureRegion | undefined;
  private desktop = { width: 1, height: 1 };

  constructor(private readonly inner: Injector) {}

  /** Maps pictures of `region` of a `desktop`-sized desktop; undefined means the picture is the whole desktop. */
  setRegion(region: CaptureRegion | undefined, desktop: { width: number; height: number }): void {
    this.region = region;
    this.desktop = desktop;
  }

  /** A normalised coordinate of the picture → normalised coordinate of the whole desktop. */
  map(x: number, y: number): { x: number; y: number } {
    const r = this.region;
    if (!r) return { x, y };
    const axis = (v: number, offset: number, size: number, total: number): number => {
      const px = offset + (Math.min(COORD_MAX, Math.max(0, v)) * (size - 1)) / COORD_MAX;
      return Math.round((px * COORD_MAX) / Math.max(1, total - 1));
    };
    return { x: axis(x, r.x, r.width, this.desktop.width), y: axis(y, r.y, r.height, this.desktop.height) };
  }

  pointerAbs(x: number, y: number): void {
    const p = this.map(x, y);
    this.inner.pointerAbs(p.x, p.y);
  }
  pointerRel(dx: number, dy: number): void {
    this.inner.pointerRel(dx, dy);
  }
  button(button: MouseButton, down: boolean): void {
    this.inner.button(button, down);
  }
  wheel(dx: number, dy: number): void {
    this.inner.wheel(dx, dy);
  }
  key(code: string, down: boolean): boolean {
    return this.inner.key(code, down);
  }
  text(text: string): Promise<number> | number {
    return this.inner.text(text);
  }
  pen(sample: PenSample): void {
    this.inner.pen({ ...sample, ...this.map(sample.x, sample.y) });
  }
  releaseAll(): void {
    this.inner.releaseAll();
  }
  holding(): boolean {
    return this.inner.holding();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
