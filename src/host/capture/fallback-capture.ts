/**
 * Tries the preferred capture path and, if it cannot start, the next one:
 * the agent's `--capture auto` is in-process MIT-SHM capture first, then the
 * ffmpeg pipeline (a remote X display has no MIT-SHM; a machine where the
 * addon was not built has no addon). The reason is logged, so a slow host
 * says why it is slow.
 */
import type { Logger } from 'pino';
import type { Monitor } from '../../shared/control.js';
import type { HostError } from '../errors.js';
import type { CaptureSettings, CaptureSource, CaptureStats, FrameSink } from './capture-source.js';

export class FallbackCapture implements CaptureSource {
  private active: CaptureSource;

  constructor(
    private readonly preferred: CaptureSource,
    private readonly fallback: () => CaptureSource,
    private readonly logger?: Logger,
  ) {
    this.active = preferred;
  }

  monitors(): Promise<Monitor[]> {
    return this.active.monitors();
  }

  async start(settings: CaptureSettings, sink: FrameSink, onFailure: (err: HostError) => void): Promise<void> {
    try {
      await this.preferred.start(settings, sink, onFailure);
    } catch (err) {
      this.logger?.warn({ err: (err as Error).message }, 'in-process capture unavailable; using the ffmpeg pipeline');
      this.active = this.fallback();
      await this.active.start(settings, sink, onFailure);
    }
  }

  reconfigure(settings: CaptureSettings): Promise<void> {
    return this.active.reconfigure(settings);
  }

  stop(): Promise<void> {
    return this.active.stop();
  }

  stats(): CaptureStats {
    return this.active.stats();
  }
}
