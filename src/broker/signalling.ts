/**
 * The signalling relay. Host agents keep one authenticated socket open; each
 * client opens one socket per session, authenticated by a single-use grant.
 * Offer, answer and ICE candidates are relayed between the two ends of one
 * session; the broker never sees media. Messages for a host that has not
 * accepted the session yet are held (bounded), or the client's first offer
 * would be lost.
 */
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { MAX_PENDING_SIGNALS, WS_AUTH_TIMEOUT_MS, type ErrorCode } from '../shared/constants.js';
import {
  BrokerToClient,
  BrokerToHost,
  ClientToBroker,
  HostToBroker,
  parseJson,
  type IceServer,
  type SignalData,
} from '../shared/protocol.js';
import type { SessionPolicy } from '../shared/policy.js';
import type { Store } from './store.js';
import { tokenDigest } from './tokens.js';

/** What the hub needs from the rest of the broker. */
export interface HubDeps {
  store: Store;
  /** ICE servers (with fresh TURN credentials) for one party. */
  iceServersFor(party: string): IceServer[];
  /** Whether `username` may end another user's session on a workstation by connecting. */
  mayTakeOver(username: string): boolean;
  now?: () => number;
  /** Every socket is pinged once per this period (default HEARTBEAT_INTERVAL_MS); tests shorten it. */
  heartbeatMs?: number;
}

/** Ping every socket this often; one that missed the previous pong is dropped. */
export const HEARTBEAT_INTERVAL_MS = 15_000;
/**
 * The pings of one period go out in this many slices, spread over it. One
 * synchronous loop over 10,000 sockets held the event loop for long enough to
 * delay a relayed signal by up to 960 ms (BENCHMARKS.md); a slice is 1/60th.
 */
const HEARTBEAT_SLICES = 60;
/** Close codes (4000-4999 are ours). */
export const CloseCode = { protocol: 4400, unauthorized: 4401, conflict: 4409, ended: 4000, replaced: 4001 } as const;

interface Session {
  id: string;
  workstationId: string;
  username: string;
  policy: SessionPolicy;
  startedAt: number;
  client: WebSocket;
  hostAccepted: boolean;
  toHost: SignalData[];
}

interface Tracked {
  alive: boolean;
}

function rawToText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

export class SignallingHub {
  private readonly hosts = new Map<string, WebSocket>();
  private readonly sessions = new Map<string, Session>();
  private readonly tracked = new WeakMap<WebSocket, Tracked>();
  private readonly addresses = new WeakMap<WebSocket, string>();
  private readonly sockets = new Set<WebSocket>();
  private readonly heartbeat: NodeJS.Timeout;
  /** The sockets of the current heartbeat round, and how far through them we are. */
  private round: WebSocket[] = [];
  private roundAt = 0;
  private slice = 0;

  private readonly store: Store;
  private readonly now: () => number;

  constructor(
    private readonly deps: HubDeps,
    private readonly log: Logger,
  ) {
    this.store = deps.store;
    this.now = deps.now ?? Date.now;
    this.heartbeat = setInterval(() => this.beat(), Math.max(1, Math.round((deps.heartbeatMs ?? HEARTBEAT_INTERVAL_MS) / HEARTBEAT_SLICES)));
    this.heartbeat.unref();
  }

  isOnline(workstationId: string): boolean {
    return this.hosts.has(workstationId);
  }

  isInUse(workstationId: string): boolean {
    return this.userOn(workstationId) !== undefined;
  }

  /** The user with a live session on a workstation, if any. */
  userOn(workstationId: string): string | undefined {
    for (const s of this.sessions.values()) if (s.workstationId === workstationId) return s.username;
    return undefined;
  }

  /** Live sessions, for admins. */
  listSessions(): { sessionId: string; workstationId: string; username: string; startedAt: number }[] {
    return [...this.sessions.values()].map((s) => ({ sessionId: s.id, workstationId: s.workstationId, username: s.username, startedAt: s.startedAt }));
  }

  /** Number of open signalling sockets (hosts and clients). */
  get connectionCount(): number {
    return this.sockets.size;
  }

