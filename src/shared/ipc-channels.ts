/**
 * IPC channel names, in one `as const` registry. Kept free of zod (and of any
 * import) so the preload bundle, which needs only these strings, stays tiny.
 * The payload schemas live in ipc.ts, which re-exports these.
 */

/** Request/response channels: the renderer invokes, main answers with an `IpcReply`. */
export const IPC = {
  appConfig: 'app.config',
  demoStart: 'demo.start',
  authLogin: 'auth.login',
  authTotp: 'auth.totp',
  authResume: 'auth.resume',
  authLogout: 'auth.logout',
  credentialsStatus: 'credentials.status',
  settingsGet: 'settings.get',
  settingsSet: 'settings.set',
  profilesList: 'profiles.list',
  profilesSave: 'profiles.save',
  profilesRemove: 'profiles.remove',
  workstationsList: 'workstations.list',
  sessionRequest: 'session.request',
  sessionOpen: 'session.open',
  sessionState: 'session.state',
  openTake: 'open.take',
  diagnosticsExport: 'diagnostics.export',
} as const;
export type IpcChannel = (typeof IPC)[keyof typeof IPC];

/** Events main sends to a window (`webContents.send`); the preload exposes each as an `onX(cb)` returning an unsubscribe. */
export const IPC_EVENTS = {
  /** A deep link or connection file asks to open a profile / workstation. Payload: `OpenRequest`. */
  openRequest: 'open.request',
} as const;
export type IpcEvent = (typeof IPC_EVENTS)[keyof typeof IPC_EVENTS];
