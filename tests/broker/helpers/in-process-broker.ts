/**
 * Runs the real broker inside the test process (`startBroker`, as `backlot-broker
 * serve` does) on 127.0.0.1 and a free port, with its own SQLite file in a temp
 * directory, and seeds it through the broker's own admin operations. For tests
 * of clients (main, the web client) and of the broker's sockets that need the
 * real server but not a separate process; `broker-process.ts` is the one that
 * spawns the CLI.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { pino } from 'pino';
import type { Admin } from '../../../src/broker/admin.js';
import { resolveConfig, type ResolvedConfig } from '../../../src/broker/config.js';
import { openDatabase, type Db } from '../../../src/broker/db.js';
import { hashPassword } from '../../../src/broker/passwords.js';
import { startBroker, type RunningBroker } from '../../../src/broker/server.js';
import { SqliteStore } from '../../../src/broker/store.js';
import { tokenDigest } from '../../../src/broker/tokens.js';
import { TOTP_PERIOD_S } from '../../../src/broker/totp.js';

/** The password every seeded user gets (the broker wants 10+ characters). */
export const TEST_PASSWORD = 'correct horse battery staple';
/** The actor named in the audit log for seeding. */
const SEED_ACTOR = 'test';

// scrypt takes 100-300 ms a hash on the shared 2-core machine, and every seeded
// user has the same password: hash it once per test process, not once per user.
let passwordHash: Promise<string> | undefined;

/** What the broker's database says about one refresh token. */
export type RefreshTokenState = 'live' | 'used' | 'revoked' | 'unknown';

export interface InProcessBroker {
  url: string;
  port: number;
  config: ResolvedConfig;
  store: SqliteStore;
  /** The running broker's admin operations: a revocation here also ends the in-memory access tokens. */
  admin: Admin;
  /** The broker's clock (real time plus whatever `advanceClock` added). */
  now(): number;
  /** Moves the broker's clock on, e.g. past the access-token lifetime. Clients keep their own clock. */
  advanceClock(ms: number): void;
  /** Creates a user (password `TEST_PASSWORD`) in the store; with `totp`, enrols an authenticator through the admin operations and returns its secret. */
  addUser(user: { username: string; displayName: string; role?: 'artist' | 'admin'; totp?: boolean }): Promise<{ totpSecret: string | null }>;
  /** Creates a workstation and assigns it to each of `users`. */
  addWorkstation(workstation: { id: string; name: string }, users: string[]): void;
  /** The current code of an authenticator enrolled with `secret`, by the broker's clock. */
  totpCode(secret: string): string;
  /** A six-digit code the broker is certain to refuse now (none of the steps it accepts). */
  wrongTotpCode(secret: string): string;
  /** Reads (does not use) a refresh token's row in the broker's database. */
  refreshTokenState(token: string): RefreshTokenState;
  /** Refresh tokens of a user that the broker would still honour. */
  liveRefreshTokens(username: string): number;
  /** Stops the broker and deletes its directory; safe to call twice. */
  close(): Promise<void>;
}

export interface InProcessBrokerOptions {
  /** Merged over `{ host: '127.0.0.1', port: 0 }` and validated like a config file. */
  config?: Record<string, unknown>;
  /** WebSocket heartbeat period (the broker's default is 15 s). */
  heartbeatMs?: number;
}

/** Starts a broker in this process and resolves once it listens. */
export async function startInProcessBroker(options: InProcessBrokerOptions = {}): Promise<InProcessBroker> {
  const dir = await mkdtemp(join(tmpdir(), 'backlot-broker-inproc-'));
  // No environment: a BACKLOT_BROKER_* variable of the developer's shell must not move the test broker.
  const config = resolveConfig({ host: '127.0.0.1', port: 0, database: 'broker.db', ...options.config }, dir, {});
  const db: Db = openDatabase(config.database);
  const store = new SqliteStore(db);
  let offsetMs = 0;
  const now = () => Date.now() + offsetMs;
  let running: RunningBroker;
  try {
    running = await startBroker({
      store,
      config,
      logger: pino({ level: 'silent' }),
      now,
      ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    });
  } catch (err) {
    store.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const totpAt = (secret: string, timestamp: number) =>
    new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: TOTP_PERIOD_S }).generate({ timestamp });
  let closed: Promise<void> | undefined;

  return {
    url: running.url,
    port: running.port,
    config,
    store,
    admin: running.admin,
    now,
    advanceClock: (ms) => void (offsetMs += ms),
    async addUser({ username, displayName, role = 'artist', totp = false }) {
      passwordHash ??= hashPassword(TEST_PASSWORD);
      store.createUser({ username, displayName, role, passwordHash: await passwordHash });
      return { totpSecret: totp ? running.admin.enrolTotp(SEED_ACTOR, username).secret : null };
    },
    addWorkstation(workstation, users) {
      running.admin.createWorkstation(SEED_ACTOR, workstation);
      for (const user of users) running.admin.assign(SEED_ACTOR, { workstationId: workstation.id, user });
    },
    totpCode: (secret) => totpAt(secret, now()),
    wrongTotpCode(secret) {
      const step = TOTP_PERIOD_S * 1000;
      // The broker accepts the step before and after the current one, for clock drift.
      const accepted = new Set([-1, 0, 1].map((d) => totpAt(secret, now() + d * step)));
      for (let n = 0; ; n++) {
        const code = String(n).padStart(6, '0');
        if (!accepted.has(code)) return code;
      }
    },
    refreshTokenState(token) {
      const row = db.prepare('SELECT used_at, revoked_at FROM refresh_tokens WHERE token_digest = ?').get(tokenDigest(token)) as
        | { used_at: number | null; revoked_at: number | null }
        | undefined;
      if (!row) return 'unknown';
      if (row.revoked_at !== null) return 'revoked';
      return row.used_at !== null ? 'used' : 'live';
    },
    liveRefreshTokens(username) {
      const row = db
        .prepare('SELECT count(*) AS n FROM refresh_tokens WHERE username = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?')
        .get(username, now()) as { n: number };
      return row.n;
    },
    close() {
      closed ??= (async () => {
        await running.close();
        store.close();
        await rm(dir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}

/** One request a client sent and the broker's answer, as they went over the wire. */
export interface Exchange {
  method: string;
  path: string;
  authorization: string | null;
  /** The JSON request body, parsed; undefined when there was none. */
  body: unknown;
  /** Null while unanswered, or when the request failed (refused, timed out). */
  status: number | null;
  /** The JSON reply, parsed; undefined when empty. */
  reply: any;
}

/**
 * Wraps a real `fetch` so a test can assert what a client sent and received.
 * Every request still goes to the server; nothing is answered here.
 */
export function recordingFetch(realFetch: typeof fetch = fetch): { fetch: typeof fetch; exchanges: Exchange[] } {
  const exchanges: Exchange[] = [];
  const recording: typeof fetch = async (input, init) => {
    const exchange: Exchange = {
      method: init?.method ?? 'GET',
      path: new URL(input instanceof Request ? input.url : String(input)).pathname,
      authorization: new Headers(init?.headers).get('authorization'),
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
      status: null,
      reply: undefined,
    };
    // Recorded before it is sent, so a request that never got an answer still shows.
    exchanges.push(exchange);
    const response = await realFetch(input, init);
    exchange.status = response.status;
    // Read a copy, so the client still gets the whole body from the original.
    const text = await response.clone().text();
    exchange.reply = text === '' ? undefined : JSON.parse(text);
    return response;
  };
  return { fetch: recording, exchanges };
}
