/**
 * Command line of the host agent:
 *   tsx src/host/cli.ts run --display :99 --broker http://127.0.0.1:8080 \
 *     --workstation ws-demo --secret <secret> [--fps 30] [--log-level info]
 * Flags fall back to BACKLOT_BROKER, BACKLOT_WORKSTATION, BACKLOT_HOST_SECRET
 * and DISPLAY. Exit codes: 0 after a clean stop, 1 on a runtime failure,
 * 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { z } from 'zod';
import { HostAgentOptions, startHostAgent, type HostAgent } from './agent.js';
import { describeError } from './errors.js';

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
/** A second signal, or a stop that hangs longer than this, exits at once. */
const FORCED_EXIT_MS = 10_000;

const USAGE = `Usage: backlot-host run [options]

Options:
  --display <:N>         X display to stream and control   (env DISPLAY)
  --broker <url>         broker base URL, http(s)://…      (env BACKLOT_BROKER)
  --workstation <id>     this workstation's id             (env BACKLOT_WORKSTATION)
  --secret <secret>      this workstation's secret         (env BACKLOT_HOST_SECRET)
  --fps <n>              capture frame rate (default 30)
  --log-level <level>    trace|debug|info|warn|error (default info)
  -h, --help             show this help
`;

const LogLevel = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

function usageError(message: string): never {
  console.error(`backlot-host: ${message}\n\n${USAGE}`);
  process.exit(EXIT_USAGE);
}

function parseCommandLine(argv: string[]): { options: z.output<typeof HostAgentOptions>; logLevel: z.infer<typeof LogLevel> } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        display: { type: 'string' },
        broker: { type: 'string' },
        workstation: { type: 'string' },
        secret: { type: 'string' },
        fps: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    usageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(EXIT_OK);
  }
  if (positionals.length !== 1 || positionals[0] !== 'run') usageError(`expected the command "run", got ${JSON.stringify(positionals.join(' '))}`);

  const env = process.env;
  const fpsText = values.fps;
  const candidate = {
    display: values.display ?? env.DISPLAY,
    brokerUrl: values.broker ?? env.BACKLOT_BROKER,
    workstationId: values.workstation ?? env.BACKLOT_WORKSTATION,
    secret: values.secret ?? env.BACKLOT_HOST_SECRET,
    ...(fpsText === undefined ? {} : { fps: /^\d+$/.test(fpsText) ? Number(fpsText) : Number.NaN }),
  };
  const options = HostAgentOptions.safeParse(candidate);
  if (!options.success) {
    // Name the flag, never echo the values: one of them is the secret.
    const flagOf: Record<string, string> = { display: '--display', brokerUrl: '--broker', workstationId: '--workstation', secret: '--secret', fps: '--fps' };
    const problems = options.error.issues.map((i) => `${flagOf[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`);
    usageError(problems.join('\n'));
  }
  const logLevel = LogLevel.safeParse(values['log-level'] ?? 'info');
  if (!logLevel.success) usageError(`--log-level must be one of ${LogLevel.options.join(', ')}`);
  return { options: options.data, logLevel: logLevel.data };
}

async function main(): Promise<void> {
  const { options, logLevel } = parseCommandLine(process.argv.slice(2));
  // The secret is never passed to the logger; redaction guards against a future slip.
  const logger = pino({ name: 'backlot-host', level: logLevel, redact: ['secret', '*.secret'] });

  let agent: HostAgent;
  try {
    agent = await startHostAgent({ ...options, logger });
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

void main();
