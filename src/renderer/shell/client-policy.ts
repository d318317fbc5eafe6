/**
 * What this client's settings (the Electron client's effective settings,
 * possibly locked by the studio) change about a session. Main already
 * narrows grants (src/main/grant-policy.ts); the renderer narrows them again
 * so a session never uses more than either the grant or the local settings
 * allow, whichever is stricter, even if the two ever disagree.
 */
import type { QualityRequest } from '../../shared/control.js';
import type { EffectiveSettings, Settings } from '../../shared/managed-policy.js';
import type { ClipboardMode } from '../../shared/policy.js';
import type { IceServer, SessionGrant } from '../../shared/protocol.js';

/** The settings that shape a session's network path and data flow. */
export interface ClientSessionPolicy {
  /** Only TURN relays: `iceTransportPolicy: 'relay'`, never a direct path. */
  forceRelay: boolean;
  clipboard: ClipboardMode;
  fileTransfer: boolean;
}

/** The web client has no local policy: the grant decides. */
export const OPEN_CLIENT_POLICY: ClientSessionPolicy = { forceRelay: false, clipboard: 'both', fileTransfer: true };

export function clientPolicyFrom(settings: EffectiveSettings | null): ClientSessionPolicy {
  if (!settings) return OPEN_CLIENT_POLICY;
  return { forceRelay: settings.forceRelay.value, clipboard: settings.clipboard.value, fileTransfer: settings.fileTransfer.value };
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

/** True when at least one ICE server is a TURN relay. */
export function hasRelay(iceServers: readonly IceServer[]): boolean {
  return iceServers.some((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]).some(isTurnUrl));
}

/** The grant as this client uses it: clipboard and file transfer narrowed, and only relays when relaying is forced. */
export function narrowGrant(grant: SessionGrant, policy: ClientSessionPolicy): SessionGrant {
  const iceServers = policy.forceRelay
    ? grant.iceServers
        .map((s) => ({ ...s, urls: (Array.isArray(s.urls) ? s.urls : [s.urls]).filter(isTurnUrl) }))
        .filter((s) => s.urls.length > 0)
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

/**
 * What each quality preset asks of the host, before the frame-rate and
 * bitrate ceilings and the grant's policy clamp it. Low latency keeps frames
 * small (1080p, modest bitrate, full frame rate); high quality lets the
 * workstation's native resolution and a high bitrate through.
 */
export const PRESET_QUALITY: Record<Settings['qualityPreset'], QualityRequest> = {
  auto: {},
  'low-latency': { width: 1920, height: 1080, fps: 60, maxBitrateKbps: 10_000 },
  balanced: { fps: 30, maxBitrateKbps: 20_000 },
  'high-quality': { fps: 60, maxBitrateKbps: 80_000 },
};
