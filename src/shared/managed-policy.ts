/**
 * The desktop client's configuration contract: the IT-managed policy file
 * (system location or baked into the installer), the user's own profiles and
 * settings, and the effective settings main reports to the renderer. zod
 * only, no Node, Electron or DOM: main validates files with these schemas, the
 * renderer imports the types, and `schemas/policy.schema.json` is generated
 * from `ClientPolicy` (see scripts/policy-schema.mjs).
 *
 * Precedence of a setting, highest first (README.md):
 *   locked by the managed policy > locked by the installer policy > the user's
 *   choice > the managed policy's value > the installer policy's value > default.
 * Unlocked policy values are recommendations a user may change; a locked one
 * is enforced by main (settings.set refuses it) and shown read-only.
 */
import { z } from 'zod';
import { CLIPBOARD_MODES } from './policy.js';

/** Policy files larger than this are refused unread (a real one is a few KB). */
export const MAX_POLICY_FILE_BYTES = 256 * 1024;
/** The user's profile file is refused beyond this size. */
export const MAX_PROFILES_FILE_BYTES = 256 * 1024;
/** Most login profiles one file may define. */
export const MAX_PROFILES = 64;
/** Most brokers a policy may allow. */
export const MAX_ALLOWED_BROKERS = 32;

/**
 * A broker origin: `https://host[:port]`, or plain `http:` on loopback only
 * (the password and bearer token travel over this link). A regular expression
 * rather than a transform so the JSON Schema carries the same rule; main
 * normalises further (lower case, default port) before comparing.
 */
export const BROKER_ORIGIN_PATTERN =
  /^(?:https:\/\/[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*|http:\/\/(?:localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]))(?::\d{1,5})?\/?$/;
export const BrokerOrigin = z
  .string()
  .max(2048)
  .regex(BROKER_ORIGIN_PATTERN, 'a broker origin such as https://broker.studio.example (no path, no user name or password)')
  .describe('Broker origin: https://host[:port]. Plain http:// is accepted only for localhost / 127.x.x.x / [::1].');

/** Profile and setting identifiers: short, URL- and file-name-safe. */
export const ProfileId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, . _ - (starting with a letter or digit)');

/** Same character rules as the broker's workstation ids (src/shared/protocol.ts). */
export const WorkstationId = z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only');
export const Username = z.string().min(1).max(128).regex(/^[^\s\p{Cc}]+$/u, 'no spaces or control characters');

export const SCALING_MODES = ['fit', 'fill', 'native'] as const;
export const QUALITY_PRESETS = ['auto', 'low-latency', 'balanced', 'high-quality'] as const;

/**
 * Every setting, with its type and built-in default. Each may be given a value
 * and be locked by a policy; all but `updateUrl` may also be set by the user.
 */
export const SettingsShape = {
  rememberCredentials: z.boolean().describe('Keep the refresh token (encrypted by the OS) so the user stays signed in across restarts. Lock to false to forbid credential saving.'),
  clipboard: z.enum(CLIPBOARD_MODES).describe('Clipboard sync allowed by this client: off, host-to-client, client-to-host or both. The broker\'s session policy can only narrow it further.'),
  fileTransfer: z.boolean().describe('Reserved for file transfer, which does not exist yet: accepted so policy files stay valid, no effect today.'),
  forceRelay: z.boolean().describe('Send all media through the studio\'s TURN relay (iceTransportPolicy "relay"), never peer to peer.'),
  autoUpdate: z.boolean().describe('Check for and install updates from updateUrl.'),
  updateUrl: z
    .string()
    .max(2048)
    .regex(/^https:\/\/[^\s]+$/, 'an https:// URL')
    .nullable()
    .describe('Update server (electron-updater "generic" provider: a folder with latest.yml / latest-mac.yml / latest-linux.yml). Policy only; null disables updates.'),
  fullscreenOnConnect: z.boolean().describe('Open session windows full screen.'),
  scaling: z.enum(SCALING_MODES).describe('How the remote desktop fits the window: fit (letterbox), fill (crop) or native (1:1 pixels, scroll).'),
  qualityPreset: z.enum(QUALITY_PRESETS).describe('Stream quality preset.'),
  maxFps: z.number().int().min(1).max(120).describe('Upper bound on frames per second asked of the host.'),
  maxBitrateKbps: z.number().int().min(100).max(200_000).describe('Upper bound on video bitrate, in kbit/s.'),
  showStats: z.boolean().describe('Show the latency / frame rate / bitrate overlay.'),
} as const;

export const Settings = z.strictObject(SettingsShape);
export type Settings = z.infer<typeof Settings>;
export type SettingKey = keyof Settings;
export const SETTING_KEYS = Object.keys(SettingsShape) as SettingKey[];

/** Keys only a policy may set: letting the renderer name the update server would let a compromised page choose the app's next binary. */
export const POLICY_ONLY_KEYS: readonly SettingKey[] = ['updateUrl'];

/** Keys a profile may carry its own value for (display and quality preferences). */
export const PROFILE_PREFERENCE_KEYS = ['fullscreenOnConnect', 'scaling', 'qualityPreset', 'maxFps', 'maxBitrateKbps', 'showStats'] as const;

export const DEFAULT_SETTINGS: Settings = {
  rememberCredentials: true,
  clipboard: 'both',
  fileTransfer: true,
  forceRelay: false,
  autoUpdate: true,
  updateUrl: null,
  fullscreenOnConnect: false,
  scaling: 'fit',
  qualityPreset: 'auto',
  maxFps: 60,
  maxBitrateKbps: 50_000,
  showStats: false,
};

