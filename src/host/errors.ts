/**
 * Errors raised inside the host agent. The codes are stable: logs, tests and
 * the session-end reasons sent to the broker match on them, never on messages.
 */

export const HOST_ERROR_CODES = [
  /** The X display could not be reached or refused the connection. */
  'ERR_X11_CONNECT',
  /** The X server lacks the XTEST extension, so input cannot be injected. */
  'ERR_XTEST_UNAVAILABLE',
  /** The cross-platform injector (the optional @jitsi/robotjs package) is missing or cannot load here. */
  'ERR_INJECTOR_UNAVAILABLE',
  /** ffmpeg could not be started or produced no frame in time. */
  'ERR_CAPTURE_START',
  /** ffmpeg exited or its output broke while a session was streaming. */
  'ERR_CAPTURE_FAILED',
  /** The WebRTC peer failed or never connected. */
  'ERR_PEER_FAILED',
  /** Options given to the agent or the command line are invalid. */
  'ERR_BAD_OPTIONS',
  /** The configuration file is missing, unreadable or invalid. */
  'ERR_CONFIG',
  /** The broker could not be reached (enrolment). */
  'ERR_BROKER_UNREACHABLE',
  /** The broker says the enrolment code is wrong, used or expired. */
  'ERR_ENROLMENT_CODE',
  /** The broker limits enrolment attempts; try later. */
  'ERR_RATE_LIMITED',
  /** Enrolment failed for another reason (unexpected answer). */
  'ERR_ENROLMENT_FAILED',
  /** Clipboard text too large for this platform's clipboard transfer. */
  'ERR_CLIPBOARD_TOO_LARGE',
  /** No video encoder opened, or none both allowed by policy and decodable by the client. */
  'ERR_CODEC_UNAVAILABLE',
  /** The encoder failed while a session was streaming. */
  'ERR_ENCODER_FAILED',
] as const;
export type HostErrorCode = (typeof HOST_ERROR_CODES)[number];

/** An error with a stable code and a message a person can act on. */
export class HostError extends Error {
  readonly code: HostErrorCode;

  constructor(code: HostErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HostError';
    this.code = code;
  }
}

/** Short, log-safe description of anything thrown. */
export function describeError(err: unknown): string {
  if (err instanceof HostError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
