/**
 * ffmpeg input arguments per platform: everything platform-specific about
 * grabbing the screen, so the pipeline in ffmpeg-capture.ts stays the same.
 * The X11 backend is tested on Xvfb; the Windows and macOS ones are argument
 * builders, unit-tested for their argument lists but NOT yet run on real
 * Windows or macOS machines (see README.md ("The host agent")).
 */
import type { CaptureSettings } from './capture-source.js';

export interface FfmpegBackend {
  /** A short name for logs: x11grab, ddagrab, gdigrab, avfoundation. */
  readonly name: string;
  /** Arguments from the input format up to and including `-i …`. */
  inputArgs(settings: CaptureSettings): string[];
  /** Filters to apply before scaling (e.g. a crop where the grabber cannot select a region); may be empty. */
  preFilters(settings: CaptureSettings): string[];
}

/** Linux/X11: grab the region straight from the X server; the cursor is drawn in unless asked otherwise. */
export function x11grabBackend(display: string, drawMouse = true): FfmpegBackend {
  return {
    name: 'x11grab',
    inputArgs: ({ region, fps }) => [
      '-f', 'x11grab',
      '-draw_mouse', drawMouse ? '1' : '0',
      '-framerate', String(fps),
      '-video_size', `${region.width}x${region.height}`,
      '-i', `${display}+${region.x},${region.y}`,
    ],
    preFilters: () => [],
  };
}

/**
 * Windows 8+: Desktop Duplication through the `ddagrab` lavfi source (ffmpeg
 * 6+), downloaded from the GPU to system memory for libwebrtc's encoder.
 * `outputIndex` is the DXGI output (monitor) number.
 */
export function ddagrabBackend(outputIndex: number, drawMouse = true): FfmpegBackend {
  return {
    name: 'ddagrab',
    inputArgs: ({ region, fps }) => [
      '-f', 'lavfi',
      '-i',
      `ddagrab=output_idx=${outputIndex}:framerate=${fps}:draw_mouse=${drawMouse ? 1 : 0}` +
        `:video_size=${region.width}x${region.height}:offset_x=${region.x}:offset_y=${region.y}`,
    ],
    preFilters: () => ['hwdownload', 'format=bgra'],
  };
}

/** Windows, any version: GDI grab of the virtual desktop (slower than ddagrab, works without a GPU). */
export function gdigrabBackend(drawMouse = true): FfmpegBackend {
  return {
    name: 'gdigrab',
    inputArgs: ({ region, fps }) => [
      '-f', 'gdigrab',
      '-draw_mouse', drawMouse ? '1' : '0',
      '-framerate', String(fps),
      '-offset_x', String(region.x),
      '-offset_y', String(region.y),
      '-video_size', `${region.width}x${region.height}`,
      '-i', 'desktop',
    ],
    preFilters: () => [],
  };
}

/**
 * macOS: AVFoundation screen capture device `screenIndex` (as listed by
 * `ffmpeg -f avfoundation -list_devices true -i ""`, "Capture screen N").
 * It cannot grab a region, so the region is cropped afterwards. Needs the
 * Screen Recording permission for the agent's process.
 */
export function avfoundationBackend(screenIndex: number, drawMouse = true): FfmpegBackend {
  return {
    name: 'avfoundation',
    inputArgs: ({ fps }) => [
      '-f', 'avfoundation',
      '-capture_cursor', drawMouse ? '1' : '0',
      '-framerate', String(fps),
      '-pixel_format', 'nv12',
      '-i', `${screenIndex}:none`,
    ],
    preFilters: ({ region }) => [`crop=${region.width}:${region.height}:${region.x}:${region.y}`],
  };
}

/**
 * The whole ffmpeg command line: low-latency input options, the backend's
 * input, scaling to the requested size, raw I420 on stdout.
 */
export function ffmpegArgs(backend: FfmpegBackend, settings: CaptureSettings): string[] {
  const filters = [...backend.preFilters(settings)];
  if (filters.length > 0 || settings.width !== settings.region.width || settings.height !== settings.region.height) {
    // fast_bilinear: the cheapest scaler that still looks right for desktop content at 60 fps on 2 cores.
    filters.push(`scale=${settings.width}:${settings.height}:flags=fast_bilinear`);
  }
  return [
    '-hide_banner',
    '-loglevel', 'error',
    '-nostdin',
    // Do not buffer or probe the input: every frame should leave as soon as it is grabbed.
    '-fflags', 'nobuffer',
    '-probesize', '32',
    '-analyzeduration', '0',
    ...backend.inputArgs(settings),
    ...(filters.length > 0 ? ['-vf', filters.join(',')] : []),
    // Neither duplicate nor drop frames to hit a nominal rate: pass what was grabbed.
    '-fps_mode', 'passthrough',
    '-pix_fmt', settings.format === 'i444' ? 'yuv444p' : 'yuv420p',
    '-f', 'rawvideo',
    'pipe:1',
  ];
}
