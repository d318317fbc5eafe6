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
import { resolveConfig } from '../broker/config.js';
import { openDatabase } from '../broker/db.js';
import { startBroker, type RunningBroker } from '../broker/server.js';
import { SqliteStore } from '../broker/store.js';
import { EnrolResponse } from '../shared/protocol.js';
import { startHostAgent } from '../host/agent.js';
import { CHROMIUM, desktopChromiumArgs, desktopHtml } from './desktop.js';
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
  /** Make the demo user require a TOTP code from this base32 secret. */
  totpSecret?: string;
  /** Local address the host agent's WebRTC gathers on (tests: 127.0.0.1); all interfaces otherwise. */
  iceBindAddress?: string;
  /** Broker configuration overrides (security settings, policy, TURN), as in broker.json. */
  brokerConfig?: Record<string, unknown>;
  logger?: Logger;
}

export interface DemoStack {
  url: string;
  username: string;
  password: string;
  display: VirtualDisplay;
  broker: RunningBroker;
  store: SqliteStore;
  /** The SQLite file the broker uses. */
  databasePath: string;
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
    CHROMIUM,
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

/** The host agent's enrolment, over the broker's real endpoint: a one-time code for the host's own secret. */
async function enrol(brokerUrl: string, code: string): Promise<string> {
  const res = await fetch(`${brokerUrl}/api/enrol`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, hostname: 'demo-workstation' }),
  });
  if (!res.ok) throw new Error(`demo enrolment failed: ${res.status} ${await res.text()}`);
  return EnrolResponse.parse(await res.json()).secret;
}

export async function startDemoStack(options: DemoOptions = {}): Promise<DemoStack> {
  const log = options.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'warn' });
  const width = options.width ?? 1280;
  const height = options.height ?? 720;
  const password = options.password ?? randomBytes(9).toString('base64url');
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
    const dataDir = await mkdtemp(join(tmpdir(), 'backlot-demo-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const databasePath = join(dataDir, 'broker.db');
    const store = new SqliteStore(openDatabase(databasePath));
    cleanups.push(() => Promise.resolve(store.close()));
    const config = resolveConfig({ host: '127.0.0.1', port: 0, database: databasePath, ...options.brokerConfig }, dataDir, {});
    const broker = await startBroker({
      store,
      config: { ...config, ...(options.webRoot ? { webRoot: options.webRoot } : {}) },
      logger: log.child({ program: 'broker' }),
    });
    cleanups.push(() => broker.close());

    // Set the demo up the way an IT admin would: a user, a workstation, an assignment and an enrolment code.
    const actor = 'demo-setup';
    await broker.admin.createUser(actor, { username: DEMO_USERNAME, displayName: 'Demo Artist', role: 'artist', password });
    if (options.totpSecret) store.updateUser(DEMO_USERNAME, { totpSecret: options.totpSecret });
    broker.admin.createWorkstation(actor, DEMO_WORKSTATION);
    broker.admin.assign(actor, { workstationId: DEMO_WORKSTATION.id, user: DEMO_USERNAME });
    const { code } = broker.admin.createEnrolmentCode(actor, DEMO_WORKSTATION.id);
    const hostSecret = await enrol(broker.url, code);

    let host: { stop(): Promise<void> } | undefined;
    const startHost = async () => {
      if (host) return;
      host = await startHostAgent({
        display: display.display,
        brokerUrl: broker.url,
        workstationId: DEMO_WORKSTATION.id,
        secret: hostSecret,
        fps: options.fps ?? 30,
        ...(options.iceBindAddress ? { iceBindAddress: options.iceBindAddress } : {}),
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

    return { url: broker.url, username: DEMO_USERNAME, password, display, broker, store, databasePath, hostSecret, startHost, stopHost, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
