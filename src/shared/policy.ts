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
   * default puts VP8 first: the host agent encodes in software, where VP8
   * costs a fraction of VP9's encode and decode time (measured in
   * BENCHMARKS.md); VP9/AV1 give more quality per bit where cores are spare.
   */
  codecs: z.array(z.enum(VIDEO_CODECS)).min(1).max(VIDEO_CODECS.length),
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
  codecs: ['VP8', 'VP9', 'AV1'],
};
