/**
 * The type of the API the preload exposes as `window.backlot`. The preload
 * implements it (`satisfies BacklotApi`) and the renderer imports only this
 * type, so neither side keeps its own copy. Types and one constant only: no
 * Node, Electron or DOM.
 */
import type { z } from 'zod';
import type { IPC, IpcChannel, IpcReply, IpcRequest, IpcResponse } from './ipc.js';
import type { OpenRequest } from './managed-policy.js';

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
  /** Completes a sign-in that answered `mfa-required`. */
  submitTotp(payload: BridgeRequest<typeof IPC.authTotp>): BridgeReply<typeof IPC.authTotp>;
  /** Signs in with the remembered credentials, if any (null when there are none or they no longer work). */
  resumeSession(): BridgeReply<typeof IPC.authResume>;
  /** Signs out everywhere: revokes the refresh token, wipes what was stored, closes session windows. */
  logout(): BridgeReply<typeof IPC.authLogout>;
  /** Whether a sign-in can be remembered on this machine, and if not, why (a sentence to show). */
  credentialsStatus(): BridgeReply<typeof IPC.credentialsStatus>;
  /** Every setting as `{value, locked, source}`; locked ones are shown read-only ("Managed by your studio"). */
  getSettings(payload?: BridgeRequest<typeof IPC.settingsGet>): BridgeReply<typeof IPC.settingsGet>;
  /** Changes the user's own settings; a locked key is refused with ERR_FORBIDDEN. */
  setSettings(payload: BridgeRequest<typeof IPC.settingsSet>): BridgeReply<typeof IPC.settingsSet>;
  listProfiles(): BridgeReply<typeof IPC.profilesList>;
  saveProfile(payload: BridgeRequest<typeof IPC.profilesSave>): BridgeReply<typeof IPC.profilesSave>;
  removeProfile(payload: BridgeRequest<typeof IPC.profilesRemove>): BridgeReply<typeof IPC.profilesRemove>;
  listWorkstations(): BridgeReply<typeof IPC.workstationsList>;
  requestSession(payload: BridgeRequest<typeof IPC.sessionRequest>): BridgeReply<typeof IPC.sessionRequest>;
  /** Opens (or focuses) the window for a session with this workstation (`#session=<id>`). */
  openSession(payload: BridgeRequest<typeof IPC.sessionOpen>): BridgeReply<typeof IPC.sessionOpen>;
  /** A session window reports its connection state, so main can track (and on sign-out close) sessions. */
  reportSessionState(payload: BridgeRequest<typeof IPC.sessionState>): BridgeReply<typeof IPC.sessionState>;
  /** The deep link / connection file that launched the app, once (null afterwards or if none). */
  takeOpenRequest(): BridgeReply<typeof IPC.openTake>;
  /** Saves a redacted diagnostics bundle for IT where the user chooses; null when cancelled. */
  exportDiagnostics(): BridgeReply<typeof IPC.diagnosticsExport>;
  /** Called when a deep link or connection file arrives while the app runs. Returns an unsubscribe. */
  onOpenRequest(callback: (request: OpenRequest) => void): () => void;
}

declare global {
  // Augments the DOM's Window where DOM types exist (the renderer); elsewhere it declares an unused interface.
  interface Window {
    /** Present in the Electron client, absent in the web client. */
    readonly backlot?: BacklotApi;
  }
}