export const ProfilePreferences = Settings.pick({
  fullscreenOnConnect: true,
  scaling: true,
  qualityPreset: true,
  maxFps: true,
  maxBitrateKbps: true,
  showStats: true,
}).partial();
export type ProfilePreferences = z.infer<typeof ProfilePreferences>;

/** A login profile: which broker, optionally which user, and display / quality preferences. Never a password. */
export const LoginProfile = z.strictObject({
  id: ProfileId.describe('Stable identifier, used by deep links (backlot://connect?profile=<id>).'),
  name: z.string().min(1).max(128).describe('Shown in the profile picker.'),
  brokerUrl: BrokerOrigin,
  username: Username.optional().describe('Pre-filled user name.'),
  preferences: ProfilePreferences.optional().describe('Display and quality preferences for this profile.'),
});
export type LoginProfile = z.infer<typeof LoginProfile>;

const SettingKeyEnum = z.enum(SETTING_KEYS as [SettingKey, ...SettingKey[]]);

/** The IT-managed policy file (system location, or baked into the installer). Every key optional. */
export const ClientPolicy = z
  .strictObject({
    $schema: z.string().max(2048).optional().describe('Ignored; lets editors find the JSON Schema.'),
    version: z.literal(1).describe('Format version; always 1.'),
    allowedBrokers: z
      .array(BrokerOrigin)
      .min(1)
      .max(MAX_ALLOWED_BROKERS)
      .optional()
      .describe('Pin the brokers this client may talk to. Logins, profiles, deep links and connection files naming any other broker are refused. Absent: users may add their own brokers (if allowUserProfiles).'),
    allowUserProfiles: z.boolean().optional().describe('Whether users may add their own login profiles (default true).'),
    profiles: z.array(LoginProfile).max(MAX_PROFILES).optional().describe('Login profiles shown to every user, read-only.'),
    defaultProfile: ProfileId.optional().describe('The profile selected when the app starts (id of a profile from this policy).'),
    settings: Settings.partial().optional().describe('Setting values. Unlocked values are defaults the user may change.'),
    locked: z.array(SettingKeyEnum).max(SETTING_KEYS.length).optional().describe('Settings the user cannot change; their value comes from this policy (or the built-in default).'),
  })
  .describe('Backlot desktop client policy');
export type ClientPolicy = z.infer<typeof ClientPolicy>;

/** The user's own file (`profiles.json` in the app's user-data folder), validated on every read. */
export const UserProfilesFile = z.strictObject({
  version: z.literal(1),
  profiles: z.array(LoginProfile).max(MAX_PROFILES),
  lastProfileId: ProfileId.nullable().optional(),
  settings: Settings.omit({ updateUrl: true }).partial().optional(),
});
export type UserProfilesFile = z.infer<typeof UserProfilesFile>;

// ---------------------------------------------------------------- what main reports

export const SETTING_SOURCES = ['managed', 'installer', 'user', 'profile', 'default'] as const;
export type SettingSource = (typeof SETTING_SOURCES)[number];

/** One effective setting: its value, whether the user may change it, and where the value came from. */
function effective<T extends z.ZodType>(value: T) {
  return z.strictObject({ value, locked: z.boolean(), source: z.enum(SETTING_SOURCES) });
}
const S = SettingsShape;
export const EffectiveSettings = z.strictObject({
  rememberCredentials: effective(S.rememberCredentials),
  clipboard: effective(S.clipboard),
  fileTransfer: effective(S.fileTransfer),
  forceRelay: effective(S.forceRelay),
  autoUpdate: effective(S.autoUpdate),
  updateUrl: effective(S.updateUrl),
  fullscreenOnConnect: effective(S.fullscreenOnConnect),
  scaling: effective(S.scaling),
  qualityPreset: effective(S.qualityPreset),
  maxFps: effective(S.maxFps),
  maxBitrateKbps: effective(S.maxBitrateKbps),
  showStats: effective(S.showStats),
} satisfies Record<SettingKey, z.ZodType>);
export type EffectiveSettings = z.infer<typeof EffectiveSettings>;
export type EffectiveSetting<K extends SettingKey> = EffectiveSettings[K];

/** The message the UI shows next to a locked setting. */
export const MANAGED_LABEL = 'Managed by your studio';

/** `environment`: the BACKLOT_BROKER_URL variable of a launch script (not saved, not editable). */
export const PROFILE_SOURCES = ['managed', 'installer', 'environment', 'user'] as const;
export type ProfileSource = (typeof PROFILE_SOURCES)[number];
export const ListedProfile = LoginProfile.extend({
  source: z.enum(PROFILE_SOURCES),
  /** Only the user's own profiles can be edited or removed. */
  locked: z.boolean(),
});
export type ListedProfile = z.infer<typeof ListedProfile>;

export const ProfileList = z.strictObject({
  profiles: z.array(ListedProfile).max(MAX_PROFILES * 3),
  defaultProfileId: ProfileId.nullable(),
  allowUserProfiles: z.boolean(),
  /** The pinned brokers, or null when the user may name any broker. */
  allowedBrokers: z.array(z.string().max(2048)).nullable(),
});
export type ProfileList = z.infer<typeof ProfileList>;

/** What a deep link or connection file asks for, after main checked it against the policy. */
export const OpenRequest = z.strictObject({
  /** The profile to select, when the link named one (or its broker matched one). */
  profileId: ProfileId.nullable(),
  brokerUrl: z.string().max(2048),
  workstationId: WorkstationId.nullable(),
  username: Username.nullable(),
});
export type OpenRequest = z.infer<typeof OpenRequest>;
