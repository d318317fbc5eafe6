/**
 * How the renderer reaches the broker. In the Electron client the main process
 * holds the credentials and talks to the broker (through the preload bridge);
 * in the web client this module does it with fetch, keeping the tokens in
 * memory only.
 */
import type { z } from 'zod';
import type { ErrorCode } from '../../shared/constants.js';
import {
  ApiError,
  LoginOk,
  LoginResponse,
  SessionGrant,
  WorkstationList,
  type Workstation,
} from '../../shared/protocol.js';

/** An error with a stable code the UI can explain. */
export class BrokerError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BrokerError';
  }
}

export interface SignedInUser {
  username: string;
  displayName: string;
}

/** A password sign-in either completes or asks for a one-time code (the broker's MFA token stays inside the API). */
export type LoginOutcome = { status: 'ok'; user: SignedInUser } | { status: 'mfa-required' };

export interface BrokerApi {
  /** `brokerUrl` is used by clients that can reach more than one broker (Electron); the web client ignores it. */
  login(username: string, password: string, brokerUrl?: string): Promise<LoginOutcome>;
  /** Completes a sign-in that answered `mfa-required`. */
  submitTotp(code: string): Promise<SignedInUser>;
  logout(): Promise<void>;
  /** Signs in with what this client remembers; null when nothing (valid) is remembered. Only the desktop app has it. */
  resume?(): Promise<SignedInUser | null>;
  listWorkstations(): Promise<Workstation[]>;
  requestSession(workstationId: string): Promise<SessionGrant>;
}

/** Refresh the access token when it has less than this left. */
const REFRESH_MARGIN_MS = 60_000;
/** Any broker call that takes longer is abandoned (the machine has its own, longer, state timeouts). */
const REQUEST_TIMEOUT_MS = 12_000;

/** Talks to the broker that served this page (same origin, so no CORS and a strict CSP). */
export class WebBrokerApi implements BrokerApi {
  private accessToken: string | null = null;
  private refreshToken: string | null = null;
  private expiresAt = 0;
  private mfaToken: string | null = null;

  constructor(
    private readonly baseUrl: string,
    private readonly now: () => number = Date.now,
  ) {}

  async login(username: string, password: string): Promise<LoginOutcome> {
    const reply = await this.call('/api/login', LoginResponse, { method: 'POST', body: { username, password }, auth: false });
    if (reply.status === 'mfa-required') {
      this.mfaToken = reply.mfaToken;
      return { status: 'mfa-required' };
    }
    return { status: 'ok', user: this.keep(reply) };
  }

  async submitTotp(code: string): Promise<SignedInUser> {
    if (!this.mfaToken) throw new BrokerError('ERR_UNAUTHORIZED', 'Sign in with your password first.');
    const reply = await this.call('/api/login/totp', LoginOk, { method: 'POST', body: { mfaToken: this.mfaToken, code }, auth: false });
    this.mfaToken = null;
    return this.keep(reply);
  }

  async logout(): Promise<void> {
    const refreshToken = this.refreshToken;
    try {
      if (this.accessToken) {
        await this.call('/api/logout', null, { method: 'POST', body: refreshToken ? { refreshToken } : {}, auth: true });
      }
    } catch {
      // Signing out locally must work even when the broker is unreachable.
    } finally {
      this.accessToken = this.refreshToken = this.mfaToken = null;
    }
  }

  async listWorkstations(): Promise<Workstation[]> {
    return (await this.call('/api/workstations', WorkstationList, { method: 'GET', auth: true })).workstations;
  }

  requestSession(workstationId: string): Promise<SessionGrant> {
    return this.call('/api/sessions', SessionGrant, { method: 'POST', body: { workstationId }, auth: true });
  }

  private keep(reply: LoginOk): SignedInUser {
    this.accessToken = reply.accessToken;
    this.refreshToken = reply.refreshToken ?? null;
    this.expiresAt = reply.expiresAt;
    return { username: reply.user.username, displayName: reply.user.displayName };
  }

  /** Rotates the tokens shortly before the access token expires (refresh tokens are single use). */
  private async freshAccessToken(): Promise<string | null> {
    if (this.accessToken && this.refreshToken && this.expiresAt - this.now() < REFRESH_MARGIN_MS) {
      const refreshToken = this.refreshToken;
      this.refreshToken = null;
      try {
        this.keep(await this.call('/api/token/refresh', LoginOk, { method: 'POST', body: { refreshToken }, auth: false }));
      } catch {
        // Keep the old access token; if it has expired the next call says ERR_UNAUTHORIZED.
      }
    }
    return this.accessToken;
  }

  private async call<T>(path: string, schema: z.ZodType<T> | null, init: { method: string; body?: unknown; auth: boolean }): Promise<T> {
    const headers: Record<string, string> = {};
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (init.auth) {
      const token = await this.freshAccessToken();
      if (token) headers.authorization = `Bearer ${token}`;
    }
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method: init.method,
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        credentials: 'omit',
        cache: 'no-store',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch {
      throw new BrokerError('ERR_BROKER_UNREACHABLE', 'The broker cannot be reached. Check your network connection.');
    }
    const raw: unknown = await res.json().catch(() => undefined);
    if (!res.ok) {
      const parsed = ApiError.safeParse(raw);
      if (parsed.success) throw new BrokerError(parsed.data.error.code, parsed.data.error.message);
      throw new BrokerError('ERR_INTERNAL', `The broker answered ${res.status}.`);
    }
    if (schema === null) return undefined as T;
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new BrokerError('ERR_PROTOCOL', 'The broker sent a reply this client does not understand.');
    return parsed.data;
  }
}
