import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BrokerClient, MAX_BROKER_RESPONSE_BYTES } from '../../src/main/broker-client.js';
import { ACCESS_TOKEN, GOOD_PASSWORD, GRANT, WORKSTATIONS, closedPort, failure, startFakeBroker, type FakeBroker } from './fake-broker.js';

describe('BrokerClient against a real HTTP server', () => {
  let broker: FakeBroker;
  beforeEach(async () => {
    broker = await startFakeBroker();
  });
  afterEach(async () => {
    await broker.close();
  });

  it('signs in, lists workstations and requests a grant, sending the bearer token', async () => {
    const client = new BrokerClient();
    const outcome = await client.login(broker.url, { username: 'ana', password: GOOD_PASSWORD });
    expect(outcome).toEqual({ status: 'ok', user: { username: 'ana', displayName: 'Ana Artist' } });
    expect(await client.listWorkstations()).toEqual(WORKSTATIONS);
    expect(await client.requestSession({ workstationId: 'ws-042' })).toEqual(GRANT);

    expect(broker.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/login', 'GET /api/workstations', 'POST /api/sessions']);
    expect(broker.requests[0]?.authorization).toBeUndefined();
    expect(broker.requests[1]?.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(JSON.parse(broker.requests[2]?.body ?? '')).toEqual({ workstationId: 'ws-042' });
  });

  it('keeps the access token to itself', async () => {
    const client = new BrokerClient();
    const user = await client.login(broker.url, { username: 'ana', password: GOOD_PASSWORD });
    expect(JSON.stringify(user)).not.toContain(ACCESS_TOKEN);
    expect(inspect(client, { depth: 10, showHidden: true })).not.toContain(ACCESS_TOKEN);
    expect(JSON.stringify(client)).not.toContain(ACCESS_TOKEN);
  });

  it("passes the broker's own error code through (wrong password)", async () => {
    const err = await failure(new BrokerClient().login(broker.url, { username: 'ana', password: 'wrong' }));
    expect(err.code).toBe('ERR_BAD_CREDENTIALS');
    expect(err.message).toBe('wrong username or password');
  });

  it('reports an account that needs a one-time code, and stays signed out until the code', async () => {
    const client = new BrokerClient();
    expect(await client.login(broker.url, { username: 'mfa-user', password: GOOD_PASSWORD })).toEqual({ status: 'mfa-required' });
    expect(client.brokerUrl).toBeNull();
  });

  it('maps a 401 to ERR_UNAUTHORIZED and forgets the rejected token', async () => {
    const client = new BrokerClient();
    await client.login(broker.url, { username: 'ana', password: GOOD_PASSWORD });
    broker.override.set('/api/workstations', { status: 401, body: JSON.stringify({ error: { code: 'ERR_UNAUTHORIZED', message: 'sign in again' } }) });
    expect((await failure(client.listWorkstations())).code).toBe('ERR_UNAUTHORIZED');
    expect(client.brokerUrl).toBeNull();
    // Without a session, the client does not even call the broker.
    const before = broker.requests.length;
    expect((await failure(client.requestSession({ workstationId: 'ws-042' }))).code).toBe('ERR_UNAUTHORIZED');
    expect(broker.requests.length).toBe(before);
  });

  it('maps an error status without an ApiError body by its status', async () => {
    broker.override.set('/api/login', { status: 401, body: '<html>proxy says no</html>' });
    expect((await failure(new BrokerClient().login(broker.url, { username: 'ana', password: 'x' }))).code).toBe('ERR_UNAUTHORIZED');
    broker.override.set('/api/login', { status: 502, body: 'Bad gateway' });
    expect((await failure(new BrokerClient().login(broker.url, { username: 'ana', password: 'x' }))).code).toBe('ERR_INTERNAL');
  });

  it.each([
    ['not JSON', '{"accessToken": '],
    ['JSON of the wrong shape', JSON.stringify({ status: 'ok', accessToken: 'short', expiresAt: 1, user: { username: 'ana', displayName: 'Ana' } })],
    ['JSON with extra fields', JSON.stringify({ status: 'ok', accessToken: ACCESS_TOKEN, expiresAt: 1, user: { username: 'a', displayName: 'A' }, admin: true })],
  ])('refuses a successful reply that is %s', async (_name, body) => {
    broker.override.set('/api/login', { status: 200, body });
    const client = new BrokerClient();
    expect((await failure(client.login(broker.url, { username: 'ana', password: GOOD_PASSWORD }))).code).toBe('ERR_PROTOCOL');
    expect(client.brokerUrl).toBeNull();
  });

  it('does not follow redirects (they would carry the password elsewhere)', async () => {
    broker.override.set('/api/login', { status: 307, body: '', headers: { location: 'http://127.0.0.1:1/steal' } });
    expect((await failure(new BrokerClient().login(broker.url, { username: 'ana', password: GOOD_PASSWORD }))).code).toBe('ERR_PROTOCOL');
  });

  it('refuses a reply larger than the limit', async () => {
    // A valid reply (displayName has no length limit), so only the size cap can refuse it.
    const user = { username: 'ana', displayName: 'x'.repeat(MAX_BROKER_RESPONSE_BYTES) };
    broker.override.set('/api/login', { status: 200, body: JSON.stringify({ status: 'ok', accessToken: ACCESS_TOKEN, expiresAt: 1, user }) });
    const err = await failure(new BrokerClient().login(broker.url, { username: 'ana', password: GOOD_PASSWORD }));
    expect(err.code).toBe('ERR_PROTOCOL');
    expect(err.message).toContain('too large');
  });

  it('treats a broker that does not answer in time as unreachable', async () => {
    broker.hang.add('/api/login');
    const err = await failure(new BrokerClient({ timeoutMs: 200 }).login(broker.url, { username: 'ana', password: GOOD_PASSWORD }));
    expect(err.code).toBe('ERR_BROKER_UNREACHABLE');
  });
});

describe('BrokerClient with nothing listening', () => {
  it('maps a refused connection to ERR_BROKER_UNREACHABLE with an actionable message', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const err = await failure(new BrokerClient().login(url, { username: 'ana', password: GOOD_PASSWORD }));
    expect(err.code).toBe('ERR_BROKER_UNREACHABLE');
    expect(err.message).toContain(url);
    expect(err.message).toMatch(/network|VPN/);
  });
});
