import type { Failure } from '../session/types.js';

/** Sentences a person can act on, per error code. The broker's own message is used where none is written. */
const MESSAGES: Partial<Record<Failure['code'], string>> = {
  ERR_BAD_CREDENTIALS: 'Wrong username or password. Check both and try again.',
  ERR_BAD_TOTP: 'That code is not right. Enter the current 6-digit code from your authenticator app.',
  ERR_LOCKED_OUT: 'Too many failed attempts: this account is locked for a while. Try again later or ask your studio IT.',
  ERR_RATE_LIMITED: 'Too many attempts from this computer. Wait a minute, then try again.',
  ERR_MFA_REQUIRED: 'This account needs a one-time code. Sign in again to enter it.',
  ERR_UNAUTHORIZED: 'Your sign-in has expired. Sign in again.',
  ERR_FORBIDDEN: 'You are not assigned to this workstation. Ask your studio IT.',
  ERR_WORKSTATION_OFFLINE: 'This workstation is offline. It may be switched off or its Backlot agent stopped; ask your studio IT to check it.',
  ERR_WORKSTATION_IN_USE: 'Someone is already connected to this workstation. Try again when they have finished.',
  ERR_GRANT_EXPIRED: 'The connection took too long to start and its permission expired. Connect again.',
  ERR_GRANT_USED: 'This connection was already used. Connect again.',
  ERR_BROKER_UNREACHABLE: 'The Backlot server cannot be reached. Check your network connection or VPN, then try again.',
  ERR_HOST_LOST: 'The connection to the workstation was lost and could not be restored. Check your network, then connect again.',
};

export function describeFailure(f: Failure): string {
  return MESSAGES[f.code] ?? f.message;
}

/** A short title for the failure banner. */
export function failureTitle(f: Failure): string {
  switch (f.code) {
    case 'ERR_HOST_LOST':
      return 'Connection lost';
    case 'ERR_TIMEOUT':
      return 'No answer in time';
    case 'ERR_WORKSTATION_OFFLINE':
      return 'Workstation offline';
    case 'ERR_WORKSTATION_IN_USE':
      return 'Workstation in use';
    case 'ERR_BROKER_UNREACHABLE':
      return 'Server unreachable';
    case 'ERR_NO_RELAY':
      return 'Relay required';
    default:
      return 'Could not connect';
  }
}
