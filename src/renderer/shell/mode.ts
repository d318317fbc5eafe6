/**
 * Which window this page is. The Electron main process opens one window per
 * session at `…/index.html#session=<workstationId>` (src/main/sessions.ts);
 * every other page, and the web client, is the main window.
 */
import { WorkstationId } from '../../shared/managed-policy.js';

export type WindowMode = { kind: 'main' } | { kind: 'session'; workstationId: string };

/** Reads the mode from a URL fragment; a malformed id is treated as the main window rather than trusted. */
export function windowMode(hash: string): WindowMode {
  const match = /^#session=([^&]*)$/.exec(hash);
  if (!match) return { kind: 'main' };
  let id: string;
  try {
    id = decodeURIComponent(match[1]!);
  } catch {
    return { kind: 'main' };
  }
  const parsed = WorkstationId.safeParse(id);
  return parsed.success ? { kind: 'session', workstationId: parsed.data } : { kind: 'main' };
}
