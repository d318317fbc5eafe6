/** Short-lived access tokens and single-use session grants, held in memory by digest. */
import { ACCESS_TOKEN_TTL_MS, GRANT_TTL_MS } from '../shared/constants.js';
import { newId, newToken, tokenDigest } from './tokens.js';

/** Expired entries are swept this often so the maps cannot grow without bound. */
const SWEEP_INTERVAL_MS = 30_000;

export interface AccessEntry {
  username: string;
  expiresAt: number;
}

export interface GrantEntry {
  sessionId: string;
  workstationId: string;
  username: string;
  expiresAt: number;
}

export type RedeemResult =
  | { ok: true; grant: GrantEntry }
  | { ok: false; code: 'ERR_GRANT_EXPIRED' | 'ERR_GRANT_USED' | 'ERR_UNAUTHORIZED' };

export class TokenBook {
  private readonly access = new Map<string, AccessEntry>();
  private readonly grants = new Map<string, GrantEntry & { used: boolean }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly accessTtlMs = ACCESS_TOKEN_TTL_MS,
    private readonly grantTtlMs = GRANT_TTL_MS,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  issueAccess(username: string): { token: string; expiresAt: number } {
    const token = newToken();
    const expiresAt = this.now() + this.accessTtlMs;
    this.access.set(tokenDigest(token), { username, expiresAt });
    return { token, expiresAt };
  }

  /** The user an access token belongs to, or undefined when unknown or expired. */
  checkAccess(token: string): AccessEntry | undefined {
    const entry = this.access.get(tokenDigest(token));
    if (!entry || entry.expiresAt <= this.now()) return undefined;
    return entry;
  }

  issueGrant(username: string, workstationId: string): { token: string; grant: GrantEntry } {
    const token = newToken();
    const grant = { sessionId: newId('ses'), workstationId, username, expiresAt: this.now() + this.grantTtlMs };
    this.grants.set(tokenDigest(token), { ...grant, used: false });
    return { token, grant };
  }

  /** Redeems a grant once. A used grant stays known (until it expires) so reuse gets a precise error. */
  redeemGrant(token: string): RedeemResult {
    const entry = this.grants.get(tokenDigest(token));
    if (!entry) return { ok: false, code: 'ERR_UNAUTHORIZED' };
    if (entry.used) return { ok: false, code: 'ERR_GRANT_USED' };
    if (entry.expiresAt <= this.now()) return { ok: false, code: 'ERR_GRANT_EXPIRED' };
    entry.used = true;
    const { used: _used, ...grant } = entry;
    return { ok: true, grant };
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, v] of this.access) if (v.expiresAt <= now) this.access.delete(k);
    for (const [k, v] of this.grants) if (v.expiresAt <= now) this.grants.delete(k);
  }
}
