/** A minimal PNG encoder for small RGBA images (cursor shapes): one IDAT, no filtering. */
import { crc32, deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const BIT_DEPTH = 8;
const COLOUR_TYPE_RGBA = 6;

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Encodes straight (not premultiplied) RGBA pixels, row by row, as PNG. */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = BIT_DEPTH;
  ihdr[9] = COLOUR_TYPE_RGBA;
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    // Filter byte 0 (none) starts every row.
    raw.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** XFIXES cursor pixels (32-bit ARGB, premultiplied, little-endian: B,G,R,A in memory) → straight RGBA. */
export function argbPremultipliedToRgba(argb: Uint8Array): Uint8Array {
  const out = new Uint8Array(argb.length);
  for (let i = 0; i + 3 < argb.length; i += 4) {
    const a = argb[i + 3]!;
    const un = (c: number): number => (a === 0 ? 0 : Math.min(255, Math.round((c * 255) / a)));
    out[i] = un(argb[i + 2]!);
    out[i + 1] = un(argb[i + 1]!);
    out[i + 2] = un(argb[i]!);
    out[i + 3] = a;
  }
  return out;
}
