import { describe, expect, it } from 'vitest';
import { buildCsp } from '../../src/main/csp.js';

/** Parses a CSP header into directive → sources. */
function directives(csp: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of csp.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) map.set(name, sources);
  }
  return map;
}

describe('buildCsp', () => {
  it('denies by default and allows only our own scripts and styles', () => {
    const d = directives(buildCsp('https://broker.studio.example'));
    expect(d.get('default-src')).toEqual(["'none'"]);
    expect(d.get('script-src')).toEqual(["'self'"]);
    expect(d.get('style-src')).toEqual(["'self'"]);
    expect(d.get('object-src')).toEqual(["'none'"]);
    expect(d.get('base-uri')).toEqual(["'none'"]);
    expect(d.get('frame-ancestors')).toEqual(["'none'"]);
  });

  it('lets video and images come from blobs and data URLs, nothing remote', () => {
    const d = directives(buildCsp('https://broker.studio.example'));
    expect(d.get('media-src')).toEqual(["'self'", 'blob:', 'data:']);
    expect(d.get('img-src')).toEqual(["'self'", 'blob:', 'data:']);
  });

  it('connects only to the configured broker, over HTTPS and WSS', () => {
    const d = directives(buildCsp('https://broker.studio.example:8443'));
    expect(d.get('connect-src')).toEqual(['https://broker.studio.example:8443', 'wss://broker.studio.example:8443']);
  });

  it('maps a loopback http broker to ws', () => {
    const d = directives(buildCsp('http://127.0.0.1:5174'));
    expect(d.get('connect-src')).toEqual(['http://127.0.0.1:5174', 'ws://127.0.0.1:5174']);
  });

  it('connects nowhere when no broker is configured', () => {
    expect(directives(buildCsp(null)).get('connect-src')).toEqual(["'none'"]);
  });

  it('allows loopback on any port only when asked to, for the local demo', () => {
    const d = directives(buildCsp(null, { allowLoopbackDemo: true }));
    expect(d.get('connect-src')).toEqual(['http://127.0.0.1:*', 'ws://127.0.0.1:*']);
  });

  it('cannot be extended through a crafted broker URL', () => {
    const csp = buildCsp("https://broker.example; script-src 'unsafe-eval'");
    expect(csp).not.toContain('unsafe-eval');
    expect(directives(csp).get('connect-src')).toEqual(["'none'"]);
    // A path or query is not part of an origin, and plain http to a remote host is refused.
    expect(directives(buildCsp('https://broker.example/x?y')).get('connect-src')).toEqual(["'none'"]);
    expect(directives(buildCsp('http://broker.example')).get('connect-src')).toEqual(["'none'"]);
  });
});
