/**
 * The token life cycle of BrokerClient and AuthService against the real broker,
 * run in-process on loopback with its own SQLite file: TOTP, refresh with
 * rotation, logout, the vault. One stand-in remains: a server that never
 * answers, for the timeout (a real broker always answers).
 */
import * as fsp from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthService } from '../../src/main/auth.js';
import { BrokerClient, type RefreshTokenUpdate } from '../../src/main/broker-client.js';
import { CredentialVault, type SafeStorageLike } from '../../src/main/vault.js';
import { recordingFetch, startInProcessBroker, TEST_PASSWORD, type Exchange, type InProcessBroker } from '../broker/helpers/in-process-broker.js';
import { aesSafeStorage } from './fake-safe-storage.js';

const WORKSTATIONS = { workstations: [{ id: 'ws-042', name: 'WS-042', online: false, inUse: false }] };
const ana = { username: 'ana', password: TEST_PASSWORD };
/** The client's request timeout in the hang test: long enough for a refresh on a loaded machine, short enough to wait out. */
const HANG_TIMEOUT_MS = 1_000;

let broker: InProcessBroker;
/** The MFA user's authenticator secret. */
let totpSecret: string;
/** Everything the clients of a test sent to the broker and got back. */
let wire: { fetch: typeof fetch; exchanges: Exchange[] };
let dir: string;
beforeEach(async () => {
  broker = await startInProcessBroker();
  await broker.addUser({ username: 'ana', displayName: 'Ana Artist' });
  totpSecret = (await broker.addUser({ username: 'mfa-user', displayName: 'Ana Artist', totp: true })).totpSecret!;
  broker.addWorkstation({ id: 'ws-042', name: 'WS-042' }, ['ana', 'mfa-user']);
  wire = recordingFetch();
  dir = mkdtempSync(join(tmpdir(), 'backlot-auth-'));
});
afterEach(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

const paths = () => wire.exchanges.map((e) => e.path);
/** The refresh tokens the broker handed out in this test, in order. */
const issuedRefreshTokens = () => wire.exchanges.map((e) => e.reply?.refreshToken as unknown).filter((t): t is string => typeof t === 'string');
const failsWith = (code: string) => expect.objectContaining({ name: 'BacklotError', code });

/**
 * Stand-in for a broker that has stopped answering, which the real one never
 * does: it takes over the port and accepts requests without replying.
 */
async function silentServerOn(port: number): Promise<Server> {
  const server = createServer(() => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return server;
}

describe('BrokerClient tokens', () => {
  it('completes an MFA sign-in with the kept MFA token; a wrong code is refused', async () => {
    const client = new BrokerClient({ fetch: wire.fetch });
    expect(await client.login(broker.url, { username: 'mfa-user', password: TEST_PASSWORD })).toEqual({ status: 'mfa-required' });
    const { mfaToken } = wire.exchanges[0]!.reply;
    await expect(client.submitTotp(broker.wrongTotpCode(totpSecret))).rejects.toEqual(failsWith('ERR_BAD_TOTP'));
    const code = broker.totpCode(totpSecret);
    expect(await client.submitTotp(code)).toEqual({ username: 'mfa-user', displayName: 'Ana Artist' });
    const totp = wire.exchanges.filter((e) => e.path === '/api/login/totp');
    expect(totp.map((e) => e.status)).toEqual([401, 200]);
    expect(totp.at(-1)!.body).toEqual({ mfaToken, code });
    expect(await client.listWorkstations()).toEqual(WORKSTATIONS);
  });

  it('refuses a code when no password step is pending', async () => {
    await expect(new BrokerClient({ fetch: wire.fetch }).submitTotp('123456')).rejects.toEqual(failsWith('ERR_UNAUTHORIZED'));
    expect(wire.exchanges).toHaveLength(0);
  });

  it('on a 401 refreshes once (rotating the refresh token), retries, and reports the new token', async () => {
    const updates: RefreshTokenUpdate[] = [];
    const client = new BrokerClient({ fetch: wire.fetch, onRefreshToken: (u) => void updates.push(u) });
    await client.login(broker.url, ana);
    const first = updates[0]!.refreshToken!;
    // The access token expires at the broker; the client's own clock still thinks it is fresh.
    broker.advanceClock(broker.config.security.accessTokenMinutes * 60_000 + 1_000);
    expect(await client.listWorkstations()).toEqual(WORKSTATIONS);
    expect(paths()).toEqual(['/api/login', '/api/workstations', '/api/token/refresh', '/api/workstations']);
    expect(wire.exchanges.map((e) => e.status)).toEqual([200, 401, 200, 200]);
    expect(wire.exchanges[2]!.body).toEqual({ refreshToken: first });
    expect(updates).toHaveLength(2);
    expect(updates[1]!.refreshToken).not.toBe(first);
    expect(broker.refreshTokenState(first)).toBe('used');
    expect(broker.refreshTokenState(updates[1]!.refreshToken!)).toBe('live');
  });

  it('refreshes ahead of expiry, and only once for concurrent calls', async () => {
    let now = Date.now();
    const client = new BrokerClient({ fetch: wire.fetch, now: () => now });
    await client.login(broker.url, ana);
    now += broker.config.security.accessTokenMinutes * 60_000 - 1_000; // 1 s left of the access token
    expect(await Promise.all([client.listWorkstations(), client.listWorkstations(), client.listWorkstations()])).toEqual([WORKSTATIONS, WORKSTATIONS, WORKSTATIONS]);
    expect(wire.exchanges.filter((e) => e.path === '/api/token/refresh')).toHaveLength(1);
    // A second refresh with the same (rotated) token would have been taken for theft.
    expect(broker.store.queryAudit({ action: 'token' }).map((e) => e.action)).toEqual(['token.refresh']);
  });

  it('signs out locally when the refresh token is refused, and tells the vault to forget it', async () => {
    const updates: RefreshTokenUpdate[] = [];
    const client = new BrokerClient({ fetch: wire.fetch, onRefreshToken: (u) => void updates.push(u) });
    await client.login(broker.url, ana);
    broker.admin.revokeTokens('test', 'ana'); // ends the access and the refresh tokens
    await expect(client.listWorkstations()).rejects.toEqual(failsWith('ERR_UNAUTHORIZED'));
    expect(paths()).toEqual(['/api/login', '/api/workstations', '/api/token/refresh']);
    expect(client.brokerUrl).toBeNull();
    expect(updates.at(-1)).toMatchObject({ refreshToken: null });
  });

  it('logout revokes the refresh token at the broker with the bearer token', async () => {
    const client = new BrokerClient({ fetch: wire.fetch });
    await client.login(broker.url, ana);
    const { accessToken, refreshToken } = wire.exchanges[0]!.reply;
    expect(await client.logout()).toBe(true);
    expect(wire.exchanges.at(-1)).toMatchObject({ method: 'POST', path: '/api/logout', authorization: `Bearer ${accessToken}`, status: 204 });
    expect(wire.exchanges.at(-1)!.body).toEqual({ refreshToken });
    expect(broker.refreshTokenState(refreshToken)).toBe('revoked');
    expect(broker.liveRefreshTokens('ana')).toBe(0);
    const withOldToken = await fetch(`${broker.url}/api/workstations`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(withOldToken.status).toBe(401);
    expect(client.brokerUrl).toBeNull();
  });

  it('logout ends the local session even when the broker is gone', async () => {
    const client = new BrokerClient();
    await client.login(broker.url, ana);
    await broker.close();
    expect(await client.logout()).toBe(false);
    expect(client.brokerUrl).toBeNull();
  });

  it('logout gives up after its timeout when the broker stops answering', async () => {
    // Signed in by a remembered refresh token: a password check (scrypt) can itself take
    // hundreds of milliseconds on a loaded machine, a refresh takes a few.
    let remembered = '';
    await new BrokerClient({ onRefreshToken: (u) => void (remembered = u.refreshToken!) }).login(broker.url, ana);
    const client = new BrokerClient({ timeoutMs: HANG_TIMEOUT_MS });
    await client.resume(broker.url, remembered);
    await broker.close();
    const silent = await silentServerOn(broker.port);
    let arrived = false;
    silent.on('request', (req) => void (arrived = req.url === '/api/logout'));
    try {
      const started = Date.now();
      expect(await client.logout()).toBe(false);
      expect(arrived).toBe(true); // the request arrived and was left hanging, not refused
      expect(Date.now() - started).toBeGreaterThanOrEqual(HANG_TIMEOUT_MS - 50);
      expect(client.brokerUrl).toBeNull();
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
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
    const auth = new AuthService({ vault, broker: { fetch: wire.fetch }, isBrokerAllowed: options.isBrokerAllowed ?? (() => true), onSignedOut, warn });
    return { auth, vault, onSignedOut, warn };
  }

  it('remembers the sign-in encrypted and resumes it in a new app run (rotating the token)', async () => {
    const storage = aesSafeStorage();
    const first = service({ storage });
    await first.auth.login(broker.url, ana);
    const raw = await fsp.readFile(join(dir, 'credentials.bin'));
    expect(issuedRefreshTokens()).toHaveLength(1);
    for (const token of issuedRefreshTokens()) expect(raw.toString('latin1')).not.toContain(token);
    expect(raw.toString('latin1')).not.toContain('ana');
    expect((await fsp.stat(join(dir, 'credentials.bin'))).mode & 0o777).toBe(0o600);

    const second = service({ storage });
    expect(await second.auth.resume()).toEqual({ username: 'ana', displayName: 'Ana Artist' });
    expect(await second.auth.broker.listWorkstations()).toEqual(WORKSTATIONS);
    // The file now holds the rotated token: a third run still resumes (the used one would be refused as a replay).
    expect(await service({ storage }).auth.resume()).toMatchObject({ username: 'ana' });
    expect(wire.exchanges.filter((e) => e.path === '/api/token/refresh').map((e) => e.status)).toEqual([200, 200]);
    expect(broker.store.queryAudit({ action: 'token.reuse-detected' })).toEqual([]);
  });

  it('does not store anything when remembering is off', async () => {
    const { auth } = service({ allowed: false });
    await auth.login(broker.url, ana);
    await expect(fsp.stat(join(dir, 'credentials.bin'))).rejects.toThrow();
    expect(await auth.status()).toMatchObject({ canRemember: false, reason: 'user', remembered: false });
  });

  it('sign-out revokes, wipes the file and closes the session windows', async () => {
    const { auth, onSignedOut } = service();
    await auth.login(broker.url, ana);
    expect((await auth.status()).remembered).toBe(true);
    await auth.logout();
    await expect(fsp.stat(join(dir, 'credentials.bin'))).rejects.toThrow();
    expect(onSignedOut).toHaveBeenCalledOnce();
    expect(broker.liveRefreshTokens('ana')).toBe(0);
  });

  it('discards a remembered sign-in the broker refuses, or for a broker the policy no longer allows', async () => {
    const storage = aesSafeStorage();
    await service({ storage }).auth.login(broker.url, ana);
    expect(await service({ storage, isBrokerAllowed: () => false }).auth.resume()).toBeNull();
    await expect(fsp.stat(join(dir, 'credentials.bin'))).rejects.toThrow();

    await service({ storage }).auth.login(broker.url, ana);
    broker.admin.revokeTokens('test', 'ana');
    expect(await service({ storage }).auth.resume()).toBeNull();
    expect(wire.exchanges.at(-1)).toMatchObject({ path: '/api/token/refresh', status: 401 });
    await expect(fsp.stat(join(dir, 'credentials.bin'))).rejects.toThrow();
  });
});
