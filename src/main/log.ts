/**
 * Main's log: every line goes through `redact()` before it is kept or
 * written, and the last lines stay in memory for "export diagnostics". Two
 * layers of redaction: patterns (bearer headers, token-ish JSON keys, URL
 * credentials and query tokens) and the exact values of live secrets, which
 * the broker client registers as it receives them (so a token quoted in an
 * unexpected place is still caught).
 */

/** Lines kept in memory for the diagnostics bundle. */
export const LOG_RING_LINES = 2_000;
/** Longest single line kept; stack traces beyond this are cut. */
const MAX_LINE_CHARS = 8_192;
/** Secrets shorter than this are not matched by value (too many false hits); patterns still apply. */
const MIN_SECRET_CHARS = 8;
/** Most live secrets remembered for value matching (old ones rotate out). */
const MAX_SECRETS = 64;

export const REDACTED = '[redacted]';

/** JSON keys (and key=value pairs) whose values are always secret. */
const SECRET_KEYS = ['password', 'accessToken', 'refreshToken', 'mfaToken', 'grantToken', 'secret', 'credential', 'token', 'authorization'];
const keyAlternation = SECRET_KEYS.join('|');
const PATTERNS: [RegExp, string][] = [
  // Authorization: Bearer xxx
  [/\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
  // "password":"..." (JSON, with escaped quotes inside the value)
  [new RegExp(`("(?:${keyAlternation})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi'), `$1"${REDACTED}"`],
  // password=... in query strings and key=value text
  [new RegExp(`\\b((?:${keyAlternation})=)[^&\\s"']+`, 'gi'), `$1${REDACTED}`],
  // A TOTP code ("code" alone is also the key of error codes, which stay readable).
  [/("code"\s*:\s*)"\d{6}"/g, `$1"${REDACTED}"`],
  // https://user:pass@host
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi, `$1${REDACTED}@`],
];

/** Removes secrets from one line of text. */
export function redact(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= MIN_SECRET_CHARS) out = out.split(secret).join(REDACTED);
  }
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

export type LogLevel = 'info' | 'warn' | 'error';

export interface LoggerOptions {
  /** Where redacted lines go as well (console, a file); injected. */
  sink?: (line: string, level: LogLevel) => void;
  now?: () => Date;
  ringLines?: number;
}

/** A redacting logger with an in-memory tail. */
export class Logger {
  readonly #sink: ((line: string, level: LogLevel) => void) | undefined;
  readonly #now: () => Date;
  readonly #ringLines: number;
  readonly #lines: string[] = [];
  readonly #secrets = new Set<string>();

  constructor(options: LoggerOptions = {}) {
    this.#sink = options.sink;
    this.#now = options.now ?? (() => new Date());
    this.#ringLines = options.ringLines ?? LOG_RING_LINES;
  }

  /** Registers a live secret (a token just received) so its exact value never reaches a log line. */
  addSecret(secret: string): void {
    if (secret.length < MIN_SECRET_CHARS) return;
    this.#secrets.add(secret);
    if (this.#secrets.size > MAX_SECRETS) {
      const [oldest] = this.#secrets;
      if (oldest !== undefined) this.#secrets.delete(oldest);
    }
  }

  info(message: string): void {
    this.#write('info', message);
  }
  warn(message: string): void {
    this.#write('warn', message);
  }
  error(message: string, err?: unknown): void {
    const detail = err === undefined ? '' : `: ${err instanceof Error ? (err.stack ?? err.message) : describe(err)}`;
    this.#write('error', message + detail);
  }

  /** The kept lines, oldest first (already redacted). */
  tail(): string[] {
    return [...this.#lines];
  }

  #write(level: LogLevel, message: string): void {
    const line = `${this.#now().toISOString()} ${level.toUpperCase()} ${redact(message, this.#secrets)}`.slice(0, MAX_LINE_CHARS);
    this.#lines.push(line);
    if (this.#lines.length > this.#ringLines) this.#lines.splice(0, this.#lines.length - this.#ringLines);
    this.#sink?.(line, level);
  }
}

/** Text for a thrown non-Error (a string, a number, an object). */
function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}
