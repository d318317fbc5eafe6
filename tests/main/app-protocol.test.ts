import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_ENTRY_URL, contentTypeFor, isAppUrl, resolveAppPath, serveAppRequest } from '../../src/main/app-protocol.js';

const root = resolve('/srv/backlot/dist/renderer');

describe('resolveAppPath', () => {
  it('maps app URLs to files under the renderer folder', () => {
    expect(resolveAppPath(root, 'app://backlot/index.html')).toEqual({ ok: true, path: join(root, 'index.html') });
    expect(resolveAppPath(root, 'app://backlot/assets/index-abc123.js')).toEqual({ ok: true, path: join(root, 'assets', 'index-abc123.js') });
    expect(resolveAppPath(root, 'app://backlot/assets/a%20b.css?v=1#x')).toEqual({ ok: true, path: join(root, 'assets', 'a b.css') });
  });

  it('serves index.html for the bare origin', () => {
    expect(resolveAppPath(root, 'app://backlot/')).toEqual({ ok: true, path: join(root, 'index.html') });
    expect(resolveAppPath(root, 'app://backlot')).toEqual({ ok: true, path: join(root, 'index.html') });
  });

  it.each([
    'app://backlot/..%2f..%2fetc%2fpasswd',
    'app://backlot/assets/..%2F..%2F..%2Fetc/passwd',
    'app://backlot/%2e%2e%2f%2e%2e%2fetc/passwd',
    'app://backlot/..%5c..%5cwindows%5cwin.ini',
    'app://backlot/..\\..\\etc\\passwd',
    'app://backlot/%2fetc%2fpasswd',
    'app://backlot/C:%5cWindows%5cwin.ini',
    'app://backlot/c%3A/Windows/win.ini',
    'app://backlot/index.html%00.png',
    'app://backlot/%E0%A4%A',
  ])('refuses %s', (url) => {
    const result = resolveAppPath(root, url);
    expect(result.ok).toBe(false);
  });

  it('never escapes the root even when the URL parser folds dot segments', () => {
    // The WHATWG parser turns these into /etc/passwd, which must still resolve *inside* the root.
    for (const url of ['app://backlot/../../etc/passwd', 'app://backlot/%2e%2e/%2e%2e/etc/passwd', 'app://backlot/.%2e/etc/passwd']) {
      const result = resolveAppPath(root, url);
      expect(result).toEqual({ ok: true, path: join(root, 'etc', 'passwd') });
    }
  });

  it.each(['file:///etc/passwd', 'app://evil/index.html', 'https://backlot/index.html', '/etc/passwd', 'not a url'])(
    'refuses a URL that is not ours: %s',
    (url) => {
      expect(resolveAppPath(root, url).ok).toBe(false);
    },
  );
});

describe('isAppUrl', () => {
  it('accepts only our scheme and host', () => {
    expect(isAppUrl(APP_ENTRY_URL)).toBe(true);
    expect(isAppUrl('app://backlot')).toBe(true);
    expect(isAppUrl('app://backlot.evil.example/')).toBe(false);
    expect(isAppUrl('https://backlot/')).toBe(false);
    expect(isAppUrl('file:///srv/backlot/dist/renderer/index.html')).toBe(false);
    expect(isAppUrl('')).toBe(false);
  });
});

describe('serveAppRequest', () => {
  const files = new Map([[join(root, 'index.html'), '<!doctype html><title>Backlot</title>']]);
  const options = {
    rootDir: root,
    readFile: (path: string): Promise<Uint8Array> => {
      const text = files.get(path);
      return text === undefined ? Promise.reject(new Error('ENOENT')) : Promise.resolve(new TextEncoder().encode(text));
    },
    csp: () => "default-src 'none'",
  };

  it('serves a file with its type, the CSP and nosniff', async () => {
    const response = await serveAppRequest('app://backlot/', options);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toContain('<title>Backlot</title>');
  });

  it('answers 404 for a missing file and for a refused path, without saying which', async () => {
    const missing = await serveAppRequest('app://backlot/nope.js', options);
    const refused = await serveAppRequest('app://backlot/..%2f..%2fetc%2fpasswd', options);
    expect(missing.status).toBe(404);
    expect(refused.status).toBe(404);
    expect(await refused.text()).toBe(await missing.text());
    expect(refused.headers.get('content-security-policy')).toBe("default-src 'none'");
  });

  it('never lets the browser guess a content type', () => {
    expect(contentTypeFor('/x/app.js')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeFor('/x/unknown.bin')).toBe('application/octet-stream');
  });
});
