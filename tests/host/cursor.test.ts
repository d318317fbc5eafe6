/** The cursor for local drawing: XFIXES on Xvfb, and the PNG it is sent as. */
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X11CursorSource } from '../../src/host/cursor/x11-cursor.js';
import type { CursorUpdate } from '../../src/host/cursor/cursor-source.js';
import { argbPremultipliedToRgba, encodePng } from '../../src/host/cursor/png.js';
import { startXvfb, xrun, type Xvfb } from './helpers/xvfb.js';

let xvfb: Xvfb;
beforeAll(async () => {
  xvfb = await startXvfb('800x600');
});
afterAll(async () => {
  await xvfb?.stop();
});

describe('cursor tracking', () => {
  it('reports where the pointer is, with its shape once', async () => {
    const cursor = await X11CursorSource.open(xvfb.display);
    const updates: CursorUpdate[] = [];
    try {
      cursor.start((u) => updates.push(u));
      await xrun(xvfb.display, 'xdotool', ['mousemove', '123', '456']);
      await expect.poll(() => updates.at(-1), { timeout: 5_000 }).toMatchObject({ x: 123, y: 456, visible: true });
      await xrun(xvfb.display, 'xdotool', ['mousemove', '10', '20']);
      await expect.poll(() => updates.at(-1), { timeout: 5_000 }).toMatchObject({ x: 10, y: 20 });
    } finally {
      cursor.stop();
    }
    const withImage = updates.filter((u) => u.image);
    expect(withImage).toHaveLength(1);
    expect(withImage[0]!.image!.png).toMatch(/^data:image\/png;base64,/);
  });
});

describe('PNG encoding', () => {
  it('writes a valid RGBA PNG whose pixels read back', () => {
    const rgba = Uint8Array.from([255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0, 1, 2, 3, 4]);
    const png = encodePng(2, 2, rgba);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.readUInt32BE(16)).toBe(2);
    const idatLength = png.readUInt32BE(33);
    const raw = inflateSync(png.subarray(41, 41 + idatLength));
    expect([...raw]).toEqual([0, 255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 0, 255, 0, 1, 2, 3, 4]);
  });

  it('un-premultiplies XFIXES pixels (B,G,R,A in memory)', () => {
    expect([...argbPremultipliedToRgba(Uint8Array.from([0, 64, 128, 128, 9, 9, 9, 0]))]).toEqual([255, 128, 0, 128, 0, 0, 0, 0]);
  });
});
