import { useState } from 'react';
import type { BacklotApi } from '../../shared/bridge.js';
import { MANAGED_LABEL, type ListedProfile, type ProfileList } from '../../shared/managed-policy.js';
import { orderProfiles } from '../shell/profiles.js';

const GROUPS: { label: string; test: (p: ListedProfile) => boolean }[] = [
  { label: 'Your studio', test: (p) => p.source !== 'user' },
  { label: 'Your profiles', test: (p) => p.source === 'user' },
];

/** A profile id from a broker address: `backlot.studio.example` → `backlot.studio.example`, stripped to the allowed characters. */
function profileIdFor(brokerUrl: string): string | null {
  try {
    const id = new URL(brokerUrl).host.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);
    return /^[A-Za-z0-9]/.test(id) ? id : null;
  } catch {
    return null;
  }
}

/**
 * The login profiles: the studio's (IT-managed, from the installer, or a
 * launch script's) first and read-only, then the person's own, which they may
 * remove, or add from what they typed when the policy allows it.
 */
export function ProfilePicker({
  bridge,
  list,
  selectedId,
  draft,
  onSelect,
  onList,
}: {
  bridge: BacklotApi;
  list: ProfileList;
  selectedId: string | null;
  /** What the form holds now, for "Save as a profile". */
  draft: { brokerUrl: string; username: string };
  onSelect: (id: string | null) => void;
  onList: (list: ProfileList) => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const profiles = orderProfiles(list);
  const selected = profiles.find((p) => p.id === selectedId) ?? null;
  const pinned = list.allowedBrokers !== null;
  if (profiles.length === 0 && !list.allowUserProfiles) return null;

  const save = async () => {
    const id = profileIdFor(draft.brokerUrl);
    if (!id) return setError('Enter the server address first.');
    const reply = await bridge.saveProfile({ id, name: new URL(draft.brokerUrl).host, brokerUrl: new URL(draft.brokerUrl).origin, ...(draft.username ? { username: draft.username } : {}) });
    if (!reply.ok) return setError(reply.error.message);
    setError(null);
    onList(reply.value);
    onSelect(id);
  };
  const remove = async (id: string) => {
    const reply = await bridge.removeProfile({ id });
    if (!reply.ok) return setError(reply.error.message);
    setError(null);
    onList(reply.value);
    onSelect(null);
  };

  return (
    <div className="profiles">
      {profiles.length > 0 && (
        <label>
          Profile
          <select name="profile" value={selectedId ?? ''} onChange={(e) => onSelect(e.target.value || null)}>
            {/* With pinned brokers there is nothing to type: a profile is always chosen. */}
            {!pinned && <option value="">Another server…</option>}
            {GROUPS.map((g) => {
              const members = profiles.filter(g.test);
              return (
                members.length > 0 && (
                  <optgroup key={g.label} label={g.label}>
                    {members.map((p) => (
                      <option key={p.id} value={p.id}>
                        {p.name}
                      </option>
                    ))}
                  </optgroup>
                )
              );
            })}
          </select>
        </label>
      )}
      <div className="profile-actions small">
        {selected?.locked && <span className="managed-note" data-testid="profile-managed">{MANAGED_LABEL}</span>}
        {selected && !selected.locked && (
          <button type="button" className="link" onClick={() => void remove(selected.id)}>
            Remove this profile
          </button>
        )}
        {!selected && list.allowUserProfiles && !pinned && draft.brokerUrl && (
          <button type="button" className="link" onClick={() => void save()}>
            Save as a profile
          </button>
        )}
      </div>
      {error && <p className="error small">{error}</p>}
    </div>
  );
}
