/**
 * The data channel as the session uses it: the shape of the W3C
 * RTCDataChannel, reduced to what input, control and clipboard need, so the
 * session does not depend on the WebRTC stack; libdatachannel's channels are
 * adapted by ndc-channel.ts.
 */

export interface DataChannel {
  readonly label: string;
  readonly readyState: 'connecting' | 'open' | 'closing' | 'closed';
  binaryType: string;
  onopen: (() => void) | null;
  onclose: (() => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  send(data: Uint8Array | string): void;
  close(): void;
}

/** Both ends create the channel with the same id (no in-band announcement). */
export interface DataChannelInit {
  negotiated: true;
  id: number;
  ordered?: boolean;
  maxRetransmits?: number;
}
