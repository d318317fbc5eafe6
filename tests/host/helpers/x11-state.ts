/** What the X server itself thinks is held: pressed keycodes (QueryKeymap) and pressed pointer buttons (QueryPointer). */
import { closeX11, connectX11, type X11Client } from '../../../src/host/x11/client.js';

interface StateClient extends X11Client {
  QueryKeymap(cb: (err: Error | null, keys: Buffer) => void): void;
  QueryPointer(wid: number, cb: (err: Error | null, reply: { rootX: number; rootY: number; keyMask: number }) => void): void;
}

/** Button1Mask..Button5Mask in the core protocol's SETofKEYBUTMASK. */
const BUTTON_MASKS = 0x1f00;

export interface X11HeldState {
  keycodes: number[];
  /** Core button mask bits (buttons 1-5) still set. */
  buttonMask: number;
  pointer: { x: number; y: number };
}

export async function x11HeldState(display: string): Promise<X11HeldState> {
  const dpy = await connectX11(display);
  const client = dpy.client as StateClient;
  try {
    const keys = await new Promise<Buffer>((resolve, reject) => client.QueryKeymap((err, k) => (err ? reject(err) : resolve(k))));
    const pointer = await new Promise<{ rootX: number; rootY: number; keyMask: number }>((resolve, reject) =>
      client.QueryPointer(dpy.screen[0]!.root, (err, r) => (err ? reject(err) : resolve(r))),
    );
    const keycodes: number[] = [];
    for (let code = 0; code < 256; code++) if ((keys[code >> 3]! >> (code & 7)) & 1) keycodes.push(code);
    return { keycodes, buttonMask: pointer.keyMask & BUTTON_MASKS, pointer: { x: pointer.rootX, y: pointer.rootY } };
  } finally {
    await closeX11(dpy);
  }
}
