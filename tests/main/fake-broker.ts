/** A tiny broker on 127.0.0.1 for main-process tests: real HTTP, scripted answers. */
import { BacklotError } from '../../src/main/errors.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_SESSION_POLICY } from '../../src/shared/policy.js';
import type { LoginResponse, SessionGrant, WorkstationList } from '../../src/shared/protocol.js';

export const GOOD_PASSWORD = 'correct horse battery staple';
export const ACCESS_TOKEN = 'tok_' + 'a'.repeat(40);
export const MFA_TOKEN = 'mfa_' + 'c'.repeat(40);
/** The code the fake accepts for `mfa-user`. */
export const GOOD_TOTP = '123456';

export const WORKSTATIONS: WorkstationList = {
  workstations: [{ id: 'ws-042', name: 'WS-042', online: true, inUse: false }],
};

export const GRANT: SessionGrant = {
  sessionId: 'ses_1',
  workstationId: 'ws-042',
  signalUrl: 'ws://127.0.0.1:1/ws/client',
  grantToken: 'grant_' + 'b'.repeat(40),
  iceServers: [],
  expiresAt: Date.now() + 30_000,
  policy: DEFAULT_SESSION_POLICY,
};

export interface FakeBroker {
  url: string;
  /** Every request seen, for asserting what went over the wire. */
  requests: { method: string; path: string; authorization: string | undefined; body: string }[];
  /** Overrides the answer for a path (status, raw body). */
  override: Map<string, { status: number; body: string; headers?: Record<string, string> }>;
  /** Paths that never answer. */
  hang: Set<string>;
  /** Access tokens the broker accepts right now (clear it to simulate expiry). */
  accessTokens: Set<string>;
  /** Refresh tokens the broker accepts right now; each use rotates it. */
  refreshTokens: Set<string>;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeBroker(): Promise<FakeBroker> {
  const requests: FakeBroker['requests'] = [];
  const override: FakeBroker['override'] = new Map();
  const hang = new Set<string>();
  const accessTokens = new Set<string>();
  const refreshTokens = new Set<string>();
  let issued = 0;
  /** A successful sign-in: the first access token is ACCESS_TOKEN, later ones are new; every refresh token is new. */
  const loginOk = (username: string): LoginResponse => {
    issued += 1;
    const accessToken = issued === 1 ? ACCESS_TOKEN : `tok_${String(issued).padStart(40, '0')}`;
    const refreshToken = `ref_${String(issued).padStart(40, '0')}`;
    accessTokens.add(accessToken);
    refreshTokens.add(refreshToken);
    return { status: 'ok', accessToken, refreshToken, expiresAt: Date.now() + 60_000, user: { username, displayName: 'Ana Artist' } };
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const body = await readBody(req);
      requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, body });
      if (hang.has(path)) return;
      const scripted = override.get(path);
      if (scripted) {
        res.writeHead(scripted.status, { 'content-type': 'application/json', ...scripted.headers });
        res.end(scripted.body);
        return;
      }
      const bearer = req.headers.authorization?.replace(/^Bearer /, '');
      const authed = bearer !== undefined && accessTokens.has(bearer);
      const unauthorized = () => send(res, 401, { error: { code: 'ERR_UNAUTHORIZED', message: 'sign in again' } });
      if (path === '/api/login' && req.method === 'POST') {
        const creds = JSON.parse(body) as { username: string; password: string };
        if (creds.password !== GOOD_PASSWORD) return send(res, 401, { error: { code: 'ERR_BAD_CREDENTIALS', message: 'wrong username or password' } });
        if (creds.username === 'mfa-user') return send(res, 200, { status: 'mfa-required', method: 'totp', mfaToken: MFA_TOKEN, expiresAt: Date.now() + 60_000 });
        return send(res, 200, loginOk(creds.username));
      }
      if (path === '/api/login/totp' && req.method === 'POST') {
        const { mfaToken, code } = JSON.parse(body) as { mfaToken: string; code: string };
        if (mfaToken !== MFA_TOKEN || code !== GOOD_TOTP) return send(res, 401, { error: { code: 'ERR_BAD_TOTP', message: 'wrong code' } });
        return send(res, 200, loginOk('mfa-user'));
      }
      if (path === '/api/token/refresh' && req.method === 'POST') {
        const { refreshToken } = JSON.parse(body) as { refreshToken: string };
        if (!refreshTokens.delete(refreshToken)) return unauthorized();
        return send(res, 200, loginOk('ana'));
      }
      if (path === '/api/logout' && req.method === 'POST') {
        if (!authed) return unauthorized();
        const { refreshToken } = JSON.parse(body || '{}') as { refreshToken?: string };
        if (refreshToken !== undefined) refreshTokens.delete(refreshToken);
        accessTokens.delete(bearer);
        res.writeHead(204).end();
        return;
      }
      if (path === '/api/workstations' && req.method === 'GET') {
        return authed ? send(res, 200, WORKSTATIONS) : unauthorized();
      }
      if (path === '/api/sessions' && req.method === 'POST') {
        return authed ? send(res, 201, GRANT) : unauthorized();
      }
      send(res, 404, { error: { code: 'ERR_NOT_FOUND', message: 'no such endpoint' } });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    override,
    hang,
    accessTokens,
    refreshTokens,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Awaits a call expected to fail with a BacklotError and returns that error. */
export async function failure(promise: Promise<unknown>): Promise<BacklotError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof BacklotError) return err;
    throw err;
  }
  throw new Error('expected a BacklotError, but the call succeeded');
}
