/**
 * A HostSession's client in tests: the real Chromium of browser-peer.ts,
 * with the session's signals relayed through JSON (as the broker carries
 * them), control messages parsed with the client's schema, and input sent as
 * the web client encodes it. The host side runs the encoded pipeline, built
 * as the agent builds it (pipeline/select.ts), with ICE on loopback.
 */
import type { Logger } from 'pino';
import { HostControl, type ClientControl } from '../../../src/shared/control.js';
import { encodeInput, type InputMessage } from '../../../src/shared/input.js';
import type { SessionPolicy } from '../../../src/shared/policy.js';
import { parseJson, type IceServer, type SignalData } from '../../../src/shared/protocol.js';
import type { CaptureSource } from '../../../src/host/capture/capture-source.js';
import { openPipeline, selectPipeline, type SelectedPipeline } from '../../../src/host/pipeline/select.js';
import type { SessionOptions } from '../../../src/host/session.js';
import { openBrowserPeer, pollUntil, type BrowserPeer, type BrowserPeerOptions, type InputChannelName } from './browser-peer.js';

/** Where the host gathers ICE candidates in tests: loopback only. */
export const LOOPBACK = '127.0.0.1';

/** The agent's choice with `--pipeline encoded --encoder libx264` (probed once at this size; a session opens its own). */
export function selectLibx264(logger: Logger, width = 1280, height = 720): Promise<SelectedPipeline> {
  return selectPipeline({ encoder: 'libx264', width, height, fps: 30, logger });
}

/** HostSession's `openPipeline` as the agent wires it (render-on-arrival playout), bound to loopback. */
export function openEncodedPipeline(selected: SelectedPipeline, capture: CaptureSource, policy: SessionPolicy, logger: Logger, iceServers: readonly IceServer[] = []): SessionOptions['openPipeline'] {
  return (events, quality) => openPipeline(selected, { capture, policy, iceServers, quality, playoutDelayMaxMs: 0, bindAddress: LOOPBACK, logger }, events);
}

/**
 * The host's signals, for a client that does not exist yet: the session
 * signals from `start()`, before the page is open. Pass `toClient` as the
 * session's `sendSignal`.
 */
export class SignalRelay {
  /** Every signal's type, in order, from each side (a second offer or a renegotiate request is a renegotiation). */
  readonly record: { from: 'host' | 'client'; type: SignalData['type'] }[] = [];
  private peer: BrowserPeer | undefined;
  private readonly early: SignalData[] = [];

  readonly toClient = (data: SignalData): void => {
    this.record.push({ from: 'host', type: data.type });
    const copy = JSON.parse(JSON.stringify(data)) as SignalData;
    if (this.peer) void this.peer.signal(copy).catch(() => undefined);
    else this.early.push(copy);
  };

  async attach(peer: BrowserPeer): Promise<void> {
    this.peer = peer;
    for (const data of this.early.splice(0)) await peer.signal(data);
  }
}

export interface BrowserClient {
  peer: BrowserPeer;
  /** Sends a control message as JSON. */
  sendControl(msg: ClientControl): Promise<void>;
  /** Every control message received so far, parsed (one the schema refuses shows as an `INVALID_FROM_HOST` error). */
  controls(): Promise<HostControl[]>;
  /** Resolves with the next control message of `type` not yet returned by this call. */
  nextControl<T extends HostControl['type']>(type: T, timeoutMs?: number): Promise<Extract<HostControl, { type: T }>>;
  /** Encodes and sends input messages, in order, on one channel. */
  send(channel: InputChannelName, ...messages: InputMessage[]): Promise<void>;
  close(): Promise<void>;
}

/** Opens Chromium as the client of a session whose `sendSignal` is `relay.toClient`, and sends it the page's offer. */
export async function openBrowserClient(relay: SignalRelay, toHost: (data: SignalData) => void, options: BrowserPeerOptions = {}): Promise<BrowserClient> {
  const forward = (data: SignalData): void => {
    relay.record.push({ from: 'client', type: data.type });
    toHost(JSON.parse(JSON.stringify(data)) as SignalData);
  };
  const peer = await openBrowserPeer(forward, options);
  await relay.attach(peer);
  forward(await peer.offer());
  const controls = async (): Promise<HostControl[]> =>
    (await peer.controlMessages()).map((text) => {
      const parsed = parseJson(HostControl, text);
      return parsed.ok ? parsed.value : { type: 'error', code: 'INVALID_FROM_HOST', message: parsed.reason.slice(0, 500) };
    });
  let consumed = 0;
  return {
    peer,
    sendControl: (msg) => peer.sendControl(JSON.stringify(msg)),
    controls,
    async nextControl<T extends HostControl['type']>(type: T, timeoutMs = 10_000): Promise<Extract<HostControl, { type: T }>> {
      const all = await pollUntil(`a ${type} control message`, controls, (ms) => ms.some((m, i) => i >= consumed && m.type === type), timeoutMs);
      const i = all.findIndex((m, idx) => idx >= consumed && m.type === type);
      consumed = i + 1;
      return all[i] as Extract<HostControl, { type: T }>;
    },
    send: (channel, ...messages) => peer.sendInput(channel, messages.map(encodeInput)),
    close: () => peer.close(),
  };
}
