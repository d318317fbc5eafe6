/**
 * The `app://backlot/` protocol that serves the renderer's built files.
 *
 * Why not `file://`: every file:// page shares one opaque origin with the whole
 * disk, so a navigation or a bug could read any local file; a standard, secure
 * custom scheme gives the renderer a real origin (`app://backlot`) that the
 * CSP, the IPC sender check and the permission handlers can name.
 */
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';

export const APP_SCHEME = 'app';
export const APP_HOST = 'backlot';
/** The renderer's origin. (Node's URL reports `null` as the origin of custom schemes, so compare scheme and host instead.) */
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** The page main loads into every window. */
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/** Content types for what Vite emits. Anything else is served as opaque bytes and never sniffed. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};
const FALLBACK_CONTENT_TYPE = 'application/octet-stream';

/** True when `url` is a page or resource of our own renderer. */
export function isAppUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST;
  } catch {
    return false;
  }
}

export type ResolveResult = { ok: true; path: string } | { ok: false; reason: string };

/**
 * Maps an `app://backlot/...` URL to a file under `rootDir`, or refuses it.
 * Pure (no file system access) so every refusal can be unit tested.
 *
 * The URL parser already folds `..` and `%2e%2e` segments, but decoding can
 * reveal more (`..%2f..%2fetc`), so each decoded segment is checked again and
 * the joined path must still lie inside `rootDir`.
 */
export function resolveAppPath(rootDir: string, requestUrl: string): ResolveResult {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return { ok: false, reason: 'not an app:// URL for this app' };

  const rawSegments = url.pathname.split('/').filter((s) => s !== '');
  if (rawSegments.length === 0) rawSegments.push('index.html');

  const segments: string[] = [];
  for (const raw of rawSegments) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return { ok: false, reason: 'malformed percent-encoding' };
    }
    if (segment === '.' || segment === '..') return { ok: false, reason: 'path traversal' };
    // '/' and '\\' would smuggle extra segments in; ':' would name a Windows drive or NTFS stream; NUL truncates C strings.
    if (/[/\\:\0]/.test(segment)) return { ok: false, reason: 'forbidden character in path' };
    segments.push(segment);
  }

  const root = resolve(rootDir);
  const path = resolve(root, ...segments);
  const rel = relative(root, path);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    return { ok: false, reason: 'outside the renderer folder' };
  }
  return { ok: true, path };
}

/** The content type to serve a resolved file with. */
export function contentTypeFor(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? FALLBACK_CONTENT_TYPE;
}

export interface ServeOptions {
  rootDir: string;
  /** Reads a whole file (injected: Electron's `fs` also reads inside the app's asar archive). */
  readFile: (path: string) => Promise<Uint8Array>;
  /** The CSP to send with every response (recomputed per request because the broker URL can change). */
  csp: () => string;
}

/** Serves one `app://` request. Refusals are 404s that do not say why (the reason is for tests and logs). */
export async function serveAppRequest(requestUrl: string, options: ServeOptions): Promise<Response> {
  const headers = {
    'content-security-policy': options.csp(),
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  };
  const resolved = resolveAppPath(options.rootDir, requestUrl);
  if (!resolved.ok) return new Response('Not found', { status: 404, headers });
  let body: Uint8Array;
  try {
    body = await options.readFile(resolved.path);
  } catch {
    return new Response('Not found', { status: 404, headers });
  }
  // Copied into a fresh ArrayBuffer-backed view: a Buffer from fs may sit on a shared pool, which BodyInit does not accept.
  return new Response(new Uint8Array(body), { status: 200, headers: { ...headers, 'content-type': contentTypeFor(resolved.path) } });
}
