import { useSelector } from '@xstate/react';
import type { ActorRefFrom } from 'xstate';
import { MANAGED_LABEL } from '../../shared/managed-policy.js';
import type { VideoCodec } from '../../shared/policy.js';
import type { LockedSetting } from '../api/settings.js';
import { withAutoFps } from '../session/backlog.js';
import type { sessionMachine } from '../session/machine.js';
import { canDecodeFullColour, receiveCodecs, type CodecCapability } from '../session/media.js';
import { BITRATE_CHOICES_KBPS, choosableCodecs, FPS_CHOICES, RESOLUTION_CHOICES } from '../session/quality.js';
import type { DesktopMenu } from './AppMenu.js';
import { ClientSettings } from './ClientSettings.js';

/** Next to a control the studio locked. */
function Managed({ when }: { when: boolean }) {
  return when ? <span className="managed-note">{MANAGED_LABEL}</span> : null;
}

/**
 * Stream quality for this connection, within the session's policy. Resolution,
 * frame rate and bitrate apply on the running stream (the host rescales and
 * re-encodes), no reconnect. The codec list is what both the policy and the
 * host allow (`hello.stream.codecs`). A codec or full-colour change
 * renegotiates the same connection where the host can
 * (`codecChangeInPlace`), and reconnects where it cannot (the encoded
 * pipeline sends one format per connection), with a notice.
 *
 * `receiveCodecs` is the browser's decoders (a parameter for tests).
 */
export function SettingsPanel({
  actor,
  locked,
  desktop,
  onClose,
  decoders = receiveCodecs,
}: {
  actor: ActorRefFrom<typeof sessionMachine>;
  locked: ReadonlySet<LockedSetting>;
  desktop: DesktopMenu | null;
  onClose: () => void;
  decoders?: () => readonly CodecCapability[] | null;
}) {
  const policy = useSelector(actor, (s) => s.context.grant?.policy ?? null);
  const quality = useSelector(actor, (s) => s.context.quality);
  const applied = useSelector(actor, (s) => s.context.applied);
  const autoFps = useSelector(actor, (s) => s.context.autoFps);
  const host = useSelector(actor, (s) => s.context.hostStream);
  const fullColour = useSelector(actor, (s) => s.context.fullColour);
  if (!policy) return null;

  const resolutions = RESOLUTION_CHOICES.filter((r) => r.width <= policy.maxWidth && r.height <= policy.maxHeight);
  const fpsChoices = FPS_CHOICES.filter((f) => f <= policy.maxFps);
  const bitrates = BITRATE_CHOICES_KBPS.filter((b) => b <= policy.maxBitrateKbps);
  const codecs = choosableCodecs(policy, host);
  const codecValue = quality.codec && codecs.includes(quality.codec) ? quality.codec : '';
  // Offered where the studio allows 4:4:4 and this browser decodes H.264 High 4:4:4 (f4001f).
  const offerFullColour = policy.chroma444 && canDecodeFullColour(decoders());
  const hostLacksFullColour = host !== null && !host.chroma444Available;
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
          {/* Automatic: the workstation picks a ceiling for the size and frame rate (about 0.06 bits a pixel), under the policy's. */}
          <option value="">{quality.maxBitrateKbps === undefined && applied?.maxBitrateKbps ? `Automatic (${applied.maxBitrateKbps / 1000} Mb/s for this stream)` : 'Automatic (set by the workstation)'}</option>
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
          value={codecValue}
          onChange={(e) => actor.send({ type: 'codec.set', codec: (e.target.value || null) as VideoCodec | null })}
        >
          <option value="">Studio default ({codecs[0] ?? policy.codecs[0]})</option>
          {codecs.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
        <Managed when={locked.has('codec')} />
      </label>
      {offerFullColour && (
        <label className="check" title="Colour at every pixel (H.264 High 4:4:4): sharp coloured text and 1-pixel lines, about a third more bandwidth">
          <input
            type="checkbox"
            checked={fullColour}
            disabled={hostLacksFullColour}
            onChange={(e) => actor.send({ type: 'fullColour.set', enabled: e.target.checked })}
          />
          Full colour (4:4:4)
          {hostLacksFullColour && (
            <span className="muted small" data-testid="full-colour-unavailable">
              {' '}
              — this workstation cannot send it
            </span>
          )}
        </label>
      )}
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
