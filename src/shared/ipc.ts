/**
 * The contract between the Electron main process and the renderer, over the
 * preload bridge. Channel names live in one registry; every payload has a
 * schema, and main parses `unknown` through it before acting.
 */
import { z } from 'zod';
import { ERROR_CODES } from './constants.js';
import { LoginRequest, SessionGrant, SessionRequest, WorkstationList } from './protocol.js';

export const IPC = {
  appConfig: 'app.config',
  demoStart: 'demo.start',
  authLogin: 'auth.login',
  authLogout: 'auth.logout',
  workstationsList: 'workstations.list',
  sessionRequest: 'session.request',
} as const;
export type IpcChannel = (typeof IPC)[keyof typeof IPC];

/** What the renderer learns about its environment at start-up. Contains no secrets. */
export const AppConfig = z.strictObject({
  brokerUrl: z.string().max(2048).nullable(),
  demoAvailable: z.boolean(),
  version: z.string().max(64),
});
export type AppConfig = z.infer<typeof AppConfig>;

export const DemoInfo = z.strictObject({
  brokerUrl: z.string().max(2048),
  username: z.string().max(128),
  /** The demo account's password is not a secret: it only opens the local demo on this machine. */
  password: z.string().max(128),
});
export type DemoInfo = z.infer<typeof DemoInfo>;

export const LoginPayload = LoginRequest.extend({ brokerUrl: z.string().url().max(2048) });
export type LoginPayload = z.infer<typeof LoginPayload>;

export const LoginResult = z.strictObject({ username: z.string(), displayName: z.string() });
export type LoginResult = z.infer<typeof LoginResult>;

/** Every IPC reply is wrapped, so an error crosses the bridge with its stable code. */
export const IpcError = z.strictObject({ code: z.enum(ERROR_CODES), message: z.string() });
export type IpcError = z.infer<typeof IpcError>;
export type IpcReply<T> = { ok: true; value: T } | { ok: false; error: IpcError };

/** Request payload schemas, per channel (channels without a payload take `undefined`). */
export const IpcRequest = {
  [IPC.appConfig]: z.undefined(),
  [IPC.demoStart]: z.undefined(),
  [IPC.authLogin]: LoginPayload,
  [IPC.authLogout]: z.undefined(),
  [IPC.workstationsList]: z.undefined(),
  [IPC.sessionRequest]: SessionRequest,
} as const;

/** Reply value schemas, per channel. */
export const IpcResponse = {
  [IPC.appConfig]: AppConfig,
  [IPC.demoStart]: DemoInfo,
  [IPC.authLogin]: LoginResult,
  [IPC.authLogout]: z.null(),
  [IPC.workstationsList]: WorkstationList,
  [IPC.sessionRequest]: SessionGrant,
} as const;
