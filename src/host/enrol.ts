/**
 * Enrolment: trade a one-time code from an admin for this workstation's own
 * credential (`POST <broker>/api/enrol`), and keep it in the configuration.
 */
import { hostname as osHostname } from 'node:os';
import { ApiError, EnrolRequest, EnrolResponse } from '../shared/protocol.js';
import { writeConfig, type HostConfig } from './config.js';
import { HostError } from './errors.js';

/** An enrolment that has not answered by then is given up. */
export const ENROL_TIMEOUT_MS = 15_000;
/** Largest enrolment answer read, in bytes. */
const MAX_RESPONSE_BYTES = 16 * 1024;

export interface EnrolOptions {
  brokerUrl: string;
  code: string;
  configPath: string;
  hostname?: string;
  fetch?: typeof fetch;
}

/** The enrolment endpoint for a broker base URL (which may carry a path prefix). */
export function enrolUrl(brokerUrl: string): string {
  const url = new URL(brokerUrl);
  if (url.protocol === 'ws:') url.protocol = 'http:';
  if (url.protocol === 'wss:') url.protocol = 'https:';
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HostError('ERR_BAD_OPTIONS', `broker URL must be http(s), got ${url.protocol}`);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/enrol`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

/** Enrols with the broker and writes the configuration; resolves with what was written (secret included: do not log it). */
export async function enrol(options: EnrolOptions): Promise<HostConfig> {
  const body = EnrolRequest.safeParse({ code: options.code, hostname: (options.hostname ?? osHostname()).slice(0, 253) });
  if (!body.success) throw new HostError('ERR_BAD_OPTIONS', 'the enrolment code must be 8 to 64 characters');
  const doFetch = options.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(enrolUrl(options.brokerUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body.data),
      signal: AbortSignal.timeout(ENROL_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (err) {
    throw new HostError('ERR_BROKER_UNREACHABLE', `cannot reach the broker at ${options.brokerUrl}: ${(err as Error).message}`);
  }
  const text = await res.text();
  if (text.length > MAX_RESPONSE_BYTES) throw new HostError('ERR_ENROLMENT_FAILED', 'the broker sent an oversized answer');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new HostError('ERR_ENROLMENT_FAILED', `the broker answered ${res.status} without JSON`);
  }
  if (!res.ok) {
    const err = ApiError.safeParse(raw);
    if (err.success && err.data.error.code === 'ERR_ENROLMENT_CODE') throw new HostError('ERR_ENROLMENT_CODE', 'the enrolment code is wrong, used or expired: ask your admin for a new one');
    if (err.success && err.data.error.code === 'ERR_RATE_LIMITED') throw new HostError('ERR_RATE_LIMITED', 'too many enrolment attempts: wait a minute and try again');
    throw new HostError('ERR_ENROLMENT_FAILED', `the broker refused enrolment (${res.status}${err.success ? ` ${err.data.error.code}` : ''})`);
  }
  const parsed = EnrolResponse.safeParse(raw);
  if (!parsed.success) throw new HostError('ERR_ENROLMENT_FAILED', 'the broker sent an enrolment answer this agent does not understand');
  const config: HostConfig = {
    brokerUrl: options.brokerUrl,
    workstationId: parsed.data.workstationId,
    name: parsed.data.name,
    secret: parsed.data.secret,
  };
  await writeConfig(options.configPath, config);
  return config;
}
