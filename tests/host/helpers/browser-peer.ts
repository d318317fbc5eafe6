/**
 * A real Chromium on the receiving end of a host pipeline, without the
 * broker or the web client: a page whose RTCPeerConnection is shaped like
 * the client's (simple-peer's own channel, one recvonly video transceiver
 * with the jitter buffer at zero, the negotiated input/pointer/control
 * channels), signalled straight from the test through playwright. It is
 * the client end of the host tests that used to use a wrtc stand-in: it
 * sends binary input, speaks the control channel, and can go away.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_FLAGS, LOOPBACK_WEBRTC_FLAGS } from '../../../src/demo/desktop.js';
import { DATA_CHANNELS } from '../../../src/shared/constants.js';
import { sampleVideo } from '../../e2e/fixtures.js';
import type { SignalData } from '../../../src/shared/protocol.js';

export interface InboundVideo {
  framesDecoded: number;
  keyFramesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  /** The receiver's decoded frame rate over its last second (0 until it has one). */
  framesPerSecond: number;
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
  /** Sends binary messages, in order, on the input (reliable, ordered) or pointer (unordered) channel. */
  sendInput(channel: InputChannelName, messages: readonly Uint8Array[]): Promise<void>;
  /** The host's answer as the page applied it. */
  remoteSdp(): Promise<string>;
  /** The connection's state, its ICE gathering state and, once connected, the selected pair's candidate types. */
  connection(): Promise<ConnectionState>;
  /** Closes the page's RTCPeerConnection, as a client that leaves does (the browser stays open). */
  closePeer(): Promise<void>;
  /** Resolves once the input, pointer and control channels are open. */
  channelsOpen(): Promise<void>;
  inbound(): Promise<InboundVideo | undefined>;
  /**
   * The RGB of the decoded picture at `points` (video pixels), from the frame
   * the page's video element shows, drawn to a canvas; undefined until the
   * element has a frame to show.
   */
  videoPixels(points: readonly { x: number; y: number }[]): Promise<[number, number, number][] | undefined>;
  /** SIGKILLs the browser, as a client machine that dies does: nothing is closed on the way (needs `killable`). */
  kill(): void;
  close(): Promise<void>;
}

export type InputChannelName = 'input' | 'pointer';

export interface ConnectionState {
  connection: RTCPeerConnectionState;
  gathering: RTCIceGatheringState;
  /** `local/remote` candidate types of the succeeded, nominated pair (e.g. `relay/relay`). */
  path: string | undefined;
}

export interface BrowserPeerOptions {
  /** Put the H.264 High 4:4:4 (f4001f) format first among the H.264 ones, as the client does to ask for full colour. */
  prefer444?: boolean;
  /** Offer only these video codecs (mime types, e.g. `video/VP8`), in this order; default every one, H.264 first. */
  codecs?: readonly string[];
  /** The page's ICE servers (the grant's, as the web client passes them), and whether it may use only relays. */
  iceServers?: RTCIceServer[];
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Run the browser as a server process the test can SIGKILL (`kill`). */
  killable?: boolean;
}

