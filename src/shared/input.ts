/**
 * Binary input protocol, version 1: one message per data-channel frame, an
 * opcode byte followed by fixed little-endian fields (modelled on neko's
 * data.ts and Moonlight's Input.h). The version lives in the channel label
 * (`input.v1`), so a later version can run beside this one.
 *
 * Coordinates are normalised to the video: 0 is the left/top edge of the
 * remote display, 65535 the right/bottom edge. Buttons carry the position
 * they happened at, because motion travels on an unordered channel and may
 * arrive after the button on the ordered one.
 */

/** Largest text fallback payload, in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 1024;
/** Longest `KeyboardEvent.code` accepted. */
export const MAX_KEY_CODE_CHARS = 32;
/** Coordinate scale: normalised coordinates are integers in [0, COORD_MAX]. */
export const COORD_MAX = 0xffff;

export const Op = {
  PointerAbs: 0x01,
  PointerRel: 0x02,
  Button: 0x03,
  Wheel: 0x04,
  Key: 0x05,
  Text: 0x06,
  Pen: 0x07,
  ReleaseAll: 0x08,
  Heartbeat: 0x09,
} as const;

/** DOM `MouseEvent.button` numbering. */
export const MouseButton = { Left: 0, Middle: 1, Right: 2, Back: 3, Forward: 4 } as const;
export type MouseButton = (typeof MouseButton)[keyof typeof MouseButton];

/** Pen flag bits. */
export const PenFlag = { Contact: 1, Eraser: 2, Barrel: 4, Barrel2: 8, InRange: 16 } as const;

export type InputMessage =
  | { op: 'pointerAbs'; x: number; y: number }
  | { op: 'pointerRel'; dx: number; dy: number }
  | { op: 'button'; button: MouseButton; down: boolean; x: number; y: number }
  /** Wheel deltas in 1/120 of a notch (the Windows WHEEL_DELTA convention), positive = down/right. */
  | { op: 'wheel'; dx: number; dy: number }
  | { op: 'key'; code: string; down: boolean }
  | { op: 'text'; text: string }
  | {
      op: 'pen';
      x: number;
      y: number;
      /** 0..65535 */
      pressure: number;
      /** degrees, -90..90 */
      tiltX: number;
      tiltY: number;
      /** degrees, 0..359 */
      twist: number;
      flags: number;
    }
  | { op: 'releaseAll' }
  | { op: 'heartbeat'; seq: number };

export type DecodeResult = { ok: true; message: InputMessage } | { ok: false; reason: string };

const KEY_CODE_RE = /^[A-Za-z0-9]{1,32}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function clampInt(value: number, min: number, max: number): number {
  if (!Number.isFinite(value)) return min;
  return Math.min(max, Math.max(min, Math.round(value)));
}

/** Converts a 0..1 fraction to the wire's normalised coordinate. */
export function toCoord(fraction: number): number {
  return clampInt(fraction * COORD_MAX, 0, COORD_MAX);
}

/** Encodes one input message. Throws only on programmer error (an invalid key code). */
export function encodeInput(msg: InputMessage): Uint8Array<ArrayBuffer> {
  switch (msg.op) {
    case 'pointerAbs': {
      const v = new DataView(new ArrayBuffer(5));
      v.setUint8(0, Op.PointerAbs);
      v.setUint16(1, clampInt(msg.x, 0, COORD_MAX), true);
      v.setUint16(3, clampInt(msg.y, 0, COORD_MAX), true);
      return new Uint8Array(v.buffer);
    }
    case 'pointerRel': {
      const v = new DataView(new ArrayBuffer(5));
      v.setUint8(0, Op.PointerRel);
      v.setInt16(1, clampInt(msg.dx, -32768, 32767), true);
      v.setInt16(3, clampInt(msg.dy, -32768, 32767), true);
      return new Uint8Array(v.buffer);
    }
    case 'button': {
      const v = new DataView(new ArrayBuffer(7));
      v.setUint8(0, Op.Button);
      v.setUint8(1, msg.button);
      v.setUint8(2, msg.down ? 1 : 0);
      v.setUint16(3, clampInt(msg.x, 0, COORD_MAX), true);
      v.setUint16(5, clampInt(msg.y, 0, COORD_MAX), true);
      return new Uint8Array(v.buffer);
    }
    case 'wheel': {
      const v = new DataView(new ArrayBuffer(5));
      v.setUint8(0, Op.Wheel);
      v.setInt16(1, clampInt(msg.dx, -32768, 32767), true);
      v.setInt16(3, clampInt(msg.dy, -32768, 32767), true);
      return new Uint8Array(v.buffer);
    }
    case 'key': {
      if (!KEY_CODE_RE.test(msg.code)) throw new RangeError(`invalid key code ${JSON.stringify(msg.code)}`);
      const out = new Uint8Array(3 + msg.code.length);
      out[0] = Op.Key;
      out[1] = msg.down ? 1 : 0;
      out[2] = msg.code.length;
      for (let i = 0; i < msg.code.length; i++) out[3 + i] = msg.code.charCodeAt(i);
      return out;
    }
    case 'text': {
      const bytes = encoder.encode(msg.text);
      if (bytes.length > MAX_TEXT_BYTES) throw new RangeError(`text longer than ${MAX_TEXT_BYTES} bytes`);
      const out = new Uint8Array(3 + bytes.length);
      const v = new DataView(out.buffer);
      v.setUint8(0, Op.Text);
      v.setUint16(1, bytes.length, true);
      out.set(bytes, 3);
      return out;
    }
    case 'pen': {
      const v = new DataView(new ArrayBuffer(13));
      v.setUint8(0, Op.Pen);
      v.setUint8(1, msg.flags & 0x1f);
      v.setUint16(2, clampInt(msg.x, 0, COORD_MAX), true);
      v.setUint16(4, clampInt(msg.y, 0, COORD_MAX), true);
      v.setUint16(6, clampInt(msg.pressure, 0, 0xffff), true);
      v.setInt8(8, clampInt(msg.tiltX, -90, 90));
      v.setInt8(9, clampInt(msg.tiltY, -90, 90));
      v.setUint16(10, clampInt(msg.twist, 0, 359), true);
      v.setUint8(12, 0); // reserved
      return new Uint8Array(v.buffer);
    }
    case 'releaseAll':
      return Uint8Array.of(Op.ReleaseAll);
    case 'heartbeat': {
      const v = new DataView(new ArrayBuffer(5));
      v.setUint8(0, Op.Heartbeat);
      v.setUint32(1, msg.seq >>> 0, true);
      return new Uint8Array(v.buffer);
    }
  }
}

