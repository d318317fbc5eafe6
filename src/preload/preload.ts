/**
 * The preload: exposes one function per operation as `window.backlot`. The
 * renderer never sees `ipcRenderer` (which would let a compromised page send
 * anything on any channel). Runs sandboxed, so it is bundled to CommonJS and
 * requires nothing but 'electron'.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { BRIDGE_KEY, type BacklotApi, type BridgeReply, type BridgeRequest } from '../shared/bridge.js';
import { IPC, type IpcChannel } from '../shared/ipc.js';

/** Sends one request; main validates the payload, so nothing is checked here beyond the types. */
function invoke<C extends IpcChannel>(channel: C, payload?: BridgeRequest<C>): BridgeReply<C> {
  // Channels without a payload send no argument at all, which main reads as `undefined`.
  return (payload === undefined ? ipcRenderer.invoke(channel) : ipcRenderer.invoke(channel, payload)) as BridgeReply<C>;
}

const api = {
  getConfig: () => invoke(IPC.appConfig),
  startDemo: () => invoke(IPC.demoStart),
  login: (payload) => invoke(IPC.authLogin, payload),
  logout: () => invoke(IPC.authLogout),
  listWorkstations: () => invoke(IPC.workstationsList),
  requestSession: (payload) => invoke(IPC.sessionRequest, payload),
} satisfies BacklotApi;

contextBridge.exposeInMainWorld(BRIDGE_KEY, api);
