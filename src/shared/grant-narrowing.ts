/**
 * How a client's own policy narrows a session grant. The broker's session
 * policy is the studio's server-side decision; the client policy (this
 * machine's IT, or the user's settings) may only narrow it: clipboard
 * directions are intersected, file transfer needs both, and `forceRelay`
 * keeps only TURN servers so no direct path is even offered. Main applies it
 * before the renderer sees a grant, and the renderer again with its current
 * settings, so the stricter of the two always wins.
 */
import type { ClipboardMode } from './policy.js';
import type { IceServer, SessionGrant } from './protocol.js';

/** The settings that narrow a grant. */
export interface GrantNarrowing {
  /** Only TURN relays: `iceTransportPolicy: 'relay'`, never a direct path. */
  forceRelay: boolean;
  clipboard: ClipboardMode;
  fileTransfer: boolean;
}

const DIRECTIONS: Record<ClipboardMode, readonly ('in' | 'out')[]> = {
  off: [],
  'host-to-client': ['in'],
  'client-to-host': ['out'],
  both: ['in', 'out'],
};

/** The clipboard mode both allow (the stricter of the two, direction by direction). */
export function intersectClipboard(a: ClipboardMode, b: ClipboardMode): ClipboardMode {
  const allowed = DIRECTIONS[a].filter((d) => DIRECTIONS[b].includes(d));
  if (allowed.length === 2) return 'both';
  if (allowed.length === 0) return 'off';
  return allowed[0] === 'in' ? 'host-to-client' : 'client-to-host';
}

const isTurnUrl = (url: string): boolean => /^turns?:/i.test(url);
const urlsOf = (s: IceServer): string[] => (Array.isArray(s.urls) ? s.urls : [s.urls]);

/** True when at least one ICE server is a TURN relay. */
export function hasRelay(iceServers: readonly IceServer[]): boolean {
  return iceServers.some((s) => urlsOf(s).some(isTurnUrl));
}

/** The grant as this client uses it. */
export function narrowGrant(grant: SessionGrant, policy: GrantNarrowing): SessionGrant {
  const iceServers = policy.forceRelay
    ? grant.iceServers.map((s) => ({ ...s, urls: urlsOf(s).filter(isTurnUrl) })).filter((s) => s.urls.length > 0)
    : grant.iceServers;
  return {
    ...grant,
    iceServers,
    policy: {
      ...grant.policy,
      clipboard: intersectClipboard(grant.policy.clipboard, policy.clipboard),
      fileTransfer: grant.policy.fileTransfer && policy.fileTransfer,
    },
  };
}
