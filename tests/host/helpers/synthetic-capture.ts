/** A CaptureSource that paints flat grey frames on a timer, for session tests without a display. */
import type { Monitor } from '../../../src/shared/control.js';
import type { CaptureSettings, CaptureSource, CaptureStats } from '../../../src/host/capture/capture-source.js';
import { createVideoSource, type VideoSource, type VideoTrack } from '../../../src/host/webrtc.js';

export class SyntheticCapture implements CaptureSource {
  started = false;
  stopped = false;
  /** Every settings the capture was started or reconfigured with, in order. */
  readonly settings: CaptureSettings[] = [];
  private timer: NodeJS.Timeout | undefined;
  private track: VideoTrack | undefined;
  private source: VideoSource | undefined;
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

  start(settings: CaptureSettings): Promise<VideoTrack> {
    this.started = true;
    this.source = createVideoSource();
    this.run(settings);
    this.track = this.source.createTrack();
    return Promise.resolve(this.track);
  }

  reconfigure(settings: CaptureSettings): Promise<void> {
    this.restarts++;
    this.run(settings);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.track?.stop();
    return Promise.resolve();
  }

  stats(): CaptureStats {
    const last = this.settings.at(-1);
    return { width: last?.width ?? this.width, height: last?.height ?? this.height, framesCaptured: this.frames, fps: last?.fps ?? 30, restarts: this.restarts };
  }

  private run(settings: CaptureSettings): void {
    this.settings.push(settings);
    clearInterval(this.timer);
    const { width, height } = settings;
    const data = new Uint8Array((width * height * 3) / 2).fill(128);
    this.timer = setInterval(() => {
      this.source!.onFrame({ width, height, data });
      this.frames++;
    }, Math.round(1000 / settings.fps));
  }
}
