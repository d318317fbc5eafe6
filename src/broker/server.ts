/** The broker: HTTP API, signalling WebSockets and (optionally) the web client, in one process. */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { MAX_WS_MESSAGE_BYTES } from '../shared/constants.js';
import { DEFAULT_SESSION_POLICY } from '../shared/policy.js';
import {
  LoginRequest,
  SessionRequest,
  type IceServer,
  type LoginResponse,
  type SessionGrant,
  type WorkstationList,
} from '../shared/protocol.js';
import { TokenBook } from './grants.js';
import { bearerToken, HttpError, readJson, sendError, sendJson, serveStatic } from './http.js';
import { dummyPasswordHash, verifyPassword } from './passwords.js';
import { SignallingHub } from './signalling.js';
import type { Directory } from './store.js';

export interface BrokerOptions {
  directory: Directory;
  /** Interface to listen on. Plain HTTP is only allowed on loopback. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The URL clients reach this broker at (signalUrl is derived from it); defaults to the listening address. */
  publicUrl?: string;
  /** Serve the web client from this folder (Vite's build output). */
  webRoot?: string;
  iceServers?: IceServer[];
  tls?: { cert: Buffer; key: Buffer };
  logger?: Logger;
}

export interface RunningBroker {
  url: string;
  port: number;
  hub: SignallingHub;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Starts a broker and resolves once it listens. */
export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const host = options.host ?? '127.0.0.1';
  if (!options.tls && !LOOPBACK.test(host)) {
    throw new Error(`refusing plain HTTP on ${host}: configure TLS (cert and key) or listen on loopback`);
  }
  const log = options.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const tokens = new TokenBook();
  const iceServers = (): IceServer[] => options.iceServers ?? [];
  const hub = new SignallingHub(options.directory, tokens, iceServers, log.child({ part: 'signalling' }));
  const { directory } = options;
  let publicUrl = options.publicUrl ?? '';

  async function handleApi(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === '/api/login' && req.method === 'POST') {
      const body = await readJson(req, LoginRequest);
      const user = directory.findUser(body.username);
      // Unknown users cost the same time as wrong passwords, so usernames cannot be probed by timing.
      const ok = await verifyPassword(body.password, user?.passwordHash ?? (await dummyPasswordHash()));
      if (!user || !ok) {
        log.info({ user: body.username, ip: req.socket.remoteAddress }, 'login failed');
        throw new HttpError(401, 'ERR_BAD_CREDENTIALS', 'wrong username or password');
      }
      const { token, expiresAt } = tokens.issueAccess(user.username);
      log.info({ user: user.username, ip: req.socket.remoteAddress }, 'login succeeded');
      const reply: LoginResponse = { status: 'ok', accessToken: token, expiresAt, user: { username: user.username, displayName: user.displayName } };
      return sendJson(res, 200, reply);
    }
    if (path === '/api/workstations' && req.method === 'GET') {
      const who = authenticate(req);
      const reply: WorkstationList = {
        workstations: directory.workstationsFor(who).map((w) => ({ id: w.id, name: w.name, online: hub.isOnline(w.id), inUse: hub.isInUse(w.id) })),
      };
      return sendJson(res, 200, reply);
    }
    if (path === '/api/sessions' && req.method === 'POST') {
      const who = authenticate(req);
      const body = await readJson(req, SessionRequest);
      // Unknown and unassigned workstations get the same answer, so IDs cannot be probed.
      if (!directory.findWorkstation(body.workstationId) || !directory.isAssigned(who, body.workstationId)) {
        log.warn({ user: who, workstationId: body.workstationId }, 'grant refused: not assigned');
        throw new HttpError(403, 'ERR_FORBIDDEN', 'you are not assigned to this workstation');
      }
      if (!hub.isOnline(body.workstationId)) throw new HttpError(409, 'ERR_WORKSTATION_OFFLINE', 'the workstation is offline');
      if (hub.isInUse(body.workstationId)) throw new HttpError(409, 'ERR_WORKSTATION_IN_USE', 'the workstation is in use');
      const { token, grant } = tokens.issueGrant(who, body.workstationId);
      log.info({ user: who, workstationId: body.workstationId, sessionId: grant.sessionId }, 'grant issued');
      const reply: SessionGrant = {
        sessionId: grant.sessionId,
        workstationId: grant.workstationId,
        signalUrl: `${publicUrl.replace(/^http/, 'ws')}/ws/client`,
        grantToken: token,
        iceServers: iceServers(),
        expiresAt: grant.expiresAt,
        policy: DEFAULT_SESSION_POLICY,
      };
      return sendJson(res, 201, reply);
    }
    throw new HttpError(404, 'ERR_NOT_FOUND', 'no such endpoint');
  }

  function authenticate(req: IncomingMessage): string {
    const token = bearerToken(req);
    const entry = token === undefined ? undefined : tokens.checkAccess(token);
    if (!entry) throw new HttpError(401, 'ERR_UNAUTHORIZED', 'sign in again');
    return entry.username;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://broker').pathname;
    try {
      if (path === '/healthz') return sendJson(res, 200, { ok: true });
      if (path.startsWith('/api/')) return await handleApi(req, res, path);
      if ((req.method === 'GET' || req.method === 'HEAD') && options.webRoot && (await serveStatic(req, res, options.webRoot, path))) return;
      throw new HttpError(404, 'ERR_NOT_FOUND', 'not found');
    } catch (err) {
      if (res.headersSent) return void res.destroy();
      if (err instanceof HttpError) return sendError(res, err.status, err.code, err.message);
      log.error({ err }, 'unhandled error in request');
      sendError(res, 500, 'ERR_INTERNAL', 'internal error');
    }
  }

  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => void handle(req, res))
    : createHttpServer((req, res) => void handle(req, res));
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE_BYTES });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://broker').pathname;
    if (path !== '/ws/client' && path !== '/ws/host') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => (path === '/ws/host' ? hub.acceptHost(ws) : hub.acceptClient(ws)));
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = options.tls ? 'https' : 'http';
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  publicUrl ||= url;
  log.info({ url, publicUrl }, 'broker listening');

  return {
    url,
    port,
    hub,
    async close() {
      hub.close();
      tokens.close();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
