/** An injector that records what it is asked to do, for tests of routing and sessions. */
import type { MouseButton } from '../../../src/shared/input.js';
import type { Injector } from '../../../src/host/input/injector.js';

export type InjectedEvent =
  | { kind: 'pointerAbs'; x: number; y: number }
  | { kind: 'pointerRel'; dx: number; dy: number }
  | { kind: 'button'; button: MouseButton; down: boolean }
  | { kind: 'wheel'; dx: number; dy: number }
  | { kind: 'key'; code: string; down: boolean }
  | { kind: 'releaseAll' }
  | { kind: 'close' };

export class RecordingInjector implements Injector {
  readonly events: InjectedEvent[] = [];
  /** Keys this injector pretends the host layout lacks. */
  constructor(private readonly unmapped: ReadonlySet<string> = new Set()) {}

  pointerAbs(x: number, y: number): void {
    this.events.push({ kind: 'pointerAbs', x, y });
  }
  pointerRel(dx: number, dy: number): void {
    this.events.push({ kind: 'pointerRel', dx, dy });
  }
  button(button: MouseButton, down: boolean): void {
    this.events.push({ kind: 'button', button, down });
  }
  wheel(dx: number, dy: number): void {
    this.events.push({ kind: 'wheel', dx, dy });
  }
  key(code: string, down: boolean): boolean {
    if (this.unmapped.has(code)) return false;
    this.events.push({ kind: 'key', code, down });
    return true;
  }
  releaseAll(): void {
    this.events.push({ kind: 'releaseAll' });
  }
  close(): Promise<void> {
    this.events.push({ kind: 'close' });
    return Promise.resolve();
  }
}
