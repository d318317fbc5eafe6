/** An injector that records what it is asked to do, for tests of routing and sessions. */
import type { MouseButton } from '../../../src/shared/input.js';
import type { Injector, PenSample } from '../../../src/host/input/injector.js';

export type InjectedEvent =
  | { kind: 'pointerAbs'; x: number; y: number }
  | { kind: 'pointerRel'; dx: number; dy: number }
  | { kind: 'button'; button: MouseButton; down: boolean }
  | { kind: 'wheel'; dx: number; dy: number }
  | { kind: 'key'; code: string; down: boolean }
  | { kind: 'text'; text: string }
  | { kind: 'pen'; sample: PenSample }
  | { kind: 'releaseAll' }
  | { kind: 'close' };

export class RecordingInjector implements Injector {
  readonly events: InjectedEvent[] = [];
  private held = 0;
  /** When set, text() waits for this before finishing, to test ordering behind slow text. */
  textGate: Promise<void> | undefined;

  /** Keys this injector pretends the host layout lacks. */
  constructor(private readonly unmapped: ReadonlySet<string> = new Set()) {}

  pointerAbs(x: number, y: number): void {
    this.events.push({ kind: 'pointerAbs', x, y });
  }
  pointerRel(dx: number, dy: number): void {
    this.events.push({ kind: 'pointerRel', dx, dy });
  }
  button(button: MouseButton, down: boolean): void {
    this.held += down ? 1 : -1;
    this.events.push({ kind: 'button', button, down });
  }
  wheel(dx: number, dy: number): void {
    this.events.push({ kind: 'wheel', dx, dy });
  }
  key(code: string, down: boolean): boolean {
    if (this.unmapped.has(code)) return false;
    this.held += down ? 1 : -1;
    this.events.push({ kind: 'key', code, down });
    return true;
  }
  text(text: string): Promise<number> | number {
    if (!this.textGate) {
      this.events.push({ kind: 'text', text });
      return 0;
    }
    return this.textGate.then(() => {
      this.events.push({ kind: 'text', text });
      return 0;
    });
  }
  pen(sample: PenSample): void {
    this.events.push({ kind: 'pen', sample });
  }
  releaseAll(): void {
    this.held = 0;
    this.events.push({ kind: 'releaseAll' });
  }
  holding(): boolean {
    return this.held > 0;
  }
  close(): Promise<void> {
    this.events.push({ kind: 'close' });
    return Promise.resolve();
  }
}
