/**
 * The embedded local demo: a broker, a virtual display showing a demo desktop,
 * and a host agent streaming it, all on this machine and on loopback. Used by
 * `npm run demo:web`, by the Electron client's "Start local demo", and by the
 * end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { hashPassword } from '../broker/passwords.js';
import { startBroker, type RunningBroker } from '../broker/server.js';
import { MemoryDirectory } from '../broker/store.js';
import { newToken, tokenDigest } from '../broker/tokens.js';
import { startHostAgent } from '../host/agent.js';
import { desktopChromiumArgs, desktopHtml } from './desktop.js';
import { startXvfb, stopProcess, type VirtualDisplay } from './xvfb.js';

export const DEMO_USERNAME = 'artist';
export const DEMO_WORKSTATION = { id: 'ws-042', name: 'WS-042' } as const;

export interface DemoOptions {
  width?: number;
  height?: number;
  fps?: number;
  /** Folder with the built web client (served by the broker). */
  webRoot?: string;
  /** Start the demo desktop app on the display (the tests start their own). */
  desktop?: boolean;
  /** Start the host agent (the tests stop and start it themselves too). */
  host?: boolean;
  /** A fixed demo password; a random one is made otherwise. */
  password?: string;
  logger?: Logger;
}

export interface DemoStack {
  url: string;
  username: string;
  password: string;
  display: VirtualDisplay;
  broker: RunningBroker;
  hostSecret: string;
  startHost(): Promise<void>;
  stopHost(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the demo desktop page full screen on the display with the system Chromium. */
async function startDesktopApp(display: VirtualDisplay, log: Logger): Promise<{ stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'backlot-desktop-'));
  const page = join(dir, 'desktop.html');
  await writeFile(page, desktopHtml(`${DEMO_WORKSTATION.name} · Backlot demo workstation`));
  const child: ChildProcess = spawn(
    process.env.BACKLOT_CHROMIUM ?? 'chromium',
    [...desktopChromiumArgs(display.width, display.height), `--user-data-dir=${join(dir, 'profile')}`, `file://${page}`],
    { env: { ...process.env, DISPLAY: display.display }, stdio: 'ignore' },
  );
  child.once('error', (err) => log.warn({ err: err.message }, 'cannot start Chromium for the demo desktop; the display stays empty'));
  return {
    async stop() {
      await stopProcess(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function startDemoStack(options: DemoOptions = {}): Promise<DemoStack> {
  const log = options.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'warn' });
  const width = options.width ?? 1280;
  const height = options.height ?? 720;
  const password = options.password ?? randomBytes(6).toString('base64url');
  const hostSecret = newToken();
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };

  try {
    const display = await startXvfb(width, height);
    cleanups.push(() => display.stop());
    if (options.desktop !== false) {
      const desktop = await startDesktopApp(display, log);
      cleanups.push(() => desktop.stop());
    }
    const directory = new MemoryDirectory({
      users: [{ username: DEMO_USERNAME, displayName: 'Demo Artist', passwordHash: await hashPassword(password) }],
      workstations: [{ ...DEMO_WORKSTATION, secretDigest: tokenDigest(hostSecret) }],
      assignments: [{ username: DEMO_USERNAME, workstationId: DEMO_WORKSTATION.id }],
    });
    const broker = await startBroker({
      directory,
      host: '127.0.0.1',
      port: 0,
      logger: log.child({ program: 'broker' }),
      ...(options.webRoot ? { webRoot: options.webRoot } : {}),
    });
    cleanups.push(() => broker.close());

    let host: { stop(): Promise<void> } | undefined;
    const startHost = async () => {
      if (host) return;
      host = await startHostAgent({
        display: display.display,
        brokerUrl: broker.url,
        workstationId: DEMO_WORKSTATION.id,
        secret: hostSecret,
        fps: options.fps ?? 30,
        logger: log.child({ program: 'host' }),
      });
    };
    const stopHost = async () => {
      const h = host;
      host = undefined;
      await h?.stop();
    };
    cleanups.push(stopHost);
    if (options.host !== false) await startHost();

    return { url: broker.url, username: DEMO_USERNAME, password, display, broker, hostSecret, startHost, stopHost, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