/** Opens Chromium and prepares the page's peer; the host side signals through the returned functions. */
export async function openBrowserPeer(onSignal: (data: SignalData) => void, options: BrowserPeerOptions = {}): Promise<BrowserPeer> {
  const launch = { executablePath: CHROMIUM, args: [...CHROMIUM_FLAGS, ...LOOPBACK_WEBRTC_FLAGS] };
  // A launched browser hides its process; a server's is the test's to kill.
  const server = options.killable ? await chromium.launchServer(launch) : undefined;
  const browser: Browser = server ? await chromium.connect(server.wsEndpoint()) : await chromium.launch(launch);
  const close = async (): Promise<void> => {
    await browser.close().catch(() => undefined);
    await server?.close();
  };
  try {
    const page = await browser.newPage();
    await page.goto('about:blank');
    await page.exposeFunction('hostSignal', (data: SignalData) => onSignal(data));
    await page.evaluate(
      ({ channels, prefer444, codecs, iceServers, iceTransportPolicy }) => {
        type W = typeof window & Record<string, unknown>;
        const w = window as W;
        const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers, iceTransportPolicy });
        w.pc = pc;
        pc.createDataChannel('simplepeer');
        const transceiver = pc.addTransceiver('video', { direction: 'recvonly' });
        (transceiver.receiver as RTCRtpReceiver & { jitterBufferTarget: number }).jitterBufferTarget = 0;
        const caps = RTCRtpReceiver.getCapabilities('video')!.codecs;
        const is444 = (c: RTCRtpCodec) => /profile-level-id=f4/i.test(c.sdpFmtpLine ?? '');
        const h264 = caps.filter((c) => c.mimeType === 'video/H264');
        const all = [...h264.filter((c) => is444(c) === prefer444), ...h264.filter((c) => is444(c) !== prefer444), ...caps.filter((c) => c.mimeType !== 'video/H264')];
        // Retransmission and FEC formats stay whatever the offer keeps: they are not codecs of their own.
        const repair = (c: RTCRtpCodec) => /\/(rtx|red|ulpfec|flexfec)/.test(c.mimeType);
        const ordered = codecs ? [...codecs.flatMap((m) => caps.filter((c) => c.mimeType === m)), ...caps.filter(repair)] : all;
        transceiver.setCodecPreferences(ordered);
        const control: string[] = [];
        w.control = control;
        const opened: Promise<void>[] = [];
        for (const { label, id, ordered: inOrder } of channels) {
          const dc = pc.createDataChannel(label, { negotiated: true, id, ordered: inOrder, ...(inOrder ? {} : { maxRetransmits: 0 }) });
          dc.binaryType = 'arraybuffer';
          w[`channel:${label}`] = dc;
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
        codecs: options.codecs ? [...options.codecs] : undefined,
        iceServers: options.iceServers ?? [],
        iceTransportPolicy: options.iceTransportPolicy ?? 'all',
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
      sendInput: (channel, messages) =>
        page.evaluate(
          ({ label, batch }) => {
            const dc = (window as unknown as Record<string, RTCDataChannel>)[`channel:${label}`]!;
            for (const bytes of batch) dc.send(Uint8Array.from(bytes));
          },
          // Plain arrays: playwright carries JSON-like values into the page.
          { label: DATA_CHANNELS[channel].label, batch: messages.map((m) => [...m]) },
        ),
      remoteSdp: () => page.evaluate(() => (window as unknown as { pc: RTCPeerConnection }).pc.remoteDescription?.sdp ?? ''),
      connection: () =>
        page.evaluate(async () => {
          const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
          let path: string | undefined;
          if (pc.connectionState !== 'closed') {
            const report = await pc.getStats();
            report.forEach((s: Record<string, unknown>) => {
              if (s.type !== 'candidate-pair' || s.state !== 'succeeded' || s.nominated !== true) return;
              const local = report.get(String(s.localCandidateId)) as { candidateType?: string } | undefined;
              const remote = report.get(String(s.remoteCandidateId)) as { candidateType?: string } | undefined;
              path = `${local?.candidateType}/${remote?.candidateType}`;
            });
          }
          return { connection: pc.connectionState, gathering: pc.iceGatheringState, path };
        }),
      closePeer: () => page.evaluate(() => (window as unknown as { pc: RTCPeerConnection }).pc.close()),
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
            framesPerSecond: n('framesPerSecond'),
            pliCount: n('pliCount'),
            nackCount: n('nackCount'),
            packetsLost: n('packetsLost'),
            bytesReceived: n('bytesReceived'),
            jitterBufferMs: n('jitterBufferEmittedCount') ? (n('jitterBufferDelay') / n('jitterBufferEmittedCount')) * 1000 : 0,
            codec: codecs.get(String(out.codecId)) ?? '',
          };
        }),
      videoPixels: async (points) => {
        const ready = await page.evaluate(() => {
          const video = document.querySelector('video');
          return !!video && video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0;
        });
        return ready ? sampleVideo(page, [...points]) : undefined;
      },
      kill: () => {
        if (!server) throw new Error('kill() needs a browser peer opened with { killable: true }');
        server.process().kill('SIGKILL');
      },
      close,
    };
  } catch (err) {
    await close();
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
