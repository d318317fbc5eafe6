/**
 * A session window tells main how its session is going
 * (`reportSessionState`), so main can track the open sessions, show them in
 * diagnostics and close them on sign-out. The states are the shared schema's
 * (src/shared/ipc.ts SESSION_STATES), derived from the machine's tags.
 */
import type { SessionState } from '../../shared/ipc.js';

/** The parts of a machine snapshot the mapping reads. */
export interface SnapshotLike {
  hasTag(tag: string): boolean;
  matches(value: 'ended' | 'failed'): boolean;
  context: { lostAt: number | null };
}

/** The reportable state of a snapshot; null outside a session (signing in, the list). */
export function sessionStateOf(s: SnapshotLike): SessionState | null {
  if (s.matches('failed')) return 'failed';
  if (s.matches('ended')) return 'ended';
  if (!s.hasTag('session')) return null;
  if (s.hasTag('streaming')) return 'connected';
  // A lost connection's fresh peer passes through the connecting states again: still a reconnect.
  if (s.hasTag('reconnecting') || s.context.lostAt !== null) return 'reconnecting';
  return 'connecting';
}
