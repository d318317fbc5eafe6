/**
 * Capture → encode → send, for one session, with the receiver's feedback
 * closing the loop: PLI/FIR and the host's own reasons force keyframes
 * (rate-limited by KeyframeScheduler), REMB and loss set the bitrate
 * (BitrateController).
 *
 * Encoding overlaps the capture: `frame()` takes the frame and returns at
 * once with a promise that settles when the stream is done with its buffer,
 * and the capture grabs the next picture into another buffer meanwhile. At
 * most one frame is encoding and at most one waits for it; a newer frame
 * replaces the waiting one (latest wins, counted as skipped), so a slow
 * encoder lowers the frame rate to 1/max(grab, encode) instead of
 * 1/(grab + encode), and never builds a queue. (At 3840x2160 on the 2-core
 * build machine, serial grab 56 ms + encode 131 ms gave 5.6 fps.) readyIn()
 * says when the encoder will be free, so the capture can start its grab to
 * end then: the picture is fresh, and no grab is spent on a frame that
 * would only be replaced.
 */
import type { Logger } from 'pino';
import type { RawFrame } from '../capture/capture-source.js';
import type { BitrateController } from '../transport/bitrate.js';
import type { RtcpFeedback } from '../transport/rtcp.js';
import type { Encoder, EncoderFactory, EncoderSettings } from './encoder.js';
import { KeyframeScheduler, type KeyframeReason, type KeyframeStats } from './keyframes.js';

/** Encode times are summarised over windows of this many frames. */
const ENCODE_WINDOW = 120;
/**
 * readyIn() expects an encode to take the median wall time of this many recent ones: a
 * median, since one slow frame (590 ms amid 90 ms ones, measured at 3840x2160 on a loaded
 * 2-core machine) must not hold the next grabs back for a dozen frames, as an average did.
 */
const ENCODE_ESTIMATE_FRAMES = 5;

/** Where encoded frames go: the transport's video track. */
export interface FrameSender {
  /** Whether the video track is open; frames are not even encoded before. */
  canSend(): boolean;
  sendFrame(accessUnit: Uint8Array, capturedAtMs: number): boolean;
}

export interface EncodedStreamStats {
  encoder: string | undefined;
  codec: string | undefined;
  pixelFormat: string | undefined;
  width: number;
  height: number;
  framesEncoded: number;
  /** Frames the encoder gave nothing for (held back), that were not sent (track not open), or that a newer frame replaced while they waited. */
  framesSkipped: number;
  /** Of framesSkipped: frames replaced by a newer one while waiting for the encoder. */
  framesReplaced: number;
  keyframesSent: number;
  /** Median encode ms over the last window of frames. */
  encodeMs: number | undefined;
  /** Median from the grab to the frame handed to the transport, ms, over the last window. */
  captureToSendMs: number | undefined;
  bytesSent: number;
  bitrate: ReturnType<BitrateController['state']>;
  keyframes: KeyframeStats;
  nackedPackets: number;
}

export interface EncodedStreamOptions {
  openEncoder: EncoderFactory;
  /** Settings of the first encoder; width/height follow the captured frames. */
  settings: Omit<EncoderSettings, 'width' | 'height' | 'bitrateKbps'>;
  sender: FrameSender;
  bitrate: BitrateController;
  /** Our RTP SSRC: receiver reports about other streams are ignored. */
  ssrc?: number;
  logger: Logger;
  /** Called once if the encoder fails (cannot open, or an encode rejects). */
  onFailure: (err: Error) => void;
  now?: () => number;
}

const median = (values: number[]): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[sorted.length >> 1]! * 100) / 100;
};

/** A frame waiting for the encoder, and how to tell its capture that the buffer is free again. */
interface Waiting {
  frame: RawFrame;
  release: () => void;
  reject: (err: Error) => void;
}

export class EncodedStream {
  private encoder: Encoder | undefined;
  /** The frame next in line; replaced by a newer one until the encoder takes it. */
  private waiting: Waiting | undefined;
  /** The loop feeding the encoder one frame at a time (`pumping` while it runs; `pump` is what close awaits). */
  private pumping = false;
  private pump: Promise<void> = Promise.resolve();
  private readonly keyframes = new KeyframeScheduler();
  private readonly now: () => number;
  private failed = false;
  private closed = false;
  private framesEncoded = 0;
  private framesSkipped = 0;
  private framesReplaced = 0;
  private keyframesSent = 0;
  private bytesSent = 0;
  private nackedPackets = 0;
  private encodeTimes: number[] = [];
  private sendTimes: number[] = [];
  private encodeMs: number | undefined;
  private captureToSendMs: number | undefined;
  private readonly firSeen = new Map<number, number>();
  private fps: number;
  /** When the encode in flight began (this.now()), while one is. */
  private encodingSince: number | undefined;
  /** Wall times of the last ENCODE_ESTIMATE_FRAMES encodes on the open encoder, ms. */
  private recentEncodes: number[] = [];

