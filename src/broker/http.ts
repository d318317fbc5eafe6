/** Small HTTP helpers: bounded JSON bodies, typed error replies, static files. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import type { z } from 'zod';
import { MAX_HTTP_BODY_BYTES, type ErrorCode } from '../shared/constants.js';
import type { ApiError } from '../shared/protocol.js';

/** An error that becomes an `ApiError` reply with this status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string): void {
  const body: ApiError = { error: { code, message } };
  sendJson(res, status, body);
}

/** Reads and parses a JSON body through a schema; refuses wrong content types, oversized and malformed bodies. */
export async function readJson<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json(\s*;|$)/i.test(type)) throw new HttpError(415, 'ERR_BAD_REQUEST', 'content-type must be application/json');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_HTTP_BODY_BYTES) throw new HttpError(413, 'ERR_TOO_LARGE', `body larger than ${MAX_HTTP_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_HTTP_BODY_BYTES) throw new HttpError(413, 'ERR_TOO_LARGE', `body larger than ${MAX_HTTP_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'ERR_BAD_REQUEST', 'body is not valid JSON');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first?.path.length ? first.path.join('.') : 'body';
    throw new HttpError(400, 'ERR_BAD_REQUEST', `${where}: ${first?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** The bearer token of a request, if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header && /^Bearer ([A-Za-z0-9_-]{16,512})$/.exec(header);
  return match ? match[1] : undefined;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** The web client's CSP: nothing but its own origin (HTTP and WebSocket), blobs for video. */
export const WEB_CLIENT_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Serves a file from `root` for a GET request, or returns false when there is
 * none. Paths are resolved and must stay inside root; unknown paths fall back
 * to index.html (the client is a single page).
 */
export async function serveStatic(req: IncomingMessage, res: ServerResponse, root: string, pathname: string): Promise<boolean> {
  const base = resolve(root);
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return false;
  }
  if (decoded.includes('\0')) return false;
  let file = resolve(base, '.' + (decoded === '/' ? '/index.html' : decoded));
  if (file !== base && !file.startsWith(base + sep)) return false;
  let info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    if (extname(decoded) !== '') return false;
    file = resolve(base, 'index.html');
    info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return false;
  }
  const type = MIME[extname(file)] ?? 'application/octet-stream';
  res.writeHead(200, {
    'content-type': type,
    'content-length': info.size,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'content-security-policy': WEB_CLIENT_CSP,
    'x-frame-options': 'DENY',
    'cache-control': file.endsWith('index.html') ? 'no-cache' : 'public, max-age=3600',
  });
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  createReadStream(file).pipe(res);
  return true;
}
