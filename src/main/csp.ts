/**
 * The renderer's Content Security Policy. `default-src 'none'` and then only
 * what the client needs: its own scripts and styles, video frames and images
 * from blobs, and network access to the brokers it is configured for: their
 * WebSocket for signalling, and its HTTP origin for parity with the web
 * client (in Electron, main makes the API calls). WebRTC media itself is not
 * governed by CSP.
 */
import { normaliseBrokerUrl } from './config.js';

/**
 * In a source checkout with no broker configured the user may start the local
 * demo, whose broker listens on a port chosen at run time. The page's CSP is
 * fixed when it loads, so loopback on any port is allowed instead of the
 * exact origin. Never used when a broker is configured or the app is packaged.
 */
const LOOPBACK_DEMO_SOURCES = ['http://127.0.0.1:*', 'ws://127.0.0.1:*'];

export interface CspOptions {
  /** Allow any loopback port for the local demo (see LOOPBACK_DEMO_SOURCES). */
  allowLoopbackDemo?: boolean;
}

/** The HTTP(S) origin and its WebSocket twin, or nothing if the URL is not a valid broker URL. */
function brokerSources(brokerUrl: string): string[] {
  // Normalising to an origin also means no space or ';' from a config file can inject a directive.
  const result = normaliseBrokerUrl(brokerUrl);
  if (!result.ok) return [];
  const http = result.url;
  const ws = http.replace(/^http/, 'ws');
  return [http, ws];
}

/**
 * Builds the CSP header value for the renderer, given the brokers it may reach
 * (one, several when the policy pins a list or the user has profiles, or none).
 */
export function buildCsp(brokers: string | null | readonly string[], options: CspOptions = {}): string {
  const connect = new Set<string>();
  const list = brokers === null ? [] : typeof brokers === 'string' ? [brokers] : brokers;
  for (const brokerUrl of list) for (const source of brokerSources(brokerUrl)) connect.add(source);
  if (options.allowLoopbackDemo === true) for (const source of LOOPBACK_DEMO_SOURCES) connect.add(source);

  const directives: [string, ...string[]][] = [
    ['default-src', "'none'"],
    ['script-src', "'self'"],
    ['style-src', "'self'"],
    ['img-src', "'self'", 'blob:', 'data:'],
    ['media-src', "'self'", 'blob:', 'data:'],
    ['font-src', "'self'"],
    ['connect-src', ...(connect.size > 0 ? connect : ["'none'"])],
    ['base-uri', "'none'"],
    ['form-action', "'none'"],
    ['frame-ancestors', "'none'"],
    ['object-src', "'none'"],
  ];
  return directives.map((d) => d.join(' ')).join('; ');
}