  acceptHost(ws: WebSocket): void {
    this.track(ws);
    let workstationId: string | undefined;
    const authTimer = setTimeout(() => this.fail(ws, 'ERR_UNAUTHORIZED', 'no auth message in time', CloseCode.unauthorized, BrokerToHost), WS_AUTH_TIMEOUT_MS);

    ws.on('message', (data, isBinary) => {
      if (isBinary) return this.fail(ws, 'ERR_PROTOCOL', 'binary frames are not accepted', CloseCode.protocol, BrokerToHost);
      const parsed = parseJson(HostToBroker, rawToText(data));
      if (!parsed.ok) return this.fail(ws, 'ERR_BAD_REQUEST', parsed.reason, CloseCode.protocol, BrokerToHost);
      const msg = parsed.value;

      if (workstationId === undefined) {
        if (msg.type !== 'auth') return this.fail(ws, 'ERR_PROTOCOL', 'the first message must be auth', CloseCode.protocol, BrokerToHost);
        clearTimeout(authTimer);
        if (!this.store.verifyHostSecret(msg.workstationId, tokenDigest(msg.secret))) {
          this.log.warn({ workstationId: msg.workstationId }, 'host authentication failed');
          this.audit(null, 'host.auth-failure', msg.workstationId, ws);
          return this.fail(ws, 'ERR_UNAUTHORIZED', 'unknown workstation or wrong secret', CloseCode.unauthorized, BrokerToHost);
        }
        workstationId = msg.workstationId;
        const previous = this.hosts.get(workstationId);
        if (previous) {
          // A host that reconnects before its old socket timed out replaces it.
          this.endSessionsOf(workstationId, 'host reconnected');
          previous.close(CloseCode.replaced, 'replaced by a newer connection');
        }
        this.hosts.set(workstationId, ws);
        this.store.touchWorkstation(workstationId, this.now());
        this.log.info({ workstationId }, 'host online');
        this.audit(null, 'host.online', workstationId, ws);
        this.send(ws, BrokerToHost, { type: 'ready', workstationId });
        return;
      }

      switch (msg.type) {
        case 'auth':
          return this.fail(ws, 'ERR_PROTOCOL', 'already authenticated', CloseCode.protocol, BrokerToHost);
        case 'session.accept': {
          const s = this.hostSession(workstationId, msg.sessionId, ws);
          if (!s) return;
          s.hostAccepted = true;
          for (const data of s.toHost.splice(0)) this.send(ws, BrokerToHost, { type: 'signal', sessionId: s.id, data });
          this.send(s.client, BrokerToClient, { type: 'peer.joined' });
          return;
        }
        case 'signal': {
          const s = this.hostSession(workstationId, msg.sessionId, ws);
          if (s) this.send(s.client, BrokerToClient, { type: 'signal', data: msg.data });
          return;
        }
        case 'session.end': {
          const s = this.hostSession(workstationId, msg.sessionId, ws);
          if (s) this.endSession(s, `host ended the session: ${msg.reason}`, 'host');
          return;
        }
      }
    });

    ws.on('close', () => {
      clearTimeout(authTimer);
      if (workstationId !== undefined && this.hosts.get(workstationId) === ws) {
        this.hosts.delete(workstationId);
        this.endSessionsOf(workstationId, 'host disconnected');
        this.store.touchWorkstation(workstationId, this.now());
        this.log.info({ workstationId }, 'host offline');
        this.audit(null, 'host.offline', workstationId, null);
      }
    });
  }

