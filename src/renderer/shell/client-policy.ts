/**
 * What this client's settings (the Electron client's effective settings,
 * possibly locked by the studio) change about a session. The narrowing
 * itself is shared with main (src/shared/grant-narrowing.ts).
 */
import type { QualityRequest } from '../../shared/control.js';
import type { EffectiveSettings, Settings } from '../../shared/managed-policy.js';
import type { GrantNarrowing } from '../../shared/grant-narrowing.js';

export { hasRelay, intersectClipboard, narrowGrant } from '../../shared/grant-narrowing.js';

/** The settings that shape a session's network path and data flow. */
export type ClientSessionPolicy = GrantNarrowing;

/** The web client has no local policy: the grant decides. */
export const OPEN_CLIENT_POLICY: ClientSessionPolicy = { forceRelay: false, clipboard: 'both', fileTransfer: true };

export function clientPolicyFrom(settings: EffectiveSettings | null): ClientSessionPolicy {
  if (!settings) return OPEN_CLIENT_POLICY;
  return { forceRelay: settings.forceRelay.value, clipboard: settings.clipboard.value, fileTransfer: settings.fileTransfer.value };
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
