/** Broker configuration: a JSON file, with environment variables for the common overrides. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { IceServer } from '../shared/protocol.js';
import { DirectoryData } from './store.js';

export const BrokerConfig = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  publicUrl: z.string().url().optional(),
  /** Path of the directory file (users, workstations, assignments), relative to the config file. */
  directory: z.string(),
  webRoot: z.string().optional(),
  iceServers: z.array(IceServer).default([]),
  tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
});
export type BrokerConfig = z.infer<typeof BrokerConfig>;

function readJsonFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
}

function parseOrExplain<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw new Error(`${what} is invalid:\n${z.prettifyError(r.error)}`);
  return r.data;
}

/** Loads the config file and the directory it names; BACKLOT_BROKER_HOST/PORT/PUBLIC_URL override. */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): { config: BrokerConfig; directory: DirectoryData } {
  const raw = readJsonFile(path) as Record<string, unknown>;
  const merged = {
    ...raw,
    ...(env.BACKLOT_BROKER_HOST ? { host: env.BACKLOT_BROKER_HOST } : {}),
    ...(env.BACKLOT_BROKER_PORT ? { port: Number(env.BACKLOT_BROKER_PORT) } : {}),
    ...(env.BACKLOT_BROKER_PUBLIC_URL ? { publicUrl: env.BACKLOT_BROKER_PUBLIC_URL } : {}),
  };
  const config = parseOrExplain(BrokerConfig, merged, path);
  const base = dirname(resolve(path));
  const rel = (p: string): string => resolve(base, p);
  const directory = parseOrExplain(DirectoryData, readJsonFile(rel(config.directory)), rel(config.directory));
  return {
    config: {
      ...config,
      directory: rel(config.directory),
      ...(config.webRoot ? { webRoot: rel(config.webRoot) } : {}),
      ...(config.tls ? { tls: { cert: rel(config.tls.cert), key: rel(config.tls.key) } } : {}),
    },
    directory,
  };
}
