/**
 * A libdatachannel data channel behind the session's DataChannel shape. It
 * exists before the channel does: the session wires its handlers when the
 * peer is built, and the real channel is attached once the client's offer
 * has been applied (libdatachannel needs the remote SCTP description first).
 */
import type { DataChannel as NdcDataChannel } from 'node-datachannel';
import type { DataChannel } from './channel.js';

export class NdcChannel implements DataChannel {
  readyState: DataChannel['readyState'] = 'connecting';
  /** Messages arrive as Buffer (an ArrayBuffer view) or string; the setting is kept for the interface. */
  binaryType = 'arraybuffer';
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  private channel: NdcDataChannel | undefined;

  constructor(readonly label: string) {}

  attach(channel: NdcDataChannel): void {
    this.channel = channel;
    channel.onOpen(() => {
      if (this.readyState !== 'connecting') return;
      this.readyState = 'open';
      this.onopen?.();
    });
    channel.onClosed(() => this.closed());
    channel.onError((err) => this.onerror?.(new Error(err)));
    channel.onMessage((msg) => {
      if (this.readyState === 'open') this.onmessage?.({ data: msg });
    });
    if (channel.isOpen() && this.readyState === 'connecting') {
      this.readyState = 'open';
      this.onopen?.();
    }
  }

  send(data: Uint8Array | string): void {
    if (this.readyState !== 'open' || !this.channel) throw new Error(`channel ${this.label} is not open`);
    if (typeof data === 'string') this.channel.sendMessage(data);
    else this.channel.sendMessageBinary(data);
  }

  close(): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closing';
    this.channel?.close();
    this.closed();
  }

  /** The peer is gone: the channel is closed without firing handlers. */
  detach(): void {
    this.onopen = this.onclose = this.onerror = this.onmessage = null;
    this.close();
  }

  private closed(): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.onclose?.();
  }
}
