/**
 * A real Chromium on the receiving end of a host pipeline, without the
 * broker or the web client: a page whose RTCPeerConnection is shaped like
 * the client's (simple-peer's own channel, one recvonly video transceiver
 * with the jitter buffer at zero, the negotiated input/pointer/control
 * channels), signalled straight from the test through playwright.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS, LOOPBACK_WEBRTC_FLAGS } from '../../../src/demo/desktop.js';
import { DATA_CHANNELS } from '../../../src/shared/constants.js';
import type { SignalData } from '../../../src/shared/protocol.js';

export interface InboundVideo {
  framesDecoded: number;
  keyFramesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  pliCount: number;
  nackCount: number;
  packetsLost: number;
  bytesReceived: number;
  /** Mean jitter buffer delay, ms. */
  jitterBufferMs: number;
  /** The negotiated codec: mime type and fmtp line. */
  codec: string;
}

export interface BrowserPeer {
  page: Page;
  /** Resolves with the page's offer (the first, or after `reoffer`). */
  offer(): Promise<SignalData>;
  /** Applies one of the host's signals in the page. */
  signal(data: SignalData): Promise<void>;
  /** Creates a new offer (optionally with an ICE restart) and resolves with it. */
  reoffer(options?: { iceRestart?: boolean }): Promise<SignalData>;
  /** Messages received on the control channel, as text. */
  controlMessages(): Promise<string[]>;
  /** Sends text on the control channel (once open). */
  sendControl(text: string): Promise<void>;
  /** Resolves once the input, pointer and control channels are open. */
  channelsOpen(): Promise<void>;
  inbound(): Promise<InboundVideo | undefined>;
  close(): Promise<void>;
}

export interface BrowserPeerOptions {
  /** Put the H.264 High 4:4:4 (f4001f) format first among the H.264 ones, as the client does to ask for full colour. */
  prefer444?: boolean;
}

/** Opens Chromium and prepares the page's peer; the host side signals through the returned functions. */
export async function openBrowserPeer(onSignal: (data: SignalData) => void, options: BrowserPeerOptions = {}): Promise<BrowserPeer> {
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_FLAGS, ...LOOPBACK_WEBRTC_FLAGS] });
  try {
    const page = await browser.newPage();
    await page.goto('about:blank');
    await page.exposeFunction('hostSignal', (data: SignalData) => onSignal(data));
    await page.evaluate(
      ({ channels, prefer444 }) => {
        type W = typeof window & Record<string, unknown>;
        const w = window as W;
        const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
        w.pc = pc;
        pc.createDataChannel('simplepeer');
        const transceiver = pc.addTransceiver('video', { direction: 'recvonly' });
        (transceiver.receiver as RTCRtpReceiver & { jitterBufferTarget: number }).jitterBufferTarget = 0;
        const caps = RTCRtpReceiver.getCapabilities('video')!.codecs;
        const is444 = (c: RTCRtpCodec) => /profile-level-id=f4/i.test(c.sdpFmtpLine ?? '');
        const h264 = caps.filter((c) => c.mimeType === 'video/H264');
        const ordered = [...h264.filter((c) => is444(c) === prefer444), ...h264.filter((c) => is444(c) !== prefer444), ...caps.filter((c) => c.mimeType !== 'video/H264')];
        transceiver.setCodecPreferences(ordered);
        const control: string[] = [];
        w.control = control;
        const opened: Promise<void>[] = [];
        for (const { label, id, ordered: inOrder } of channels) {
          const dc = pc.createDataChannel(label, { negotiated: true, id, ordered: inOrder, ...(inOrder ? {} : { maxRetransmits: 0 }) });
          if (label.startsWith('control')) {
            w.controlChannel = dc;
            dc.onmessage = (e: MessageEvent<unknown>) => control.push(String(e.data));
          }
          opened.push(new Promise((resolve) => (dc.onopen = () => resolve())));
        }
        w.channelsOpen = Promise.all(opened);
        pc.onicecandidate = (e) => {
          if (e.candidate) void (w.hostSignal as (d: unknown) => Promise<void>)({ type: 'candidate', candidate: { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex } });
        };
        pc.ontrack = (e) => {
          const v = document.createElement('video');
          v.muted = true;
          v.autoplay = true;
          v.srcObject = new MediaStream([e.track]);
          document.body.append(v);
        };
      },
      {
        channels: [
          { label: DATA_CHANNELS.input.label, id: DATA_CHANNELS.input.id, ordered: true },
          { label: DATA_CHANNELS.pointer.label, id: DATA_CHANNELS.pointer.id, ordered: false },
          { label: DATA_CHANNELS.control.label, id: DATA_CHANNELS.control.id, ordered: true },
        ],
        prefer444: options.prefer444 ?? false,
      },
    );
    const makeOffer = (iceRestart: boolean): Promise<SignalData> =>
      page.evaluate(async (restart) => {
        const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
        if (restart) pc.restartIce();
        await pc.setLocalDescription(await pc.createOffer());
        return { type: 'offer' as const, sdp: pc.localDescription!.sdp };
      }, iceRestart);
    const first = makeOffer(false);
    return {
      page,
      offer: () => first,
      reoffer: (o) => makeOffer(o?.iceRestart ?? false),
      signal: (data) =>
        page.evaluate(async (d) => {
          const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
          if (d.type === 'answer') await pc.setRemoteDescription({ type: 'answer', sdp: d.sdp });
          else if (d.type === 'candidate') await pc.addIceCandidate({ candidate: d.candidate.candidate, sdpMid: d.candidate.sdpMid ?? null });
        }, data),
      controlMessages: () => page.evaluate(() => [...(window as unknown as { control: string[] }).control]),
      sendControl: (text) =>
        page.evaluate((t) => {
          (window as unknown as { controlChannel: RTCDataChannel }).controlChannel.send(t);
        }, text),
      channelsOpen: () => page.evaluate(() => (window as unknown as { channelsOpen: Promise<void> }).channelsOpen),
      inbound: () =>
        page.evaluate(async () => {
          const report = await (window as unknown as { pc: RTCPeerConnection }).pc.getStats();
          let out: Record<string, unknown> | undefined;
          const codecs = new Map<string, string>();
          report.forEach((s: Record<string, unknown>) => {
            if (s.type === 'inbound-rtp' && s.kind === 'video') out = s;
            if (s.type === 'codec') codecs.set(String(s.id), `${String(s.mimeType)} ${typeof s.sdpFmtpLine === 'string' ? s.sdpFmtpLine : ''}`);
          });
          if (!out) return undefined;
          const stats = out;
          const n = (k: string): number => {
            const v = stats[k];
            return typeof v === 'number' ? v : 0;
          };
          return {
            framesDecoded: n('framesDecoded'),
            keyFramesDecoded: n('keyFramesDecoded'),
            frameWidth: n('frameWidth'),
            frameHeight: n('frameHeight'),
            pliCount: n('pliCount'),
            nackCount: n('nackCount'),
            packetsLost: n('packetsLost'),
            bytesReceived: n('bytesReceived'),
            jitterBufferMs: n('jitterBufferEmittedCount') ? (n('jitterBufferDelay') / n('jitterBufferEmittedCount')) * 1000 : 0,
            codec: codecs.get(String(out.codecId)) ?? '',
          };
        }),
      close: () => browser.close(),
    };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

/** Polls `read` until `ok` holds, or fails after `timeoutMs` with the last value. */
export async function pollUntil<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: T | undefined;
  while (performance.now() < deadline) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}
