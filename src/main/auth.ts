/**
 * Sign-in as a whole: the broker client (tokens in memory), the vault (the
 * refresh token, encrypted, when allowed) and what sign-out must undo
 * (revoke at the broker, wipe the file, close every session window).
 */
import type { CredentialsStatus, LoginOutcome, LoginResult } from '../shared/ipc.js';
import type { LoginRequest } from '../shared/protocol.js';
import { BrokerClient, type BrokerClientOptions, type RefreshTokenUpdate } from './broker-client.js';
import { BacklotError } from './errors.js';
import type { CredentialVault } from './vault.js';

export interface AuthServiceOptions {
  vault: CredentialVault;
  /** Broker client options (fetch, timeouts, onSecret); `onRefreshToken` is this service's. */
  broker?: Omit<BrokerClientOptions, 'onRefreshToken'>;
  /** Whether the policy and profiles still allow this broker (checked again before a remembered sign-in is used). */
  isBrokerAllowed: (brokerUrl: string) => boolean;
  /** Closes session windows and anything else tied to the signed-in user. */
  onSignedOut: () => void;
  warn: (message: string) => void;
}

/** Owns the signed-in state of the app. */
export class AuthService {
  readonly broker: BrokerClient;
  readonly #options: AuthServiceOptions;

  constructor(options: AuthServiceOptions) {
    this.#options = options;
    this.broker = new BrokerClient({ ...options.broker, onRefreshToken: (update) => this.#persist(update) });
  }

  login(brokerUrl: string, credentials: LoginRequest): Promise<LoginOutcome> {
    return this.broker.login(brokerUrl, credentials);
  }

  submitTotp(code: string): Promise<LoginResult> {
    return this.broker.submitTotp(code);
  }

  /**
   * Signs in with the remembered refresh token. Null when nothing is
   * remembered, the broker is no longer allowed, or the broker refused the
   * token (the file is wiped then). An unreachable broker is reported as an
   * error and the file kept, so the next start can try again.
   */
  async resume(): Promise<LoginResult | null> {
    const stored = await this.#options.vault.load();
    if (stored === null) return null;
    if (!this.#options.isBrokerAllowed(stored.brokerUrl)) {
      this.#options.warn('Discarded a remembered sign-in for a broker the policy no longer allows');
      await this.#options.vault.clear();
      return null;
    }
    try {
      return await this.broker.resume(stored.brokerUrl, stored.refreshToken);
    } catch (err) {
      if (err instanceof BacklotError && err.code === 'ERR_BROKER_UNREACHABLE') throw err;
      this.#options.warn(`The remembered sign-in was refused (${err instanceof BacklotError ? err.code : 'error'}) and was discarded`);
      await this.#options.vault.clear();
      return null;
    }
  }

  /** Signs out everywhere this app can reach; always ends signed out locally. */
  async logout(): Promise<void> {
    try {
      const told = await this.broker.logout();
      if (!told) this.#options.warn('Could not tell the broker about the sign-out; the refresh token will expire on its own');
    } finally {
      await this.#options.vault.clear().catch(() => this.#options.warn('Could not delete the remembered sign-in'));
      this.#options.onSignedOut();
    }
  }

  status(): Promise<CredentialsStatus> {
    return this.#options.vault.status();
  }

  /** Applies a setting change: turning "remember" off deletes what was stored. */
  async onRememberChanged(remember: boolean): Promise<void> {
    if (!remember) await this.#options.vault.clear();
  }

  async #persist(update: RefreshTokenUpdate): Promise<void> {
    const { vault, warn } = this.#options;
    try {
      if (update.refreshToken === null || !vault.availability().canRemember) {
        await vault.clear();
        return;
      }
      await vault.save({ brokerUrl: update.brokerUrl, username: update.username, refreshToken: update.refreshToken });
    } catch {
      // Signing in still works without the vault; the user is just asked again next time.
      warn('Could not update the remembered sign-in');
    }
  }
}
