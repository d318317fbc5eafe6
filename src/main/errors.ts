/**
 * Errors that cross the bridge. Every failure the renderer can see carries one
 * of the shared stable codes, so the UI and the tests match on the code and
 * never on the wording.
 */
import type { ErrorCode } from '../shared/constants.js';
import type { IpcError } from '../shared/ipc.js';

/** A failure with a stable code and a message a person can act on. */
export class BacklotError extends Error {
  override readonly name = 'BacklotError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Converts anything thrown into the wire shape. Unknown errors become
 * `ERR_INTERNAL` with a generic message: their text may name paths or
 * internals the renderer has no business seeing.
 */
export function toIpcError(err: unknown): IpcError {
  if (err instanceof BacklotError) return { code: err.code, message: err.message };
  return { code: 'ERR_INTERNAL', message: 'Something went wrong in the Backlot app. Please try again.' };
}
