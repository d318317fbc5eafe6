/**
 * The session manager: one window per remote session, keyed by workstation.
 * Opening a session that already has a window focuses it; each window reports
 * its connection state (only about itself); sign-out closes them all. Plain
 * Node: main.ts passes in a window factory, tests pass fakes.
 */
import type { SessionState } from '../shared/ipc.js';
import { APP_ENTRY_URL } from './app-protocol.js';
import { BacklotError } from './errors.js';

/** More simultaneous sessions than this is a runaway page, not an artist. */
export const MAX_SESSION_WINDOWS = 8;

/** The renderer URL of a session window: the same app, told which workstation by the fragment. */
export function sessionUrl(workstationId: string): string {
  return `${APP_ENTRY_URL}#session=${encodeURIComponent(workstationId)}`;
}

/** The parts of a BrowserWindow the manager uses. */
export interface SessionWindowLike {
  readonly webContents: object;
  focus(): void;
  close(): void;
  isDestroyed(): boolean;
  once(event: 'closed', listener: () => void): unknown;
}

export interface SessionManagerOptions {
  /** Creates, hardens and loads a window for `url`. */
  createWindow: (workstationId: string, url: string) => SessionWindowLike;
  log: (message: string) => void;
}

interface Entry {
  window: SessionWindowLike;
  state: SessionState;
}

/** Tracks the open session windows. */
export class SessionManager {
  readonly #options: SessionManagerOptions;
  readonly #sessions = new Map<string, Entry>();

  constructor(options: SessionManagerOptions) {
    this.#options = options;
  }

  /** Opens the session window for a workstation, or focuses the one already open. */
  open(workstationId: string): 'opened' | 'focused' {
    const existing = this.#sessions.get(workstationId);
    if (existing && !existing.window.isDestroyed()) {
      existing.window.focus();
      return 'focused';
    }
    if (this.#sessions.size >= MAX_SESSION_WINDOWS) {
      throw new BacklotError('ERR_FORBIDDEN', `At most ${MAX_SESSION_WINDOWS} sessions can be open at once. Close one first.`);
    }
    const window = this.#options.createWindow(workstationId, sessionUrl(workstationId));
    const entry: Entry = { window, state: 'connecting' };
    this.#sessions.set(workstationId, entry);
    window.once('closed', () => {
      // Only forget it if a newer window for the same workstation has not replaced it.
      if (this.#sessions.get(workstationId) === entry) this.#sessions.delete(workstationId);
      this.#options.log(`Session window for ${workstationId} closed`);
    });
    this.#options.log(`Session window for ${workstationId} opened`);
    return 'opened';
  }

  /** Records a state reported by a session window; a window may only report about its own session. */
  report(workstationId: string, state: SessionState, sender: object): void {
    const entry = this.#sessions.get(workstationId);
    if (!entry || entry.window.webContents !== sender) {
      throw new BacklotError('ERR_FORBIDDEN', 'Only the window of a session may report its state.');
    }
    if (entry.state !== state) this.#options.log(`Session ${workstationId}: ${entry.state} -> ${state}`);
    entry.state = state;
  }

  /** True when `contents` belongs to one of the session windows. */
  isSessionContents(contents: object): boolean {
    return [...this.#sessions.values()].some((entry) => !entry.window.isDestroyed() && entry.window.webContents === contents);
  }

  /** The open sessions and their states (diagnostics). */
  list(): { workstationId: string; state: SessionState }[] {
    return [...this.#sessions].map(([workstationId, entry]) => ({ workstationId, state: entry.state }));
  }

  /** Closes every session window (sign-out, quit). */
  closeAll(): void {
    for (const [workstationId, entry] of [...this.#sessions]) {
      this.#sessions.delete(workstationId);
      if (!entry.window.isDestroyed()) entry.window.close();
    }
  }
}
