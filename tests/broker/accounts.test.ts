/** Sign-in against a real broker process and SQLite file: passwords, TOTP, lockout, throttling, refresh and revocation. */
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, runCli, startBrokerProcess, type BrokerProcess } from './helpers/broker-process.js';

let b: BrokerProcess;
const PW = 'correct horse battery';

beforeAll(async () => {
  b = await startBrokerProcess({ security: { lockoutThreshold: 3, lockoutMinutes: 10, addressMaxFailures: 1000 } });
  for (const username of ['ana', 'bo', 'cy', 'dee', 'eve']) await b.admin.createUser('test', { username, displayName: username.toUpperCase(), password: PW });
}, 30_000);
afterAll(() => b?.stop());

const login = (username: string, password = PW) => api(b.url, 'POST', '/api/login', { username, password });

function codeFor(secret: string, offsetSteps = 0): string {
  return new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + offsetSteps * 30_000 });
}

describe('password sign-in', () => {
  it('signs in with the right password and gets an access and a refresh token', async () => {
    const { status, json } = await login('ana');
    expect(status).toBe(200);
    expect(json).toMatchObject({ status: 'ok', user: { username: 'ana', displayName: 'ANA', role: 'artist' } });
    expect(json.accessToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(json.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const list = await api(b.url, 'GET', '/api/workstations', undefined, json.accessToken);
    expect(list).toEqual({ status: 200, json: { workstations: [] } });
  });

  it('answers a wrong password and an unknown user the same way', async () => {
    const wrong = await login('ana', 'nope nope nope');
    const unknown = await login('nobody', 'nope nope nope');
    expect(wrong).toEqual({ status: 401, json: { error: { code: 'ERR_BAD_CREDENTIALS', message: 'wrong username or password' } } });
    expect(unknown).toEqual(wrong);
  });

  it('locks an account after repeated failures, even against the right password, until an admin unlocks it', async () => {
    for (let i = 0; i < 3; i++) expect((await login('bo', 'wrong password')).status).toBe(401);
    const locked = await login('bo');
    expect(locked.status).toBe(403);
    expect(locked.json.error.code).toBe('ERR_LOCKED_OUT');
    const cli = await runCli(['user', 'unlock', 'bo', '--config', b.configPath]);
    expect(cli).toMatchObject({ code: 0 });
    expect((await login('bo')).status).toBe(200);
    const audit = b.store.queryAudit({ actor: 'bo' }).map((e) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['login.failure', 'login.locked', 'login.success']));
    expect(b.store.queryAudit({ action: 'admin.user.unlock' })[0]).toMatchObject({ target: 'bo', actor: expect.stringMatching(/^cli:/) });
  });

  it('refuses a disabled account with a clear reason', async () => {
    await b.admin.updateUser('test', 'eve', { disabled: true });
    expect((await login('eve')).json.error.code).toBe('ERR_FORBIDDEN');
  });
});

describe('TOTP', () => {
  it('asks for a code after the password, accepts it once, and refuses wrong or replayed codes', async () => {
    const { secret } = b.admin.enrolTotp('test', 'cy');
    const first = await login('cy');
    expect(first.json).toMatchObject({ status: 'mfa-required', method: 'totp' });
    expect(first.json.accessToken).toBeUndefined();
    const mfaToken = first.json.mfaToken as string;

    const wrong = await api(b.url, 'POST', '/api/login/totp', { mfaToken, code: codeFor(secret, 5) });
    expect(wrong.json.error.code).toBe('ERR_BAD_TOTP');
    const code = codeFor(secret);
    const ok = await api(b.url, 'POST', '/api/login/totp', { mfaToken, code });
    expect(ok.json).toMatchObject({ status: 'ok', user: { username: 'cy' } });

    // The same code cannot be used again, even with a fresh password step.
    const again = await login('cy');
    const replay = await api(b.url, 'POST', '/api/login/totp', { mfaToken: again.json.mfaToken, code });
    expect(replay.json.error.code).toBe('ERR_BAD_TOTP');
    // A made-up MFA token gets nowhere.
    expect((await api(b.url, 'POST', '/api/login/totp', { mfaToken: 'x'.repeat(43), code })).json.error.code).toBe('ERR_UNAUTHORIZED');
    expect((await api(b.url, 'POST', '/api/login/totp', { mfaToken, code: '12345' })).status).toBe(400);
  });

  it('refuses sign-in without an authenticator when an admin requires TOTP for the user', async () => {
    await b.admin.updateUser('test', 'dee', { totpRequired: true });
    const r = await login('dee');
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('ERR_MFA_REQUIRED');
    await b.admin.updateUser('test', 'dee', { totpRequired: false });
  });
});

describe('refresh tokens', () => {
  it('rotates on use, and a reused token revokes the whole family', async () => {
    const first = (await login('ana')).json;
    const second = await api(b.url, 'POST', '/api/token/refresh', { refreshToken: first.refreshToken });
    expect(second.status).toBe(200);
    expect(second.json.refreshToken).not.toBe(first.refreshToken);
    // The old one is spent: using it again is treated as theft...
    const reuse = await api(b.url, 'POST', '/api/token/refresh', { refreshToken: first.refreshToken });
    expect(reuse.json.error.code).toBe('ERR_UNAUTHORIZED');
    // ...so the legitimate newer one stops working too, and so do the access tokens.
    expect((await api(b.url, 'POST', '/api/token/refresh', { refreshToken: second.json.refreshToken })).status).toBe(401);
    expect((await api(b.url, 'GET', '/api/workstations', undefined, second.json.accessToken)).status).toBe(401);
    expect(b.store.queryAudit({ action: 'token.reuse-detected' })[0]).toMatchObject({ actor: 'ana' });
  });

  it('is revoked by sign-out and by an admin', async () => {
    const s1 = (await login('ana')).json;
    expect((await api(b.url, 'POST', '/api/logout', { refreshToken: s1.refreshToken }, s1.accessToken)).status).toBe(204);
    expect((await api(b.url, 'POST', '/api/token/refresh', { refreshToken: s1.refreshToken })).status).toBe(401);
    expect((await api(b.url, 'GET', '/api/workstations', undefined, s1.accessToken)).status).toBe(401);

    const s2 = (await login('ana')).json;
    const cli = await runCli(['user', 'revoke', 'ana', '--config', b.configPath]);
    expect(cli.stdout).toMatch(/revoked [1-9]\d* refresh token/);
    expect((await api(b.url, 'POST', '/api/token/refresh', { refreshToken: s2.refreshToken })).status).toBe(401);
  });
});

describe('address throttling', () => {
  it('refuses an address after too many failures, whatever the account', async () => {
    const t = await startBrokerProcess({ security: { addressMaxFailures: 4, addressWindowMinutes: 5 } });
    try {
      await t.admin.createUser('test', { username: 'zoe', displayName: 'Zoe', password: PW });
      for (let i = 0; i < 4; i++) expect((await api(t.url, 'POST', '/api/login', { username: `u${i}`, password: 'wrong password' })).status).toBe(401);
      const blocked = await api(t.url, 'POST', '/api/login', { username: 'zoe', password: PW });
      expect(blocked.status).toBe(429);
      expect(blocked.json.error.code).toBe('ERR_RATE_LIMITED');
    } finally {
      await t.stop();
    }
  }, 30_000);
});
