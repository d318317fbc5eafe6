/**
 * Main's HTTP client for the broker's API. It holds the access token in
 * memory only: the token is never returned to the renderer, never logged and
 * never written to disk (DESIGN.md, "A session, end to end", step 1).
 */
import type { z } from 'zod';
import type { ErrorCode } from '../shared/constants.js';
import type { LoginResult } from '../shared/ipc.js';
import {
  ApiError,
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

export const BROKER_PATHS = {
  login: '/api/login',
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
  if (status >= 500) return 'ERR_INTERNAL';
  return 'ERR_PROTOCOL';
}

export interface BrokerClientOptions {
  /** Injected for tests; defaults to the global `fetch`. */
  fetch?: typeof fetch;
  timeoutMs?: number;
}

interface SignedIn {
  brokerUrl: string;
  accessToken: string;
}

/** Talks to one broker at a time on behalf of the signed-in user. */
export class BrokerClient {
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  // A private field: util.inspect, JSON.stringify and structured clone do not see it.
  #session: SignedIn | null = null;

  constructor(options: BrokerClientOptions = {}) {
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? BROKER_REQUEST_TIMEOUT_MS;
  }

  /** The broker the user is signed in to, or null. */
  get brokerUrl(): string | null {
    return this.#session?.brokerUrl ?? null;
  }

  /** Signs in; on success the token is kept here and only the user's names are returned. */
  async login(brokerUrl: string, credentials: LoginRequest): Promise<LoginResult> {
    // Signing in again (maybe as someone else, maybe elsewhere) ends the previous session first.
    this.#session = null;
    const reply = await this.#request(brokerUrl, 'POST', BROKER_PATHS.login, LoginResponse, { body: credentials });
    if (reply.status === 'mfa-required') {
      // Seam for the credential-vault issue: it adds the TOTP step (POST /api/login/totp) behind its own IPC channel.
      throw new BacklotError('ERR_MFA_REQUIRED', 'This account needs a one-time code, which this version of the desktop app cannot send yet.');
    }
    // A refresh token, if the broker sent one, is dropped: keeping it needs the safeStorage vault (a later issue).
    this.#session = { brokerUrl, accessToken: reply.accessToken };
    return { username: reply.user.username, displayName: reply.user.displayName };
  }

  /** Forgets the access token. (The broker has no revocation endpoint yet; the token expires by itself.) */
  logout(): void {
    this.#session = null;
  }

  /** The workstations assigned to the signed-in user. */
  listWorkstations(): Promise<WorkstationList> {
    return this.#authed('GET', BROKER_PATHS.workstations, WorkstationList);
  }

  /** Asks the broker for a short-lived grant to connect to one workstation. */
  requestSession(request: SessionRequest): Promise<SessionGrant> {
    return this.#authed('POST', BROKER_PATHS.sessions, SessionGrant, request);
  }

  async #authed<T>(method: 'GET' | 'POST', path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const session = this.#session;
    if (!session) throw new BacklotError('ERR_UNAUTHORIZED', 'You are not signed in. Please sign in again.');
    try {
      return await this.#request(session.brokerUrl, method, path, schema, { body, token: session.accessToken });
    } catch (err) {
      // The broker no longer accepts the token (expired, or the broker restarted): drop it so the UI asks for a new login.
      if (err instanceof BacklotError && err.code === 'ERR_UNAUTHORIZED' && this.#session === session) this.#session = null;
      throw err;
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
    const parsed = parseJson(schema, text);
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
