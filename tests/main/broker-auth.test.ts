/** The token life cycle of BrokerClient and AuthService against a real HTTP broker: TOTP, refresh with rotation, logout, the vault. */
import * as fsp from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthService } from '../../src/main/auth.js';
import { BrokerClient, type RefreshTokenUpdate } from '../../src/main/broker-client.js';
import { CredentialVault, type SafeStorageLike } from '../../src/main/vault.js';
import { aesSafeStorage } from './fake-safe-storage.js';
import { ACCESS_TOKEN, GOOD_PASSWORD, GOOD_TOTP, MFA_TOKEN, WORKSTATIONS, failure, startFakeBroker, type FakeBroker } from './fake-broker.js';


let broker: FakeBroker;
let dir: string;
beforeEach(async () => {
  broker = await startFakeBroker();
  dir = mkdtempSync(join(tmpdir(), 'backlot-auth-'));
});
afterEach(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('BrokerClient tokens', () => {
  it('completes an MFA sign-in with the kept MFA token; a wrong code is refused', async () => {
    const client = new BrokerClient();
    expect(await client.login(broker.url, { username: 'mfa-user', password: GOOD_PASSWORD })).toEqual({ status: 'mfa-required' });
    expect((await failure(client.submitTotp('000000'))).code).toBe('ERR_BAD_TOTP');
    expect(await client.submitTotp(GOOD_TOTP)).toEqual({ username: 'mfa-user', displayName: 'Ana Artist' });
    const totp = broker.requests.filter((r) => r.path === '/api/login/totp').map((r) => JSON.parse(r.body));
    expect(totp.at(-1)).toEqual({ mfaToken: MFA_TOKEN, code: GOOD_TOTP });
    expect(await client.listWorkstations()).toEqual(WORKSTATIONS);
  });

  it('refuses a code when no password step is pending', async () => {
    expect((await failure(new BrokerClient().submitTotp(GOOD_TOTP))).code).toBe('ERR_UNAUTHORIZED');
    expect(broker.requests).toHaveLength(0);
  });

  it('on a 401 refreshes once (rotating the refresh token), retries, and reports the new token', async () => {
    const updates: RefreshTokenUpdate[] = [];
    const client = new BrokerClient({ onRefreshToken: (u) => void updates.push(u) });
    await client.login(broker.url, { username: 'ana', password: GOOD_PASSWORD });
    const first = updates[0]!.refreshToken!;
    broker.accessTokens.clear(); // the access token expired at the broker
    expect(await client.listWorkstations()).toEqual(WORKSTATIONS);
    expect(broker.requests.map((r) => r.path)).toEqual(['/api/login', '/api/workstations', '/api/token/refresh', '/api/workstations']);
    expect(JSON.parse(broker.requests[2]!.body)).toEqual({ refreshToken: first });
    expect(updates).toHaveLength(2);
    expect(updates[1]!.refreshToken).not.toBe(first);
    expect(broker.refreshTokens.has(first)).toBe(false);
  });

  it('refreshes ahead of expiry, and only once for concurrent calls', async () => {
    let now = Date.now();
    const client = new BrokerClient({ now: () => now });
    await client.login(broker.url, { username: 'ana', password: GOOD_PASSWORD });
    now += 59_000; // 1 s left of the 60 s token
    await Promise.all([client.listWorkstations(), client.listWorkstations(), client.listWorkstations()]);
    expect(broker.requests.filter((r) => r.path === '/api/token/refresh')).toHaveLength(1);
  });

  it('signs out locally when the refresh token is refused, and tells the vault to forget it', async () => {
    const updates: RefreshTokenUpdate[] = [];
    const client = new BrokerClient({ onRefreshToken: (u) => void updates.push(u) });
    await client.login(broker.url, { username: 'ana', password: GOOD_PASSWORD });
    broker.accessTokens.clear();
    broker.refreshTokens.clear();
    expect((await failure(client.listWorkstations())).code).toBe('ERR_UNAUTHORIZED');
    expect(client.brokerUrl).toBeNull();
    expect(updates.at(-1)).toMatchObject({ refreshToken: null });
  });

  it('logout revokes the refresh token at the broker with the bearer token', async () => {
    const client = new BrokerClient();
    await client.login(broker.url, { username: 'ana', password: GOOD_PASSWORD });
    const [refresh] = [...broker.refreshTokens];
    expect(await client.logout()).toBe(true);
    const logout = broker.requests.at(-1)!;
    expect(logout).toMatchObject({ method: 'POST', path: '/api/logout', authorization: `Bearer ${ACCESS_TOKEN}` });
    expect(JSON.parse(logout.body)).toEqual({ refreshToken: refresh });
    expect(broker.refreshTokens.size).toBe(0);
    expect(client.brokerUrl).toBeNull();
  });

  it('logout ends the local session even when the broker is gone', async () => {
    const client = new BrokerClient({ timeoutMs: 300 });
    await client.login(broker.url, { username: 'ana', password: GOOD_PASSWORD });
    broker.hang.add('/api/logout');
    expect(await client.logout()).toBe(false);
    expect(client.brokerUrl).toBeNull();
  });
});

describe('AuthService with the vault', () => {
  function service(options: { allowed?: boolean; storage?: SafeStorageLike; isBrokerAllowed?: (b: string) => boolean } = {}) {
    const onSignedOut = vi.fn();
    const warn = vi.fn();
    const vault = new CredentialVault({
      safeStorage: options.storage ?? aesSafeStorage(),
      platform: 'linux',
      path: join(dir, 'credentials.bin'),
      fs: fsp,
      allowed: () => ({ allowed: options.allowed ?? true, byPolicy: false }),
      warn,
    });
    const auth = new AuthService({ vault, isBrokerAllowed: options.isBrokerAllowed ?? (() => true), onSignedOut, warn });
    return { auth, vault, onSignedOut, warn };
  }

  it('remembers the sign-in encrypted and resumes it in a new app run (rotating the token)', async () => {
    const storage = aesSafeStorage();
    const first = service({ storage });
    await first.auth.login(broker.url, { username: 'ana', password: GOOD_PASSWORD });
    const raw = await fsp.readFile(join(dir, 'credentials.bin'));
    for (const token of broker.refreshTokens) expect(raw.toString('latin1')).not.toContain(token);
    expect(raw.toString('latin1')).not.toContain('ana');
    expect((await fsp.stat(join(dir, 'credentials.bin'))).mode & 0o777).toBe(0o600);

    const second = service({ storage });
    expect(await second.auth.resume()).toEqual({ username: 'ana', displayName: 'Ana Artist' });
    expect(await second.auth.broker.listWorkstations()).toEqual(WORKSTATIONS);
    // The file now holds the rotated token: a third run still resumes.
    expect(await service({ storage }).auth.resume()).toMatchObject({ username: 'ana' });
  });

  it('does not store anything when remembering is off', async () => {
    const { auth } = service({ allowed: false });
    await auth.login(broker.url, { username: 'ana', password: GOOD_PASSWORD });
    await expect(fsp.stat(join(dir, 'credentials.bin'))).rejects.toThrow();
    expect(await auth.status()).toMatchObject({ canRemember: false, reason: 'user', remembered: false });
  });

  it('sign-out revokes, wipes the file and closes the session windows', async () => {
    const { auth, onSignedOut } = service();
    await auth.login(broker.url, { username: 'ana', password: GOOD_PASSWORD });
    expect((await auth.status()).remembered).toBe(true);
    await auth.logout();
    await expect(fsp.stat(join(dir, 'credentials.bin'))).rejects.toThrow();
    expect(onSignedOut).toHaveBeenCalledOnce();
    expect(broker.refreshTokens.size).toBe(0);
  });

  it('discards a remembered sign-in the broker refuses, or for a broker the policy no longer allows', async () => {
    const storage = aesSafeStorage();
    await service({ storage }).auth.login(broker.url, { username: 'ana', password: GOOD_PASSWORD });
    expect(await service({ storage, isBrokerAllowed: () => false }).auth.resume()).toBeNull();
    await expect(fsp.stat(join(dir, 'credentials.bin'))).rejects.toThrow();

    await service({ storage }).auth.login(broker.url, { username: 'ana', password: GOOD_PASSWORD });
    broker.refreshTokens.clear();
    expect(await service({ storage }).auth.resume()).toBeNull();
    await expect(fsp.stat(join(dir, 'credentials.bin'))).rejects.toThrow();
  });
});
