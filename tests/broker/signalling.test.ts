/**
 * The skeleton broker over real sockets on loopback: login, grants, and the
 * signalling relay between one client and one host, including messages held
 * for a host that has not joined yet and refusal of malformed input.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { hashPassword } from '../../src/broker/passwords.js';
import { startBroker, type RunningBroker } from '../../src/broker/server.js';
import { MemoryDirectory } from '../../src/broker/store.js';
import { newToken, tokenDigest } from '../../src/broker/tokens.js';

const HOST_SECRET = newToken();
let broker: RunningBroker;

beforeAll(async () => {
  const directory = new MemoryDirectory({
    users: [
      { username: 'ana', displayName: 'Ana', passwordHash: await hashPassword('ana-password') },
      { username: 'bo', displayName: 'Bo', passwordHash: await hashPassword('bo-password') },
    ],
    workstations: [
      { id: 'ws-1', name: 'WS-1', secretDigest: tokenDigest(HOST_SECRET) },
      { id: 'ws-2', name: 'WS-2', secretDigest: tokenDigest(newToken()) },
    ],
    assignments: [
      { username: 'ana', workstationId: 'ws-1' },
      { username: 'bo', workstationId: 'ws-2' },
    ],
  });
  broker = await startBroker({ directory, logger: pino({ level: 'silent' }) });
});
afterAll(() => broker.close());

async function post(path: string, body: unknown, token?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(broker.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function login(username: string, password: string): Promise<string> {
  const { status, json } = await post('/api/login', { username, password });
  expect(status).toBe(200);
  return json.accessToken as string;
}

/** A WebSocket that queues what it receives, so a test can await the next message. */
class Peer {
  readonly ws: WebSocket;
  private readonly inbox: any[] = [];
  private waiters: ((m: any) => void)[] = [];
  closed: Promise<number>;