  constructor(private readonly options: EncodedStreamOptions) {
    this.now = options.now ?? (() => performance.now());
    this.fps = options.settings.fps;
    this.keyframes.request('start');
  }

  /** Asks for a keyframe at the next frame the rate limit allows. */
  requestKeyframe(reason: KeyframeReason): void {
    this.keyframes.request(reason);
  }

  /**
   * The capture's frame sink. Returns at once; the promise settles when the
   * stream no longer reads `frame.data`: once the frame is encoded and sent,
   * dropped, or replaced by a newer frame while it waited.
   */
  frame(frame: RawFrame): Promise<void> {
    if (this.closed || this.failed) return Promise.resolve();
    if (!this.options.sender.canSend()) {
      this.framesSkipped++;
      return Promise.resolve();
    }
    return new Promise<void>((release, reject) => {
      const replaced = this.waiting;
      if (replaced) {
        this.framesSkipped++;
        this.framesReplaced++;
        replaced.release();
      }
      this.waiting = { frame, release, reject };
      if (!this.pumping) {
        this.pumping = true;
        this.pump = this.run();
      }
    });
  }

  /** Receiver feedback from the transport. */
  onFeedback(feedback: RtcpFeedback): void {
    if (this.closed) return;
    const now = this.now();
    switch (feedback.kind) {
      case 'pli':
        this.keyframes.request('pli');
        return;
      case 'fir':
        // A FIR is repeated with the same sequence number until answered: count each request once.
        for (const { ssrc, sequence } of feedback.requests) {
          if (this.options.ssrc !== undefined && ssrc !== this.options.ssrc) continue;
          if (this.firSeen.get(ssrc) === sequence) continue;
          this.firSeen.set(ssrc, sequence);
          this.keyframes.request('fir');
        }
        return;
      case 'remb':
        this.applyBitrate(this.options.bitrate.onRemb(feedback.bitrateBps, now));
        return;
      case 'report':
        for (const block of feedback.blocks) {
          if (this.options.ssrc !== undefined && block.ssrc !== this.options.ssrc) continue;
          this.applyBitrate(this.options.bitrate.onReport(block, now));
        }
        return;
      case 'nack':
        // libdatachannel's responder has already resent them; we only count.
        this.nackedPackets += feedback.lostPackets;
        return;
    }
  }

  /** A new frame rate: the encoder's rate control (a one-frame VBV) is sized by it, so it reopens at the next frame. */
  setFps(fps: number): void {
    this.fps = fps;
  }

  /**
   * Milliseconds until the stream would start encoding a frame handed to it
   * now: 0 when the encoder is idle; else the expected rest of the encode in
   * flight, and one encode more if a frame already waits. The capture times
   * its next grab by it, so that the picture is taken as late as it can be.
   */
  readyIn(): number {
    const estimate = median(this.recentEncodes);
    if (this.encodingSince === undefined || estimate === undefined) return 0;
    const rest = Math.max(0, this.encodingSince + estimate - this.now());
    return rest + (this.waiting ? estimate : 0);
  }

  /** The client or policy changed the bitrate ceiling. */
  setCeiling(kbps: number, startKbps?: number): void {
    this.applyBitrate(this.options.bitrate.setCeiling(kbps, startKbps, this.now()));
  }

  stats(): EncodedStreamStats {
    const settings = this.encoder?.settings;
    return {
      encoder: this.encoder?.name,
      codec: this.encoder?.codec,
      pixelFormat: settings?.pixelFormat,
      width: settings?.width ?? 0,
      height: settings?.height ?? 0,
      framesEncoded: this.framesEncoded,
      framesSkipped: this.framesSkipped,
      framesReplaced: this.framesReplaced,
      keyframesSent: this.keyframesSent,
      encodeMs: this.encodeMs ?? median(this.encodeTimes),
      captureToSendMs: this.captureToSendMs ?? median(this.sendTimes),
      bytesSent: this.bytesSent,
      bitrate: this.options.bitrate.state(this.now()),
      keyframes: this.keyframes.stats(),
      nackedPackets: this.nackedPackets,
    };
  }

