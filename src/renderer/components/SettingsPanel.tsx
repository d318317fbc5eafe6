import { useSelector } from '@xstate/react';
import type { ActorRefFrom } from 'xstate';
import { MANAGED_LABEL } from '../../shared/managed-policy.js';
import { VIDEO_CODECS, type VideoCodec } from '../../shared/policy.js';
import type { LockedSetting } from '../api/settings.js';
import { withAutoFps } from '../session/backlog.js';
import type { sessionMachine } from '../session/machine.js';
import { BITRATE_CHOICES_KBPS, FPS_CHOICES, RESOLUTION_CHOICES } from '../session/quality.js';
import type { DesktopMenu } from './AppMenu.js';
import { ClientSettings } from './ClientSettings.js';

/** Next to a control the studio locked. */
function Managed({ when }: { when: boolean }) {
  return when ? <span className="managed-note">{MANAGED_LABEL}</span> : null;
}

/**
 * Stream quality for this connection, within the session's policy. Changes
 * apply on the running stream (the host rescales and re-encodes; a codec
 * change renegotiates the same connection), no reconnect.
 */
export function SettingsPanel({
  actor,
  locked,
  desktop,
  onClose,
}: {
  actor: ActorRefFrom<typeof sessionMachine>;
  locked: ReadonlySet<LockedSetting>;
  desktop: DesktopMenu | null;
  onClose: () => void;
}) {
  const policy = useSelector(actor, (s) => s.context.grant?.policy ?? null);
  const quality = useSelector(actor, (s) => s.context.quality);
  const applied = useSelector(actor, (s) => s.context.applied);
  const autoFps = useSelector(actor, (s) => s.context.autoFps);
  if (!policy) return null;

  const resolutions = RESOLUTION_CHOICES.filter((r) => r.width <= policy.maxWidth && r.height <= policy.maxHeight);
  const fpsChoices = FPS_CHOICES.filter((f) => f <= policy.maxFps);
  const bitrates = BITRATE_CHOICES_KBPS.filter((b) => b <= policy.maxBitrateKbps);
  const codecs = VIDEO_CODECS.filter((c) => policy.codecs.includes(c));
  const resKey = quality.width && quality.height ? `${quality.width}x${quality.height}` : '';

  return (
    <aside className="settings" aria-label="Stream settings">
      <header>
        <span>Stream settings</span>
        <button className="icon" aria-label="Close settings" onClick={onClose}>
          ×
        </button>
      </header>
      <label>
        Resolution
        <select
          disabled={locked.has('width')}
          title={locked.has('width') ? MANAGED_LABEL : undefined}
          value={resKey}
          onChange={(e) => {
            const r = resolutions.find((x) => `${x.width}x${x.height}` === e.target.value);
            actor.send({ type: 'quality.set', request: r ? { width: r.width, height: r.height } : { width: undefined, height: undefined } });
          }}
        >
          <option value="">Native (workstation)</option>
          {resolutions.map((r) => (
            <option key={r.label} value={`${r.width}x${r.height}`}>
              {r.label}
            </option>
          ))}
        </select>
        <Managed when={locked.has('width')} />
      </label>
      <label>
        Frame rate
        <select disabled={locked.has('fps')} title={locked.has('fps') ? MANAGED_LABEL : undefined} value={withAutoFps(quality, autoFps).fps ?? ''} onChange={(e) => actor.send({ type: 'quality.set', request: { fps: e.target.value ? Number(e.target.value) : undefined } })}>
          <option value="">Default</option>
          {fpsChoices.map((f) => (
            <option key={f} value={f}>
              {f} fps
            </option>
          ))}
        </select>
        <Managed when={locked.has('fps')} />
      </label>
      <label>
        Bitrate ceiling
        <select
          disabled={locked.has('maxBitrateKbps')}
          title={locked.has('maxBitrateKbps') ? MANAGED_LABEL : undefined}
          value={quality.maxBitrateKbps ?? ''}
          onChange={(e) => actor.send({ type: 'quality.set', request: { maxBitrateKbps: e.target.value ? Number(e.target.value) : undefined } })}
        >
          <option value="">Automatic (up to {policy.maxBitrateKbps / 1000} Mb/s)</option>
          {bitrates.map((b) => (
            <option key={b} value={b}>
              {b / 1000} Mb/s
            </option>
          ))}
        </select>
        <Managed when={locked.has('maxBitrateKbps')} />
      </label>
      <label>
        Codec
        <select
          disabled={locked.has('codec')}
          title={locked.has('codec') ? MANAGED_LABEL : undefined}
          value={quality.codec ?? ''}
          onChange={(e) => actor.send({ type: 'codec.set', codec: (e.target.value || null) as VideoCodec | null })}
        >
          <option value="">Studio default ({policy.codecs[0]})</option>
          {codecs.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
        <Managed when={locked.has('codec')} />
      </label>
      {desktop?.settings && <ClientSettings bridge={desktop.bridge} settings={desktop.settings} onSettings={desktop.onSettings} only="locked" />}
      <p className="muted small">
        Clipboard: {policy.clipboard === 'off' ? 'disabled by your studio' : policy.clipboard === 'both' ? 'both ways' : policy.clipboard.replace(/-/g, ' ')}
      </p>
      {applied && (
        <p className="muted small" data-testid="quality-applied">
          Workstation applies: {applied.width && applied.height ? `${applied.width}×${applied.height}` : 'native'} · {applied.fps ?? '—'} fps
          {applied.maxBitrateKbps ? ` · ${applied.maxBitrateKbps / 1000} Mb/s` : ''}
        </p>
      )}
      {autoFps && (
        <p className="muted small" data-testid="quality-auto-fps">
          Frame rate lowered from {autoFps.from} to {autoFps.to} fps: this computer could not decode the stream as fast as it arrived, and the picture
          was falling behind. This applies to this session only; choose a frame rate to override it.
        </p>
      )}
    </aside>
  );
}
