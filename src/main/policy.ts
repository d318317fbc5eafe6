/**
 * IT-managed policy: where the files are, how they are read, and how they
 * combine with the user's choices. Two policy sources, both optional:
 *
 * - managed: the platform's system location, written by IT (GPO, Intune, Jamf,
 *   Ansible); not writable by a normal user.
 * - installer: `dist/policy/installer-policy.json`, baked into the app archive
 *   at build time (scripts/dist.mjs, `BACKLOT_POLICY=./studio-policy.json`).
 *
 * A policy file that exists but is invalid is not ignored: sign-in is blocked
 * until IT fixes it (fail closed), because silently dropping a policy that
 * turns the clipboard off would leak exactly what it was meant to keep in.
 *
 * The resolution functions are pure; `loadPolicies` takes its file reader as
 * a parameter.
 */
import { join, win32 } from 'node:path';
import { z } from 'zod';
import {
  ClientPolicy,
  DEFAULT_SETTINGS,
  MAX_POLICY_FILE_BYTES,
  SETTING_KEYS,
  type EffectiveSettings,
  type LoginProfile,
  type ProfilePreferences,
  type SettingKey,
  type Settings,
  type SettingSource,
} from '../shared/managed-policy.js';
import { normaliseBrokerUrl } from './config.js';

export const POLICY_FILE_NAME = 'policy.json';
/** The installer policy, relative to the app root (inside app.asar when packaged). */
export const INSTALLER_POLICY_PATH = join('dist', 'policy', 'installer-policy.json');

export type PolicyKind = 'managed' | 'installer';

/** The system-wide policy location for a platform. */
export function managedPolicyPath(platform: NodeJS.Platform, env: Record<string, string | undefined>): string {
  if (platform === 'win32') return win32.join(env.ProgramData ?? 'C:\\ProgramData', 'Backlot', POLICY_FILE_NAME);
  if (platform === 'darwin') return join('/Library', 'Application Support', 'Backlot', POLICY_FILE_NAME);
  return join('/etc', 'backlot', POLICY_FILE_NAME);
}

/** One policy file as read: absent, valid, or invalid (with a reason for IT). */
export interface PolicyFile {
  kind: PolicyKind;
  path: string;
  policy: ClientPolicy | null;
  error: string | null;
}

/** Both policies, highest precedence first. */
export interface Policies {
  managed: PolicyFile;
  installer: PolicyFile;
}

/** Reads one policy file. `readFile` rejects with `code: 'ENOENT'` for a missing file, like fs.promises. */
export async function readPolicyFile(kind: PolicyKind, path: string, readFile: (path: string) => Promise<string>): Promise<PolicyFile> {
  const invalid = (error: string): PolicyFile => ({ kind, path, policy: null, error: `The ${kind} policy at ${path} ${error}` });
  let text: string;
  try {
    text = await readFile(path);
  } catch (err) {
    if (isNotFound(err)) return { kind, path, policy: null, error: null };
    return invalid('could not be read.');
  }
  if (text.length > MAX_POLICY_FILE_BYTES) return invalid(`is larger than ${MAX_POLICY_FILE_BYTES} bytes.`);
  let raw: unknown;
  try {
    // A UTF-8 BOM, as Notepad writes it, is not an error an admin should have to chase.
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    return invalid('is not valid JSON.');
  }
  const parsed = ClientPolicy.safeParse(raw);
  if (!parsed.success) return invalid(`is invalid: ${z.prettifyError(parsed.error)}`);
  const problem = consistencyProblem(parsed.data);
  if (problem !== null) return invalid(`is invalid: ${problem}`);
  return { kind, path, policy: parsed.data, error: null };
}

/** Checks the rules a schema cannot state: unique ids, an existing default, profiles on allowed brokers. */
function consistencyProblem(policy: ClientPolicy): string | null {
  const ids = new Set<string>();
  for (const profile of policy.profiles ?? []) {
    if (ids.has(profile.id)) return `profile id "${profile.id}" is used twice`;
    ids.add(profile.id);
    if (!brokerInList(profile.brokerUrl, policy.allowedBrokers)) return `profile "${profile.id}" uses a broker not in allowedBrokers`;
  }
  if (policy.defaultProfile !== undefined && !ids.has(policy.defaultProfile)) return `defaultProfile "${policy.defaultProfile}" is not one of its profiles`;
  return null;
}

function brokerInList(brokerUrl: string, list: readonly string[] | undefined): boolean {
  if (list === undefined) return true;
  const origin = originOf(brokerUrl);
  return origin !== null && list.some((entry) => originOf(entry) === origin);
}

/** A broker URL's normalised origin, or null when it is not a valid broker URL. */
export function originOf(url: string): string | null {
  const result = normaliseBrokerUrl(url);
  return result.ok ? result.url : null;
}

