/**
 * Short-lived bearer tokens held in memory by digest: access tokens (15 min
 * by default) and the MFA tokens that bridge a password and its TOTP code.
 * Losing them on restart only means clients refresh (refresh tokens and grants
 * are in the store).
 */
import { tokenDigest, newToken } from './tokens.js';

/** Expired entries are swept this often so the maps cannot grow without bound. */
const SWEEP_INTERVAL_MS = 30_000;
/** Time allowed between a right password and its TOTP code. */
export const MFA_TOKEN_TTL_MS = 5 * 60_000;

export interface TokenEntry {
  username: string;
  expiresAt: number;
}

export class TokenBook {
  private readonly access = new Map<string, TokenEntry>();
  private readonly mfa = new Map<string, TokenEntry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly accessTtlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  issueAccess(username: string): { token: string; expiresAt: number } {
    return this.issue(this.access, username, this.accessTtlMs);
  }

  /** The user an access token belongs to, or undefined when unknown or expired. */
  checkAccess(token: string): TokenEntry | undefined {
    const entry = this.access.get(tokenDigest(token));
    return entry && entry.expiresAt > this.now() ? entry : undefined;
  }

  /** Ends every access token of a user (sign-out everywhere, account disabled). */
  revokeAccessFor(username: string): void {
    for (const [k, v] of this.access) if (v.username === username) this.access.delete(k);
  }

  revokeAccess(token: string): void {
    this.access.delete(tokenDigest(token));
  }

  issueMfa(username: string): { token: string; expiresAt: number } {
    return this.issue(this.mfa, username, MFA_TOKEN_TTL_MS);
  }

  /** An MFA token stays valid for retries of the code until it expires or succeeds. */
  checkMfa(token: string): TokenEntry | undefined {
    const entry = this.mfa.get(tokenDigest(token));
    return entry && entry.expiresAt > this.now() ? entry : undefined;
  }

  endMfa(token: string): void {
    this.mfa.delete(tokenDigest(token));
  }

  get accessCount(): number {
    return this.access.size;
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private issue(map: Map<string, TokenEntry>, username: string, ttl: number): { token: string; expiresAt: number } {
    const token = newToken();
    const expiresAt = this.now() + ttl;
    map.set(tokenDigest(token), { username, expiresAt });
    return { token, expiresAt };
  }

  private sweep(): void {
    const now = this.now();
    for (const map of [this.access, this.mfa]) for (const [k, v] of map) if (v.expiresAt <= now) map.delete(k);
  }
}
