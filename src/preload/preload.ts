/**
 * The preload: exposes one function per operation as `window.backlot`. The
 * renderer never sees `ipcRenderer` (which would let a compromised page send
 * anything on any channel). Runs sandboxed, so it is bundled to CommonJS and
 * requires nothing but 'electron'; it imports only the zod-free channel
 * registry and types, so the bundle stays a few KB.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { BRIDGE_KEY, type BacklotApi, type BridgeReply, type BridgeRequest } from '../shared/bridge.js';
import { IPC, IPC_EVENTS, type IpcChannel } from '../shared/ipc-channels.js';
import type { OpenRequest } from '../shared/managed-policy.js';

/** Sends one request; main validates the payload, so nothing is checked here beyond the types. */
function invoke<C extends IpcChannel>(channel: C, payload?: BridgeRequest<C>): BridgeReply<C> {
  // Channels without a payload send no argument at all, which main reads as `undefined`.
  return (payload === undefined ? ipcRenderer.invoke(channel) : ipcRenderer.invoke(channel, payload)) as BridgeReply<C>;
}

const api = {
  getConfig: () => invoke(IPC.appConfig),
  startDemo: () => invoke(IPC.demoStart),
  login: (payload) => invoke(IPC.authLogin, payload),
  submitTotp: (payload) => invoke(IPC.authTotp, payload),
  resumeSession: () => invoke(IPC.authResume),
  logout: () => invoke(IPC.authLogout),
  credentialsStatus: () => invoke(IPC.credentialsStatus),
  getSettings: (payload) => invoke(IPC.settingsGet, payload),
  setSettings: (payload) => invoke(IPC.settingsSet, payload),
  listProfiles: () => invoke(IPC.profilesList),
  saveProfile: (payload) => invoke(IPC.profilesSave, payload),
  removeProfile: (payload) => invoke(IPC.profilesRemove, payload),
  listWorkstations: () => invoke(IPC.workstationsList),
  requestSession: (payload) => invoke(IPC.sessionRequest, payload),
  openSession: (payload) => invoke(IPC.sessionOpen, payload),
  reportSessionState: (payload) => invoke(IPC.sessionState, payload),
  takeOpenRequest: () => invoke(IPC.openTake),
  exportDiagnostics: () => invoke(IPC.diagnosticsExport),
  onOpenRequest: (callback) => {
    // The page gets the payload only: the event object would expose `sender` (ipcRenderer itself).
    const listener = (_event: IpcRendererEvent, request: OpenRequest): void => callback(request);
    ipcRenderer.on(IPC_EVENTS.openRequest, listener);
    return () => {
      ipcRenderer.removeListener(IPC_EVENTS.openRequest, listener);
    };
  },
} satisfies BacklotApi;

contextBridge.exposeInMainWorld(BRIDGE_KEY, api);
