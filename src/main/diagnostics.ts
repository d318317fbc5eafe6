/**
 * "Export diagnostics" for IT: one JSON file with what is needed to
 * understand a problem (versions, platform, policy files and whether they are
 * valid, effective settings with their sources, profiles, credential status,
 * open sessions, the recent log) and nothing secret: no token, no password,
 * and the whole text goes through the log's redaction once more.
 */
import type { CredentialsStatus, SessionState } from '../shared/ipc.js';
import type { EffectiveSettings, ProfileList } from '../shared/managed-policy.js';
import { redact } from './log.js';
import type { Policies } from './policy.js';

export const DIAGNOSTICS_FORMAT = 'backlot-diagnostics/1';

export interface DiagnosticsInput {
  version: string;
  platform: string;
  arch: string;
  versions: Record<string, string | undefined>;
  policies: Policies;
  settings: EffectiveSettings;
  profiles: ProfileList;
  credentials: CredentialsStatus;
  signedInBroker: string | null;
  sessions: { workstationId: string; state: SessionState }[];
  log: string[];
  now: Date;
}

/** The diagnostics file's text. */
export function buildDiagnostics(input: DiagnosticsInput): string {
  const policyFile = (file: Policies['managed']) => ({ path: file.path, present: file.policy !== null || file.error !== null, valid: file.error === null, error: file.error });
  const report = {
    format: DIAGNOSTICS_FORMAT,
    createdAt: input.now.toISOString(),
    app: { version: input.version, platform: input.platform, arch: input.arch, versions: input.versions },
    policy: { managed: policyFile(input.policies.managed), installer: policyFile(input.policies.installer) },
    settings: input.settings,
    profiles: input.profiles,
    credentials: input.credentials,
    signedInBroker: input.signedInBroker,
    sessions: input.sessions,
    // Each line on its own first: once inside the JSON text, its quotes are escaped and the key patterns would not see them.
    log: input.log.map((line) => redact(line)),
  };
  return redact(`${JSON.stringify(report, null, 2)}\n`);
}

/** A file name for the save dialog. */
export function diagnosticsFileName(now: Date): string {
  return `backlot-diagnostics-${now.toISOString().replace(/[:.]/g, '-')}.json`;
}
