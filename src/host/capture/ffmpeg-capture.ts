/**
 * The capture pipeline shared by every ffmpeg backend: ffmpeg grabs and
 * scales, writes raw I420 (or I444) to stdout, and each whole frame goes to
 * the sink. A new size, rate or monitor restarts ffmpeg but keeps the
 * sink, so the peer connection is not renegotiated. The pipe measured 54-150
 * ms from change to frame (BENCHMARKS.md): this is the fallback where the
 * in-process capture cannot run.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Monitor } from '../../shared/control.js';
import { HostError } from '../errors.js';
import { frameBytes, type CaptureSettings, type CaptureSource, type CaptureStats, type FrameSink } from './capture-source.js';
import { ffmpegArgs, type FfmpegBackend } from './ffmpeg-backends.js';
import { FrameSplitter } from './frame-splitter.js';

/** A capture that has not produced a frame by then is reported as failed. */
export const FIRST_FRAME_TIMEOUT_MS = 5_000;
/** After SIGTERM, ffmpeg gets this long before SIGKILL. */
const STOP_TIMEOUT_MS = 2_000;
/** Lines of ffmpeg's stderr kept to explain a failure. */
const STDERR_TAIL_LINES = 8;
/** The fps figure in stats is measured over windows this long. */
const FPS_WINDOW_MS = 1_000;

export interface FfmpegCaptureOptions {
  backend: FfmpegBackend;
  /** Lists the monitors the backend can grab. */
  listMonitors: () => Promise<Monitor[]>;
  ffmpegPath?: string;
  logger?: Logger;
}

/** One ffmpeg process; replaced as a whole when the settings change. */
interface Run {
  proc: ChildProcessByStdio<null, Readable, Readable>;
  /** Set when we stop it on purpose, so its exit is not a failure. */
  stopping: boolean;
  exited: Promise<void>;
  /** Resolves with the reason ffmpeg died unasked (or could not start). */
  failure: Promise<HostError>;
  firstFrame: Promise<void>;
  frames: number;
}

/** Even dimensions: I420 subsamples chroma 2x2. */
function even(n: number): number {
  return Math.max(2, n & ~1);
}

