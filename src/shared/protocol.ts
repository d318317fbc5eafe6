/**
 * The wire protocol between client, broker and host agent: every HTTP body and
 * WebSocket message has a schema here, and every receiver parses `unknown`
 * through it before acting.
 */
import { z } from 'zod';
import { ERROR_CODES, MAX_SDP_CHARS } from './constants.js';
import { SessionPolicy } from './policy.js';

const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only');
const token = z.string().min(16).max(512);

// ---------------------------------------------------------------- HTTP API

export const LoginRequest = z.strictObject({
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(1024),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

const User = z.strictObject({ username: z.string(), displayName: z.string(), role: z.enum(['artist', 'admin']).optional() });

/** Signed in: a short-lived access token (memory only) and a refresh token (rotated on every use). */
export const LoginOk = z.strictObject({
  status: z.literal('ok'),
  accessToken: token,
  /** Absent when the broker does not issue refresh tokens to this client. */
  refreshToken: token.optional(),
  expiresAt: z.number().int(),
  user: User,
});
export type LoginOk = z.infer<typeof LoginOk>;

/** The password was right and a TOTP code is needed: send it with this token to `/api/login/totp`. */
export const LoginMfaRequired = z.strictObject({
  status: z.literal('mfa-required'),
  method: z.literal('totp'),
  mfaToken: token,
  expiresAt: z.number().int(),
});
export type LoginMfaRequired = z.infer<typeof LoginMfaRequired>;

export const LoginResponse = z.discriminatedUnion('status', [LoginOk, LoginMfaRequired]);
export type LoginResponse = z.infer<typeof LoginResponse>;

export const TotpRequest = z.strictObject({ mfaToken: token, code: z.string().regex(/^\d{6}$/, 'six digits') });
export type TotpRequest = z.infer<typeof TotpRequest>;

export const RefreshRequest = z.strictObject({ refreshToken: token });
export type RefreshRequest = z.infer<typeof RefreshRequest>;

/** A host agent trades a one-time enrolment code for its own credential. */
export const EnrolRequest = z.strictObject({
  code: z.string().min(8).max(64),
  hostname: z.string().min(1).max(253),
});
export type EnrolRequest = z.infer<typeof EnrolRequest>;

export const EnrolResponse = z.strictObject({ workstationId: id, name: z.string().max(128), secret: token });
export type EnrolResponse = z.infer<typeof EnrolResponse>;

export const Workstation = z.strictObject({
  id,
  name: z.string().min(1).max(128),
  online: z.boolean(),
  inUse: z.boolean(),
});
export type Workstation = z.infer<typeof Workstation>;

export const WorkstationList = z.strictObject({ workstations: z.array(Workstation).max(10_000) });
export type WorkstationList = z.infer<typeof WorkstationList>;

export const SessionRequest = z.strictObject({ workstationId: id });
export type SessionRequest = z.infer<typeof SessionRequest>;

export const IceServer = z.strictObject({
  urls: z.union([z.string().max(512), z.array(z.string().max(512)).max(8)]),
  username: z.string().max(256).optional(),
  credential: z.string().max(256).optional(),
});
export type IceServer = z.infer<typeof IceServer>;

export const SessionGrant = z.strictObject({
  sessionId: id,
  workstationId: id,
  signalUrl: z.string().max(2048),
  grantToken: token,
  iceServers: z.array(IceServer).max(8),
  expiresAt: z.number().int(),
  policy: SessionPolicy,
});
export type SessionGrant = z.infer<typeof SessionGrant>;

export const ApiError = z.strictObject({
  error: z.strictObject({ code: z.enum(ERROR_CODES), message: z.string().max(1024) }),
});
export type ApiError = z.infer<typeof ApiError>;

// ---------------------------------------------------------------- signalling

/** What simple-peer emits from its 'signal' event and accepts in `signal()`. */
export const SignalData = z.union([
  z.strictObject({ type: z.enum(['offer', 'answer', 'pranswer', 'rollback']), sdp: z.string().max(MAX_SDP_CHARS) }),
  z.strictObject({
    type: z.literal('candidate'),
    candidate: z.strictObject({
      candidate: z.string().max(1024),
      sdpMLineIndex: z.number().int().min(0).max(64).nullable().optional(),
      sdpMid: z.string().max(64).nullable().optional(),
      usernameFragment: z.string().max(256).nullable().optional(),
    }),
  }),
  z.strictObject({ type: z.literal('renegotiate'), renegotiate: z.literal(true) }),
  z.strictObject({
    type: z.literal('transceiverRequest'),
    transceiverRequest: z.strictObject({
      kind: z.enum(['video', 'audio']),
      init: z.strictObject({ direction: z.enum(['sendrecv', 'sendonly', 'recvonly', 'inactive']).optional() }).optional(),
    }),
  }),
]);
export type SignalData = z.infer<typeof SignalData>;

const errorMessage = z.strictObject({
  type: z.literal('error'),
  code: z.enum(ERROR_CODES),
  message: z.string().max(1024),
});

/** Client → broker, on the per-session signalling socket. The first message must be `auth`. */
export const ClientToBroker = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('auth'), grantToken: token }),
  z.strictObject({ type: z.literal('signal'), data: SignalData }),
  z.strictObject({ type: z.literal('bye') }),
]);
export type ClientToBroker = z.infer<typeof ClientToBroker>;

/** Broker → client. */
export const BrokerToClient = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready'), sessionId: id }),
  z.strictObject({ type: z.literal('signal'), data: SignalData }),
  z.strictObject({ type: z.literal('peer.joined') }),
  z.strictObject({ type: z.literal('peer.left'), reason: z.string().max(256) }),
  errorMessage,
]);
export type BrokerToClient = z.infer<typeof BrokerToClient>;

/** Host agent → broker, on its one long-lived socket. The first message must be `auth`. */
export const HostToBroker = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('auth'), workstationId: id, secret: token }),
  z.strictObject({ type: z.literal('session.accept'), sessionId: id }),
  z.strictObject({ type: z.literal('signal'), sessionId: id, data: SignalData }),
  z.strictObject({ type: z.literal('session.end'), sessionId: id, reason: z.string().max(256) }),
]);
export type HostToBroker = z.infer<typeof HostToBroker>;

/** Broker → host agent. */
export const BrokerToHost = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready'), workstationId: id }),
  z.strictObject({
    type: z.literal('session.start'),
    sessionId: id,
    user: z.string().max(128),
    iceServers: z.array(IceServer).max(8),
    policy: SessionPolicy,
  }),
  z.strictObject({ type: z.literal('signal'), sessionId: id, data: SignalData }),
  z.strictObject({ type: z.literal('session.end'), sessionId: id, reason: z.string().max(256) }),
  errorMessage,
]);
export type BrokerToHost = z.infer<typeof BrokerToHost>;

/** Parses a JSON text through a schema; never throws. */
export function parseJson<T>(
  schema: z.ZodType<T>,
  text: string,
): { ok: true; value: T } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, reason: z.prettifyError(result.error).slice(0, 512) };
}
