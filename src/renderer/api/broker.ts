/**
 * How the renderer reaches the broker. In the Electron client the main process
 * holds the credentials and talks to the broker (through the preload bridge);
 * in the web client this module does it with fetch, keeping the access token
 * in memory only.
 */
import type { ErrorCode } from '../../shared/constants.js';
import {
  ApiError,
  LoginResponse,
  SessionGrant,
  WorkstationList,
  type Workstation,
} from '../../shared/protocol.js';
import type { z } from 'zod';

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

export interface BrokerApi {
  /** `brokerUrl` is used by clients that can reach more than one broker (Electron); the web client ignores it. */
  login(username: string, password: string, brokerUrl?: string): Promise<SignedInUser>;
  logout(): Promise<void>;
  listWorkstations(): Promise<Workstation[]>;
  requestSession(workstationId: string): Promise<SessionGrant>;
}

/** Talks to the broker that served this page (same origin, so no CORS and a strict CSP). */
export class WebBrokerApi implements BrokerApi {
  private accessToken: string | null = null;

  constructor(private readonly baseUrl: string) {}

  async login(username: string, password: string): Promise<SignedInUser> {
    const reply = await this.call('/api/login', LoginResponse, { method: 'POST', body: { username, password } });
    if (reply.status !== 'ok') throw new BrokerError('ERR_MFA_REQUIRED', 'This account needs a one-time code.');
    this.accessToken = reply.accessToken;
    return reply.user;
  }

  logout(): Promise<void> {
    this.accessToken = null;
    return Promise.resolve();
  }

  async listWorkstations(): Promise<Workstation[]> {
    return (await this.call('/api/workstations', WorkstationList, { method: 'GET' })).workstations;
  }

  requestSession(workstationId: string): Promise<SessionGrant> {
    return this.call('/api/sessions', SessionGrant, { method: 'POST', body: { workstationId } });
  }

  private async call<T>(path: string, schema: z.ZodType<T>, init: { method: string; body?: unknown }): Promise<T> {
    const headers: Record<string, string> = {};
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (this.accessToken) headers.authorization = `Bearer ${this.accessToken}`;
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method: init.method,
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        credentials: 'omit',
        cache: 'no-store',
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
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new BrokerError('ERR_PROTOCOL', 'The broker sent a reply this client does not understand.');
    return parsed.data;
  }
}
