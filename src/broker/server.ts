/** The broker: REST API, signalling WebSockets and (optionally) the web client, in one process. */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { ZodError, z } from 'zod';
import { MAX_WS_MESSAGE_BYTES } from '../shared/constants.js';
import { Accounts } from './accounts.js';
import { Admin } from './admin.js';
import type { ResolvedConfig } from './config.js';
import { TokenBook } from './grants.js';
import { HttpError, sendError, sendJson, serveStatic } from './http.js';
import { buildRoutes, mayTakeOver } from './routes.js';
import { SignallingHub } from './signalling.js';
import type { Store } from './store.js';
import { AddressThrottle } from './throttle.js';
import { iceServersFor } from './turn.js';

/** How often expired grants, codes and refresh tokens are deleted. */
const SWEEP_INTERVAL_MS = 60_000;

export interface BrokerOptions {
  store: Store;
  /** `tls` paths in it are ignored: pass the loaded certificate and key as `tls`. */
  config: ResolvedConfig;
  tls?: { cert: Buffer; key: Buffer };
  logger?: Logger;
  now?: () => number;
  /** Heartbeat period for WebSockets (default 15 s); tests shorten it. */
  heartbeatMs?: number;
}

export interface RunningBroker {
  url: string;
  port: number;
  hub: SignallingHub;
  admin: Admin;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Starts a broker and resolves once it listens. */
export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const { store, config, tls } = options;
  const now = options.now ?? Date.now;
  if (!tls && !LOOPBACK.test(config.host)) {
    throw new Error(`refusing plain HTTP on ${config.host}: configure tls (cert and key), or listen on loopback behind a TLS proxy`);
  }
  const log = options.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info', redact: ['password', 'secret', '*.password', '*.secret'] });
  const security = config.security;
  const tokens = new TokenBook(security.accessTokenMinutes * 60_000, now);
  const throttle = new AddressThrottle(security.addressMaxFailures, security.addressWindowMinutes * 60_000);
  const accounts = new Accounts(store, tokens, throttle, security, log.child({ part: 'accounts' }), now);
  const iceFor = (party: string) => iceServersFor(party, config.iceServers, config.turn, now());
  const hub = new SignallingHub(
    {
      store,
      iceServersFor: iceFor,
      mayTakeOver: (username) => {
        const user = store.getUser(username);
        return user !== undefined && mayTakeOver({ username, role: user.role }, security);
      },
      now,
      ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    },
    log.child({ part: 'signalling' }),
  );
  const admin = new Admin(store, config.issuer, security.enrolmentCodeHours * 3_600_000, now, (username) => tokens.revokeAccessFor(username));
  let publicUrl = config.publicUrl ?? '';
  const router = buildRoutes({ store, accounts, admin, hub, security, policy: config.policy, publicUrl: () => publicUrl, iceServersFor: iceFor, log, now });

  const sweeper = setInterval(() => {
    store.sweep(now());
    throttle.sweep(now());
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://broker');
    try {
      if (url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
      if (url.pathname.startsWith('/api/')) {
        const match = router.match(req.method ?? 'GET', url.pathname);
        if (match === 'method') throw new HttpError(405, 'ERR_BAD_REQUEST', 'method not allowed');
        if (!match) throw new HttpError(404, 'ERR_NOT_FOUND', 'no such endpoint');
        return await match.handler({ req, res, params: match.params, query: url.searchParams, ip: req.socket.remoteAddress ?? 'unknown' });
      }
      if ((req.method === 'GET' || req.method === 'HEAD') && config.webRoot && (await serveStatic(req, res, config.webRoot, url.pathname))) return;
      throw new HttpError(404, 'ERR_NOT_FOUND', 'not found');
    } catch (err) {
      if (res.headersSent) return void res.destroy();
      if (err instanceof HttpError) return sendError(res, err.status, err.code, err.message);
      // Admin operations validate their input again; a schema failure there is the caller's error.
      if (err instanceof ZodError) return sendError(res, 400, 'ERR_BAD_REQUEST', z.prettifyError(err).slice(0, 500));
      log.error({ err }, 'unhandled error in request');
      sendError(res, 500, 'ERR_INTERNAL', 'internal error');
    }
  }

  const server: Server = tls
    ? createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => void handle(req, res))
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
    wss.handleUpgrade(req, socket, head, (ws) => {
      hub.setAddress(ws, req.socket.remoteAddress);
      if (path === '/ws/host') hub.acceptHost(ws);
      else hub.acceptClient(ws);
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  publicUrl ||= url;
  log.info({ url, publicUrl }, 'broker listening');

  return {
    url,
    port,
    hub,
    admin,
    async close() {
      clearInterval(sweeper);
      hub.close();
      tokens.close();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