  acceptClient(ws: WebSocket): void {
    this.track(ws);
    let session: Session | undefined;
    const authTimer = setTimeout(() => this.fail(ws, 'ERR_UNAUTHORIZED', 'no auth message in time', CloseCode.unauthorized, BrokerToClient), WS_AUTH_TIMEOUT_MS);

    ws.on('message', (data, isBinary) => {
      if (isBinary) return this.fail(ws, 'ERR_PROTOCOL', 'binary frames are not accepted', CloseCode.protocol, BrokerToClient);
      const parsed = parseJson(ClientToBroker, rawToText(data));
      if (!parsed.ok) return this.fail(ws, 'ERR_BAD_REQUEST', parsed.reason, CloseCode.protocol, BrokerToClient);
      const msg = parsed.value;

      if (session === undefined) {
        if (msg.type !== 'auth') return this.fail(ws, 'ERR_PROTOCOL', 'the first message must be auth', CloseCode.protocol, BrokerToClient);
        clearTimeout(authTimer);
        const redeemed = this.store.redeemGrant(tokenDigest(msg.grantToken), this.now());
        if (!redeemed.ok) {
          const code = redeemed.reason === 'used' ? 'ERR_GRANT_USED' : redeemed.reason === 'expired' ? 'ERR_GRANT_EXPIRED' : 'ERR_UNAUTHORIZED';
          return this.fail(ws, code, 'the session grant is not valid', CloseCode.unauthorized, BrokerToClient);
        }
        const { grant } = redeemed;
        const host = this.hosts.get(grant.workstationId);
        if (!host) return this.fail(ws, 'ERR_WORKSTATION_OFFLINE', 'the workstation is offline', CloseCode.conflict, BrokerToClient);
        const current = [...this.sessions.values()].find((s) => s.workstationId === grant.workstationId);
        if (current) {
          // A user may always replace their own session (a reconnect); someone else's only where the studio allows it.
          if (current.username !== grant.username && !this.deps.mayTakeOver(grant.username)) {
            return this.fail(ws, 'ERR_WORKSTATION_IN_USE', `the workstation is in use by ${current.username}`, CloseCode.conflict, BrokerToClient);
          }
          const reason = current.username === grant.username ? 'replaced by a new connection' : `taken over by ${grant.username}`;
          this.endSession(current, reason, 'broker');
        }
        session = {
          id: grant.sessionId,
          workstationId: grant.workstationId,
          username: grant.username,
          policy: grant.policy,
          startedAt: this.now(),
          client: ws,
          hostAccepted: false,
          toHost: [],
        };
        this.sessions.set(session.id, session);
        this.log.info({ sessionId: session.id, workstationId: session.workstationId, user: session.username }, 'session started');
        this.audit(session.username, 'session.start', session.workstationId, ws, { sessionId: session.id });
        this.send(ws, BrokerToClient, { type: 'ready', sessionId: session.id });
        this.send(host, BrokerToHost, {
          type: 'session.start',
          sessionId: session.id,
          user: session.username,
          iceServers: this.deps.iceServersFor(`host-${session.workstationId}`),
          policy: session.policy,
        });
        return;
      }

      switch (msg.type) {
        case 'auth':
          return this.fail(ws, 'ERR_PROTOCOL', 'already authenticated', CloseCode.protocol, BrokerToClient);
        case 'signal': {
          if (session.hostAccepted) {
            const host = this.hosts.get(session.workstationId);
            if (host) this.send(host, BrokerToHost, { type: 'signal', sessionId: session.id, data: msg.data });
            return;
          }
          if (session.toHost.length >= MAX_PENDING_SIGNALS) {
            return this.fail(ws, 'ERR_PROTOCOL', 'too many signals before the host joined', CloseCode.protocol, BrokerToClient);
          }
          session.toHost.push(msg.data);
          return;
        }
        case 'bye':
          this.endSession(session, 'client left', 'client');
          return;
      }
    });

    ws.on('close', () => {
      clearTimeout(authTimer);
      if (session && this.sessions.get(session.id) === session) this.endSession(session, 'client disconnected', 'client');
    });
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const ws of this.sockets) ws.terminate();
  }

  private hostSession(workstationId: string, sessionId: string, ws: WebSocket): Session | undefined {
    const s = this.sessions.get(sessionId);
    // A host may only address sessions on its own workstation; anything else is
    // answered with the same error as an unknown session, so it learns nothing.
    if (!s || s.workstationId !== workstationId) {
      this.send(ws, BrokerToHost, { type: 'error', code: 'ERR_NOT_FOUND', message: 'no such session on this workstation' });
      return undefined;
    }
    return s;
  }

  private endSessionsOf(workstationId: string, reason: string): void {
    for (const s of [...this.sessions.values()]) if (s.workstationId === workstationId) this.endSession(s, reason, 'host');
  }

  private endSession(s: Session, reason: string, by: 'client' | 'host' | 'broker'): void {
    if (this.sessions.get(s.id) !== s) return;
    this.sessions.delete(s.id);
    this.log.info({ sessionId: s.id, workstationId: s.workstationId, user: s.username, reason }, 'session ended');
    this.audit(s.username, 'session.end', s.workstationId, null, { sessionId: s.id, reason, by, seconds: Math.round((this.now() - s.startedAt) / 1000) });
    const host = this.hosts.get(s.workstationId);
    if (by !== 'host' && host) this.send(host, BrokerToHost, { type: 'session.end', sessionId: s.id, reason });
    if (by !== 'client') {
      this.send(s.client, BrokerToClient, { type: 'peer.left', reason });
      s.client.close(CloseCode.ended, 'session ended');
    }
  }

  private audit(actor: string | null, action: string, target: string, ws: WebSocket | null, detail?: Record<string, unknown>): void {
    const ip = ws ? (this.addresses.get(ws) ?? null) : null;
    this.store.audit({ at: this.now(), actor, action, target, ip, detail: detail ?? null });
  }

  /** Remembers the peer address of a socket, for the audit log. */
  setAddress(ws: WebSocket, address: string | undefined): void {
    if (address) this.addresses.set(ws, address);
  }

  private send<T>(ws: WebSocket, schema: { parse(v: unknown): T }, msg: T): void {
    // Outgoing messages are checked too: a bug here must not put a malformed message on the wire.
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(schema.parse(msg)));
  }

  private fail<T>(ws: WebSocket, code: ErrorCode, message: string, closeCode: number, schema: { parse(v: unknown): T }): void {
    this.log.debug({ code, message }, 'signalling socket refused');
    this.send(ws, schema, { type: 'error', code, message } as T);
    ws.close(closeCode, code);
  }

  private track(ws: WebSocket): void {
    this.sockets.add(ws);
    this.tracked.set(ws, { alive: true });
    ws.on('pong', () => {
      const t = this.tracked.get(ws);
      if (t) t.alive = true;
    });
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('error', (err) => this.log.debug({ err: err.message }, 'socket error'));
  }

  /** One slice of the heartbeat: each socket is visited once per round, a round per heartbeat period. */
  private beat(): void {
    if (this.slice === 0) {
      this.round = [...this.sockets];
      this.roundAt = 0;
    }
    this.slice++;
    // Slice k of the round covers sockets up to k/HEARTBEAT_SLICES of it, so a round always lasts one period.
    const end = Math.min(this.round.length, Math.ceil((this.slice * this.round.length) / HEARTBEAT_SLICES));
    if (this.slice >= HEARTBEAT_SLICES) this.slice = 0;
    for (; this.roundAt < end; this.roundAt++) {
      const ws = this.round[this.roundAt]!;
      const t = this.tracked.get(ws);
      if (!t || !this.sockets.has(ws)) continue;
      if (!t.alive) {
        ws.terminate();
        continue;
      }
      t.alive = false;
      ws.ping();
    }
  }
}
