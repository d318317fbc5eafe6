/**
 * The contract between the Electron main process and the renderer, over the
 * preload bridge. Channel names live in one registry (ipc-channels.ts, zod
 * free for the preload); every payload has a schema here, and main parses
 * `unknown` through it before acting. No channel ever carries a token.
 *
 * Channels (renderer → main, answered with `IpcReply<T>`):
 * - `app.config` → AppConfig: default broker, demo availability, version, policy error.
 * - `demo.start` → DemoInfo: starts the local demo (source checkouts only).
 * - `auth.login` {brokerUrl, username, password} → LoginOutcome. main refuses a
 *   broker the policy does not allow; on `mfa-required` main keeps the MFA token.
 * - `auth.totp` {code} → LoginResult: completes an MFA sign-in.
 * - `auth.resume` → LoginResult | null: signs in with the remembered (encrypted)
 *   refresh token, if any; null when there is none or the broker refused it.
 * - `auth.logout` → null: revokes the refresh token at the broker, wipes the
 *   stored credentials and closes every session window.
 * - `credentials.status` → CredentialsStatus: whether the app can remember the
 *   sign-in, and if not why (policy, no OS encryption, Linux `basic_text`).
 * - `settings.get` {profileId?} → EffectiveSettings: every setting with
 *   `{value, locked, source}`; with a profile, its preferences apply.
 * - `settings.set` Partial<user settings> → EffectiveSettings. Refuses
 *   (ERR_FORBIDDEN) a locked key; `updateUrl` is policy-only.
 * - `profiles.list` → ProfileList: managed, installer and user profiles.
 * - `profiles.save` LoginProfile → ProfileList (user profiles; refused when the
 *   policy forbids user profiles, pins other brokers, or the id is managed).
 * - `profiles.remove` {id} → ProfileList.
 * - `workstations.list` → WorkstationList.
 * - `session.request` {workstationId} → SessionGrant, narrowed by the client
 *   policy (clipboard, file transfer, TURN-only ICE servers when forceRelay).
 * - `session.open` {workstationId} → null: opens (or focuses) the session window
 *   `app://backlot/index.html#session=<workstationId>`.
 * - `session.state` {workstationId, state} → null: a session window reports its state.
 * - `open.take` → OpenRequest | null: the deep link / connection file that
 *   launched the app, if the renderer has not taken it yet.
 * - `diagnostics.export` → {path} | null: writes a redacted diagnostics bundle
 *   where the user chooses (null when the save dialog was cancelled).
 *
 * Events (main → renderer, via `onX(cb)` in the preload):
 * - `open.request` OpenRequest: a deep link or connection file arrived while running.
 */
import { z } from 'zod';
import { ERROR_CODES } from './constants.js';
import { EffectiveSettings, LoginProfile, OpenRequest, ProfileId, ProfileList, Settings, WorkstationId } from './managed-policy.js';
import { LoginRequest, SessionGrant, SessionRequest, WorkstationList } from './protocol.js';
import { IPC } from './ipc-channels.js';

export { IPC, IPC_EVENTS, type IpcChannel, type IpcEvent } from './ipc-channels.js';

/** What the renderer learns about its environment at start-up. Contains no secrets. */
export const AppConfig = z.strictObject({
  /** The default profile's broker (or the demo's), or null when none is configured. */
  brokerUrl: z.string().max(2048).nullable(),
  demoAvailable: z.boolean(),
  version: z.string().max(64),
  /** Set when a policy file exists but is invalid: sign-in is blocked until IT fixes it. */
  policyError: z.string().max(2048).nullable(),
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

/** Signing in either succeeds or asks for a TOTP code (main keeps the broker's MFA token). */
export const LoginOutcome = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('ok'), user: LoginResult }),
  z.strictObject({ status: z.literal('mfa-required') }),
]);
export type LoginOutcome = z.infer<typeof LoginOutcome>;

