/**
 * The control channel (`control.v1`, reliable and ordered, JSON text): what
 * the client and host say to each other during a session besides raw input.
 * Every message is parsed with these schemas on receipt.
 */
import { z } from 'zod';
import { VIDEO_CODECS } from './policy.js';

/** Largest control message, in characters (clipboard text is bounded by policy below this). */
export const MAX_CONTROL_MESSAGE_CHARS = 1_100_000;

export const Monitor = z.strictObject({
  id: z.string().max(64),
  name: z.string().max(128),
  x: z.number().int(),
  y: z.number().int(),
  width: z.number().int().min(1).max(16384),
  height: z.number().int().min(1).max(16384),
  primary: z.boolean(),
});
export type Monitor = z.infer<typeof Monitor>;

/** What the client asks for; the host answers with what it applies (clamped to policy). */
export const QualityRequest = z.strictObject({
  width: z.number().int().min(160).max(7680).optional(),
  height: z.number().int().min(120).max(4320).optional(),
  fps: z.number().int().min(1).max(120).optional(),
  maxBitrateKbps: z.number().int().min(100).max(200_000).optional(),
  codec: z.enum(VIDEO_CODECS).optional(),
  /** A monitor id from `hello.monitors`, or 'all'. */
  monitor: z.string().max(64).optional(),
});
export type QualityRequest = z.infer<typeof QualityRequest>;

export const ClientControl = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('quality'), request: QualityRequest }),
  z.strictObject({ type: z.literal('clipboard'), text: z.string().max(MAX_CONTROL_MESSAGE_CHARS) }),
  z.strictObject({ type: z.literal('keyframe') }),
  z.strictObject({ type: z.literal('ping'), id: z.number().int().min(0), sentAt: z.number() }),
]);
export type ClientControl = z.infer<typeof ClientControl>;

/** How the host sends the picture: shown in the client's stats, and it decides how the client recovers a dropped path. */
export const StreamDescription = z.strictObject({
  /** `encoded`: the host's own encoder on libdatachannel; `wrtc`: libwebrtc encodes (hosts from before issue 12, still understood). */
  pipeline: z.enum(['encoded', 'wrtc']),
  /** The encoder that runs: libx264, h264_nvenc, h264_vaapi, h264_qsv… (libwebrtc on hosts from before issue 12). */
  encoder: z.string().max(64),
  codec: z.string().max(16).optional(),
  /** Codecs this host can send in this session (policy and encoders both allow), in the studio's order. */
  codecs: z.array(z.enum(VIDEO_CODECS)).max(VIDEO_CODECS.length),
  /** Full colour (4:4:4 chroma). */
  chroma444: z.boolean(),
  /** Whether this host could send 4:4:4 in this session (policy, encoder), should the client ask for it. */
  chroma444Available: z.boolean(),
  /** false: a codec or chroma change needs a new connection (the client reconnects); true: renegotiation applies it. */
  codecChangeInPlace: z.boolean(),
  /** false: an ICE restart cannot recover this connection; a dropped path needs a fresh grant. */
  iceRestart: z.boolean(),
  /** Why this pipeline and encoder (the host's probe), for the stats overlay and diagnostics. */
  why: z.string().max(512),
});
export type StreamDescription = z.infer<typeof StreamDescription>;

export const HostControl = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('hello'),
    monitors: z.array(Monitor).max(16),
    /** The stream as it is now. */
    applied: QualityRequest,
    stream: StreamDescription.optional(),
  }),
  z.strictObject({ type: z.literal('quality.applied'), applied: QualityRequest }),
  z.strictObject({ type: z.literal('clipboard'), text: z.string().max(MAX_CONTROL_MESSAGE_CHARS) }),
  z.strictObject({
    type: z.literal('cursor'),
    /** Normalised 0..65535 position on the streamed picture; `visible: false` when the pointer is elsewhere. */
    x: z.number().int().min(0).max(65535),
    y: z.number().int().min(0).max(65535),
    visible: z.boolean(),
    /** PNG data URL of the cursor image, only sent when the shape changes. */
    image: z.string().max(256 * 1024).regex(/^data:image\/png;base64,[A-Za-z0-9+/=]+$/).optional(),
    hotX: z.number().int().min(0).max(512).optional(),
    hotY: z.number().int().min(0).max(512).optional(),
  }),
  z.strictObject({ type: z.literal('pong'), id: z.number().int().min(0), sentAt: z.number() }),
  z.strictObject({ type: z.literal('error'), code: z.string().max(64), message: z.string().max(512) }),
]);
export type HostControl = z.infer<typeof HostControl>;
