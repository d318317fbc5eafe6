/**
 * Login profiles and settings, as the app sees them: the policies' profiles
 * (read-only), the launch script's BACKLOT_BROKER_URL, and the user's own
 * `profiles.json` (validated on every read, written atomically). Answers
 * "which brokers may this client talk to" for sign-in, deep links and the CSP,
 * and enforces locks when the user changes a setting.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import type { SettingsUpdate } from '../shared/ipc.js';
import {
  MAX_PROFILES,
  MAX_PROFILES_FILE_BYTES,
  POLICY_ONLY_KEYS,
  UserProfilesFile,
  type EffectiveSettings,
  type ListedProfile,
  type LoginProfile,
  type ProfileList,
  type SettingKey,
  type Settings,
} from '../shared/managed-policy.js';
import { BacklotError } from './errors.js';
import {
  lockedBy,
  originOf,
  pinnedBrokers,
  policyDefaultProfile,
  policyError,
  policyProfiles,
  resolveSettings,
  settingValues,
  userProfilesAllowed,
  type Policies,
} from './policy.js';

export const PROFILES_FILE_NAME = 'profiles.json';
/** Id of the profile made from BACKLOT_BROKER_URL. */
export const ENVIRONMENT_PROFILE_ID = 'environment';
const PROFILES_FILE_MODE = 0o600;

export interface ProfilesFs {
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  writeFile(path: string, data: string, options: { mode: number; flag: string }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: boolean }): Promise<void>;
}

export interface ProfileServiceOptions {
  policies: Policies;
  userDataDir: string;
  fs: ProfilesFs;
  /** The normalised BACKLOT_BROKER_URL, or null. */
  environmentBroker: string | null;
  warn: (message: string) => void;
}

const EMPTY_USER_FILE: UserProfilesFile = { version: 1, profiles: [] };

/** Reads the user's profile file; anything wrong with it is reported and treated as empty. */
export async function readUserFile(path: string, fs: ProfilesFs, warn: (message: string) => void): Promise<UserProfilesFile> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch {
    return EMPTY_USER_FILE;
  }
  if (text.length > MAX_PROFILES_FILE_BYTES) {
    warn(`Ignoring ${path}: larger than ${MAX_PROFILES_FILE_BYTES} bytes`);
    return EMPTY_USER_FILE;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    warn(`Ignoring ${path}: not valid JSON`);
    return EMPTY_USER_FILE;
  }
  const parsed = UserProfilesFile.safeParse(raw);
  if (!parsed.success) {
    warn(`Ignoring ${path}: ${z.prettifyError(parsed.error)}`);
    return EMPTY_USER_FILE;
  }
  return parsed.data;
}

/** The app's profiles and settings. One instance per run; main.ts creates it. */
export class ProfileService {
  readonly #options: ProfileServiceOptions;
  readonly #path: string;
  #user: UserProfilesFile;

  private constructor(options: ProfileServiceOptions, user: UserProfilesFile) {
    this.#options = options;
    this.#path = join(options.userDataDir, PROFILES_FILE_NAME);
    this.#user = user;
  }

  static async open(options: ProfileServiceOptions): Promise<ProfileService> {
    const user = await readUserFile(join(options.userDataDir, PROFILES_FILE_NAME), options.fs, options.warn);
    return new ProfileService(options, user);
  }

  get policies(): Policies {
    return this.#options.policies;
  }

