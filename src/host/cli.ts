/**
 * Command line of the host agent:
 *   backlot-host enrol --broker URL --code CODE [--config PATH]
 *   backlot-host run [--config PATH] [--display :0] [--fps 30] [--local-cursor]
 *                    [--injector auto|xtest|robot]
 *                    [--broker URL --workstation ID --secret S] [--log-level info]
 * `run` reads the configuration file that `enrol` wrote; environment
 * variables (BACKLOT_BROKER, BACKLOT_WORKSTATION, BACKLOT_HOST_SECRET,
 * BACKLOT_INJECTOR, DISPLAY) override it and flags override both. Exit codes: 0 after a clean
 * stop, 1 on a runtime failure, 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { z } from 'zod';
import { HostAgentOptions, startHostAgent, type HostAgent } from './agent.js';
import { defaultConfigPath, readConfig, type HostConfig } from './config.js';
import { enrol } from './enrol.js';
import { AUTO_NICE, setProcessPriority } from './priority.js';
import { describeError, HostError } from './errors.js';

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
/** A second signal, or a stop that hangs longer than this, exits at once. */
const FORCED_EXIT_MS = 10_000;

const USAGE = `Usage:
  backlot-host enrol --broker <url> --code <code> [--config <path>]
  backlot-host run [options]

Run options (each overrides the configuration file):
  --config <path>        configuration file (default ${defaultConfigPath()})
  --display <:N>         X display to stream and control   (env DISPLAY)
  --broker <url>         broker base URL, http(s)://…      (env BACKLOT_BROKER)
  --workstation <id>     this workstation's id             (env BACKLOT_WORKSTATION)
  --secret <secret>      this workstation's secret         (env BACKLOT_HOST_SECRET)
  --fps <n>              default frame rate, 1-60 (default 30)
  --local-cursor         leave the cursor out of the video (the client draws it)
  --injector <kind>      auto|xtest|robot: input injector (env BACKLOT_INJECTOR;
                         auto = XTEST on X11, robotjs on Windows and macOS)
  --capture <kind>       auto|xcb|ffmpeg: screen capture (env BACKLOT_CAPTURE;
                         auto = in-process MIT-SHM, else the ffmpeg pipeline)
  --encoder <name>       auto|libx264|h264_nvenc|h264_vaapi|h264_qsv…
                         (env BACKLOT_ENCODER; auto = probe, hardware first)
  --ice-bind-address <ip>
                         local IPv4 address for WebRTC candidates
                         (env BACKLOT_ICE_BIND_ADDRESS; default all)
  --playout-delay-max <ms|adaptive>
                         longest delay the client may hold frames, 0-500 ms
                         (default 0: render on arrival; adaptive: the
                         client's own jitter buffer)
  --priority <nice|auto|off>
                         scheduling priority (default auto: nice ${AUTO_NICE} where
                         permitted, i.e. as root; input and capture then
                         do not wait behind renders)
  --stats-interval <s>   log a running session's stats (capture, encoder,
                         input) every s seconds (default 30)
  --log-level <level>    trace|debug|info|warn|error (default info)
  -h, --help             show this help
`;

const LogLevel = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

function usageError(message: string): never {
  console.error(`backlot-host: ${message}\n\n${USAGE}`);
  process.exit(EXIT_USAGE);
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string' },
        code: { type: 'string' },
        display: { type: 'string' },
        broker: { type: 'string' },
        workstation: { type: 'string' },
        secret: { type: 'string' },
        fps: { type: 'string' },
        'local-cursor': { type: 'boolean' },
        injector: { type: 'string' },
        capture: { type: 'string' },
        encoder: { type: 'string' },
        'ice-bind-address': { type: 'string' },
        'playout-delay-max': { type: 'string' },
        'stats-interval': { type: 'string' },
        priority: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    usageError((err as Error).message);
  }
}

type Parsed = ReturnType<typeof parseCommandLine>;

async function runEnrol({ values }: Parsed): Promise<void> {
  const brokerUrl = values.broker ?? process.env.BACKLOT_BROKER;
  if (!brokerUrl) usageError('enrol needs --broker');
  if (!values.code) usageError('enrol needs --code');
  const configPath = values.config ?? defaultConfigPath();
  try {
    const config = await enrol({ brokerUrl, code: values.code, configPath });
    // Never print the secret: only where it went.
    console.error(`backlot-host: enrolled as ${config.workstationId}${config.name ? ` (${config.name})` : ''}; configuration written to ${configPath}`);
    process.exit(EXIT_OK);
  } catch (err) {
    console.error(`backlot-host: enrolment failed: ${describeError(err)}`);
    process.exit(err instanceof HostError && err.code === 'ERR_BAD_OPTIONS' ? EXIT_USAGE : EXIT_FAILURE);
  }
}

async function loadConfig(values: Parsed['values']): Promise<Partial<HostConfig>> {
  const explicit = values.config;
  try {
    return await readConfig(explicit ?? defaultConfigPath());
  } catch (err) {
    // Without --config a missing default file is fine when flags/env give everything.
    if (!explicit && err instanceof HostError && err.message.startsWith('no configuration')) return {};
    console.error(`backlot-host: ${describeError(err)}`);
    process.exit(EXIT_USAGE);
  }
}