const FIXED_LENGTH: Partial<Record<number, number>> = {
  [Op.PointerAbs]: 5,
  [Op.PointerRel]: 5,
  [Op.Button]: 7,
  [Op.Wheel]: 5,
  [Op.Pen]: 13,
  [Op.ReleaseAll]: 1,
  [Op.Heartbeat]: 5,
};

/**
 * Decodes one input message. Never throws: malformed, truncated, oversized or
 * unknown messages come back as `{ ok: false, reason }` for the caller to count
 * and drop.
 */
export function decodeInput(data: ArrayBuffer | ArrayBufferView): DecodeResult {
  const bytes =
    data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length === 0) return { ok: false, reason: 'empty message' };
  const op = bytes[0]!;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fixed = FIXED_LENGTH[op];
  if (fixed !== undefined && bytes.length !== fixed) {
    return { ok: false, reason: `opcode 0x${op.toString(16)} needs ${fixed} bytes, got ${bytes.length}` };
  }
  switch (op) {
    case Op.PointerAbs:
      return { ok: true, message: { op: 'pointerAbs', x: v.getUint16(1, true), y: v.getUint16(3, true) } };
    case Op.PointerRel:
      return { ok: true, message: { op: 'pointerRel', dx: v.getInt16(1, true), dy: v.getInt16(3, true) } };
    case Op.Button: {
      const button = v.getUint8(1);
      const down = v.getUint8(2);
      if (button > 4) return { ok: false, reason: `unknown button ${button}` };
      if (down > 1) return { ok: false, reason: 'button state must be 0 or 1' };
      return {
        ok: true,
        message: { op: 'button', button: button as MouseButton, down: down === 1, x: v.getUint16(3, true), y: v.getUint16(5, true) },
      };
    }
    case Op.Wheel:
      return { ok: true, message: { op: 'wheel', dx: v.getInt16(1, true), dy: v.getInt16(3, true) } };
    case Op.Key: {
      if (bytes.length < 3) return { ok: false, reason: 'truncated key message' };
      const down = v.getUint8(1);
      const len = v.getUint8(2);
      if (down > 1) return { ok: false, reason: 'key state must be 0 or 1' };
      if (len === 0 || len > MAX_KEY_CODE_CHARS) return { ok: false, reason: `key code length ${len} out of range` };
      if (bytes.length !== 3 + len) return { ok: false, reason: 'key message length mismatch' };
      const code = String.fromCharCode(...bytes.subarray(3));
      if (!KEY_CODE_RE.test(code)) return { ok: false, reason: 'key code has invalid characters' };
      return { ok: true, message: { op: 'key', code, down: down === 1 } };
    }
    case Op.Text: {
      if (bytes.length < 3) return { ok: false, reason: 'truncated text message' };
      const len = v.getUint16(1, true);
      if (len === 0 || len > MAX_TEXT_BYTES) return { ok: false, reason: `text length ${len} out of range` };
      if (bytes.length !== 3 + len) return { ok: false, reason: 'text message length mismatch' };
      try {
        return { ok: true, message: { op: 'text', text: decoder.decode(bytes.subarray(3)) } };
      } catch {
        return { ok: false, reason: 'text is not valid UTF-8' };
      }
    }
    case Op.Pen: {
      const flags = v.getUint8(1);
      const tiltX = v.getInt8(8);
      const tiltY = v.getInt8(9);
      const twist = v.getUint16(10, true);
      if (flags > 0x1f) return { ok: false, reason: 'unknown pen flags' };
      if (Math.abs(tiltX) > 90 || Math.abs(tiltY) > 90 || twist > 359) return { ok: false, reason: 'pen angles out of range' };
      return {
        ok: true,
        message: {
          op: 'pen',
          flags,
          x: v.getUint16(2, true),
          y: v.getUint16(4, true),
          pressure: v.getUint16(6, true),
          tiltX,
          tiltY,
          twist,
        },
      };
    }
    case Op.ReleaseAll:
      return { ok: true, message: { op: 'releaseAll' } };
    case Op.Heartbeat:
      return { ok: true, message: { op: 'heartbeat', seq: v.getUint32(1, true) } };
    default:
      return { ok: false, reason: `unknown opcode 0x${op.toString(16)}` };
  }
}
