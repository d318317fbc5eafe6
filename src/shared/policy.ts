/**
 * The effective policy of one session, decided by the broker and carried in
 * the grant (to the client) and in `session.start` (to the host). Both ends
 * enforce it; neither may loosen it.
 */
import { z } from 'zod';

export const CLIPBOARD_MODES = ['off', 'host-to-client', 'client-to-host', 'both'] as const;
export type ClipboardMode = (typeof CLIPBOARD_MODES)[number];

export const VIDEO_CODECS = ['VP8', 'VP9', 'AV1', 'H264'] as const;
export type VideoCodec = (typeof VIDEO_CODECS)[number];

export const SessionPolicy = z.strictObject({
  clipboard: z.enum(CLIPBOARD_MODES),
  /** Largest clipboard text, in UTF-8 bytes, in either direction. */
  clipboardMaxBytes: z.number().int().min(0).max(1024 * 1024),
  fileTransfer: z.boolean(),
  maxWidth: z.number().int().min(320).max(7680),
  maxHeight: z.number().int().min(240).max(4320),
  maxFps: z.number().int().min(1).max(120),
  /** Ceiling for the stream's bitrate; the host starts lower (see defaultBitrateKbps in src/host/quality.ts) and the client may ask for up to this. */
  maxBitrateKbps: z.number().int().min(100).max(200_000),
  /**
   * Codecs the session may use, in the studio's order of preference. The
   * default puts H.264 first: the host's own encoder (libx264, NVENC,
   * VA-API, QSV) writes it, and every client decodes it, in hardware on
   * almost every PC. VP8 and VP9 were sent by hosts from before issue 12 (libwebrtc's
   * own encoders); AV1 by hosts with an AV1 encoder (SVT-AV1) and a client
   * that decodes it. A codec the host cannot send is passed over.
   */
  codecs: z.array(z.enum(VIDEO_CODECS)).min(1).max(VIDEO_CODECS.length),
  /**
   * Full colour (4:4:4 chroma) may be sent: H.264 High 4:4:4 Predictive
   * where the host's encoder writes it and the client's decoder offers it.
   * The client asks for it per session (it costs about a third more bits);
   * false keeps every session 4:2:0.
   */
  chroma444: z.boolean(),
  /**
   * Which encoders the host may use: `auto` lets its probe pick (hardware
   * first); `software` keeps the workstation's GPU for the artist's work
   * (renders, viewports) and encodes with libx264, whatever the agent's
   * own `--encoder` says.
   */
  videoEncoder: z.enum(['auto', 'software']),
});
export type SessionPolicy = z.infer<typeof SessionPolicy>;

/** What a broker grants when its configuration says nothing more specific. */
export const DEFAULT_SESSION_POLICY: SessionPolicy = {
  clipboard: 'both',
  clipboardMaxBytes: 256 * 1024,
  fileTransfer: false,
  maxWidth: 3840,
  maxHeight: 2160,
  maxFps: 60,
  maxBitrateKbps: 50_000,
  codecs: ['H264', 'VP8', 'VP9', 'AV1'],
  chroma444: true,
  videoEncoder: 'auto',
};
