/** A CaptureSource that paints flat grey frames on a timer, for session tests without a display. */
import type { CaptureSource, CaptureStats } from '../../../src/host/capture/capture-source.js';
import { createVideoSource, type VideoTrack } from '../../../src/host/webrtc.js';

export class SyntheticCapture implements CaptureSource {
  started = false;
  stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private track: VideoTrack | undefined;
  private frames = 0;

  constructor(
    private readonly width = 320,
    private readonly height = 240,
  ) {}

  start(): Promise<VideoTrack> {
    this.started = true;
    const source = createVideoSource();
    const data = new Uint8Array((this.width * this.height * 3) / 2).fill(128);
    this.timer = setInterval(() => {
      source.onFrame({ width: this.width, height: this.height, data });
      this.frames++;
    }, 33);
    this.track = source.createTrack();
    return Promise.resolve(this.track);
  }

  stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.track?.stop();
    return Promise.resolve();
  }

  stats(): CaptureStats {
    return { width: this.width, height: this.height, framesCaptured: this.frames, fps: 30 };
  }
}