  constructor(path: string) {
    this.ws = new WebSocket(broker.url.replace('http', 'ws') + path);
    this.ws.on('message', (d) => {
      const msg = JSON.parse((d as Buffer).toString("utf8"));
      const w = this.waiters.shift();
      if (w) w(msg);
      else this.inbox.push(msg);
    });
    this.closed = new Promise((r) => this.ws.on('close', (code) => r(code)));
  }
  async open(): Promise<this> {
    if (this.ws.readyState !== WebSocket.OPEN) await new Promise((r) => this.ws.once('open', r));
    return this;
  }
  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }
  next(timeoutMs = 3000): Promise<any> {
    const queued = this.inbox.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no message')), timeoutMs);
      this.waiters.push((m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
  }
}

async function connectHost(): Promise<Peer> {
  const host = await new Peer('/ws/host').open();
  host.send({ type: 'auth', workstationId: 'ws-1', secret: HOST_SECRET });
  expect(await host.next()).toEqual({ type: 'ready', workstationId: 'ws-1' });
  return host;
}

describe('login', () => {
  it('accepts the right password and refuses a wrong one or an unknown user alike', async () => {
    expect((await post('/api/login', { username: 'ana', password: 'ana-password' })).status).toBe(200);
    const wrong = await post('/api/login', { username: 'ana', password: 'nope' });
    const unknown = await post('/api/login', { username: 'zed', password: 'nope' });
    expect(wrong).toEqual({ status: 401, json: { error: { code: 'ERR_BAD_CREDENTIALS', message: 'wrong username or password' } } });
    expect(unknown).toEqual(wrong);
  });

  it('refuses malformed, oversized and mistyped bodies with a reason', async () => {
    expect((await post('/api/login', '{"username":')).json.error.code).toBe('ERR_BAD_REQUEST');
    expect((await post('/api/login', { username: 'ana' })).json.error.message).toMatch(/password/);
    expect((await post('/api/login', { username: 'ana', password: 'x', extra: 1 })).status).toBe(400);
    expect((await post('/api/login', { username: 'ana', password: 'x'.repeat(40_000) })).status).toBe(413);
    const res = await fetch(broker.url + '/api/login', { method: 'POST', body: 'username=ana', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(415);
  });
});

describe('grants', () => {
  it('lists only assigned workstations with presence, and grants only those', async () => {
    const host = await connectHost();
    const ana = await login('ana', 'ana-password');
    const list = await (await fetch(broker.url + '/api/workstations', { headers: { authorization: `Bearer ${ana}` } })).json();
    expect(list).toEqual({ workstations: [{ id: 'ws-1', name: 'WS-1', online: true, inUse: false }] });
    expect((await post('/api/sessions', { workstationId: 'ws-2' }, ana)).json.error.code).toBe('ERR_FORBIDDEN');
    expect((await post('/api/sessions', { workstationId: 'ws-nope' }, ana)).json.error.code).toBe('ERR_FORBIDDEN');
    expect((await post('/api/sessions', { workstationId: 'ws-1' })).json.error.code).toBe('ERR_UNAUTHORIZED');
    expect((await post('/api/sessions', { workstationId: 'ws-1' }, 'x'.repeat(43))).json.error.code).toBe('ERR_UNAUTHORIZED');
    const bo = await login('bo', 'bo-password');
    expect((await post('/api/sessions', { workstationId: 'ws-2' }, bo)).json.error.code).toBe('ERR_WORKSTATION_OFFLINE');
    const grant = await post('/api/sessions', { workstationId: 'ws-1' }, ana);
    expect(grant.status).toBe(201);
    expect(grant.json.signalUrl).toBe(broker.url.replace('http', 'ws') + '/ws/client');
    host.ws.close();
    await host.closed;
  });
});

describe('signalling relay', () => {
  it('holds the client offer until the host accepts, then relays both ways', async () => {
    const host = await connectHost();
    const ana = await login('ana', 'ana-password');
    const { json: grant } = await post('/api/sessions', { workstationId: 'ws-1' }, ana);

    const client = await new Peer('/ws/client').open();
    client.send({ type: 'auth', grantToken: grant.grantToken });
    expect(await client.next()).toEqual({ type: 'ready', sessionId: grant.sessionId });
    // The offer goes out before the host has joined the session.
    client.send({ type: 'signal', data: { type: 'offer', sdp: 'v=0 offer' } });
    const start = await host.next();
    expect(start).toMatchObject({ type: 'session.start', sessionId: grant.sessionId, user: 'ana' });

    host.send({ type: 'session.accept', sessionId: grant.sessionId });
    expect(await host.next()).toEqual({ type: 'signal', sessionId: grant.sessionId, data: { type: 'offer', sdp: 'v=0 offer' } });
    expect(await client.next()).toEqual({ type: 'peer.joined' });

    host.send({ type: 'signal', sessionId: grant.sessionId, data: { type: 'answer', sdp: 'v=0 answer' } });
    expect(await client.next()).toEqual({ type: 'signal', data: { type: 'answer', sdp: 'v=0 answer' } });
    const candidate = { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMLineIndex: 0, sdpMid: '0' } };
    client.send({ type: 'signal', data: candidate });
    expect(await host.next()).toEqual({ type: 'signal', sessionId: grant.sessionId, data: candidate });

    // The workstation is now in use; a second grant is refused.
    expect((await post('/api/sessions', { workstationId: 'ws-1' }, ana)).json.error.code).toBe('ERR_WORKSTATION_IN_USE');

    // A host cannot address a session that does not exist on its workstation.
    host.send({ type: 'signal', sessionId: 'ses-other', data: { type: 'answer', sdp: 'x' } });
    expect(await host.next()).toMatchObject({ type: 'error', code: 'ERR_NOT_FOUND' });

    client.send({ type: 'bye' });
    expect(await host.next()).toMatchObject({ type: 'session.end', sessionId: grant.sessionId });
    host.ws.close();
    await host.closed;
  });

  it('redeems a grant only once', async () => {
    const host = await connectHost();
    const ana = await login('ana', 'ana-password');
    const { json: grant } = await post('/api/sessions', { workstationId: 'ws-1' }, ana);
    const first = await new Peer('/ws/client').open();
    first.send({ type: 'auth', grantToken: grant.grantToken });
    expect((await first.next()).type).toBe('ready');
    first.ws.close();
    await first.closed;
    const second = await new Peer('/ws/client').open();
    second.send({ type: 'auth', grantToken: grant.grantToken });
    expect(await second.next()).toMatchObject({ type: 'error', code: 'ERR_GRANT_USED' });
    expect(await second.closed).toBe(4401);
    host.ws.close();
  });

  it('refuses a host with a wrong secret, and malformed or unauthenticated messages, and keeps serving', async () => {
    const bad = await new Peer('/ws/host').open();
    bad.send({ type: 'auth', workstationId: 'ws-1', secret: newToken() });
    expect(await bad.next()).toMatchObject({ type: 'error', code: 'ERR_UNAUTHORIZED' });
    expect(await bad.closed).toBe(4401);

    const garbage = await new Peer('/ws/client').open();
    garbage.send('{not json');
    expect(await garbage.next()).toMatchObject({ type: 'error', code: 'ERR_BAD_REQUEST' });
    expect(await garbage.closed).toBe(4400);

    const early = await new Peer('/ws/client').open();
    early.send({ type: 'signal', data: { type: 'offer', sdp: 'x' } });
    expect(await early.next()).toMatchObject({ type: 'error', code: 'ERR_PROTOCOL' });

    const binary = await new Peer('/ws/host').open();
    binary.ws.send(Buffer.from([1, 2, 3]));
    expect(await binary.next()).toMatchObject({ type: 'error', code: 'ERR_PROTOCOL' });

    const huge = await new Peer('/ws/client').open();
    huge.send('x'.repeat(100_000));
    expect(await huge.closed).toBe(1009);

    expect((await fetch(broker.url + '/healthz')).status).toBe(200);
  });
});