/** `--playout-delay-max`: a number of ms or `adaptive` (null); the file's value when the flag is absent. */
function playoutDelayOption(flag: string | undefined, fromFile: number | null | undefined): { playoutDelayMaxMs?: number | null } {
  if (flag === undefined) return fromFile === undefined ? {} : { playoutDelayMaxMs: fromFile };
  if (flag === 'adaptive') return { playoutDelayMaxMs: null };
  return { playoutDelayMaxMs: /^\d+$/.test(flag) ? Number(flag) : Number.NaN };
}

async function runAgent({ values }: Parsed): Promise<void> {
  const config = await loadConfig(values);
  const env = process.env;
  const fpsText = values.fps;
  const candidate = {
    display: values.display ?? env.DISPLAY ?? config.display,
    brokerUrl: values.broker ?? env.BACKLOT_BROKER ?? config.brokerUrl,
    workstationId: values.workstation ?? env.BACKLOT_WORKSTATION ?? config.workstationId,
    secret: values.secret ?? env.BACKLOT_HOST_SECRET ?? config.secret,
    ...(fpsText === undefined ? (config.fps === undefined ? {} : { fps: config.fps }) : { fps: /^\d+$/.test(fpsText) ? Number(fpsText) : Number.NaN }),
    localCursor: values['local-cursor'] ?? config.localCursor ?? false,
    injector: values.injector ?? env.BACKLOT_INJECTOR ?? config.injector ?? 'auto',
    capture: values.capture ?? env.BACKLOT_CAPTURE ?? config.capture ?? 'auto',
    encoder: values.encoder ?? env.BACKLOT_ENCODER ?? config.encoder ?? 'auto',
    ...((values['ice-bind-address'] ?? env.BACKLOT_ICE_BIND_ADDRESS ?? config.iceBindAddress)
      ? { iceBindAddress: values['ice-bind-address'] ?? env.BACKLOT_ICE_BIND_ADDRESS ?? config.iceBindAddress }
      : {}),
    ...playoutDelayOption(values['playout-delay-max'], config.playoutDelayMaxMs),
    ...(values['stats-interval'] === undefined ? {} : { statsIntervalMs: /^\d+$/.test(values['stats-interval']) ? Number(values['stats-interval']) * 1000 : Number.NaN }),
  };
  const parsed = HostAgentOptions.safeParse(candidate);
  if (!parsed.success) {
    // Name the flag, never echo the values: one of them is the secret.
    const flagOf: Record<string, string> = { display: '--display', brokerUrl: '--broker', workstationId: '--workstation', secret: '--secret', fps: '--fps', injector: '--injector', capture: '--capture', encoder: '--encoder', iceBindAddress: '--ice-bind-address', playoutDelayMaxMs: '--playout-delay-max', statsIntervalMs: '--stats-interval' };
    const problems = parsed.error.issues.map((i) => `${flagOf[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`);
    usageError(problems.join('\n'));
  }
  const logLevel = LogLevel.safeParse(values['log-level'] ?? 'info');
  if (!logLevel.success) usageError(`--log-level must be one of ${LogLevel.options.join(', ')}`);
  // The secret is never passed to the logger; redaction guards against a future slip.
  const logger = pino({ name: 'backlot-host', level: logLevel.data, redact: ['secret', '*.secret'] });
  // Hosts from before issue 12 could choose libwebrtc's VP8 pipeline; there is one pipeline now, and an old setting is said, not obeyed silently.
  for (const [where, value] of [['BACKLOT_PIPELINE', env.BACKLOT_PIPELINE], ['the configuration file\'s "pipeline"', config.pipeline], ['BACKLOT_WEBRTC_FIELD_TRIALS', env.BACKLOT_WEBRTC_FIELD_TRIALS]] as const) {
    if (value !== undefined) logger.warn({ ignored: where, value }, 'ignored: the host has one media pipeline (its own encoder on libdatachannel) since the libwebrtc pipeline was removed');
  }

  const priorityFlag = values.priority ?? env.BACKLOT_PRIORITY ?? 'auto';
  if (priorityFlag !== 'off') {
    if (priorityFlag !== 'auto' && !/^-?\d+$/.test(priorityFlag)) usageError('--priority must be a nice value (-20 to 19), auto or off');
    const result = setProcessPriority(priorityFlag === 'auto' ? AUTO_NICE : Number(priorityFlag));
    if (result.ok) logger.info({ nice: result.nice, threads: result.threads }, 'scheduling priority raised');
    else if (priorityFlag === 'auto') logger.info({ reason: result.reason }, 'running at normal scheduling priority');
    else usageError(`--priority ${priorityFlag}: ${result.reason}`);
  }

  let agent: HostAgent;
  try {
    agent = await startHostAgent({ ...parsed.data, logger });
  } catch (err) {
    logger.fatal({ err: describeError(err) }, 'host agent failed to start');
    process.exit(EXIT_FAILURE);
  }

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(EXIT_FAILURE);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(EXIT_FAILURE);
    }, FORCED_EXIT_MS).unref();
    agent.stop().then(
      () => process.exit(EXIT_OK),
      (err: unknown) => {
        logger.error({ err: describeError(err) }, 'error while stopping');
        process.exit(EXIT_FAILURE);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

async function main(): Promise<void> {
  const parsed = parseCommandLine(process.argv.slice(2));
  if (parsed.values.help) {
    console.log(USAGE);
    process.exit(EXIT_OK);
  }
  const command = parsed.positionals.join(' ');
  if (command === 'enrol') return runEnrol(parsed);
  if (command === 'run') return runAgent(parsed);
  usageError(`expected the command "enrol" or "run", got ${JSON.stringify(command)}`);
}

void main();
