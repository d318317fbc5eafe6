/**
 * Enrolment, presence, grants and signalling against a real broker process:
 * and that nobody reaches a workstation or session that is not theirs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startBrokerProcess, type BrokerProcess } from './helpers/broker-process.js';
import { WsPeer } from './helpers/ws-peer.js';

let b: BrokerProcess;
const PW = 'correct horse battery';
const secrets: Record<string, string> = {};
let wsUrl: string;

async function token(username: string): Promise<string> {
  const r = await api(b.url, 'POST', '/api/login', { username, password: PW });
  expect(r.status).toBe(200);
  return r.json.accessToken as string;
}

async function enrol(workstationId: string): Promise<string> {
  const { code } = b.admin.createEnrolmentCode('test', workstationId);
  const r = await api(b.url, 'POST', '/api/enrol', { code: code.toLowerCase(), hostname: `${workstationId}.studio.lan` });
  expect(r.status).toBe(201);
  expect(r.json).toMatchObject({ workstationId, secret: expect.any(String) });
  return r.json.secret as string;
}

async function host(workstationId: string): Promise<WsPeer> {
  const h = await WsPeer.open(`${wsUrl}/ws/host`);
  h.send({ type: 'auth', workstationId, secret: secrets[workstationId] });
  expect(await h.next()).toEqual({ type: 'ready', workstationId });
  return h;
}

async function grant(access: string, workstationId: string): Promise<any> {
  const r = await api(b.url, 'POST', '/api/sessions', { workstationId }, access);
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return r.json;
}

async function client(grantToken: string): Promise<WsPeer> {
  const c = await WsPeer.open(`${wsUrl}/ws/client`);
  c.send({ type: 'auth', grantToken });
  return c;
}

beforeAll(async () => {
  b = await startBrokerProcess({
    security: { grantSeconds: 2 },
    policy: { clipboard: 'host-to-client', maxFps: 30 },
    turn: { urls: ['turn:127.0.0.1:3478?transport=udp'], ttlSeconds: 600 },
  }, { BACKLOT_TURN_SECRET: 'a-turn-secret-of-some-length' });
  wsUrl = b.url.replace('http', 'ws');
  for (const u of ['ana', 'bo', 'cy']) await b.admin.createUser('test', { username: u, displayName: u, password: PW });
  for (const id of ['ws-1', 'ws-2', 'ws-3']) b.admin.createWorkstation('test', { id, name: id.toUpperCase() });
  b.admin.assign('test', { workstationId: 'ws-1', user: 'ana' });
  b.admin.assign('test', { workstationId: 'ws-2', user: 'bo' });
  b.admin.createGroup('test', 'comp');
  b.admin.addGroupMember('test', 'comp', 'cy');
  b.admin.assign('test', { workstationId: 'ws-3', group: 'comp' });
  for (const id of ['ws-1', 'ws-2', 'ws-3']) secrets[id] = await enrol(id);
}, 30_000);
afterAll(() => b?.stop());

describe('enrolment', () => {
  it('trades a one-time code for a host credential, once', async () => {
    b.admin.createWorkstation('test', { id: 'ws-new', name: 'WS-NEW' });
    const { code } = b.admin.createEnrolmentCode('test', 'ws-new');
    expect((await api(b.url, 'POST', '/api/enrol', { code, hostname: 'new' })).status).toBe(201);
    const again = await api(b.url, 'POST', '/api/enrol', { code, hostname: 'evil' });
    expect(again).toMatchObject({ status: 403, json: { error: { code: 'ERR_ENROLMENT_CODE' } } });
    expect((await api(b.url, 'POST', '/api/enrol', { code: 'AAAAA-BBBBB-CCCCC-DDDDD', hostname: 'x' })).json.error.code).toBe('ERR_ENROLMENT_CODE');
    expect(b.store.getWorkstation('ws-new')?.hostname).toBe('new');
    expect(b.store.queryAudit({ action: 'enrol' }).map((e) => e.action)).toEqual(expect.arrayContaining(['enrol.success', 'enrol.failure']));
  });

  it('refuses a host with a wrong or another workstation\'s secret', async () => {
    for (const secret of [secrets['ws-2'], 'x'.repeat(43)]) {
      const h = await WsPeer.open(`${wsUrl}/ws/host`);
      h.send({ type: 'auth', workstationId: 'ws-1', secret });
      expect(await h.next()).toMatchObject({ type: 'error', code: 'ERR_UNAUTHORIZED' });
      expect(await h.closed).toBe(4401);
    }
  });
});

describe('presence and grants', () => {
  it('shows presence from the host socket, and grants only online, assigned workstations', async () => {
    const ana = await token('ana');
    expect((await api(b.url, 'GET', '/api/workstations', undefined, ana)).json.workstations).toEqual([{ id: 'ws-1', name: 'WS-1', online: false, inUse: false }]);
    expect((await api(b.url, 'POST', '/api/sessions', { workstationId: 'ws-1' }, ana)).json.error.code).toBe('ERR_WORKSTATION_OFFLINE');
    const h = await host('ws-1');
    expect((await api(b.url, 'GET', '/api/workstations', undefined, ana)).json.workstations[0].online).toBe(true);
    const g = await grant(ana, 'ws-1');
    expect(g.policy).toMatchObject({ clipboard: 'host-to-client', maxFps: 30 });
    const turn = g.iceServers.find((s: any) => String(s.urls).startsWith('turn:'));
    expect(turn.username).toMatch(/^\d+:ana$/);
    expect(Number(turn.username.split(':')[0])).toBeGreaterThan(Date.now() / 1000 + 500);
    h.ws.close();
    await h.closed;
    await expect.poll(async () => (await api(b.url, 'GET', '/api/workstations', undefined, ana)).json.workstations[0].online).toBe(false);
  });

  it('expires an unredeemed grant and redeems a grant only once', async () => {
    const h = await host('ws-1');
    const ana = await token('ana');
    const stale = await grant(ana, 'ws-1');
    await new Promise((r) => setTimeout(r, 2_200));
    const late = await client(stale.grantToken);
    expect(await late.next()).toMatchObject({ type: 'error', code: 'ERR_GRANT_EXPIRED' });

    const g = await grant(ana, 'ws-1');
    const first = await client(g.grantToken);
    expect(await first.next()).toEqual({ type: 'ready', sessionId: g.sessionId });
    expect(await h.next()).toMatchObject({ type: 'session.start', sessionId: g.sessionId, user: 'ana', policy: { clipboard: 'host-to-client' } });
    const second = await client(g.grantToken);
    expect(await second.next()).toMatchObject({ type: 'error', code: 'ERR_GRANT_USED' });
    first.ws.close();
    expect(await h.next()).toMatchObject({ type: 'session.end', sessionId: g.sessionId });
    h.ws.close();
  });

  it('relays signalling between the two ends of one session only, holding the offer until the host joins', async () => {
    const h1 = await host('ws-1');
    const h2 = await host('ws-2');
    const g = await grant(await token('ana'), 'ws-1');
    const c = await client(g.grantToken);
    expect((await c.next()).type).toBe('ready');
    c.send({ type: 'signal', data: { type: 'offer', sdp: 'v=0 offer' } });
    expect(await h1.next()).toMatchObject({ type: 'session.start', sessionId: g.sessionId });
    // The host of another workstation cannot accept, signal into or end this session.
    for (const msg of [
      { type: 'session.accept', sessionId: g.sessionId },
      { type: 'signal', sessionId: g.sessionId, data: { type: 'answer', sdp: 'evil' } },
      { type: 'session.end', sessionId: g.sessionId, reason: 'evil' },
    ]) {
      h2.send(msg);
      expect(await h2.next()).toMatchObject({ type: 'error', code: 'ERR_NOT_FOUND' });
    }
    expect(await c.silent()).toBe(true);
    h1.send({ type: 'session.accept', sessionId: g.sessionId });
    expect(await h1.next()).toEqual({ type: 'signal', sessionId: g.sessionId, data: { type: 'offer', sdp: 'v=0 offer' } });
    expect(await c.next()).toEqual({ type: 'peer.joined' });
    h1.send({ type: 'signal', sessionId: g.sessionId, data: { type: 'answer', sdp: 'v=0 answer' } });
    expect(await c.next()).toEqual({ type: 'signal', data: { type: 'answer', sdp: 'v=0 answer' } });
    // A client cannot name another session: its messages carry no session id, and extra fields are refused.
    c.send({ type: 'signal', sessionId: 'ses-other', data: { type: 'answer', sdp: 'x' } });
    expect(await c.next()).toMatchObject({ type: 'error', code: 'ERR_BAD_REQUEST' });
    expect(await c.closed).toBe(4400);
    expect(await h1.next()).toMatchObject({ type: 'session.end', sessionId: g.sessionId });
    h1.ws.close();
    h2.ws.close();
    const actions = b.store.queryAudit({ action: 'session' }).filter((e) => e.detail?.sessionId === g.sessionId).map((e) => e.action);
    expect(actions.sort()).toEqual(['session.end', 'session.start']);
  });

  it('never grants a workstation that is not the user\'s, however it is asked for', async () => {
    const h = await host('ws-2');
    const ana = await token('ana');
    for (const workstationId of ['ws-2', 'ws-404', 'WS-2', 'ws-3']) {
      const r = await api(b.url, 'POST', '/api/sessions', { workstationId }, ana);
      expect(r, workstationId).toMatchObject({ status: 403, json: { error: { code: 'ERR_FORBIDDEN' } } });
    }
    for (const body of [{ workstationId: '../ws-2' }, { workstationId: 'ws-1', user: 'bo' }, { workstationId: ['ws-2'] }, {}]) {
      expect((await api(b.url, 'POST', '/api/sessions', body, ana)).status, JSON.stringify(body)).toBe(400);
    }
    expect((await api(b.url, 'POST', '/api/sessions', { workstationId: 'ws-2' })).status).toBe(401);
    expect((await api(b.url, 'POST', '/api/sessions', { workstationId: 'ws-2' }, secrets['ws-2'])).status).toBe(401);
    // A forged grant token opens nothing.
    const forged = await client('A'.repeat(43));
    expect(await forged.next()).toMatchObject({ type: 'error', code: 'ERR_UNAUTHORIZED' });
    expect(await h.silent()).toBe(true);
    // Group membership grants access; leaving the group takes it away.
    const cy = await token('cy');
    expect((await api(b.url, 'GET', '/api/workstations', undefined, cy)).json.workstations.map((w: any) => w.id)).toEqual(['ws-3']);
    b.admin.removeGroupMember('test', 'comp', 'cy');
    expect((await api(b.url, 'POST', '/api/sessions', { workstationId: 'ws-3' }, cy)).status).toBe(403);
    h.ws.close();
  });

  it('refuses a workstation in use by someone else, and lets a user replace their own session', async () => {
    b.admin.assign('test', { workstationId: 'ws-2', user: 'ana' });
    const h = await host('ws-2');
    const bo = await token('bo');
    const first = await client((await grant(bo, 'ws-2')).grantToken);
    expect((await first.next()).type).toBe('ready');
    expect((await h.next()).type).toBe('session.start');
    const ana = await token('ana');
    const busy = await api(b.url, 'POST', '/api/sessions', { workstationId: 'ws-2' }, ana);
    expect(busy).toMatchObject({ status: 409, json: { error: { code: 'ERR_WORKSTATION_IN_USE' } } });
    expect((await api(b.url, 'GET', '/api/workstations', undefined, ana)).json.workstations.find((w: any) => w.id === 'ws-2').inUse).toBe(true);
    // Bo reconnecting (a new grant while the old session lingers) replaces the old session.
    const again = await client((await grant(bo, 'ws-2')).grantToken);
    expect(await first.next()).toMatchObject({ type: 'peer.left', reason: 'replaced by a new connection' });
    expect((await again.next()).type).toBe('ready');
    expect((await h.next()).type).toBe('session.end');
    expect((await h.next()).type).toBe('session.start');
    again.ws.close();
    h.ws.close();
  });
});

describe('admin API', () => {
  it('is for admins only, and every change is audited', async () => {
    const ana = await token('ana');
    for (const [method, path] of [
      ['GET', '/api/admin/users'],
      ['GET', '/api/admin/audit'],
      ['POST', '/api/admin/workstations/ws-1/enrolment-code'],
      ['DELETE', '/api/admin/users/bo'],
    ] as const) {
      expect((await api(b.url, method, path, undefined, ana)).status, path).toBe(403);
    }
    await b.admin.createUser('test', { username: 'root', displayName: 'IT', role: 'admin', password: PW });
    const it = await token('root');
    const created = await api(b.url, 'POST', '/api/admin/users', { username: 'dora', displayName: 'Dora', password: PW }, it);
    expect(created).toMatchObject({ status: 201, json: { username: 'dora', role: 'artist', totpEnrolled: false } });
    expect(JSON.stringify(created.json)).not.toMatch(/scrypt|hash/);
    expect((await api(b.url, 'POST', '/api/admin/workstations', { id: 'ws-9', name: 'WS-9' }, it)).status).toBe(204);
    expect((await api(b.url, 'POST', '/api/admin/assignments', { workstationId: 'ws-9', user: 'dora' }, it)).status).toBe(204);
    const code = await api(b.url, 'POST', '/api/admin/workstations/ws-9/enrolment-code', undefined, it);
    expect(code.json.code).toMatch(/^[A-Z0-9]{5}(-[A-Z0-9]{5}){3}$/);
    const totp = await api(b.url, 'POST', '/api/admin/users/dora/totp', undefined, it);
    expect(totp.json.uri).toMatch(/^otpauth:\/\/totp\//);
    expect((await api(b.url, 'POST', '/api/admin/assignments', { workstationId: 'ws-9', user: 'ghost' }, it)).status).toBe(404);
    expect((await api(b.url, 'POST', '/api/admin/groups', { name: 'bad name!' }, it)).status).toBe(400);
    const audit = await api(b.url, 'GET', '/api/admin/audit?actor=root&limit=50', undefined, it);
    expect(audit.json.entries.map((e: any) => e.action)).toEqual(
      expect.arrayContaining(['admin.user.create', 'admin.workstation.create', 'admin.assign', 'admin.enrol.code-created', 'admin.user.totp-enrol']),
    );
    expect((await api(b.url, 'GET', '/api/admin/audit?limit=abc', undefined, it)).status).toBe(400);
    expect(b.store.queryAudit({ action: 'admin.denied', actor: 'ana' }).length).toBeGreaterThanOrEqual(4);
  });
});
