import * as fsp from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BacklotError } from '../../src/main/errors.js';
import { CredentialVault, VAULT_FILE_MODE, type SafeStorageLike } from '../../src/main/vault.js';
import { aesSafeStorage } from './fake-safe-storage.js';

const REFRESH = 'ref_' + 'z'.repeat(40);
const record = { brokerUrl: 'https://broker.studio.example', username: 'ana', refreshToken: REFRESH };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'backlot-vault-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function vault(options: { storage?: SafeStorageLike; platform?: NodeJS.Platform; allowed?: boolean; byPolicy?: boolean } = {}) {
  return new CredentialVault({
    safeStorage: options.storage ?? aesSafeStorage(),
    platform: options.platform ?? 'linux',
    path: join(dir, 'credentials.bin'),
    fs: fsp,
    allowed: () => ({ allowed: options.allowed ?? true, byPolicy: options.byPolicy ?? false }),
    warn: vi.fn(),
  });
}

describe('CredentialVault', () => {
  it('round-trips through a real cipher; the file is 0600 and holds no plaintext', async () => {
    const storage = aesSafeStorage();
    await vault({ storage }).save(record);
    const path = join(dir, 'credentials.bin');
    expect((await fsp.stat(path)).mode & 0o777).toBe(VAULT_FILE_MODE);
    const bytes = (await fsp.readFile(path)).toString('latin1');
    expect(bytes).not.toContain(REFRESH);
    expect(bytes).not.toContain('broker.studio.example');
    expect(await vault({ storage }).load()).toEqual({ version: 1, ...record });
    expect((await fsp.readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to remember on Linux basic_text, says why, and deletes an older file', async () => {
    const storage = aesSafeStorage();
    await vault({ storage }).save(record);
    const insecure = vault({ storage: aesSafeStorage('basic_text') });
    expect(insecure.availability()).toEqual({ canRemember: false, reason: 'basic-text', message: expect.stringContaining('keyring') as unknown });
    const err = await insecure.save(record).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BacklotError);
    expect((err as BacklotError).message).toMatch(/keyring/);
    await expect(fsp.stat(join(dir, 'credentials.bin'))).rejects.toThrow();
  });

  it('does not treat basic_text as a problem off Linux (the backend is a Linux notion)', () => {
    expect(vault({ storage: aesSafeStorage('basic_text'), platform: 'win32' }).availability().canRemember).toBe(true);
  });

  it('refuses when the OS offers no encryption', async () => {
    const storage = { ...aesSafeStorage(), isEncryptionAvailable: () => false };
    const v = vault({ storage });
    expect(v.availability()).toMatchObject({ canRemember: false, reason: 'encryption-unavailable' });
    await expect(v.save(record)).rejects.toThrow(/secure storage/);
  });

  it('refuses when the policy forbids it, with the studio named as the reason', async () => {
    const v = vault({ allowed: false, byPolicy: true });
    expect(await v.status()).toMatchObject({ canRemember: false, reason: 'policy', message: expect.stringContaining('studio') as unknown, remembered: false });
  });

  it('a policy turning remembering off wipes what was stored on the next load', async () => {
    const storage = aesSafeStorage();
    await vault({ storage }).save(record);
    expect(await vault({ storage, allowed: false, byPolicy: true }).load()).toBeNull();
    await expect(fsp.stat(join(dir, 'credentials.bin'))).rejects.toThrow();
  });

  it('discards a file it cannot decrypt (another key, tampering)', async () => {
    await vault().save(record);
    expect(await vault().load()).toBeNull(); // a fresh cipher key
    await expect(fsp.stat(join(dir, 'credentials.bin'))).rejects.toThrow();
  });

  it('clear() deletes the file and status reports it', async () => {
    const v = vault();
    await v.save(record);
    expect((await v.status()).remembered).toBe(true);
    await v.clear();
    expect((await v.status()).remembered).toBe(false);
  });
});