  /** Set while a policy file is invalid; sign-in is refused meanwhile. */
  get policyError(): string | null {
    return policyError(this.#options.policies);
  }

  /** Every profile the user may pick, policy ones first. */
  list(): ProfileList {
    const policies = this.#options.policies;
    const pinned = pinnedBrokers(policies);
    const out: ListedProfile[] = policyProfiles(policies).map(({ profile, source }) => ({ ...profile, source, locked: true }));
    const taken = new Set(out.map((p) => p.id));
    const environment = this.#options.environmentBroker;
    if (environment !== null && (pinned === null || pinned.includes(environment))) {
      out.push({ id: ENVIRONMENT_PROFILE_ID, name: new URL(environment).host, brokerUrl: environment, source: 'environment', locked: true });
      taken.add(ENVIRONMENT_PROFILE_ID);
    }
    if (userProfilesAllowed(policies)) {
      for (const profile of this.#user.profiles) {
        if (taken.has(profile.id)) continue;
        if (pinned !== null && !pinned.includes(originOf(profile.brokerUrl) ?? '')) continue;
        out.push({ ...profile, source: 'user', locked: false });
      }
    }
    const policyDefault = policyDefaultProfile(policies);
    const lastUsed = this.#user.lastProfileId ?? null;
    const defaultProfileId =
      [policyDefault, environment !== null ? ENVIRONMENT_PROFILE_ID : null, lastUsed, out[0]?.id ?? null].find(
        (id) => id !== null && out.some((p) => p.id === id),
      ) ?? null;
    return { profiles: out, defaultProfileId, allowUserProfiles: userProfilesAllowed(policies), allowedBrokers: pinned };
  }

  /** A listed profile by id. */
  find(id: string): ListedProfile | undefined {
    return this.list().profiles.find((p) => p.id === id);
  }

  /** The first listed profile on this broker origin. */
  findByBroker(origin: string): ListedProfile | undefined {
    return this.list().profiles.find((p) => originOf(p.brokerUrl) === origin);
  }

  /** The default profile's broker, or null. */
  defaultBrokerUrl(): string | null {
    const list = this.list();
    const profile = list.profiles.find((p) => p.id === list.defaultProfileId);
    return profile ? originOf(profile.brokerUrl) : null;
  }

  /**
   * Whether a password and tokens may go to this broker: it must be pinned by
   * the policy, or (without a pin) belong to a listed profile. Never while a
   * policy is broken.
   */
  isBrokerAllowed(brokerUrl: string): boolean {
    if (this.policyError !== null) return false;
    const origin = originOf(brokerUrl);
    if (origin === null) return false;
    const pinned = pinnedBrokers(this.#options.policies);
    if (pinned !== null) return pinned.includes(origin);
    return this.list().profiles.some((p) => originOf(p.brokerUrl) === origin);
  }

  /** The brokers the renderer may connect to (for the CSP). */
  knownBrokers(): string[] {
    const pinned = pinnedBrokers(this.#options.policies);
    const fromProfiles = this.list().profiles.map((p) => originOf(p.brokerUrl)).filter((o): o is string => o !== null);
    return [...new Set([...(pinned ?? []), ...fromProfiles])];
  }

  /** Effective settings, with a profile's preferences applied when given. */
  effective(profileId?: string): EffectiveSettings {
    const profile = profileId === undefined ? undefined : this.find(profileId);
    if (profileId !== undefined && profile === undefined) throw new BacklotError('ERR_NOT_FOUND', `There is no profile "${profileId}".`);
    return resolveSettings(this.#options.policies, this.#user.settings ?? {}, profile?.preferences ?? {});
  }

  /** Plain effective values. */
  values(profileId?: string): Settings {
    return settingValues(this.effective(profileId));
  }

  /** Changes the user's settings. Refuses the whole update if any key is locked or policy-only. */
  async setSettings(update: SettingsUpdate): Promise<EffectiveSettings> {
    for (const key of Object.keys(update) as SettingKey[]) {
      if (POLICY_ONLY_KEYS.includes(key)) throw new BacklotError('ERR_FORBIDDEN', `"${key}" can only be set by your studio's policy.`);
      if (lockedBy(this.#options.policies, key) !== null) throw new BacklotError('ERR_FORBIDDEN', `"${key}" is managed by your studio and cannot be changed.`);
    }
    await this.#write({ ...this.#user, settings: { ...this.#user.settings, ...update } });
    return this.effective();
  }

  /** Adds or replaces one of the user's own profiles. */
  async saveProfile(profile: LoginProfile): Promise<ProfileList> {
    const policies = this.#options.policies;
    if (!userProfilesAllowed(policies)) throw new BacklotError('ERR_FORBIDDEN', 'Your studio does not allow adding your own profiles.');
    const origin = originOf(profile.brokerUrl);
    if (origin === null) throw new BacklotError('ERR_BAD_REQUEST', 'The broker URL must be https://host[:port].');
    const pinned = pinnedBrokers(policies);
    if (pinned !== null && !pinned.includes(origin)) {
      throw new BacklotError('ERR_FORBIDDEN', `Your studio only allows these brokers: ${pinned.join(', ')}.`);
    }
    const existing = this.find(profile.id);
    if (existing !== undefined && existing.locked) throw new BacklotError('ERR_FORBIDDEN', `The profile "${profile.id}" is managed by your studio.`);
    const others = this.#user.profiles.filter((p) => p.id !== profile.id);
    if (others.length >= MAX_PROFILES) throw new BacklotError('ERR_TOO_LARGE', `At most ${MAX_PROFILES} profiles can be saved.`);
    await this.#write({ ...this.#user, profiles: [...others, { ...profile, brokerUrl: origin }] });
    return this.list();
  }

  /** Removes one of the user's own profiles. */
  async removeProfile(id: string): Promise<ProfileList> {
    const existing = this.find(id);
    if (existing === undefined) throw new BacklotError('ERR_NOT_FOUND', `There is no profile "${id}".`);
    if (existing.locked) throw new BacklotError('ERR_FORBIDDEN', `The profile "${id}" is managed by your studio.`);
    await this.#write({
      ...this.#user,
      profiles: this.#user.profiles.filter((p) => p.id !== id),
      lastProfileId: this.#user.lastProfileId === id ? null : (this.#user.lastProfileId ?? null),
    });
    return this.list();
  }

  /** Remembers the profile last signed in with (best effort). */
  async rememberLastProfile(id: string): Promise<void> {
    if (this.#user.lastProfileId === id) return;
    await this.#write({ ...this.#user, lastProfileId: id }).catch(() => this.#options.warn('Could not save the last used profile'));
  }

  async #write(next: UserProfilesFile): Promise<void> {
    // Validated before it is written, so the file on disk always reads back.
    const checked = UserProfilesFile.parse(next);
    const temporary = `${this.#path}.${randomBytes(6).toString('hex')}.tmp`;
    const { fs } = this.#options;
    try {
      await fs.writeFile(temporary, `${JSON.stringify(checked, null, 2)}\n`, { mode: PROFILES_FILE_MODE, flag: 'wx' });
      await fs.rename(temporary, this.#path);
    } catch (err) {
      await fs.rm(temporary, { force: true }).catch(() => undefined);
      throw new BacklotError('ERR_INTERNAL', 'Backlot could not save your profiles.', { cause: err });
    }
    this.#user = checked;
  }
}
