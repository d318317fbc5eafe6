/**
 * The host's clipboard behind an interface (X11 selections today; Windows and
 * macOS later), and the session policy that gates it: what may cross, in
 * which direction, and how much.
 */
import type { SessionPolicy } from '../../shared/policy.js';

export interface Clipboard {
  /** Makes `text` the host's clipboard content. */
  write(text: string): Promise<void>;
  /** Calls `onChange` with the new text whenever another host application sets the clipboard. */
  watch(onChange: (text: string) => void): void;
  close(): Promise<void>;
}

/** Why a clipboard transfer was refused; also the code of the `error` control message. */
export type ClipboardRefusal = 'ERR_CLIPBOARD_POLICY' | 'ERR_CLIPBOARD_TOO_LARGE' | 'ERR_CLIPBOARD_UNAVAILABLE';

const utf8 = new TextEncoder();

/** Whether text may go the given way under `policy`; undefined when it may. */
export function clipboardRefusal(policy: SessionPolicy, direction: 'host-to-client' | 'client-to-host', text: string): ClipboardRefusal | undefined {
  if (policy.clipboard !== 'both' && policy.clipboard !== direction) return 'ERR_CLIPBOARD_POLICY';
  if (utf8.encode(text).length > policy.clipboardMaxBytes) return 'ERR_CLIPBOARD_TOO_LARGE';
  return undefined;
}
