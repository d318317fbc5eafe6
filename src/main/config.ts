/**
 * Where the broker URL comes from. For this walking skeleton: the
 * `BACKLOT_BROKER_URL` environment variable, else `config.json` in the app's
 * userData folder. A later issue adds IT-managed profiles and locked policy;
 * they plug in here by returning the same `ClientConfig`.
 */
import { join } from 'node:path';
import { z } from 'zod';

/** Environment variable that points the client at a broker (handy for studios' launch scripts and tests). */
export const BROKER_URL_ENV = 'BACKLOT_BROKER_URL';
/** Name of the per-user config file inside Electron's userData folder. */
export const CONFIG_FILE_NAME = 'config.json';
/** A config file larger than this is not ours; refuse it rather than parse it. */
const MAX_CONFIG_FILE_BYTES = 64 * 1024;
/** Hosts for which plain http is acceptable: traffic never leaves the machine. */
const LOOPBACK_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** What main needs to know about its configuration. `brokerUrl: null` means "nothing configured: offer the local demo". */
export interface ClientConfig {
  brokerUrl: string | null;
}

/**
 * Normalises a broker URL to its origin (`https://broker.studio.example`).
 * Only the origin is kept because the API paths are fixed and the CSP's
 * `connect-src` names exactly this origin. Plain `http:` is refused except
 * on loopback: the login password and bearer token travel over this link.
 * Returns a reason instead of throwing so callers choose their error code.
 */
export function normaliseBrokerUrl(raw: string): { ok: true; url: string } | { ok: false; reason: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: `"${raw.slice(0, 200)}" is not a URL` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, reason: 'The broker URL must start with https://' };
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOSTNAMES.has(url.hostname) && !url.hostname.startsWith('127.')) {
    return { ok: false, reason: 'The broker URL must use https:// (plain http:// is only allowed on this machine)' };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'The broker URL must not contain a user name or password' };
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    return { ok: false, reason: 'The broker URL must be just scheme, host and port, e.g. https://broker.example.com' };
  }
  return { ok: true, url: url.origin };
}

const BrokerUrl = z.string().max(2048).transform((raw, ctx) => {
  const result = normaliseBrokerUrl(raw);
  if (result.ok) return result.url;
  ctx.addIssue({ code: 'custom', message: result.reason });
  return z.NEVER;
});

/** Shape of `config.json`. Strict, so a typo in a key is reported, not silently ignored. */
export const ConfigFile = z.strictObject({ brokerUrl: BrokerUrl.optional() });

/** What `loadConfig` needs from the outside world (injected so it is testable). */
export interface ConfigSources {
  env: Record<string, string | undefined>;
  userDataDir: string;
  /** Reads a file as UTF-8; rejects with `code: 'ENOENT'` when it does not exist (like `fs.promises.readFile`). */
  readFile: (path: string) => Promise<string>;
  warn: (message: string) => void;
}

/**
 * Loads the configuration. A broken setting is reported through `warn` and
 * treated as absent: the app still starts and the user sees "no broker
 * configured" rather than a crash. (Once IT policy exists, a broken managed
 * profile should block instead; see the policy issue.)
 */
export async function loadConfig(sources: ConfigSources): Promise<ClientConfig> {
  const fromEnv = sources.env[BROKER_URL_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    const result = normaliseBrokerUrl(fromEnv);
    if (result.ok) return { brokerUrl: result.url };
    sources.warn(`Ignoring ${BROKER_URL_ENV}: ${result.reason}`);
    return { brokerUrl: null };
  }

  const path = join(sources.userDataDir, CONFIG_FILE_NAME);
  let text: string;
  try {
    text = await sources.readFile(path);
  } catch (err) {
    if (isNotFound(err)) return { brokerUrl: null };
    sources.warn(`Ignoring ${path}: it could not be read`);
    return { brokerUrl: null };
  }
  if (text.length > MAX_CONFIG_FILE_BYTES) {
    sources.warn(`Ignoring ${path}: larger than ${MAX_CONFIG_FILE_BYTES} bytes`);
    return { brokerUrl: null };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    sources.warn(`Ignoring ${path}: not valid JSON`);
    return { brokerUrl: null };
  }
  const parsed = ConfigFile.safeParse(raw);
  if (!parsed.success) {
    sources.warn(`Ignoring ${path}: ${z.prettifyError(parsed.error)}`);
    return { brokerUrl: null };
  }
  return { brokerUrl: parsed.data.brokerUrl ?? null };
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT';
}
