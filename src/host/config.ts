/**
 * The host agent's configuration file: what enrolment wrote (broker URL,
 * workstation id, secret) plus optional defaults for `run`. Written
 * atomically with mode 0600 because it holds the workstation's secret.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { HostError } from './errors.js';

/** Where root's agent (a system service) keeps its configuration. */
export const SYSTEM_CONFIG_PATH = '/etc/backlot/host.json';
/** Owner-only: the file holds the workstation secret. */
const CONFIG_FILE_MODE = 0o600;
const CONFIG_DIR_MODE = 0o700;
/** A configuration file is a few hundred bytes; refuse anything absurd. */
const MAX_CONFIG_BYTES = 64 * 1024;

/**
 * Which input injector the agent uses: `auto` picks XTEST on X11 and robotjs
 * on Windows and macOS; `xtest` or `robot` force one.
 */
export const InjectorKind = z.enum(['auto', 'xtest', 'robot']);
export type InjectorKind = z.infer<typeof InjectorKind>;

/**
 * How the agent captures the screen: `auto` is in-process MIT-SHM capture
 * (the xcb-capture addon) where it can start, else the ffmpeg pipeline;
 * `xcb` or `ffmpeg` force one.
 */
export const CaptureKind = z.enum(['auto', 'xcb', 'ffmpeg']);
export type CaptureKind = z.infer<typeof CaptureKind>;

/**
 * The media pipeline, as configuration files from before issue 12 named it (`auto`,
 * `encoded`, or libwebrtc's `wrtc`). There is one pipeline now: the key is
 * still read so such a file keeps working, and the agent warns it is ignored.
 */
const LegacyPipelineKind = z.enum(['auto', 'encoded', 'wrtc']);

export const HostConfig = z.strictObject({
  brokerUrl: z.url({ protocol: /^(https?|wss?)$/ }),
  workstationId: z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/),
  /** Shown in logs; what the broker calls this workstation. */
  name: z.string().max(128).optional(),
  secret: z.string().min(16).max(512),
  display: z.string().max(64).optional(),
  fps: z.number().int().min(1).max(120).optional(),
  localCursor: z.boolean().optional(),
  injector: InjectorKind.optional(),
  capture: CaptureKind.optional(),
  /** Ignored (see LegacyPipelineKind). */
  pipeline: LegacyPipelineKind.optional(),
  /** 'auto' (probe) or a libavcodec encoder name (libx264, h264_nvenc, h264_vaapi, h264_qsv…). */
  encoder: z.string().max(32).optional(),
  /** Local address WebRTC gathers candidates on; all interfaces when unset. */
  iceBindAddress: z.ipv4().optional(),
  /** Longest playout delay the client may add, ms (0 = render on arrival); null leaves the client's adaptive jitter buffer. */
  playoutDelayMaxMs: z.number().int().min(0).max(500).nullable().optional(),
});
export type HostConfig = z.infer<typeof HostConfig>;

/** The default configuration path: the system one for root, the user's own otherwise. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env, uid: number | undefined = process.getuid?.()): string {
  if (uid === 0) return SYSTEM_CONFIG_PATH;
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'backlot', 'host.json');
}

/** Reads and validates a configuration file. Errors never include the file's content (it holds the secret). */
export async function readConfig(path: string): Promise<HostConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new HostError('ERR_CONFIG', code === 'ENOENT' ? `no configuration at ${path}: run "backlot-host enrol" first` : `cannot read ${path} (${code ?? 'error'})`);
  }
  if (text.length > MAX_CONFIG_BYTES) throw new HostError('ERR_CONFIG', `${path} is too large to be a host configuration`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new HostError('ERR_CONFIG', `${path} is not valid JSON`);
  }
  const parsed = HostConfig.safeParse(raw);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? '(file)')))].join(', ');
    throw new HostError('ERR_CONFIG', `${path} has invalid fields: ${fields}`);
  }
  return parsed.data;
}

/**
 * Writes a configuration atomically: a temporary file created 0600 in the
 * same directory, fsynced, then renamed over the old one, so a crash leaves
 * either the old or the new file and the secret is never world-readable.
 */
export async function writeConfig(path: string, config: HostConfig): Promise<void> {
  const valid = HostConfig.parse(config);
  await mkdir(dirname(path), { recursive: true, mode: CONFIG_DIR_MODE });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const file = await open(tmp, 'wx', CONFIG_FILE_MODE);
  try {
    await file.writeFile(`${JSON.stringify(valid, null, 2)}\n`, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    // The umask may have narrowed the mode further but never widened it; make it exact.
    await chmod(tmp, CONFIG_FILE_MODE);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
