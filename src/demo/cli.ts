/** `npm run demo:web`: the whole system on this machine, with the web client served by the broker. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { startDemoStack } from './stack.js';

const Flags = z.object({
  width: z.coerce.number().int().min(320).max(7680).default(1280),
  height: z.coerce.number().int().min(240).max(4320).default(720),
  fps: z.coerce.number().int().min(1).max(120).default(30),
  json: z.boolean().default(false),
});

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      width: { type: 'string' },
      height: { type: 'string' },
      fps: { type: 'string' },
      json: { type: 'boolean' },
      'no-browser': { type: 'boolean' },
    },
    strict: true,
  });
  const parsed = Flags.safeParse(values);
  if (!parsed.success) {
    console.error(`demo: ${z.prettifyError(parsed.error)}`);
    process.exit(2);
  }
  const flags = parsed.data;
  const webRoot = resolve(import.meta.dirname, '../../dist/renderer');
  if (!existsSync(resolve(webRoot, 'index.html'))) {
    console.error('demo: the web client is not built; run `npm run build:renderer` (npm run demo:web does it for you)');
    process.exit(1);
  }
  const stack = await startDemoStack({ width: flags.width, height: flags.height, fps: flags.fps, webRoot });
  if (flags.json) {
    // One line for the Electron client's demo launcher to parse.
    console.log(JSON.stringify({ brokerUrl: stack.url, username: stack.username, password: stack.password }));
  } else {
    console.log(`
  Backlot local demo is running.

    Open:      ${stack.url}/
    Username:  ${stack.username}
    Password:  ${stack.password}

  The workstation WS-042 is a virtual display (${stack.display.display}, ${flags.width}x${flags.height}) on this machine.
  Press Ctrl+C to stop.
`);
  }
  const stop = () => void stack.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
