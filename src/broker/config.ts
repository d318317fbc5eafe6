/** Broker configuration: a JSON file, with environment variables for deployment-specific values and secrets. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_SESSION_POLICY, SessionPolicy } from '../shared/policy.js';
import { IceServer } from '../shared/protocol.js';

export const SecurityConfig = z.strictObject({
  /** Every user must give a TOTP code (users without one cannot sign in until an admin enrols them). */
  requireTotp: z.boolean().default(false),
  /** Consecutive failures (password or code) that lock an account, and for how long. */
  lockoutThreshold: z.number().int().min(1).max(100).default(5),
  lockoutMinutes: z.number().min(0.01).max(24 * 60).default(15),
  /** Failed attempts allowed from one address in the window before it is refused (429). */
  addressMaxFailures: z.number().int().min(1).max(10_000).default(20),
  addressWindowMinutes: z.number().min(0.01).max(24 * 60).default(5),
  accessTokenMinutes: z.number().min(0.01).max(24 * 60).default(15),
  refreshTokenDays: z.number().min(0.001).max(365).default(30),
  grantSeconds: z.number().min(1).max(600).default(30),
  enrolmentCodeHours: z.number().min(0.01).max(24 * 30).default(24),
  /** Who may end someone else's session on a workstation by connecting to it. A user may always replace their own. */
  takeover: z.enum(['never', 'admins', 'anyone']).default('never'),
});
export type SecurityConfig = z.infer<typeof SecurityConfig>;

export const TurnSettings = z.strictObject({
  urls: z.array(z.string().regex(/^turns?:/, 'turn: or turns: URL')).min(1).max(8),
  /** The static-auth-secret shared with coturn; prefer BACKLOT_TURN_SECRET over the file. */
  secret: z.string().min(16).optional(),
  ttlSeconds: z.number().int().min(60).max(7 * 24 * 3600).default(3600),
});

export const BrokerConfig = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  publicUrl: z.url().optional(),
  /** SQLite database file, relative to the config file. */
  database: z.string().default('backlot-broker.db'),
  webRoot: z.string().optional(),
  /** STUN servers (TURN credentials are generated from `turn`). */
  iceServers: z.array(IceServer).default([]),
  turn: TurnSettings.optional(),
  tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
  security: SecurityConfig.default(SecurityConfig.parse({})),
  /** The studio's session policy; unset keys take the built-in defaults. */
  policy: SessionPolicy.partial().default({}),
  /** Name shown in authenticator apps. */
  issuer: z.string().min(1).max(64).default('Backlot'),
});
export type BrokerConfig = z.infer<typeof BrokerConfig>;

export interface ResolvedConfig extends Omit<BrokerConfig, 'policy' | 'turn'> {
  policy: SessionPolicy;
  turn?: { urls: string[]; secret: string; ttlSeconds: number };
}

function parseOrExplain<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw new Error(`${what} is invalid:\n${z.prettifyError(r.error)}`);
  return r.data;
}

/** Validates a raw config object and resolves paths against `baseDir` and secrets from the environment. */
export function resolveConfig(raw: unknown, baseDir: string, env: NodeJS.ProcessEnv = process.env, what = 'configuration'): ResolvedConfig {
  const obj = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const merged = {
    ...obj,
    ...(env.BACKLOT_BROKER_HOST ? { host: env.BACKLOT_BROKER_HOST } : {}),
    ...(env.BACKLOT_BROKER_PORT ? { port: Number(env.BACKLOT_BROKER_PORT) } : {}),
    ...(env.BACKLOT_BROKER_PUBLIC_URL ? { publicUrl: env.BACKLOT_BROKER_PUBLIC_URL } : {}),
    ...(env.BACKLOT_BROKER_DATABASE ? { database: env.BACKLOT_BROKER_DATABASE } : {}),
  };
  const config = parseOrExplain(BrokerConfig, merged, what);
  const rel = (p: string): string => (p === ':memory:' ? p : resolve(baseDir, p));
  let turn: ResolvedConfig['turn'];
  if (config.turn) {
    const secret = env.BACKLOT_TURN_SECRET ?? config.turn.secret;
    if (!secret || secret.length < 16) throw new Error(`${what}: turn needs a shared secret of 16+ characters (BACKLOT_TURN_SECRET or turn.secret)`);
    turn = { urls: config.turn.urls, secret, ttlSeconds: config.turn.ttlSeconds };
  }
  const { turn: _turn, ...rest } = config;
  return {
    ...rest,
    database: rel(config.database),
    policy: { ...DEFAULT_SESSION_POLICY, ...config.policy },
    ...(turn ? { turn } : {}),
    ...(config.webRoot ? { webRoot: rel(config.webRoot) } : {}),
    ...(config.tls ? { tls: { cert: rel(config.tls.cert), key: rel(config.tls.key) } } : {}),
  };
}

/** Loads the config file (a missing file means all defaults) and applies the environment. */
export function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  if (path === undefined) return resolveConfig({}, process.cwd(), env);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  return resolveConfig(raw, dirname(resolve(path)), env, path);
}
