/**
 * Decodes input frames from the data channels and applies them to an
 * injector. Anything malformed, unsupported or on the wrong channel is
 * counted and dropped: this is the boundary where remote bytes become host
 * input, so nothing unvalidated may pass and nothing may throw.
 */
import { decodeInput, type InputMessage } from '../../shared/input.js';
import type { Injector } from './injector.js';

/** Which data channel a frame came in on. */
export type InputChannel = 'input' | 'pointer';

export type DropReason = 'invalid' | 'wrongChannel' | 'unsupported' | 'unmapped' | 'injectorError';

export interface InputStats {
  received: number;
  injected: number;
  dropped: Record<DropReason, number>;
}

/** Ops allowed on the unordered pointer channel: motion only, where a lost or late message is harmless. */
const POINTER_CHANNEL_OPS: ReadonlySet<InputMessage['op']> = new Set(['pointerAbs', 'pointerRel']);

export class InputRouter {
  private readonly counters: InputStats = {
    received: 0,
    injected: 0,
    dropped: { invalid: 0, wrongChannel: 0, unsupported: 0, unmapped: 0, injectorError: 0 },
  };

  constructor(
    private readonly injector: Injector,
    private readonly onDrop: (reason: DropReason, detail: string) => void = () => {},
  ) {}

  /** Handles one data-channel frame; `data` is whatever the channel delivered. */
  handle(channel: InputChannel, data: unknown): void {
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
    try {
      this.apply(msg);
    } catch (err) {
      this.drop('injectorError', (err as Error).message);
    }
  }

  stats(): InputStats {
    return { ...this.counters, dropped: { ...this.counters.dropped } };
  }

  private apply(msg: InputMessage): void {
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
          return;
        }
        break;
      case 'releaseAll':
        this.injector.releaseAll();
        break;
      case 'heartbeat':
        // Liveness is tracked by the peer connection for now; nothing to inject.
        return;
      case 'text':
      case 'pen':
        // Text fallback and pen input come with the input-fidelity issue.
        this.drop('unsupported', msg.op);
        return;
    }
    this.counters.injected++;
  }

  private drop(reason: DropReason, detail: string): void {
    this.counters.dropped[reason]++;
    this.onDrop(reason, detail);
  }
}