  /**
   * Stops encoding: a waiting frame is released unencoded, and the promise
   * resolves once the frame being encoded (if any) has finished and its
   * buffer is free. Idempotent.
   */
  async close(): Promise<void> {
    this.closed = true;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.release();
    // The addon frees the encoder only once an encode in flight is done (av_encoder.c js_close).
    this.encoder?.close();
    this.encoder = undefined;
    await this.pump;
  }

  /** Encodes the waiting frame, then the one that arrived meanwhile, until none waits. */
  private async run(): Promise<void> {
    try {
      for (let next = this.waiting; next; next = this.waiting) {
        this.waiting = undefined;
        if (this.closed || this.failed) {
          next.release();
          continue;
        }
        try {
          await this.encodeOne(next.frame);
          next.release();
        } catch (err) {
          next.reject(err as Error);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async encodeOne(frame: RawFrame): Promise<void> {
    // The track may have closed while the frame waited.
    if (!this.options.sender.canSend()) {
      this.framesSkipped++;
      return;
    }
    const encoder = await this.encoderFor(frame);
    if (!encoder || this.closed) return;
    const force = this.keyframes.take(this.now());
    let out;
    const startedAt = this.now();
    this.encodingSince = startedAt;
    try {
      out = await encoder.encode(frame.data, force !== undefined);
    } catch (err) {
      this.fail(err as Error);
      return;
    } finally {
      this.encodingSince = undefined;
    }
    const wall = this.now() - startedAt;
    this.recentEncodes.push(wall);
    if (this.recentEncodes.length > ENCODE_ESTIMATE_FRAMES) this.recentEncodes.shift();
    if (this.closed) return;
    if (!out) {
      this.framesSkipped++;
      return;
    }
    this.framesEncoded++;
    if (out.keyframe) {
      this.keyframesSent++;
      if (force === undefined) this.keyframes.sawKeyframe(this.now());
    }
    if (!this.options.sender.sendFrame(out.data, frame.capturedAt)) {
      this.framesSkipped++;
      // Nothing reached the client: the next frame it sees must be decodable on its own.
      if (out.keyframe) this.keyframes.request('start');
      return;
    }
    this.bytesSent += out.data.byteLength;
    this.options.bitrate.onSent(out.data.byteLength, this.now());
    this.encodeTimes.push(out.encodeMs);
    this.sendTimes.push(this.now() - frame.capturedAt);
    if (this.encodeTimes.length >= ENCODE_WINDOW) {
      this.encodeMs = median(this.encodeTimes);
      this.captureToSendMs = median(this.sendTimes);
      this.encodeTimes = [];
      this.sendTimes = [];
    }
  }

  /** The open encoder, reopened when the captured size or layout changed (a quality change). */
  private async encoderFor(frame: RawFrame): Promise<Encoder | undefined> {
    const current = this.encoder;
    const pixelFormat = frame.format === 'i444' ? 'yuv444p' : 'yuv420p';
    const same = current && current.settings.width === frame.width && current.settings.height === frame.height && current.settings.pixelFormat === pixelFormat && current.settings.fps === this.fps;
    if (same) return current;
    current?.close();
    this.encoder = undefined;
    // Another size or encoder: its speed is learnt again.
    this.recentEncodes = [];
    try {
      const settings: EncoderSettings = {
        ...this.options.settings,
        fps: this.fps,
        pixelFormat,
        width: frame.width,
        height: frame.height,
        bitrateKbps: this.options.bitrate.state(this.now()).targetKbps,
      };
      this.encoder = await this.options.openEncoder(settings);
      if (this.closed) {
        this.encoder.close();
        this.encoder = undefined;
        return undefined;
      }
      // A target set while it opened (a ceiling sent with a new size) found no encoder to tell: tell this one.
      const target = this.options.bitrate.state(this.now()).targetKbps;
      if (target !== settings.bitrateKbps) this.encoder.setBitrate(target);
      this.options.logger.info({ encoder: this.encoder.name, ...settings }, current ? 'encoder reopened: the picture size, layout or frame rate changed' : 'encoder open');
    } catch (err) {
      this.fail(err as Error);
      return undefined;
    }
    // A new encoder starts a new stream: its first frame must be a keyframe.
    if (current) this.keyframes.request('quality');
    return this.encoder;
  }

  private applyBitrate(kbps: number | undefined): void {
    if (kbps === undefined) return;
    this.encoder?.setBitrate(kbps);
    this.options.logger.debug({ kbps, ...this.options.bitrate.state(this.now()) }, 'bitrate target');
  }

  private fail(err: Error): void {
    if (this.failed || this.closed) return;
    this.failed = true;
    this.options.logger.error({ err: err.message }, 'encoder failed');
    this.options.onFailure(err);
  }
}
