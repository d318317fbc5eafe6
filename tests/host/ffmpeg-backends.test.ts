/**
 * ffmpeg argument lists per capture backend. The Windows and macOS ones are
 * checked here only: they have not run on real Windows or macOS machines.
 */
import { describe, expect, it } from 'vitest';
import type { CaptureSettings } from '../../src/host/capture/capture-source.js';
import { avfoundationBackend, ddagrabBackend, ffmpegArgs, gdigrabBackend, x11grabBackend } from '../../src/host/capture/ffmpeg-backends.js';

const second: CaptureSettings = { region: { x: 1920, y: 0, width: 2560, height: 1440 }, width: 1920, height: 1080, fps: 60 };
const TAIL = ['-fps_mode', 'passthrough', '-pix_fmt', 'yuv420p', '-f', 'rawvideo', 'pipe:1'];

describe('ffmpeg capture backends', () => {
  it('x11grab grabs the monitor region and scales it', () => {
    const args = ffmpegArgs(x11grabBackend(':0', false), second);
    expect(args.join(' ')).toContain('-f x11grab -draw_mouse 0 -framerate 60 -video_size 2560x1440 -i :0+1920,0 -vf scale=1920:1080:flags=fast_bilinear');
    expect(args.slice(-TAIL.length)).toEqual(TAIL);
  });

  it('x11grab at native size has no filter at all', () => {
    const args = ffmpegArgs(x11grabBackend(':1'), { region: { x: 0, y: 0, width: 1280, height: 720 }, width: 1280, height: 720, fps: 30 });
    expect(args).not.toContain('-vf');
    expect(args.join(' ')).toContain('-draw_mouse 1');
  });

  it('ddagrab selects output, region and rate in the lavfi source and downloads from the GPU', () => {
    const args = ffmpegArgs(ddagrabBackend(1), second);
    expect(args).toContain('ddagrab=output_idx=1:framerate=60:draw_mouse=1:video_size=2560x1440:offset_x=1920:offset_y=0');
    expect(args[args.indexOf('-vf') + 1]).toBe('hwdownload,format=bgra,scale=1920:1080:flags=fast_bilinear');
  });

  it('gdigrab grabs the region of the virtual desktop', () => {
    expect(ffmpegArgs(gdigrabBackend(), second).join(' ')).toContain('-f gdigrab -draw_mouse 1 -framerate 60 -offset_x 1920 -offset_y 0 -video_size 2560x1440 -i desktop');
  });

  it('avfoundation grabs the whole screen device and crops the region', () => {
    const args = ffmpegArgs(avfoundationBackend(2), second);
    expect(args.join(' ')).toContain('-f avfoundation -capture_cursor 1 -framerate 60 -pixel_format nv12 -i 2:none');
    expect(args[args.indexOf('-vf') + 1]).toBe('crop=2560:1440:1920:0,scale=1920:1080:flags=fast_bilinear');
  });
});
