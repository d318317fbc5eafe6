/**
 * TURN credentials in the TURN REST API scheme that coturn implements with
 * `use-auth-secret`: username `<expiry unix seconds>:<user>`, password
 * base64(HMAC-SHA1(shared secret, username)).
 */
import { createHmac } from 'node:crypto';
import type { IceServer } from '../shared/protocol.js';

export interface TurnConfig {
  urls: string[];
  secret: string;
  ttlSeconds: number;
}

export function turnCredential(secret: string, user: string, expiresAtSeconds: number): { username: string; credential: string } {
  const username = `${expiresAtSeconds}:${user}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/** The ICE servers to hand one party of a session: static STUN entries plus a fresh TURN credential. */
export function iceServersFor(user: string, stun: IceServer[], turn: TurnConfig | undefined, now: number): IceServer[] {
  if (!turn || turn.urls.length === 0) return stun;
  const { username, credential } = turnCredential(turn.secret, user, Math.floor(now / 1000) + turn.ttlSeconds);
  return [...stun, { urls: turn.urls, username, credential }];
}
