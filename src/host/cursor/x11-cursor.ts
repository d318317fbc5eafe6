/**
 * The X pointer's position and shape through XFIXES GetCursorImage, polled:
 * XFIXES can notify shape changes but not motion, and one small request per
 * tick is cheaper than a second event stream. Images go out only when the
 * cursor serial changes.
 */
import type { Logger } from 'pino';
import { closeX11, connectX11, type X11Display } from '../x11/client.js';
import type { CursorSource, CursorUpdate } from './cursor-source.js';
import { argbPremultipliedToRgba, encodePng } from './png.js';

/** Poll rate: 60 Hz, so the local cursor is never a frame behind at 60 fps. */
export const CURSOR_POLL_MS = 16;
/** Cursor images larger than this (in either dimension) are not sent; the schema allows hot spots up to 512. */
const MAX_CURSOR_SIZE = 256;

interface CursorImageReply {
  x: number;
  y: number;
  width: number;
  height: number;
  xhot: number;
  yhot: number;
  cursorSerial: number;
  cursorImage: Buffer;
}

interface FixesExtension {
  GetCursorImage(cb: (err: Error | null, reply: CursorImageReply) => void): void;
}

export class X11CursorSource implements CursorSource {
  private timer: NodeJS.Timeout | undefined;
  private lastSerial = -1;
  private lastX = Number.NaN;
  private lastY = Number.NaN;
  private inFlight = false;

  private constructor(
    private readonly dpy: X11Display,
    private readonly fixes: FixesExtension,
    private readonly logger: Logger | undefined,
  ) {
    dpy.client.on('error', (err) => this.logger?.warn({ err: err.message }, 'X error while tracking the cursor'));
  }

  /** Connects to `display` and loads XFIXES; rejects when the server lacks it. */
  static async open(display: string, logger?: Logger): Promise<X11CursorSource> {
    const dpy = await connectX11(display);
    try {
      const fixes = await new Promise<FixesExtension>((resolve, reject) =>
        dpy.client.require<FixesExtension>('fixes', (err, ext) => (err ? reject(err) : resolve(ext))),
      );
      return new X11CursorSource(dpy, fixes, logger);
    } catch (err) {
      await closeX11(dpy);
      throw err;
    }
  }

  start(onUpdate: (update: CursorUpdate) => void): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.inFlight) return;
      this.inFlight = true;
      this.fixes.GetCursorImage((err, reply) => {
        this.inFlight = false;
        if (err || !this.timer) return;
        const update = this.toUpdate(reply);
        if (update) onUpdate(update);
      });
    }, CURSOR_POLL_MS);
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    void closeX11(this.dpy);
  }

  /** An update when position or shape changed, else undefined. */
  toUpdate(reply: CursorImageReply): CursorUpdate | undefined {
    const shapeChanged = reply.cursorSerial !== this.lastSerial;
    if (!shapeChanged && reply.x === this.lastX && reply.y === this.lastY) return undefined;
    this.lastSerial = reply.cursorSerial;
    this.lastX = reply.x;
    this.lastY = reply.y;
    // An empty (0x0) or fully transparent cursor means the application hid it.
    const visible = reply.width > 0 && reply.height > 0;
    const update: CursorUpdate = { x: reply.x, y: reply.y, visible };
    if (shapeChanged && visible && reply.width <= MAX_CURSOR_SIZE && reply.height <= MAX_CURSOR_SIZE) {
      const png = encodePng(reply.width, reply.height, argbPremultipliedToRgba(reply.cursorImage));
      update.image = { png: `data:image/png;base64,${png.toString('base64')}`, hotX: reply.xhot, hotY: reply.yhot };
    }
    return update;
  }
}
