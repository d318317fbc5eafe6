/**
 * Main's HTTP client for the broker's API. It holds the access token and the
 * refresh token in memory only (private fields): neither is ever returned to
 * the renderer or logged; the refresh token leaves this class only through
 * `onRefreshToken`, for the encrypted vault (DESIGN.md, "A session, end to
 * end", step 1). Access tokens are refreshed before they expire and once more
 * on a 401; the broker rotates the refresh token on every use.
 */
import { z } from 'zod';
import type { ErrorCode } from '../shared/constants.js';
import type { LoginOutcome, LoginResult } from '../shared/ipc.js';
import {
  ApiError,
  LoginOk,
  LoginResponse,
  SessionGrant,
  WorkstationList,
  parseJson,
  type LoginRequest,
  type SessionRequest,
} from '../shared/protocol.js';
import { BacklotError } from './errors.js';

/** A broker that has not answered within this time is treated as unreachable. */
export const BROKER_REQUEST_TIMEOUT_MS = 10_000;
/** Largest response body read from the broker (a list of 10,000 workstations fits with room to spare). */
export const MAX_BROKER_RESPONSE_BYTES = 4 * 1024 * 1024;
/** Refresh the access token when less than this is left of it. */
export const REFRESH_MARGIN_MS = 30_000;

export const BROKER_PATHS = {
  login: '/api/login',
  totp: '/api/login/totp',
  refresh: '/api/token/refresh',
  logout: '/api/logout',
  workstations: '/api/workstations',
  sessions: '/api/sessions',
} as const;

/** Used when an error response carries no parseable `ApiError`: the status alone decides the code. */
function codeForStatus(status: number): ErrorCode {
  if (status === 400) return 'ERR_BAD_REQUEST';
  if (status === 401) return 'ERR_UNAUTHORIZED';
  if (status === 403) return 'ERR_FORBIDDEN';
  if (status === 404) return 'ERR_NOT_FOUND';
  if (status === 413) return 'ERR_TOO_LARGE';
  if (status === 429) return 'ERR_RATE_LIMITED';
  if (status >= 500) return 'ERR_INTERNAL';
  return 'ERR_PROTOCOL';
}

/** The sign-in that the vault may remember (refreshToken null: forget it). */
export interface RefreshTokenUpdate {
  brokerUrl: string;
  username: string;
  refreshToken: string | null;
}

export interface BrokerClientOptions {
  /** Injected for tests; defaults to the global `fetch`. */
  fetch?: typeof fetch;
  timeoutMs?: number;
  now?: () => number;
  /** Called whenever the refresh token changes (sign-in, rotation, revocation). Errors are the listener's business. */
  onRefreshToken?: (update: RefreshTokenUpdate) => void | Promise<void>;
  /** Called with every token received, so the log can redact it by value. */
  onSecret?: (secret: string) => void;
}

interface SignedIn {
  brokerUrl: string;
  accessToken: string;
  refreshToken: string | null;
  expiresAt: number;
  user: LoginResult;
}

interface PendingMfa {
  brokerUrl: string;
  mfaToken: string;
  expiresAt: number;
}

/** Talks to one broker at a time on behalf of the signed-in user. */
export class BrokerClient {
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #onRefreshToken: BrokerClientOptions['onRefreshToken'];
  readonly #onSecret: BrokerClientOptions['onSecret'];
  // Private fields: util.inspect, JSON.stringify and structured clone do not see them.
  #session: SignedIn | null = null;
  #mfa: PendingMfa | null = null;
  #refreshing: Promise<SignedIn> | null = null;

  constructor(options: BrokerClientOptions = {}) {
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? BROKER_REQUEST_TIMEOUT_MS;
    this.#now = options.now ?? Date.now;
    this.#onRefreshToken = options.onRefreshToken;
    this.#onSecret = options.onSecret;
  }

  /** The broker the user is signed in to, or null. */
  get brokerUrl(): string | null {
    return this.#session?.brokerUrl ?? null;
  }

  /** The signed-in user's names, or null. */
  get user(): LoginResult | null {
    return this.#session ? { ...this.#session.user } : null;
  }

