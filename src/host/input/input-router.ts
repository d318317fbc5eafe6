/**
 * Decodes input frames from the data channels and applies them to an
 * injector. Anything malformed, unsupported or on the wrong channel is
 * counted and dropped: this is the boundary where remote bytes become host
 * input, so nothing unvalidated may pass and nothing may throw.
 *
 * It also guards against stuck input: the client sends a heartbeat every
 * second on the input channel, and if none arrives for HEARTBEAT_TIMEOUT_MS
 * while something is held, everything is released (the client froze, or the
 * network went away without closing the channel).
 */
import { decodeInput, type InputMessage } from '../../shared/input.js';
import type { Injector } from './injector.js';

/** Which data channel a frame came in on. */
export type InputChannel = 'input' | 'pointer';

export type DropReason = 'invalid' | 'wrongChannel' | 'unmapped' | 'untypable' | 'overflow' | 'injectorError';

export interface InputStats {
  received: number;
  injected: number;
  dropped: Record<DropReason, number>;
  heartbeats: number;
  /** Times held input was released because heartbeats stopped. */
  heartbeatTimeouts: number;
}

/** Without a heartbeat for this long, held keys and buttons are released (the client sends one per second). */
export const HEARTBEAT_TIMEOUT_MS = 3_000;
/** How often the heartbeat deadline is checked. */
const WATCHDOG_TICK_MS = 250;
/** Messages held back while a text fallback is being typed; more than that are dropped. */
export const MAX_QUEUED_MESSAGES = 1_024;

/** Ops allowed on the unordered pointer channel: motion only, where a lost or late message is harmless. */
const POINTER_CHANNEL_OPS: ReadonlySet<InputMessage['op']> = new Set(['pointerAbs', 'pointerRel']);

export interface InputRouterOptions {
  onDrop?: (reason: DropReason, detail: string) => void;
  /** Called when the heartbeat watchdog released held input. */
  onHeartbeatTimeout?: () => void;
  heartbeatTimeoutMs?: number;
  now?: () => number;
}

export class InputRouter {
  private readonly counters: InputStats = {
    received: 0,
    injected: 0,
    dropped: { invalid: 0, wrongChannel: 0, unmapped: 0, untypable: 0, overflow: 0, injectorError: 0 },
    heartbeats: 0,
    heartbeatTimeouts: 0,
  };
  /** Set while an asynchronous injection (text) runs; later messages wait in `queue` to keep their order. */
  private busy = false;
  private readonly queue: InputMessage[] = [];
  private lastHeartbeat: number;
  private watchdog: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(
    private readonly injector: Injector,
    private readonly options: InputRouterOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    this.lastHeartbeat = this.now();
  }

  /** Starts the heartbeat watchdog (when the input channel opens). */
  startWatchdog(): void {
    if (this.watchdog || this.closed) return;
    this.lastHeartbeat = this.now();
    this.watchdog = setInterval(() => this.checkHeartbeat(), WATCHDOG_TICK_MS);
    this.watchdog.unref();
  }

  /** Checks the heartbeat deadline now; exposed so tests with fake clocks need no timers. */
  checkHeartbeat(): void {
    const timeout = this.options.heartbeatTimeoutMs ?? HEARTBEAT_TIMEOUT_MS;
    if (this.now() - this.lastHeartbeat < timeout || !this.injector.holding()) return;
    this.counters.heartbeatTimeouts++;
    this.injector.releaseAll();
    // One release per silence: the next one needs a fresh heartbeat and a fresh hold.
    this.lastHeartbeat = this.now();
    this.options.onHeartbeatTimeout?.();
  }

  /** Stops the watchdog and drops anything queued. */
  close(): void {
    this.closed = true;
    clearInterval(this.watchdog);
    this.queue.length = 0;
  }

  /** Handles one data-channel frame; `data` is whatever the channel delivered. */
  handle(channel: InputChannel, data: unknown): void {
    if (this.closed) return;
    this.counters.received++;
    if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) {
      this.drop('invalid', 'frame is not binary');
      return;
    }
    const decoded = decodeInput(data);
    if (!decoded.ok) {
      this.drop('invalid', decoded.reason);
      return;
    }
    const msg = decoded.message;
    // The ordered channel may carry motion too (it is never harmful there);
    // the unordered one must not carry anything whose loss or reordering
    // would leave state wrong, such as a button release.
    if (channel === 'pointer' && !POINTER_CHANNEL_OPS.has(msg.op)) {
      this.drop('wrongChannel', `${msg.op} on the pointer channel`);
      return;
    }
    if (msg.op === 'heartbeat') {
      // Liveness is not input: it never waits behind queued text.
      this.counters.heartbeats++;
      this.lastHeartbeat = this.now();
      return;
    }
    if (this.busy) {
      if (this.queue.length >= MAX_QUEUED_MESSAGES) this.drop('overflow', msg.op);
      else this.queue.push(msg);
      return;
    }
    this.run(msg);
  }

  stats(): InputStats {
    return { ...this.counters, dropped: { ...this.counters.dropped } };
  }

  private run(msg: InputMessage): void {
    let pending: Promise<unknown> | undefined;
    try {
      pending = this.apply(msg);
    } catch (err) {
      this.drop('injectorError', (err as Error).message);
    }
    if (!pending) return;
    this.busy = true;
    pending
      .catch((err: unknown) => this.drop('injectorError', (err as Error).message))
      .finally(() => {
        this.busy = false;
        while (!this.busy && !this.closed) {
          const next = this.queue.shift();
          if (!next) break;
          this.run(next);
        }
      });
  }

  /** Applies one message; returns a promise when the injection continues asynchronously. */
  private apply(msg: InputMessage): Promise<unknown> | undefined {
    switch (msg.op) {
      case 'pointerAbs':
        this.injector.pointerAbs(msg.x, msg.y);
        break;
      case 'pointerRel':
        this.injector.pointerRel(msg.dx, msg.dy);
        break;
      case 'button':
        // Buttons carry their own position because motion travels on the
        // unordered channel and may not have arrived yet.
        this.injector.pointerAbs(msg.x, msg.y);
        this.injector.button(msg.button, msg.down);
        break;
      case 'wheel':
        this.injector.wheel(msg.dx, msg.dy);
        break;
      case 'key':
        if (!this.injector.key(msg.code, msg.down)) {
          this.drop('unmapped', msg.code);
          return undefined;
        }
        break;
      case 'text': {
        const result = this.injector.text(msg.text);
        if (typeof result === 'number') {
          this.countText(result);
          return undefined;
        }
        return result.then((untyped) => this.countText(untyped));
      }
      case 'pen':
        this.injector.pen({ x: msg.x, y: msg.y, pressure: msg.pressure, tiltX: msg.tiltX, tiltY: msg.tiltY, twist: msg.twist, flags: msg.flags });
        break;
      case 'releaseAll':
        this.injector.releaseAll();
        break;
      case 'heartbeat':
        return undefined; // handled before queueing
    }
    this.counters.injected++;
    return undefined;
  }

  private countText(untyped: number): void {
    if (untyped > 0) this.drop('untypable', `${untyped} character(s)`);
    else this.counters.injected++;
  }

  private drop(reason: DropReason, detail: string): void {
    this.counters.dropped[reason]++;
    this.options.onDrop?.(reason, detail);
  }
}