export class FfmpegCapture implements CaptureSource {
  private sink: FrameSink | undefined;
  /** A frame is with the sink (an async encoder): frames arriving meanwhile are dropped, the latest picture wins. */
  private sinkBusy = false;
  private run: Run | undefined;
  private settings: CaptureSettings | undefined;
  private onFailure: ((err: HostError) => void) | undefined;
  private framesCaptured = 0;
  private fps = 0;
  private windowStart = 0;
  private windowFrames = 0;
  private restarts = 0;
  private stopped = false;
  /** Serialises reconfigurations so two quality requests cannot interleave their restarts. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly options: FfmpegCaptureOptions) {}

  monitors(): Promise<Monitor[]> {
    return this.options.listMonitors();
  }

  async start(settings: CaptureSettings, sink: FrameSink, onFailure: (err: HostError) => void): Promise<void> {
    if (this.sink || this.stopped) throw new Error('capture already started');
    this.onFailure = onFailure;
    this.sink = sink;
    await this.launch(settings);
  }

  reconfigure(settings: CaptureSettings): Promise<void> {
    const next = this.chain.then(async () => {
      if (this.stopped || !this.sink) return;
      const old = this.run;
      this.run = undefined;
      if (old) await this.kill(old);
      this.restarts++;
      await this.launch(settings);
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const run = this.run;
    this.run = undefined;
    if (run) await this.kill(run);
  }

  stats(): CaptureStats {
    return {
      width: this.settings?.width ?? 0,
      height: this.settings?.height ?? 0,
      framesCaptured: this.framesCaptured,
      fps: this.fps,
      restarts: this.restarts,
    };
  }

  /** Starts ffmpeg with `settings` and waits for its first frame; throws (having cleaned up) if none comes. */
  private async launch(requested: CaptureSettings): Promise<void> {
    const settings: CaptureSettings = { ...requested, width: even(requested.width), height: even(requested.height) };
    const { width, height } = settings;
    const format = settings.format ?? 'i420';
    const sink = this.sink!;
    const ffmpeg = this.options.ffmpegPath ?? 'ffmpeg';
    const args = ffmpegArgs(this.options.backend, settings);
    this.options.logger?.info({ ffmpeg, backend: this.options.backend.name, ...settings }, 'starting capture');
    const proc = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });

    const stderrTail: string[] = [];
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (text: string) => {
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        stderrTail.push(line.trim());
        if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
        this.options.logger?.warn({ ffmpeg: line.trim() }, 'ffmpeg says');
      }
    });

    let resolveFirst: (() => void) | undefined;
    const firstFrame = new Promise<void>((resolve) => (resolveFirst = resolve));
    const run: Run = {
      proc,
      stopping: false,
      exited: new Promise((resolve) => proc.on('close', () => resolve())),
      failure: new Promise<HostError>((resolve) => {
        let reported = false;
        const report = (why: string): void => {
          if (reported) return;
          reported = true;
          if (run.stopping) {
            if (run.frames === 0) resolve(new HostError('ERR_CAPTURE_START', 'capture stopped before the first frame'));
            return;
          }
          const tail = stderrTail.length ? `: ${stderrTail.join(' | ')}` : '';
          resolve(new HostError(run.frames ? 'ERR_CAPTURE_FAILED' : 'ERR_CAPTURE_START', `ffmpeg ${why}${tail}`));
        };
        proc.on('error', (err) => report(`could not run (${err.message})`));
        proc.on('exit', (code, signal) => report(`exited (code ${code ?? 'none'}, signal ${signal ?? 'none'})`));
      }),
      firstFrame,
      frames: 0,
    };
    const sinkFailed = (err: unknown): void => {
      if (run.stopping || this.stopped) return;
      const failure = new HostError('ERR_CAPTURE_FAILED', `the frame sink failed: ${(err as Error).message}`, { cause: err });
      this.options.logger?.error({ code: failure.code, err: failure.message }, 'capture failed');
      this.stopped = true;
      void this.kill(run);
      this.onFailure?.(failure);
    };
    const splitter = new FrameSplitter(frameBytes(width, height, format), (data) => {
      if (run.stopping || this.sinkBusy) return;
      const capturedAt = performance.now();
      let delivered: void | Promise<void>;
      try {
        // The splitter reuses its buffer for the next chunk, which may arrive while an asynchronous sink still reads: it gets a copy.
        delivered = sink({ width, height, format, data: data.slice(), capturedAt });
      } catch (err) {
        sinkFailed(err);
        return;
      }
      if (delivered instanceof Promise) {
        this.sinkBusy = true;
        delivered.then(
          () => (this.sinkBusy = false),
          (err: unknown) => {
            this.sinkBusy = false;
            sinkFailed(err);
          },
        );
      }
      run.frames++;
      this.countFrame();
      resolveFirst?.();
    });
    proc.stdout.on('data', (chunk: Buffer) => splitter.push(chunk));
    this.run = run;
    this.settings = settings;

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<HostError>((resolve) => {
      timer = setTimeout(
        () => resolve(new HostError('ERR_CAPTURE_START', `ffmpeg produced no frame within ${FIRST_FRAME_TIMEOUT_MS} ms`)),
        FIRST_FRAME_TIMEOUT_MS,
      );
    });
    const startError = await Promise.race([firstFrame.then(() => undefined), run.failure, timeout]);
    clearTimeout(timer);
    if (startError) {
      if (this.run === run) this.run = undefined;
      await this.kill(run);
      throw startError;
    }
    void run.failure.then((err) => {
      if (run.stopping || this.stopped) return;
      this.options.logger?.error({ code: err.code, err: err.message }, 'capture failed');
      this.onFailure?.(err);
    });
  }

  private async kill(run: Run): Promise<void> {
    run.stopping = true;
    const { proc } = run;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await run.exited;
      clearTimeout(killer);
    }
  }

  private countFrame(): void {
    this.framesCaptured++;
    const now = performance.now();
    if (this.windowStart === 0) this.windowStart = now;
    this.windowFrames++;
    const elapsed = now - this.windowStart;
    if (elapsed >= FPS_WINDOW_MS) {
      this.fps = (this.windowFrames * 1000) / elapsed;
      this.windowStart = now;
      this.windowFrames = 0;
    }
  }
}
