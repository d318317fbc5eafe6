/** Paints a solid rectangle on an X display with an override-redirect window; closing removes it. */
import { closeX11, connectX11, type X11Client } from '../../../src/host/x11/client.js';

interface PaintClient extends X11Client {
  AllocID(): number;
  CreateWindow(
    id: number,
    parent: number,
    x: number,
    y: number,
    w: number,
    h: number,
    border: number,
    depth: number,
    cls: number,
    visual: number,
    values: { backgroundPixel: number; overrideRedirect: number },
  ): void;
  MapWindow(id: number): void;
}

/** `rgb` is 0xRRGGBB; on Xvfb's 24-bit TrueColor visual that is also the pixel value. */
export async function paintRect(display: string, x: number, y: number, w: number, h: number, rgb: number): Promise<{ close(): Promise<void> }> {
  const dpy = await connectX11(display);
  const client = dpy.client as PaintClient;
  const wid = client.AllocID();
  client.CreateWindow(wid, dpy.screen[0]!.root, x, y, w, h, 0, 0, 0, 0, { backgroundPixel: rgb, overrideRedirect: 1 });
  client.MapWindow(wid);
  await client.sync();
  return { close: () => closeX11(dpy) };
}
