/**
 * A CaptureSource that delivers flat grey frames to its sink on a timer, for
 * session tests without a display. Like the real captures, it resolves
 * `start` once the first frame is delivered and waits for an asynchronous
 * sink before the next frame (the buffer is reused once the sink settles).
 */
import type { Monitor } from '../../../src/shared/control.js';
import { frameBytes, type CaptureSettings, type CaptureSource, type CaptureStats, type FrameSink } from '../../../src/host/capture/capture-source.js';
import { HostError } from '../../../src/host/errors.js';

export class SyntheticCapture implements CaptureSource {
  started = false;
  stopped = false;
  /** Every settings the capture was started or reconfigured with, in order. */
  readonly settings: CaptureSettings[] = [];
  private sink: FrameSink | undefined;
  private onFailure: ((err: HostError) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The frame being delivered, so stop() can wait until the sink is done with it. */
  private delivering: Promise<void> | undefined;
  private buffer = new Uint8Array(0);
  private frames = 0;
  private restarts = 0;

  constructor(
    private readonly width = 320,
    private readonly height = 240,
    private readonly monitorList: Monitor[] = [{ id: 'screen0', name: 'Screen 0', x: 0, y: 0, width, height, primary: true }],
  ) {}

  monitors(): Promise<Monitor[]> {
    return Promise.resolve(this.monitorList);
  }

  async start(settings: CaptureSettings, sink: FrameSink, onFailure: (err: HostError) => void): Promise<void> {
    if (this.sink) throw new Error('capture already started');
    this.started = true;
    this.sink = sink;
    this.onFailure = onFailure;
    this.settings.push(settings);
    // The first frame now, so start resolves with a picture delivered (and a sink that throws fails here), as the real captures do.
    try {
      await this.deliver();
    } catch (err) {
      this.stopped = true;
      throw new HostError('ERR_CAPTURE_START', `the sink refused the first frame: ${(err as Error).message}`, { cause: err });
    }
  }

  reconfigure(settings: CaptureSettings): Promise<void> {
    if (this.stopped || !this.sink) return Promise.resolve();
    this.restarts++;
    this.settings.push(settings);
    // The next frame has the new settings; a new rate starts from now.
    clearTimeout(this.timer);
    if (!this.delivering) this.schedule();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.delivering;
  }

  stats(): CaptureStats {
    const last = this.settings.at(-1);
    return { width: last?.width ?? this.width, height: last?.height ?? this.height, framesCaptured: this.frames, fps: last?.fps ?? 30, restarts: this.restarts };
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.deliver().catch((err: unknown) => {
        this.stopped = true;
        this.onFailure?.(new HostError('ERR_CAPTURE_FAILED', `the sink threw: ${(err as Error).message}`, { cause: err }));
      });
    }, Math.round(1000 / this.settings.at(-1)!.fps));
  }

  /** Hands one frame to the sink and waits for it (rejects if the sink throws); the next is scheduled only then. */
  private async deliver(): Promise<void> {
    if (this.stopped) return;
    const { width, height, format = 'i420' } = this.settings.at(-1)!;
    const size = frameBytes(width, height, format);
    if (this.buffer.length !== size) this.buffer = new Uint8Array(size).fill(128);
    // Through a promise, so a sink that throws synchronously rejects like an asynchronous one.
    const delivery = Promise.resolve().then(() => this.sink!({ width, height, format, data: this.buffer, capturedAt: performance.now() }));
    this.delivering = delivery.catch(() => undefined);
    try {
      await delivery;
    } finally {
      this.delivering = undefined;
    }
    this.frames++;
    this.schedule();
  }
}
