/**
 * Hostile input: arbitrary and malformed HTTP requests and WebSocket frames
 * against a real broker process. It must stay up, never answer 5xx, and answer
 * every refusal with a well-formed error.
 */
import fc from 'fast-check';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ApiError, BrokerToClient, BrokerToHost } from '../../src/shared/protocol.js';
import { api, startBrokerProcess, type BrokerProcess } from './helpers/broker-process.js';

let b: BrokerProcess;
let token: string;

beforeAll(async () => {
  b = await startBrokerProcess({ security: { addressMaxFailures: 10_000 } });
  await b.admin.createUser('test', { username: 'ana', displayName: 'Ana', password: 'correct horse battery' });
  token = (await api(b.url, 'POST', '/api/login', { username: 'ana', password: 'correct horse battery' })).json.accessToken;
}, 30_000);
afterAll(() => b?.stop());

const paths = [
  '/api/login',
  '/api/login/totp',
  '/api/token/refresh',
  '/api/logout',
  '/api/workstations',
  '/api/sessions',
  '/api/enrol',
  '/api/admin/users',
  '/api/admin/users/ana',
  '/api/admin/audit',
  '/api/nope',
  '/api/admin/users/%E0%A4%A',
  '/api/admin/users/..%2f..%2fetc',
];

function send(method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; text: string }> {
  const { port } = new URL(b.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const validLogin = JSON.stringify({ username: 'ana', password: 'x' });
const bodies = fc.oneof(
  fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
  fc.json({ maxDepth: 4 }).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  // Valid JSON with one character changed or cut short.
  fc.tuple(fc.nat(validLogin.length - 1), fc.string({ minLength: 1, maxLength: 1 })).map(([i, c]) => Buffer.from(validLogin.slice(0, i) + c + validLogin.slice(i + 1))),
  fc.nat(validLogin.length).map((n) => Buffer.from(validLogin.slice(0, n))),
  fc.constant(Buffer.alloc(20_000, 0x61)),
);

describe('HTTP fuzz', () => {
  it('answers arbitrary requests without a 5xx, with a well-formed error for every refusal', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT'),
        fc.constantFrom(...paths),
        fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', ''),
        fc.boolean(),
        bodies,
        async (method, path, type, withToken, body) => {
          const headers: Record<string, string> = {};
          if (type) headers['content-type'] = type;
          if (withToken) headers.authorization = `Bearer ${token}`;
          const { status, text } = await send(method, path, headers, body);
          expect(status).toBeGreaterThanOrEqual(200);
          expect(status, text).toBeLessThan(500);
          if (status >= 400) expect(ApiError.safeParse(JSON.parse(text)).success, text).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
    expect(b.exited()).toBe(false);
    expect(b.output()).not.toMatch(/unhandled error/);
  }, 120_000);
});

/** Sends frames on a fresh socket and collects what comes back until it closes. */
function wsExchange(path: string, frames: (string | Buffer)[]): Promise<{ messages: string[]; code: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(b.url.replace('http', 'ws') + path);
    const messages: string[] = [];
    const timer = setTimeout(() => ws.terminate(), 1_500);
    ws.on('open', () => {
      for (const f of frames) ws.send(f);
    });
    ws.on('message', (d) => messages.push((d as Buffer).toString('utf8')));
    ws.on('error', () => undefined);
    ws.on('close', (code) => {
      clearTimeout(timer);
      resolve({ messages, code });
    });
  });
}

const frames = fc.array(
  fc.oneof(
    fc.json({ maxDepth: 4 }),
    fc.string({ maxLength: 100 }),
    fc.constantFrom(
      '{"type":"auth","grantToken":"' + 'A'.repeat(43) + '"}',
      '{"type":"auth","workstationId":"ws-1","secret":"' + 'B'.repeat(43) + '"}',
      '{"type":"signal","data":{"type":"offer","sdp":"x"}}',
      '{"type":"session.accept","sessionId":"s"}',
      '{"type":"bye"}',
      '{"type":"auth"}',
      'null',
      '[]',
    ),
    fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  ),
  { minLength: 1, maxLength: 5 },
);

describe('WebSocket fuzz', () => {
  it('refuses arbitrary frames with well-formed errors and closes, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/ws/client', '/ws/host'), frames, async (path, sent) => {
        const { messages, code } = await wsExchange(path, sent);
        const schema = path === '/ws/client' ? BrokerToClient : BrokerToHost;
        for (const m of messages) expect(schema.safeParse(JSON.parse(m)).success, m).toBe(true);
        // Nothing here holds a valid credential, so every socket ends refused (or is dropped by the test's timer).
        expect([4400, 4401, 1005, 1006, 1009]).toContain(code);
        expect(messages.some((m) => /"type":"ready"/.test(m))).toBe(false);
      }),
      { numRuns: 150 },
    );
    expect((await fetch(`${b.url}/healthz`)).status).toBe(200);
    expect(b.exited()).toBe(false);
  }, 180_000);
});