export interface PolicySources {
  platform: NodeJS.Platform;
  env: Record<string, string | undefined>;
  appRoot: string;
  readFile: (path: string) => Promise<string>;
}

/** Reads both policy files. */
export async function loadPolicies(sources: PolicySources): Promise<Policies> {
  const [managed, installer] = await Promise.all([
    readPolicyFile('managed', managedPolicyPath(sources.platform, sources.env), sources.readFile),
    readPolicyFile('installer', join(sources.appRoot, INSTALLER_POLICY_PATH), sources.readFile),
  ]);
  return { managed, installer };
}

/** No policy at all (tests, and a build without one). */
export const NO_POLICIES: Policies = {
  managed: { kind: 'managed', path: '', policy: null, error: null },
  installer: { kind: 'installer', path: '', policy: null, error: null },
};

/** The first policy error, if any: while there is one, sign-in is blocked. */
export function policyError(policies: Policies): string | null {
  return policies.managed.error ?? policies.installer.error;
}

/** Which policy locks a key, if any (managed first). */
export function lockedBy(policies: Policies, key: SettingKey): PolicyKind | null {
  if (policies.managed.policy?.locked?.includes(key) === true) return 'managed';
  if (policies.installer.policy?.locked?.includes(key) === true) return 'installer';
  return null;
}

type SettingValue = Settings[SettingKey];

function policyValue(policies: Policies, kind: PolicyKind, key: SettingKey): SettingValue | undefined {
  return policies[kind].policy?.settings?.[key];
}

/**
 * Every setting with its value, lock and source. Precedence, highest first:
 * locked by managed > locked by installer > profile preference > user >
 * managed value > installer value > default. A locked key without a value in
 * its policy is pinned to the built-in default.
 */
export function resolveSettings(policies: Policies, user: Partial<Settings>, profile: ProfilePreferences = {}): EffectiveSettings {
  const out: Record<string, { value: SettingValue; locked: boolean; source: SettingSource }> = {};
  for (const key of SETTING_KEYS) {
    const lock = lockedBy(policies, key);
    if (lock !== null) {
      const value = policyValue(policies, lock, key);
      out[key] = value === undefined ? { value: DEFAULT_SETTINGS[key], locked: true, source: 'default' } : { value, locked: true, source: lock };
      continue;
    }
    const fromProfile = (profile as Partial<Settings>)[key];
    const candidates: [SettingValue | undefined, SettingSource][] = [
      [fromProfile, 'profile'],
      [user[key], 'user'],
      [policyValue(policies, 'managed', key), 'managed'],
      [policyValue(policies, 'installer', key), 'installer'],
    ];
    const hit = candidates.find(([value]) => value !== undefined);
    out[key] = hit ? { value: hit[0] as SettingValue, locked: false, source: hit[1] } : { value: DEFAULT_SETTINGS[key], locked: false, source: 'default' };
  }
  return out as EffectiveSettings;
}

/** The plain values of the effective settings. */
export function settingValues(effective: EffectiveSettings): Settings {
  return Object.fromEntries(SETTING_KEYS.map((key) => [key, effective[key].value])) as Settings;
}

/**
 * The brokers the client may talk to, or null for "any the user sets up".
 * The managed list, if any, replaces the installer's.
 */
export function pinnedBrokers(policies: Policies): string[] | null {
  const list = policies.managed.policy?.allowedBrokers ?? policies.installer.policy?.allowedBrokers;
  if (list === undefined) return null;
  return list.map((entry) => originOf(entry)).filter((origin): origin is string => origin !== null);
}

/** Whether users may add their own profiles (false if either policy says so). */
export function userProfilesAllowed(policies: Policies): boolean {
  return policies.managed.policy?.allowUserProfiles !== false && policies.installer.policy?.allowUserProfiles !== false;
}

/** Profiles defined by the policies, managed first; an installer profile with a managed profile's id is dropped. */
export function policyProfiles(policies: Policies): { profile: LoginProfile; source: PolicyKind }[] {
  const seen = new Set<string>();
  const out: { profile: LoginProfile; source: PolicyKind }[] = [];
  const pinned = pinnedBrokers(policies);
  for (const kind of ['managed', 'installer'] as const) {
    for (const profile of policies[kind].policy?.profiles ?? []) {
      if (seen.has(profile.id)) continue;
      // An installer profile outside a managed pin is dropped: the machine's IT has the last word.
      if (pinned !== null && !pinned.includes(originOf(profile.brokerUrl) ?? '')) continue;
      seen.add(profile.id);
      out.push({ profile, source: kind });
    }
  }
  return out;
}

/** The policy's default profile id (managed first). */
export function policyDefaultProfile(policies: Policies): string | null {
  return policies.managed.policy?.defaultProfile ?? policies.installer.policy?.defaultProfile ?? null;
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err.code === 'ENOENT' || err.code === 'ENOTDIR');
}
