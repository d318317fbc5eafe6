/**
 * The credential vault: remembers one sign-in (broker, user, refresh token)
 * across restarts, encrypted with Electron's `safeStorage` (Keychain on macOS,
 * DPAPI on Windows, the Secret Service / KWallet on Linux) in a file only the
 * user can read (0o600). Access tokens are never stored.
 *
 * It refuses to remember, and says why, when the OS offers no encryption or
 * when Linux falls back to `basic_text` (a hard-coded key: "encrypted" in name
 * only, electron/electron#39789), and when the studio's policy forbids it.
 * Plain Node with `safeStorage` and the file system injected, so the tests
 * use a real cipher in its place.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { CredentialsStatus } from '../shared/ipc.js';
import { BacklotError } from './errors.js';

/** The vault's file, inside the user-data folder. */
export const VAULT_FILE_NAME = 'credentials.bin';
/** Owner read/write only. */
export const VAULT_FILE_MODE = 0o600;
/** A vault file larger than this is not ours. */
const MAX_VAULT_FILE_BYTES = 16 * 1024;
/** Linux backends that are not real encryption (Electron's `getSelectedStorageBackend()`). */
const INSECURE_LINUX_BACKENDS = new Set(['basic_text', 'unknown']);

/** The part of Electron's `safeStorage` the vault uses. */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only in Electron; absent elsewhere. */
  getSelectedStorageBackend?: () => string;
}

/** The file-system calls the vault makes (node:fs/promises satisfies it). */
export interface VaultFs {
  readFile(path: string): Promise<Buffer>;
  writeFile(path: string, data: Uint8Array, options: { mode: number; flag: string }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  rm(path: string, options: { force: boolean }): Promise<void>;
}

/** What is remembered. */
export const StoredCredentials = z.strictObject({
  version: z.literal(1),
  brokerUrl: z.string().max(2048),
  username: z.string().max(128),
  refreshToken: z.string().min(16).max(512),
});
export type StoredCredentials = z.infer<typeof StoredCredentials>;

export interface VaultOptions {
  safeStorage: SafeStorageLike;
  platform: NodeJS.Platform;
  /** Full path of the vault file. */
  path: string;
  fs: VaultFs;
  /** Whether the effective settings allow remembering (and whether it is the policy or the user saying no). */
  allowed: () => { allowed: boolean; byPolicy: boolean };
  warn: (message: string) => void;
}

const MESSAGES = {
  policy: 'Your studio does not allow Backlot to remember sign-ins on this computer.',
  user: 'Remembering sign-ins is turned off in your settings.',
  'encryption-unavailable': 'This computer offers no secure storage for credentials, so Backlot will not remember your sign-in.',
  'basic-text':
    'No system keyring (GNOME Keyring or KWallet) is available, so Backlot will not remember your sign-in: it would be stored without real encryption.',
} as const;

/** Keeps at most one remembered sign-in, encrypted. */
export class CredentialVault {
  readonly #options: VaultOptions;

  constructor(options: VaultOptions) {
    this.#options = options;
  }

  /** Whether a sign-in can be remembered now, and why not. Does not touch the file. */
  availability(): Pick<CredentialsStatus, 'canRemember' | 'reason' | 'message'> {
    const setting = this.#options.allowed();
    if (!setting.allowed) {
      const reason = setting.byPolicy ? 'policy' : 'user';
      return { canRemember: false, reason, message: MESSAGES[reason] };
    }
    const { safeStorage, platform } = this.#options;
    if (!safeStorage.isEncryptionAvailable()) {
      return { canRemember: false, reason: 'encryption-unavailable', message: MESSAGES['encryption-unavailable'] };
    }
    if (platform === 'linux') {
      const backend = safeStorage.getSelectedStorageBackend?.() ?? 'unknown';
      if (INSECURE_LINUX_BACKENDS.has(backend)) return { canRemember: false, reason: 'basic-text', message: MESSAGES['basic-text'] };
    }
    return { canRemember: true, reason: null, message: null };
  }

  /** The full status for the UI, including whether something is stored. */
  async status(): Promise<CredentialsStatus> {
    return { ...this.availability(), remembered: (await this.#readRaw()) !== null };
  }

  /** Encrypts and stores a sign-in. Throws (with the reason) when remembering is not possible. */
  async save(credentials: Omit<StoredCredentials, 'version'>): Promise<void> {
    const availability = this.availability();
    if (!availability.canRemember) {
      // A file left from before the refusal (policy changed, keyring gone) must not outlive it.
      await this.clear();
      throw new BacklotError('ERR_FORBIDDEN', availability.message ?? MESSAGES['encryption-unavailable']);
    }
    const record: StoredCredentials = { version: 1, ...credentials };
    const encrypted = this.#options.safeStorage.encryptString(JSON.stringify(record));
    const { fs, path } = this.#options;
    // Written beside the target and renamed over it, so a crash never leaves half a file;
    // 'wx' refuses to follow a symlink or reuse a file someone planted at the temporary name.
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await fs.writeFile(temporary, encrypted, { mode: VAULT_FILE_MODE, flag: 'wx' });
      // The mode passed to open() is masked by the umask; set it explicitly.
      await fs.chmod(temporary, VAULT_FILE_MODE);
      await fs.rename(temporary, path);
    } catch (err) {
      await fs.rm(temporary, { force: true }).catch(() => undefined);
      throw new BacklotError('ERR_INTERNAL', 'Backlot could not save your sign-in on this computer.', { cause: err });
    }
  }

  /**
   * The remembered sign-in, or null. A file that cannot be decrypted or parsed
   * (another OS user's keyring, a tampered file) is deleted rather than kept.
   * When remembering is no longer allowed, the file is deleted too.
   */
  async load(): Promise<StoredCredentials | null> {
    const raw = await this.#readRaw();
    if (raw === null) return null;
    if (!this.availability().canRemember) {
      await this.clear();
      return null;
    }
    let parsed: StoredCredentials;
    try {
      parsed = StoredCredentials.parse(JSON.parse(this.#options.safeStorage.decryptString(raw)));
    } catch {
      this.#options.warn('The remembered sign-in could not be read and was discarded');
      await this.clear();
      return null;
    }
    return parsed;
  }

  /** Deletes the remembered sign-in (sign-out, policy change). */
  async clear(): Promise<void> {
    await this.#options.fs.rm(this.#options.path, { force: true });
  }

  async #readRaw(): Promise<Buffer | null> {
    let data: Buffer;
    try {
      data = await this.#options.fs.readFile(this.#options.path);
    } catch {
      return null;
    }
    if (data.byteLength === 0 || data.byteLength > MAX_VAULT_FILE_BYTES) return null;
    return data;
  }
}