  /** Signs in with a password. On `mfa-required` the MFA token is kept here for `submitTotp`. */
  async login(brokerUrl: string, credentials: LoginRequest): Promise<LoginOutcome> {
    // Signing in again (maybe as someone else, maybe elsewhere) ends the previous session first.
    this.#session = null;
    this.#mfa = null;
    const reply = await this.#request(brokerUrl, 'POST', BROKER_PATHS.login, LoginResponse, { body: credentials });
    if (reply.status === 'mfa-required') {
      this.#onSecret?.(reply.mfaToken);
      this.#mfa = { brokerUrl, mfaToken: reply.mfaToken, expiresAt: reply.expiresAt };
      return { status: 'mfa-required' };
    }
    return { status: 'ok', user: await this.#accept(brokerUrl, reply) };
  }

  /** Completes a sign-in that answered `mfa-required`. */
  async submitTotp(code: string): Promise<LoginResult> {
    const pending = this.#mfa;
    if (pending === null || pending.expiresAt <= this.#now()) {
      this.#mfa = null;
      throw new BacklotError('ERR_UNAUTHORIZED', 'The sign-in has expired. Please enter your password again.');
    }
    const reply = await this.#request(pending.brokerUrl, 'POST', BROKER_PATHS.totp, LoginOk, { body: { mfaToken: pending.mfaToken, code } });
    this.#mfa = null;
    return this.#accept(pending.brokerUrl, reply);
  }

  /** Signs in with a remembered refresh token (which the broker rotates). */
  async resume(brokerUrl: string, refreshToken: string): Promise<LoginResult> {
    this.#session = null;
    this.#mfa = null;
    this.#onSecret?.(refreshToken);
    const reply = await this.#request(brokerUrl, 'POST', BROKER_PATHS.refresh, LoginOk, { body: { refreshToken } });
    return this.#accept(brokerUrl, reply);
  }

  /**
   * Signs out: asks the broker to revoke the refresh token, then forgets
   * everything whatever the broker said (an unreachable broker must not keep
   * the user signed in here). Resolves false when the broker could not be told.
   */
  async logout(): Promise<boolean> {
    const session = this.#session;
    this.forget();
    if (session === null) return true;
    if (session.refreshToken !== null) await this.#notify({ ...session, refreshToken: null });
    try {
      await this.#request(session.brokerUrl, 'POST', BROKER_PATHS.logout, z.undefined(), {
        body: { refreshToken: session.refreshToken ?? undefined },
        token: session.accessToken,
      });
      return true;
    } catch {
      return false;
    }
  }

  /** Forgets every token held in memory without telling the broker. */
  forget(): void {
    this.#session = null;
    this.#mfa = null;
    this.#refreshing = null;
  }

  /** The workstations assigned to the signed-in user. */
  listWorkstations(): Promise<WorkstationList> {
    return this.#authed('GET', BROKER_PATHS.workstations, WorkstationList);
  }

  /** Asks the broker for a short-lived grant to connect to one workstation. */
  requestSession(request: SessionRequest): Promise<SessionGrant> {
    return this.#authed('POST', BROKER_PATHS.sessions, SessionGrant, request);
  }

  async #accept(brokerUrl: string, reply: LoginOk): Promise<LoginResult> {
    this.#onSecret?.(reply.accessToken);
    if (reply.refreshToken !== undefined) this.#onSecret?.(reply.refreshToken);
    const user = { username: reply.user.username, displayName: reply.user.displayName };
    this.#session = { brokerUrl, accessToken: reply.accessToken, refreshToken: reply.refreshToken ?? null, expiresAt: reply.expiresAt, user };
    await this.#notify(this.#session);
    return { ...user };
  }

  async #notify(session: Pick<SignedIn, 'brokerUrl' | 'refreshToken' | 'user'>): Promise<void> {
    await this.#onRefreshToken?.({ brokerUrl: session.brokerUrl, username: session.user.username, refreshToken: session.refreshToken });
  }

  /** One refresh at a time: the token rotates, so a second concurrent refresh with the old one would fail. */
  #refresh(session: SignedIn): Promise<SignedIn> {
    if (this.#refreshing) return this.#refreshing;
    const attempt = (async () => {
      try {
        const reply = await this.#request(session.brokerUrl, 'POST', BROKER_PATHS.refresh, LoginOk, { body: { refreshToken: session.refreshToken } });
        if (this.#session !== session) throw new BacklotError('ERR_UNAUTHORIZED', 'You signed out. Please sign in again.');
        await this.#accept(session.brokerUrl, reply);
        return this.#session;
      } catch (err) {
        if (this.#session === session && err instanceof BacklotError && (err.code === 'ERR_UNAUTHORIZED' || err.code === 'ERR_BAD_REQUEST')) {
          // The broker no longer honours the refresh token (revoked, expired, reused): sign out locally.
          this.#session = null;
          await this.#notify({ ...session, refreshToken: null });
          throw new BacklotError('ERR_UNAUTHORIZED', 'Your sign-in has expired. Please sign in again.', { cause: err });
        }
        throw err;
      } finally {
        this.#refreshing = null;
      }
    })();
    this.#refreshing = attempt;
    return attempt;
  }

  async #authed<T>(method: 'GET' | 'POST', path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    let session = this.#session;
    if (!session) throw new BacklotError('ERR_UNAUTHORIZED', 'You are not signed in. Please sign in again.');
    if (session.refreshToken !== null && session.expiresAt - this.#now() < REFRESH_MARGIN_MS) session = await this.#refresh(session);
    try {
      return await this.#request(session.brokerUrl, method, path, schema, { body, token: session.accessToken });
    } catch (err) {
      if (!(err instanceof BacklotError) || err.code !== 'ERR_UNAUTHORIZED' || this.#session !== session) throw err;
      if (session.refreshToken === null) {
        // The broker no longer accepts the token (expired, or the broker restarted): drop it so the UI asks for a new login.
        this.#session = null;
        throw err;
      }
      // One retry with a fresh access token; a second 401 is final and signs out.
      const fresh = await this.#refresh(session);
      try {
        return await this.#request(fresh.brokerUrl, method, path, schema, { body, token: fresh.accessToken });
      } catch (retryErr) {
        if (retryErr instanceof BacklotError && retryErr.code === 'ERR_UNAUTHORIZED' && this.#session === fresh) {
          this.#session = null;
          await this.#notify({ ...fresh, refreshToken: null });
        }
        throw retryErr;
      }
    }
  }

  async #request<T>(
    brokerUrl: string,
    method: 'GET' | 'POST',
    path: string,
    schema: z.ZodType<T>,
    options: { body?: unknown; token?: string },
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;

    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(new URL(path, brokerUrl), {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        // A redirect would carry the bearer token and the password to wherever the
        // broker (or someone in between) points; the broker never redirects its API.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      if (response.status >= 300 && response.status < 400) {
        throw new BacklotError('ERR_PROTOCOL', `The broker at ${brokerUrl} answered with a redirect, which Backlot does not follow. Check the broker URL.`);
      }
      text = await readCapped(response, MAX_BROKER_RESPONSE_BYTES);
    } catch (err) {
      if (err instanceof BacklotError) throw err;
      throw new BacklotError(
        'ERR_BROKER_UNREACHABLE',
        `Could not reach the broker at ${brokerUrl}. Check your network connection or VPN, then try again.`,
        { cause: err },
      );
    }

    if (!response.ok) {
      const apiError = parseJson(ApiError, text);
      if (apiError.ok) throw new BacklotError(apiError.value.error.code, apiError.value.error.message);
      throw new BacklotError(codeForStatus(response.status), `The broker refused the request (HTTP ${response.status}).`);
    }
    const parsed = text === '' ? parseUndefined(schema) : parseJson(schema, text);
    if (!parsed.ok) {
      throw new BacklotError('ERR_PROTOCOL', 'The broker sent a reply this app does not understand. The broker and the app may be different versions.');
    }
    return parsed.value;
  }
}

/** Reads a body as UTF-8, refusing more than `limit` bytes instead of buffering whatever arrives. */
async function readCapped(response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > limit) throw new BacklotError('ERR_PROTOCOL', 'The broker sent a reply that is far too large.');
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    // Node's fetch types leave the chunk type open without the DOM lib, so it is checked here.
    const result: { done: boolean; value?: unknown } = await reader.read();
    if (result.done) break;
    const value = result.value;
    if (!(value instanceof Uint8Array)) throw new BacklotError('ERR_PROTOCOL', 'The broker sent a reply that could not be read.');
    total += value.byteLength;
    if (total > limit) {
      // Stop the download instead of draining the rest of an oversized body.
      await reader.cancel();
      throw new BacklotError('ERR_PROTOCOL', 'The broker sent a reply that is far too large.');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** An empty body parses as `undefined` (only the logout reply is allowed to be empty). */
function parseUndefined<T>(schema: z.ZodType<T>): { ok: true; value: T } | { ok: false; reason: string } {
  const result = schema.safeParse(undefined);
  return result.success ? { ok: true, value: result.data } : { ok: false, reason: 'empty body' };
}
