/**
 * Deep links (`backlot://connect?profile=studio&workstation=WS-042`) and
 * connection files (`*.backlot`, JSON). Both come from outside the app (a web
 * page, an e-mail, a chat message), so they are parsed strictly: one action,
 * a fixed set of parameters with tight formats and sizes, no duplicates, never
 * a password or token, and a broker only if the policy allows it (a link must
 * not be a way to send an artist's password to someone else's server).
 *
 * Parsing and resolution are pure; reading a file takes its fs as a parameter.
 */
import { isAbsolute, win32 } from 'node:path';
import { z } from 'zod';
import { BrokerOrigin, ProfileId, Username, WorkstationId, type OpenRequest } from '../shared/managed-policy.js';
import { originOf } from './policy.js';

export const DEEP_LINK_SCHEME = 'backlot';
/** The one action a link may ask for. */
export const DEEP_LINK_ACTION = 'connect';
/** Longest link accepted (a real one is under 200 characters). */
export const MAX_DEEP_LINK_CHARS = 2048;
export const CONNECTION_FILE_EXTENSION = '.backlot';
/** Largest connection file read. */
export const MAX_CONNECTION_FILE_BYTES = 16 * 1024;

/** Parameter names that would carry a secret: refused with their own message rather than "unknown parameter". */
const SECRET_PARAMETERS = new Set(['password', 'pass', 'pwd', 'token', 'accesstoken', 'refreshtoken', 'secret', 'code', 'totp', 'otp']);

/** What a link or file asks for, before it is checked against the profiles and the policy. */
export const LinkTarget = z
  .strictObject({
    profile: ProfileId.optional(),
    broker: BrokerOrigin.optional(),
    workstation: WorkstationId.optional(),
    username: Username.optional(),
  })
  .refine((t) => t.profile !== undefined || t.broker !== undefined, 'a profile or a broker is required');
export type LinkTarget = z.infer<typeof LinkTarget>;

const PARAMETERS = ['profile', 'broker', 'workstation', 'username'] as const;

