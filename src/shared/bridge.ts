/**
 * The type of the API the preload exposes as `window.backlot`. The preload
 * implements it (`satisfies BacklotApi`) and the renderer imports only this
 * type, so neither side keeps its own copy. Types and one constant only: no
 * Node, Electron or DOM.
 */
import type { z } from 'zod';
import type { IPC, IpcChannel, IpcReply, IpcRequest, IpcResponse } from './ipc.js';

/** The name the API is exposed under on `window`. */
export const BRIDGE_KEY = 'backlot';

/** What the renderer passes for a channel (before main's parsing). */
export type BridgeRequest<C extends IpcChannel> = z.input<(typeof IpcRequest)[C]>;
/** What comes back for a channel: the parsed value, or an error with a stable code. */
export type BridgeReply<C extends IpcChannel> = Promise<IpcReply<z.output<(typeof IpcResponse)[C]>>>;

/** One function per operation. Never rejects for a handled failure: errors come back as `{ ok: false }`. */
export interface BacklotApi {
  /** Broker URL (or null), whether the local demo can be started, app version. */
  getConfig(): BridgeReply<typeof IPC.appConfig>;
  /** Starts the local demo (source checkouts only) and returns its broker URL and demo account. */
  startDemo(): BridgeReply<typeof IPC.demoStart>;
  /** Signs in; main keeps the token, the renderer gets the user's names. */
  login(payload: BridgeRequest<typeof IPC.authLogin>): BridgeReply<typeof IPC.authLogin>;
  logout(): BridgeReply<typeof IPC.authLogout>;
  listWorkstations(): BridgeReply<typeof IPC.workstationsList>;
  requestSession(payload: BridgeRequest<typeof IPC.sessionRequest>): BridgeReply<typeof IPC.sessionRequest>;
}

declare global {
  // Augments the DOM's Window where DOM types exist (the renderer); elsewhere it declares an unused interface.
  interface Window {
    /** Present in the Electron client, absent in the web client. */
    readonly backlot?: BacklotApi;
  }
}
