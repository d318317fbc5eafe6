/**
 * Linux/X11 capture: the ffmpeg pipeline with the x11grab backend, and the
 * display's monitors from RandR (or the one screen).
 */
import type { Logger } from 'pino';
import { listMonitors } from '../x11/monitors.js';
import type { CaptureSettings } from './capture-source.js';
import { ffmpegArgs, x11grabBackend } from './ffmpeg-backends.js';
import { FfmpegCapture } from './ffmpeg-capture.js';

export interface X11GrabOptions {
  /** X display, e.g. ":99". */
  display: string;
  /** false leaves the cursor out of the picture, for clients that draw it locally from `cursor` messages. */
  drawMouse?: boolean;
  ffmpegPath?: string;
  logger?: Logger;
}

/** ffmpeg's arguments for a low-latency, unscaled grab of the top-left `width`x`height` of `display`. */
export function x11grabArgs(display: string, width: number, height: number, fps: number): string[] {
  const settings: CaptureSettings = { region: { x: 0, y: 0, width, height }, width, height, fps };
  return ffmpegArgs(x11grabBackend(display), settings);
}

export class X11GrabCapture extends FfmpegCapture {
  constructor(options: X11GrabOptions) {
    super({
      backend: x11grabBackend(options.display, options.drawMouse ?? true),
      listMonitors: () => listMonitors(options.display),
      ...(options.ffmpegPath === undefined ? {} : { ffmpegPath: options.ffmpegPath }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
  }
}
