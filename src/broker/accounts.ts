/**
 * Signing in: password (scrypt), then a TOTP code when the user has one;
 * per-account lockout and per-address throttling; short-lived access tokens
 * and rotated, revocable refresh tokens. Every outcome is audited.
 */
import type { Logger } from 'pino';
import type { LoginMfaRequired, LoginOk } from '../shared/protocol.js';
import type { SecurityConfig } from './config.js';
import type { TokenBook } from './grants.js';
import { HttpError } from './http.js';
import { dummyPasswordHash, verifyPassword } from './passwords.js';
import type { Role, Store, UserRecord } from './store.js';
import type { AddressThrottle } from './throttle.js';
import { newId, newToken, tokenDigest } from './tokens.js';
import { verifyTotp } from './totp.js';

export interface Principal {
  username: string;
  role: Role;
}

export class Accounts {
  constructor(
    private readonly store: Store,
    private readonly tokens: TokenBook,
    private readonly throttle: AddressThrottle,
    private readonly security: SecurityConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async login(username: string, password: string, ip: string): Promise<LoginOk | LoginMfaRequired> {
    const now = this.now();
    this.refuseThrottled(ip, username, now);
    const user = this.store.getUser(username);
    this.refuseLocked(user, ip, now);
    // Unknown users cost the same time as wrong passwords, so usernames cannot be probed by timing.
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
    if (!user || !ok) {
      this.fail(user, username, ip, now, 'login.failure', 'wrong username or password');
      throw new HttpError(401, 'ERR_BAD_CREDENTIALS', 'wrong username or password');
    }
    if (user.disabled) {
      this.audit(username, 'login.failure', ip, { reason: 'disabled' });
      throw new HttpError(403, 'ERR_FORBIDDEN', 'this account is disabled; ask your studio IT');
    }
    if (user.totpSecret) {
      const { token, expiresAt } = this.tokens.issueMfa(user.username);
      this.audit(username, 'login.password-ok', ip, { next: 'totp' });
      return { status: 'mfa-required', method: 'totp', mfaToken: token, expiresAt };
    }
    if (this.security.requireTotp || user.totpRequired) {
      this.audit(username, 'login.failure', ip, { reason: 'totp required but not enrolled' });
      throw new HttpError(403, 'ERR_MFA_REQUIRED', 'your studio requires a one-time code for this account; ask IT to set up your authenticator');
    }
    return this.signIn(user, ip, now);
  }

  verifyTotp(mfaToken: string, code: string, ip: string): LoginOk {
    const now = this.now();
    const entry = this.tokens.checkMfa(mfaToken);
    if (!entry) throw new HttpError(401, 'ERR_UNAUTHORIZED', 'the sign-in took too long; enter your password again');
    this.refuseThrottled(ip, entry.username, now);
    const user = this.store.getUser(entry.username);
    this.refuseLocked(user, ip, now);
    if (!user?.totpSecret || user.disabled) throw new HttpError(401, 'ERR_UNAUTHORIZED', 'sign in again');
    const step = verifyTotp(user.totpSecret, code, now);
    // A code is accepted once: the step must be newer than the last one used.
    if (step === null || !this.store.useTotpStep(user.username, step)) {
      this.fail(user, user.username, ip, now, 'mfa.failure', 'wrong one-time code');
      throw new HttpError(401, 'ERR_BAD_TOTP', 'wrong or already used one-time code');
    }
    this.tokens.endMfa(mfaToken);
    return this.signIn(user, ip, now);
  }

  refresh(refreshToken: string, ip: string): LoginOk {
    const now = this.now();
    const outcome = this.store.consumeRefreshToken(tokenDigest(refreshToken), now);
    if (!outcome.ok) {
      if (outcome.reason === 'reused' && outcome.username) {
        this.tokens.revokeAccessFor(outcome.username);
        this.audit(outcome.username, 'token.reuse-detected', ip, {});
        this.log.warn({ user: outcome.username, ip }, 'refresh token reused: all sessions of the family revoked');
      }
      throw new HttpError(401, 'ERR_UNAUTHORIZED', 'sign in again');
    }
    const user = this.store.getUser(outcome.username);
    if (!user || user.disabled) throw new HttpError(401, 'ERR_UNAUTHORIZED', 'sign in again');
    this.audit(user.username, 'token.refresh', ip, {});
    return this.issueTokens(user, now, outcome.family);
  }

  logout(accessToken: string, refreshToken: string | undefined, ip: string): void {
    const entry = this.tokens.checkAccess(accessToken);
    this.tokens.revokeAccess(accessToken);
    if (refreshToken) this.store.revokeRefreshToken(tokenDigest(refreshToken), this.now());
    if (entry) this.audit(entry.username, 'logout', ip, {});
  }

  /** The signed-in principal of a bearer token (the role is read fresh, so a demotion applies at once). */
  principal(accessToken: string | undefined): Principal {
    const entry = accessToken === undefined ? undefined : this.tokens.checkAccess(accessToken);
    const user = entry && this.store.getUser(entry.username);
    if (!user || user.disabled) throw new HttpError(401, 'ERR_UNAUTHORIZED', 'sign in again');
    return { username: user.username, role: user.role };
  }

  private signIn(user: UserRecord, ip: string, now: number): LoginOk {
    this.store.clearLoginFailures(user.username);
    this.audit(user.username, 'login.success', ip, { mfa: user.totpSecret !== null });
    return this.issueTokens(user, now, newId('fam'));
  }

  private issueTokens(user: UserRecord, now: number, family: string): LoginOk {
    const access = this.tokens.issueAccess(user.username);
    const refreshToken = newToken();
    this.store.insertRefreshToken(tokenDigest(refreshToken), user.username, family, now + this.security.refreshTokenDays * 86_400_000);
    return {
      status: 'ok',
      accessToken: access.token,
      refreshToken,
      expiresAt: access.expiresAt,
      user: { username: user.username, displayName: user.displayName, role: user.role },
    };
  }

  private refuseThrottled(ip: string, username: string, now: number): void {
    if (this.throttle.isBlocked(ip, now)) {
      this.audit(username, 'login.failure', ip, { reason: 'address throttled' });
      throw new HttpError(429, 'ERR_RATE_LIMITED', 'too many failed attempts from this address; wait a few minutes');
    }
  }

  private refuseLocked(user: UserRecord | undefined, ip: string, now: number): void {
    if (user && user.lockedUntil > now) {
      this.audit(user.username, 'login.failure', ip, { reason: 'locked' });
      const minutes = Math.ceil((user.lockedUntil - now) / 60_000);
      throw new HttpError(403, 'ERR_LOCKED_OUT', `this account is locked after too many failed attempts; try again in ${minutes} min or ask IT to unlock it`);
    }
  }

  private fail(user: UserRecord | undefined, username: string, ip: string, now: number, action: string, reason: string): void {
    this.throttle.fail(ip, now);
    this.audit(username, action, ip, { reason });
    if (!user) return;
    const { lockedUntil } = this.store.recordLoginFailure(user.username, this.security.lockoutThreshold, this.security.lockoutMinutes * 60_000, now);
    if (lockedUntil > now) {
      this.audit(user.username, 'login.locked', ip, { until: lockedUntil });
      this.log.warn({ user: user.username, ip }, 'account locked after repeated failures');
    }
  }

  private audit(actor: string, action: string, ip: string, detail: Record<string, unknown>): void {
    this.store.audit({ at: this.now(), actor, action, target: actor, ip, detail });
  }
}
