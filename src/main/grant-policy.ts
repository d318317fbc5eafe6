/**
 * Applies the client's policy to a session grant before the renderer sees
 * it. The broker's session policy is the studio's server-side decision; the
 * client policy (this machine's IT) may only narrow it further: clipboard
 * directions are intersected, file transfer needs both, and `forceRelay`
 * keeps only TURN servers so no direct path is even offered.
 */
import type { Settings } from '../shared/managed-policy.js';
import type { ClipboardMode } from '../shared/policy.js';
import type { SessionGrant } from '../shared/protocol.js';

const DIRECTIONS: Record<ClipboardMode, readonly ('in' | 'out')[]> = {
  off: [],
  'host-to-client': ['in'],
  'client-to-host': ['out'],
  both: ['in', 'out'],
};

/** The clipboard mode both sides allow. */
export function intersectClipboard(a: ClipboardMode, b: ClipboardMode): ClipboardMode {
  const allowed = DIRECTIONS[a].filter((d) => DIRECTIONS[b].includes(d));
  if (allowed.length === 2) return 'both';
  if (allowed.length === 0) return 'off';
  return allowed[0] === 'in' ? 'host-to-client' : 'client-to-host';
}

/** True for a `turn:` / `turns:` URL. */
function isTurnUrl(url: string): boolean {
  return /^turns?:/i.test(url);
}

/** The grant as this client will use it. */
export function narrowGrant(grant: SessionGrant, settings: Pick<Settings, 'clipboard' | 'fileTransfer' | 'forceRelay'>): SessionGrant {
  const iceServers = settings.forceRelay
    ? grant.iceServers
        .map((server) => {
          const urls = (Array.isArray(server.urls) ? server.urls : [server.urls]).filter(isTurnUrl);
          return { ...server, urls };
        })
        .filter((server) => server.urls.length > 0)
    : grant.iceServers;
  return {
    ...grant,
    iceServers,
    policy: {
      ...grant.policy,
      clipboard: intersectClipboard(grant.policy.clipboard, settings.clipboard),
      fileTransfer: grant.policy.fileTransfer && settings.fileTransfer,
    },
  };
}
