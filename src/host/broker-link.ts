/**
 * The host agent's one long-lived WebSocket to the broker: authenticates,
 * parses every message through the protocol schema, keeps the connection
 * alive with pings and reconnects with backoff whenever it drops.
 */
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { MAX_WS_MESSAGE_BYTES, WS_AUTH_TIMEOUT_MS } from '../shared/constants.js';
import { BrokerToHost, parseJson, type HostToBroker } from '../shared/protocol.js';
import { backoffDelay } from './backoff.js';

/** A ping goes out this often; a socket that has not answered the previous one by then is dead. */
export const PING_INTERVAL_MS = 15_000;
/** Waiting for `ready` after sending `auth`, slightly longer than the broker's own limit. */
const READY_TIMEOUT_MS = WS_AUTH_TIMEOUT_MS + 1_000;
/** Opening handshake timeout. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Malformed messages logged individually per connection; the rest are only counted. */
const MAX_LOGGED_BAD_MESSAGES = 20;

export type LinkState = 'connecting' | 'authenticating' | 'ready' | 'waiting' | 'stopped';

/** Messages the broker sends once the link is ready (everything but `ready` itself). */
export type BrokerEvent = Exclude<BrokerToHost, { type: 'ready' }>;

export interface BrokerLinkOptions {
  /** WebSocket URL of the broker's host endpoint (…/ws/host). */
  url: string;
  workstationId: string;
  secret: string;
  logger: Logger;
  onMessage: (msg: BrokerEvent) => void;
  /** Called on every state change, e.g. to end a session when the link is lost. */
  onState?: (state: LinkState) => void;
}

/** Turns a broker base URL (http/https/ws/wss, maybe with a path prefix) into its host-socket URL. */
export function hostSocketUrl(broker: string): string {
  const url = new URL(broker);
  const protocols: Record<string, string> = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' };
  const protocol = protocols[url.protocol];
  if (!protocol) throw new Error(`broker URL must be http(s) or ws(s), got ${url.protocol}`);
  url.protocol = protocol;
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/ws/host`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

export class BrokerLink {
  private ws: WebSocket | undefined;
  private state: LinkState = 'waiting';
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readyTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private badMessages = 0;

  constructor(private readonly options: BrokerLinkOptions) {}

  get currentState(): LinkState {
    return this.state;
  }

  start(): void {
    if (this.state === 'stopped') throw new Error('broker link was stopped');
    this.connect();
  }

  /** Sends a message if the link is ready; returns false (and logs) otherwise. */
  send(msg: HostToBroker): boolean {
    if (this.state !== 'ready' || this.ws?.readyState !== WebSocket.OPEN) {
      this.options.logger.warn({ type: msg.type }, 'broker link not ready; message not sent');
      return false;
    }
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Closes the socket for good. */
  async stop(): Promise<void> {
    this.setState('stopped');
    clearTimeout(this.retryTimer);
    const ws = this.ws;
    this.clearConnectionTimers();
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'host agent stopping');
      // A broker that never answers the close frame must not hold up shutdown.
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1_000).unref();
    });
  }

  private connect(): void {
    this.setState('connecting');
    const { url, logger } = this.options;
    logger.info({ url, attempt: this.attempt }, 'connecting to broker');
    const ws = new WebSocket(url, { maxPayload: MAX_WS_MESSAGE_BYTES, handshakeTimeout: HANDSHAKE_TIMEOUT_MS });
    this.ws = ws;
    this.badMessages = 0;
    let alive = true;

    ws.on('open', () => {
      this.setState('authenticating');
      ws.send(JSON.stringify({ type: 'auth', workstationId: this.options.workstationId, secret: this.options.secret } satisfies HostToBroker));
      this.readyTimer = setTimeout(() => {
        logger.warn('broker did not confirm authentication in time');
        ws.terminate();
      }, READY_TIMEOUT_MS);
      this.pingTimer = setInterval(() => {
        if (!alive) {
          logger.warn('broker stopped answering pings');
          ws.terminate();
          return;
        }
        alive = false;
        ws.ping();
      }, PING_INTERVAL_MS);
    });
    ws.on('pong', () => (alive = true));
    ws.on('message', (raw, isBinary) => {
      alive = true;
      if (isBinary) {
        this.badMessage('binary message');
        return;
      }
      this.handleText(rawToString(raw));
    });
    ws.on('error', (err) => logger.warn({ err: err.message }, 'broker socket error'));
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.clearConnectionTimers();
      if (this.state === 'stopped') return;
      logger.warn({ code, reason: reason.toString().slice(0, 200) }, 'broker connection closed');
      this.scheduleReconnect();
    });
  }

  private handleText(text: string): void {
    const parsed = parseJson(BrokerToHost, text);
    if (!parsed.ok) {
      this.badMessage(parsed.reason);
      return;
    }
    const msg = parsed.value;
    if (msg.type === 'error') {
      // Sent before the broker closes: bad secret, unknown workstation, or a protocol complaint.
      this.options.logger.error({ code: msg.code, message: msg.message }, 'broker reported an error');
      this.options.onMessage(msg);
      return;
    }
    if (this.state === 'authenticating') {
      if (msg.type !== 'ready') {
        this.badMessage(`${msg.type} before ready`);
        return;
      }
      if (msg.workstationId !== this.options.workstationId) this.options.logger.warn({ workstationId: msg.workstationId }, 'broker confirmed a different workstation id');
      clearTimeout(this.readyTimer);
      this.attempt = 0;
      this.options.logger.info('broker link ready');
      this.setState('ready');
      return;
    }
    if (msg.type === 'ready') {
      this.badMessage('duplicate ready');
      return;
    }
    this.options.onMessage(msg);
  }

  private badMessage(reason: string): void {
    if (this.badMessages++ < MAX_LOGGED_BAD_MESSAGES) this.options.logger.warn({ reason }, 'dropped malformed broker message');
  }

  private scheduleReconnect(): void {
    const delay = backoffDelay(this.attempt++);
    this.setState('waiting');
    this.options.logger.info({ delayMs: delay }, 'reconnecting to broker later');
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private clearConnectionTimers(): void {
    clearTimeout(this.readyTimer);
    clearInterval(this.pingTimer);
  }

  private setState(state: LinkState): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onState?.(state);
  }
}

function rawToString(raw: WebSocket.RawData): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  if (raw instanceof ArrayBuffer) return Buffer.from(raw).toString('utf8');
  return raw.toString('utf8');
}
