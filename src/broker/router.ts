/** A minimal method + path router with `:param` segments (no dependency needed for a dozen routes). */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The peer address (for throttling and the audit log). */
  ip: string;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

const PARAM_VALUE = /^[A-Za-z0-9._@-]{1,128}$/;

export class Router {
  private readonly routes: Route[] = [];

  on(method: string, path: string, handler: Handler): this {
    this.routes.push({ method, parts: path.split('/').filter(Boolean), handler });
    return this;
  }

  /** The handler and params for a request, `'method'` when the path exists with another method, or undefined. */
  match(method: string, pathname: string): { handler: Handler; params: Record<string, string> } | 'method' | undefined {
    const parts = pathname.split('/').filter(Boolean);
    let pathMatched = false;
    for (const route of this.routes) {
      if (route.parts.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const want = route.parts[i]!;
        let got: string;
        try {
          got = decodeURIComponent(parts[i]!);
        } catch {
          return undefined;
        }
        if (want.startsWith(':')) {
          if (PARAM_VALUE.test(got)) params[want.slice(1)] = got;
          else ok = false;
        } else if (want !== got) ok = false;
      }
      if (!ok) continue;
      pathMatched = true;
      if (route.method === method) return { handler: route.handler, params };
    }
    return pathMatched ? 'method' : undefined;
  }
}