export const TotpPayload = z.strictObject({ code: z.string().regex(/^\d{6}$/, 'six digits') });
export type TotpPayload = z.infer<typeof TotpPayload>;

/** Why the app will not remember a sign-in. */
export const CREDENTIAL_REFUSALS = ['policy', 'encryption-unavailable', 'basic-text', 'user'] as const;
export const CredentialsStatus = z.strictObject({
  /** True when a sign-in would be remembered (encrypted) now. */
  canRemember: z.boolean(),
  /** Set when `canRemember` is false. */
  reason: z.enum(CREDENTIAL_REFUSALS).nullable(),
  /** A sentence the UI can show as is. */
  message: z.string().max(512).nullable(),
  /** A sign-in is stored on disk (encrypted) right now. */
  remembered: z.boolean(),
});
export type CredentialsStatus = z.infer<typeof CredentialsStatus>;

export const SettingsQuery = z.strictObject({ profileId: ProfileId.optional() }).optional();
export const SettingsUpdate = Settings.omit({ updateUrl: true }).partial();
export type SettingsUpdate = z.infer<typeof SettingsUpdate>;

export const SESSION_STATES = ['connecting', 'connected', 'reconnecting', 'ended', 'failed'] as const;
export type SessionState = (typeof SESSION_STATES)[number];
export const SessionStateReport = z.strictObject({ workstationId: WorkstationId, state: z.enum(SESSION_STATES) });
export type SessionStateReport = z.infer<typeof SessionStateReport>;

export const DiagnosticsResult = z.strictObject({ path: z.string().max(4096) }).nullable();

/** Every IPC reply is wrapped, so an error crosses the bridge with its stable code. */
export const IpcError = z.strictObject({ code: z.enum(ERROR_CODES), message: z.string() });
export type IpcError = z.infer<typeof IpcError>;
export type IpcReply<T> = { ok: true; value: T } | { ok: false; error: IpcError };

/** Request payload schemas, per channel (channels without a payload take `undefined`). */
export const IpcRequest = {
  [IPC.appConfig]: z.undefined(),
  [IPC.demoStart]: z.undefined(),
  [IPC.authLogin]: LoginPayload,
  [IPC.authTotp]: TotpPayload,
  [IPC.authResume]: z.undefined(),
  [IPC.authLogout]: z.undefined(),
  [IPC.credentialsStatus]: z.undefined(),
  [IPC.settingsGet]: SettingsQuery,
  [IPC.settingsSet]: SettingsUpdate,
  [IPC.profilesList]: z.undefined(),
  [IPC.profilesSave]: LoginProfile,
  [IPC.profilesRemove]: z.strictObject({ id: ProfileId }),
  [IPC.workstationsList]: z.undefined(),
  [IPC.sessionRequest]: SessionRequest,
  [IPC.sessionOpen]: SessionRequest,
  [IPC.sessionState]: SessionStateReport,
  [IPC.openTake]: z.undefined(),
  [IPC.diagnosticsExport]: z.undefined(),
} as const;

/** Reply value schemas, per channel. */
export const IpcResponse = {
  [IPC.appConfig]: AppConfig,
  [IPC.demoStart]: DemoInfo,
  [IPC.authLogin]: LoginOutcome,
  [IPC.authTotp]: LoginResult,
  [IPC.authResume]: LoginResult.nullable(),
  [IPC.authLogout]: z.null(),
  [IPC.credentialsStatus]: CredentialsStatus,
  [IPC.settingsGet]: EffectiveSettings,
  [IPC.settingsSet]: EffectiveSettings,
  [IPC.profilesList]: ProfileList,
  [IPC.profilesSave]: ProfileList,
  [IPC.profilesRemove]: ProfileList,
  [IPC.workstationsList]: WorkstationList,
  [IPC.sessionRequest]: SessionGrant,
  [IPC.sessionOpen]: z.null(),
  [IPC.sessionState]: z.null(),
  [IPC.openTake]: OpenRequest.nullable(),
  [IPC.diagnosticsExport]: DiagnosticsResult,
} as const;
