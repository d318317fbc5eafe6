/** TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps) through the otpauth library. */
import { Secret, TOTP } from 'otpauth';

export const TOTP_PERIOD_S = 30;
/** Codes from one step before or after are accepted, for clock drift. */
const WINDOW = 1;

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totp(secret: string, username: string, issuer: string): TOTP {
  return new TOTP({ issuer, label: username, secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: TOTP_PERIOD_S });
}

/** The `otpauth://` URI an authenticator app scans. */
export function totpUri(secret: string, username: string, issuer: string): string {
  return totp(secret, username, issuer).toString();
}

/**
 * Checks a code and returns the time step it belongs to (so the caller can
 * refuse a replay of the same or an older step), or null when it is wrong.
 */
export function verifyTotp(secret: string, code: string, now: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totp(secret, '', '').validate({ token: code, timestamp: now, window: WINDOW });
  if (delta === null) return null;
  return Math.floor(now / 1000 / TOTP_PERIOD_S) + delta;
}