/** The JSON inside a `.backlot` file. */
export const ConnectionFile = z.strictObject({
  version: z.literal(1),
  profile: ProfileId.optional(),
  broker: BrokerOrigin.optional(),
  workstation: WorkstationId.optional(),
  username: Username.optional(),
});

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/** Parses a `backlot://` link. */
export function parseDeepLink(raw: string): ParseResult<LinkTarget> {
  if (raw.length > MAX_DEEP_LINK_CHARS) return fail(`the link is longer than ${MAX_DEEP_LINK_CHARS} characters`);
  // Raw whitespace, quotes and control characters have no place in a link, and on
  // Windows a quote could end the "%1" argument and smuggle in Chromium switches.
  if (/[\s"'<>\\\p{Cc}]/u.test(raw)) return fail('the link contains characters that are not allowed');
  if (!raw.toLowerCase().startsWith(`${DEEP_LINK_SCHEME}://`)) return fail(`not a ${DEEP_LINK_SCHEME}:// link`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail('not a valid link');
  }
  if (url.username !== '' || url.password !== '') return fail('the link must not carry a user name or password before the host');
  if (url.port !== '') return fail('the link must not have a port');
  if (url.hostname.toLowerCase() !== DEEP_LINK_ACTION) return fail(`unknown action "${url.hostname.slice(0, 32)}" (only "${DEEP_LINK_ACTION}")`);
  if (url.pathname !== '' && url.pathname !== '/') return fail('the link must not have a path');
  if (url.hash !== '') return fail('the link must not have a fragment');

  const values: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    const name = key.toLowerCase();
    if (SECRET_PARAMETERS.has(name)) return fail('links never carry passwords, codes or tokens; sign in in the app instead');
    if (!(PARAMETERS as readonly string[]).includes(key)) return fail(`unknown parameter "${key.slice(0, 32)}"`);
    if (key in values) return fail(`parameter "${key}" appears twice`);
    values[key] = value;
  }
  return checkTarget(values);
}

/** Parses the text of a `.backlot` file. */
export function parseConnectionFile(text: string): ParseResult<LinkTarget> {
  if (text.length > MAX_CONNECTION_FILE_BYTES) return fail(`the file is larger than ${MAX_CONNECTION_FILE_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    return fail('the file is not valid JSON');
  }
  if (typeof raw === 'object' && raw !== null && Object.keys(raw).some((key) => SECRET_PARAMETERS.has(key.toLowerCase()))) {
    return fail('connection files never carry passwords, codes or tokens; sign in in the app instead');
  }
  const parsed = ConnectionFile.safeParse(raw);
  if (!parsed.success) return fail(`the file is invalid: ${z.prettifyError(parsed.error).slice(0, 300)}`);
  const { version: _version, ...target } = parsed.data;
  return checkTarget(target);
}

function checkTarget(values: Record<string, string | undefined>): ParseResult<LinkTarget> {
  const parsed = LinkTarget.safeParse(values);
  if (!parsed.success) return fail(`invalid: ${z.prettifyError(parsed.error).slice(0, 300)}`);
  return { ok: true, value: parsed.data };
}

/**
 * Whether a path handed to the app (argv, macOS open-file) may be read as a
 * connection file: absolute, named `*.backlot`, no NUL, and on Windows not a
 * UNC or device path (opening `\\host\share\x.backlot` would send the user's
 * NTLM hash to that host before a byte is parsed).
 */
export function connectionFilePathProblem(path: string, platform: NodeJS.Platform): string | null {
  if (path.length > 4096) return 'the path is too long';
  if (path.includes('\0')) return 'the path contains a NUL character';
  if (!path.toLowerCase().endsWith(CONNECTION_FILE_EXTENSION)) return `not a ${CONNECTION_FILE_EXTENSION} file`;
  if (platform === 'win32') {
    if (/^[\\/]{2}/.test(path)) return 'network (UNC) and device paths are not opened';
    if (!win32.isAbsolute(path) || !/^[A-Za-z]:[\\/]/.test(path)) return 'the path must be absolute';
    if (path.slice(2).includes(':')) return 'alternate data streams are not opened';
  } else if (!isAbsolute(path)) {
    return 'the path must be absolute';
  }
  return null;
}

/** The file calls `readConnectionFile` makes (node:fs/promises satisfies it). */
export interface ConnectionFileFs {
  stat(path: string): Promise<{ isFile(): boolean; size: number }>;
  readFile(path: string, encoding: 'utf8'): Promise<string>;
}

/** Checks the path, then reads and parses a connection file. */
export async function readConnectionFile(path: string, platform: NodeJS.Platform, fs: ConnectionFileFs): Promise<ParseResult<LinkTarget>> {
  const problem = connectionFilePathProblem(path, platform);
  if (problem !== null) return fail(problem);
  try {
    // A FIFO or device named *.backlot would block or never end; only regular, small files are read.
    const info = await fs.stat(path);
    if (!info.isFile()) return fail('not a regular file');
    if (info.size > MAX_CONNECTION_FILE_BYTES) return fail(`the file is larger than ${MAX_CONNECTION_FILE_BYTES} bytes`);
    return parseConnectionFile(await fs.readFile(path, 'utf8'));
  } catch {
    return fail('the file could not be read');
  }
}

/** What resolution needs to know about profiles and the policy. */
export interface TargetContext {
  findProfile(id: string): { id: string; brokerUrl: string } | undefined;
  findProfileByBroker(origin: string): { id: string } | undefined;
  isBrokerAllowed(brokerUrl: string): boolean;
}

/** Checks a target against the profiles and the policy and turns it into what the renderer opens. */
export function resolveTarget(target: LinkTarget, context: TargetContext): ParseResult<OpenRequest> {
  const linkOrigin = target.broker === undefined ? null : originOf(target.broker);
  if (target.broker !== undefined && linkOrigin === null) return fail('the broker is not a valid broker URL');
  let profileId: string | null = null;
  let brokerUrl: string;
  if (target.profile !== undefined) {
    const profile = context.findProfile(target.profile);
    if (profile === undefined) return fail(`there is no profile "${target.profile}" on this computer`);
    const profileOrigin = originOf(profile.brokerUrl);
    if (profileOrigin === null) return fail('the profile has an invalid broker');
    if (linkOrigin !== null && linkOrigin !== profileOrigin) return fail('the broker does not match the profile');
    profileId = profile.id;
    brokerUrl = profileOrigin;
  } else {
    brokerUrl = linkOrigin!;
    profileId = context.findProfileByBroker(brokerUrl)?.id ?? null;
  }
  if (!context.isBrokerAllowed(brokerUrl)) return fail(`the broker ${brokerUrl} is not allowed by your studio's policy or your profiles`);
  return { ok: true, value: { profileId, brokerUrl, workstationId: target.workstation ?? null, username: target.username ?? null } };
}

/** The deep links and connection files among a process's arguments (first launch or 'second-instance'). */
export function launchTargetsFromArgv(argv: readonly string[]): { links: string[]; files: string[] } {
  const links: string[] = [];
  const files: string[] = [];
  // argv[0] is the executable; Chromium switches start with '-'.
  for (const arg of argv.slice(1)) {
    if (arg.startsWith('-')) continue;
    if (arg.toLowerCase().startsWith(`${DEEP_LINK_SCHEME}:`)) links.push(arg);
    else if (arg.toLowerCase().endsWith(CONNECTION_FILE_EXTENSION)) files.push(arg);
  }
  return { links, files };
}
