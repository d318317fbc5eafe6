/**
 * Captures an X display with `ffmpeg -f x11grab`, reads raw I420 frames from
 * its stdout and feeds them to libwebrtc through wrtc's RTCVideoSource, which
 * encodes (VP8/VP9/AV1) and paces them with congestion control.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { HostError } from '../errors.js';
import { createVideoSource, type VideoTrack } from '../webrtc.js';
import { queryScreenSize } from '../x11/client.js';
import type { CaptureSource, CaptureStats } from './capture-source.js';
import { FrameSplitter } from './frame-splitter.js';

/** A capture that has not produced a frame by then is reported as failed. */
const FIRST_FRAME_TIMEOUT_MS = 5_000;
/** After SIGTERM, ffmpeg gets this long before SIGKILL. */
const STOP_TIMEOUT_MS = 2_000;
/** Lines of ffmpeg's stderr kept to explain a failure. */
const STDERR_TAIL_LINES = 8;
/** The fps figure in stats is measured over windows this long. */
const FPS_WINDOW_MS = 1_000;

export interface X11GrabOptions {
  /** X display, e.g. ":99". */
  display: string;
  fps: number;
  /** Capture size; defaults to the display's full size. */
  width?: number;
  height?: number;
  ffmpegPath?: string;
  logger?: Logger;
}

/** ffmpeg's arguments for a low-latency grab of the top-left `width`x`height` of `display`. */
export function x11grabArgs(display: string, width: number, height: number, fps: number): string[] {
  return [
    '-hide_banner',
    '-loglevel', 'error',
    '-nostdin',
    // Do not buffer or probe the input: every frame should leave as soon as it is grabbed.
    '-fflags', 'nobuffer',
    '-probesize', '32',
    '-analyzeduration', '0',
    '-f', 'x11grab',
    '-draw_mouse', '1',
    '-framerate', String(fps),
    '-video_size', `${width}x${height}`,
    '-i', `${display}+0,0`,
    // Neither duplicate nor drop frames to hit a nominal rate: pass what was grabbed.
    '-fps_mode', 'passthrough',
    '-pix_fmt', 'yuv420p',
    '-f', 'rawvideo',
    'pipe:1',
  ];
}

export class X11GrabCapture implements CaptureSource {
  private proc: ChildProcessByStdio<null, Readable, Readable> | undefined;
  private track: VideoTrack | undefined;
  private width = 0;
  private height = 0;
  private framesCaptured = 0;
  private fps = 0;
  private windowStart = 0;
  private windowFrames = 0;
  private stopping = false;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly options: X11GrabOptions) {}

  async start(onFailure: (err: HostError) => void): Promise<VideoTrack> {
    if (this.proc) throw new Error('X11GrabCapture already started');
    const size =
      this.options.width !== undefined && this.options.height !== undefined
        ? { width: this.options.width, height: this.options.height }
        : await queryScreenSize(this.options.display);
    if (this.stopping) throw new HostError('ERR_CAPTURE_START', 'capture stopped before it started');
    // I420 subsamples chroma 2x2, so both dimensions must be even.
    this.width = size.width & ~1;
    this.height = size.height & ~1;
    const { width, height } = this;

    const source = createVideoSource();
    const track = source.createTrack();
    this.track = track;

    const ffmpeg = this.options.ffmpegPath ?? 'ffmpeg';
    const args = x11grabArgs(this.options.display, width, height, this.options.fps);
    this.options.logger?.info({ ffmpeg, width, height, fps: this.options.fps }, 'starting capture');
    const proc = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;

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
    const splitter = new FrameSplitter((width * height * 3) / 2, (data) => {
      // onFrame copies the pixels into libwebrtc's own buffer before returning.
      source.onFrame({ width, height, data });
      this.countFrame();
      resolveFirst?.();
    });
    proc.stdout.on('data', (chunk: Buffer) => splitter.push(chunk));

    let failed: HostError | undefined;
    const failure = new Promise<HostError>((resolve) => {
      const report = (why: string): void => {
        if (failed) return;
        if (this.stopping) {
          // Stopped on purpose: only worth reporting if start() is still waiting for a frame.
          if (!this.framesCaptured) resolve(new HostError('ERR_CAPTURE_START', 'capture stopped before the first frame'));
          return;
        }
        const tail = stderrTail.length ? `: ${stderrTail.join(' | ')}` : '';
        failed = new HostError(this.framesCaptured ? 'ERR_CAPTURE_FAILED' : 'ERR_CAPTURE_START', `ffmpeg ${why}${tail}`);
        resolve(failed);
      };
      proc.on('error', (err) => report(`could not run (${err.message})`));
      proc.on('exit', (code, signal) => report(`exited (code ${code ?? 'none'}, signal ${signal ?? 'none'})`));
    });
    this.exited = new Promise((resolve) => proc.on('close', () => resolve()));

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<HostError>((resolve) => {
      timer = setTimeout(
        () => resolve(new HostError('ERR_CAPTURE_START', `ffmpeg produced no frame within ${FIRST_FRAME_TIMEOUT_MS} ms`)),
        FIRST_FRAME_TIMEOUT_MS,
      );
    });
    const startError = await Promise.race([firstFrame.then(() => undefined), failure, timeout]);
    clearTimeout(timer);
    if (startError) {
      await this.stop();
      throw startError;
    }
    void failure.then((err) => {
      this.options.logger?.error({ code: err.code, err: err.message }, 'capture failed');
      onFailure(err);
    });
    return track;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.track?.stop();
    const proc = this.proc;
    if (!proc) return;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(killer);
    }
  }

  stats(): CaptureStats {
    return { width: this.width, height: this.height, framesCaptured: this.framesCaptured, fps: this.fps };
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
