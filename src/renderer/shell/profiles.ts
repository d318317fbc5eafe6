/**
 * The login form's profile logic: which profiles to offer and in what order,
 * which one starts selected, and what selecting one (or opening a link)
 * puts in the form. Pure, so the rules are unit-tested.
 */
import type { ListedProfile, OpenRequest, ProfileList } from '../../shared/managed-policy.js';

/** Order in the picker: what IT or the studio set up first, the person's own last. */
const SOURCE_ORDER: Record<ListedProfile['source'], number> = { managed: 0, installer: 1, environment: 2, user: 3 };

/** The profiles in picker order (stable within a source). */
export function orderProfiles(list: ProfileList): ListedProfile[] {
  return list.profiles.map((p, i) => ({ p, i })).sort((a, b) => SOURCE_ORDER[a.p.source] - SOURCE_ORDER[b.p.source] || a.i - b.i).map(({ p }) => p);
}

/** Compares two broker addresses by origin (case, default port and a trailing slash do not matter). */
export function sameBroker(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return a === b;
  }
}

/** The profile a link or connection file means: the one it names, else the one for its broker; null when neither. */
export function profileForRequest(list: ProfileList, request: OpenRequest): string | null {
  const ordered = orderProfiles(list);
  if (request.profileId && ordered.some((p) => p.id === request.profileId)) return request.profileId;
  return ordered.find((p) => sameBroker(p.brokerUrl, request.brokerUrl))?.id ?? null;
}

/** The profile selected at start: the link's, else the policy's default, else the first one offered. */
export function initialProfileId(list: ProfileList, request: OpenRequest | null): string | null {
  if (request) return profileForRequest(list, request);
  const ordered = orderProfiles(list);
  if (list.defaultProfileId && ordered.some((p) => p.id === list.defaultProfileId)) return list.defaultProfileId;
  return ordered[0]?.id ?? null;
}

/** What the sign-in form starts with. Never a password: profiles and links cannot carry one. */
export interface LoginPrefill {
  brokerUrl: string;
  username: string;
}

/**
 * The form's broker and user name for a profile, an open request and the
 * app's default broker, in that order of precedence (a link's user name wins
 * over the profile's, since the link was sent to this person).
 */
export function loginPrefill(profile: ListedProfile | null, request: OpenRequest | null, fallbackBroker: string | null, pinned: readonly string[] | null): LoginPrefill {
  const brokerUrl = profile?.brokerUrl ?? request?.brokerUrl ?? fallbackBroker ?? pinned?.[0] ?? '';
  const username = request?.username ?? profile?.username ?? '';
  return { brokerUrl, username };
}

/** True when the person may not type a broker address: the policy pins the brokers. */
export function brokerPinned(list: ProfileList | null): boolean {
  return list !== null && list.allowedBrokers !== null;
}
