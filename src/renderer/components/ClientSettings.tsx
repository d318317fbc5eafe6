import { useState } from 'react';
import type { BacklotApi } from '../../shared/bridge.js';
import type { SettingsUpdate } from '../../shared/ipc.js';
import { MANAGED_LABEL, POLICY_ONLY_KEYS, SETTING_KEYS, type EffectiveSettings, type SettingKey } from '../../shared/managed-policy.js';
import { BITRATE_CHOICES_KBPS, FPS_CHOICES } from '../session/quality.js';

type Field =
  | { kind: 'boolean' }
  | { kind: 'choice'; options: readonly { value: string; label: string }[] }
  | { kind: 'number'; options: readonly number[]; unit: (n: number) => string }
  | { kind: 'text' };

/**
 * Settings kept in the policy schema (so existing policy files stay valid) that
 * have no behaviour yet and so are not shown: `fileTransfer` is reserved for
 * file transfer, which does not exist yet (issue 11). A toggle that does
 * nothing is a bug, not a placeholder.
 */
const RESERVED_KEYS = ['fileTransfer'] as const satisfies readonly SettingKey[];
type ShownKey = Exclude<SettingKey, (typeof RESERVED_KEYS)[number]>;
const SHOWN_KEYS = SETTING_KEYS.filter((k): k is ShownKey => !(RESERVED_KEYS as readonly SettingKey[]).includes(k));

/** How each setting is shown; every key of the schema but the reserved ones has an entry (checked by the type). */
const FIELDS: Record<ShownKey, { label: string; field: Field }> = {
  rememberCredentials: { label: 'Keep me signed in on this computer', field: { kind: 'boolean' } },
  clipboard: {
    label: 'Clipboard',
    field: {
      kind: 'choice',
      options: [
        { value: 'both', label: 'Both ways' },
        { value: 'host-to-client', label: 'Workstation to this computer' },
        { value: 'client-to-host', label: 'This computer to workstation' },
        { value: 'off', label: 'Off' },
      ],
    },
  },
  forceRelay: { label: 'Always connect through the studio’s relay', field: { kind: 'boolean' } },
  autoUpdate: { label: 'Install updates automatically', field: { kind: 'boolean' } },
  updateUrl: { label: 'Update server', field: { kind: 'text' } },
  fullscreenOnConnect: { label: 'Open sessions full screen', field: { kind: 'boolean' } },
  scaling: {
    label: 'Scaling',
    field: {
      kind: 'choice',
      options: [
        { value: 'fit', label: 'Fit to window' },
        { value: 'fill', label: 'Fill window (crop)' },
        { value: 'native', label: '1:1 pixels' },
      ],
    },
  },
  qualityPreset: {
    label: 'Quality',
    field: {
      kind: 'choice',
      options: [
        { value: 'auto', label: 'Automatic' },
        { value: 'low-latency', label: 'Lowest latency' },
        { value: 'balanced', label: 'Balanced' },
        { value: 'high-quality', label: 'Highest quality' },
      ],
    },
  },
  maxFps: { label: 'Frame-rate limit', field: { kind: 'number', options: FPS_CHOICES, unit: (n) => `${n} fps` } },
  maxBitrateKbps: { label: 'Bitrate limit', field: { kind: 'number', options: BITRATE_CHOICES_KBPS, unit: (n) => `${n / 1000} Mb/s` } },
  showStats: { label: 'Show connection statistics', field: { kind: 'boolean' } },
};

/** A value as text, for read-only rows. */
function describe(key: ShownKey, value: unknown): string {
  const { field } = FIELDS[key];
  if (field.kind === 'boolean') return value ? 'On' : 'Off';
  if (field.kind === 'choice') return field.options.find((o) => o.value === value)?.label ?? String(value);
  if (field.kind === 'number') return field.unit(value as number);
  return typeof value === 'string' ? value : 'None';
}

function Control({ name, setting, disabled, onChange }: { name: ShownKey; setting: EffectiveSettings[SettingKey]; disabled: boolean; onChange: (value: unknown) => void }) {
  const { field } = FIELDS[name];
  const common = { name, disabled, 'aria-readonly': disabled, title: disabled ? MANAGED_LABEL : undefined };
  switch (field.kind) {
    case 'boolean':
      return <input type="checkbox" {...common} checked={setting.value === true} onChange={(e) => onChange(e.target.checked)} />;
    case 'choice':
      return (
        <select {...common} value={String(setting.value)} onChange={(e) => onChange(e.target.value)}>
          {field.options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      );
    case 'number': {
      // The current value stays selectable even when it is not one of the usual choices (a policy may set any).
      const options = [...new Set([...field.options, setting.value as number])].sort((a, b) => a - b);
      return (
        <select {...common} value={String(setting.value)} onChange={(e) => onChange(Number(e.target.value))}>
          {options.map((n) => (
            <option key={n} value={n}>
              {field.unit(n)}
            </option>
          ))}
        </select>
      );
    }
    case 'text':
      return <input type="text" {...common} readOnly value={setting.value === null ? '' : String(setting.value)} placeholder="None" />;
  }
}

/**
 * The desktop app's settings, every key: the person's own are editable, the
 * studio's locked ones (and the policy-only update server) read-only with
 * "Managed by your studio". `only="locked"` lists just the managed ones,
 * compactly, for the in-session panel.
 */
export function ClientSettings({
  bridge,
  settings,
  onSettings,
  only,
}: {
  bridge: BacklotApi;
  settings: EffectiveSettings;
  onSettings: (settings: EffectiveSettings) => void;
  only?: 'locked';
}) {
  const [error, setError] = useState<string | null>(null);
  const keys = only === 'locked' ? SHOWN_KEYS.filter((k) => settings[k].locked) : SHOWN_KEYS;
  if (keys.length === 0) return null;

  const change = async (key: ShownKey, value: unknown) => {
    // Main parses the update (SettingsUpdate) and refuses a locked key; the controls only offer valid values.
    const update: SettingsUpdate = { [key]: value };
    const reply = await bridge.setSettings(update);
    if (!reply.ok) return setError(reply.error.message);
    setError(null);
    onSettings(reply.value);
  };

  if (only === 'locked') {
    return (
      <section className="client-settings compact" aria-label={MANAGED_LABEL}>
        <h3 className="small">{MANAGED_LABEL}</h3>
        <dl>
          {keys.map((k) => (
            <div key={k} data-setting={k} data-locked="true">
              <dt>{FIELDS[k].label}</dt>
              <dd>{describe(k, settings[k].value)}</dd>
            </div>
          ))}
        </dl>
      </section>
    );
  }

  return (
    <section className="client-settings" aria-label="Settings">
      {keys.map((k) => {
        const locked = settings[k].locked;
        const readOnly = locked || POLICY_ONLY_KEYS.includes(k);
        return (
          <label key={k} className={`setting ${FIELDS[k].field.kind}`} data-setting={k} data-locked={locked ? 'true' : 'false'}>
            <span className="setting-label">{FIELDS[k].label}</span>
            <Control name={k} setting={settings[k]} disabled={readOnly} onChange={(v) => void change(k, v)} />
            {readOnly && <span className="managed-note">{locked || settings[k].source !== 'default' ? MANAGED_LABEL : 'Set by your studio only'}</span>}
          </label>
        );
      })}
      {error && (
        <p className="error small" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
