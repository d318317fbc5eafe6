import type { Failure } from '../session/machine.js';

/** Sentences a person can act on, per error code. The broker's own message is used where none is written. */
const MESSAGES: Partial<Record<Failure['code'], string>> = {
  ERR_BAD_CREDENTIALS: 'Wrong username or password.',
  ERR_UNAUTHORIZED: 'Your sign-in has expired. Sign in again.',
  ERR_FORBIDDEN: 'You are not assigned to this workstation. Ask your studio IT.',
  ERR_WORKSTATION_OFFLINE: 'This workstation is offline. It may be switched off or its agent stopped.',
  ERR_WORKSTATION_IN_USE: 'Someone is already connected to this workstation.',
  ERR_GRANT_EXPIRED: 'The connection took too long to start. Try again.',
  ERR_BROKER_UNREACHABLE: 'The Backlot server cannot be reached. Check your network connection.',
};

export function describeFailure(f: Failure): string {
  return MESSAGES[f.code] ?? f.message;
}
