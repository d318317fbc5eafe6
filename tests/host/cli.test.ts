/**
 * The host agent as a real process (the CLI) on a real Xvfb with ffmpeg and
 * XTEST, against a fake broker, with a real Chromium as the client
 * (helpers/browser-client.ts) decoding the H.264 the agent's encoded
 * pipeline sends over loopback: what a client would see and what the X
 * server receives.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_POLICY } from '../../src/shared/policy.js';
import { COORD_MAX } from '../../src/shared/input.js';
import type { SignalData } from '../../src/shared/protocol.js';
import { loadAvNative } from '../../src/host/encoder/av-native.js';
import { LOOPBACK, openBrowserClient, SignalRelay, type BrowserClient } from './helpers/browser-client.js';
import { pollUntil } from './helpers/browser-peer.js';
import { FakeBroker } from './helpers/fake-broker.js';
import { X11Observer } from './helpers/x11-observer.js';
import { startXvfb, xrun, type Xvfb } from './helpers/xvfb.js';

const execFileAsync = promisify(execFile);
const SECRET = 'cli-secret-0123456789abcdef';
const CLI = ['--import', 'tsx', 'src/host/cli.ts'];
const addon = loadAvNative();

interface Cli {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Cli {
  const proc = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, stdout: () => out, stderr: () => err, exited };
}

/** BT.601 limited-range luma and Cr of an RGB pixel: what the capture's I420 held for it. */
function lumaCr([r, g, b]: [number, number, number]): [number, number] {
  return [16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255, 128 + (112 * r - 93.786 * g - 18.214 * b) / 255];
}

async function mouseLocation(display: string): Promise<string> {
  return (await xrun(display, 'xdotool', ['getmouselocation'])).split(' screen')[0]!;
}

describe('backlot-host CLI', () => {
  it('exits 2 on bad flags without echoing the secret', async () => {
    const cli = runCli(['run', '--display', ':1', '--broker', 'http://127.0.0.1:1', '--workstation', 'ws-demo', '--secret', 'tooshort-secret', '--fps', 'fast']);
    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toMatch(/--fps/);
    expect(cli.stderr()).toMatch(/--secret/);
    expect(cli.stderr()).not.toContain('tooshort-secret');
  });

  it('exits 2 without a command', async () => {
    const cli = runCli([]);
    expect(await cli.exited).toBe(2);
  });

  // Without the av-encoder addon the agent cannot stream: it refuses to start.
  describe.skipIf(!addon.ok)('on a real display', () => {
    let xvfb: Xvfb;
    let broker: FakeBroker;
    let cli: Cli | undefined;
    let client: BrowserClient | undefined;
    let observer: X11Observer | undefined;

    beforeAll(async () => {
      xvfb = await startXvfb('1280x720');
      await xrun(xvfb.display, 'xsetroot', ['-solid', '#ff0000']);
      broker = await FakeBroker.start();
    });
    afterAll(async () => {
      await client?.close();
      if (cli && cli.proc.exitCode === null) {
        cli.proc.kill('SIGKILL');
        await cli.exited;
      }
      await observer?.close();
      await broker?.close();
      await xvfb?.stop();
    });

    it('streams the screen, injects input and shuts down cleanly on SIGTERM', async () => {
      cli = runCli(['run', '--broker', broker.url, '--fps', '30', '--capture', 'ffmpeg', '--ice-bind-address', LOOPBACK], {
        DISPLAY: xvfb.display,
        BACKLOT_WORKSTATION: 'ws-demo',
        BACKLOT_HOST_SECRET: SECRET,
      });
      // The encoder probe runs before the agent connects.
      const auth = await broker.next('auth', 15_000);
      expect(auth).toEqual({ type: 'auth', workstationId: 'ws-demo', secret: SECRET });
      broker.send({ type: 'ready', workstationId: 'ws-demo' });
      observer = await X11Observer.open(xvfb.display);

      broker.send({ type: 'session.start', sessionId: 'cli-1', user: 'alice', iceServers: [], policy: DEFAULT_SESSION_POLICY });
      await broker.next('session.accept', 10_000);
      const signals = new SignalRelay();
      const relay = setInterval(() => {
        for (let i; (i = broker.received.findIndex((m) => m.type === 'signal')) >= 0; ) {
          signals.toClient((broker.received.splice(i, 1)[0] as { data: SignalData }).data);
        }
      }, 5);
      try {
        const peer = await openBrowserClient(signals, (data) => broker.send({ type: 'signal', sessionId: 'cli-1', data }));
        client = peer;
        await peer.peer.channelsOpen();
        const video = await pollUntil('frames decoded', () => peer.peer.inbound(), (v) => (v?.framesDecoded ?? 0) >= 1 && v!.codec !== '', 20_000);
        expect(video).toMatchObject({ frameWidth: 1280, frameHeight: 720, codec: expect.stringMatching(/^video\/H264 /) as unknown });
        // Red after H.264 and back, as Chromium draws it: luma ~81, V well above neutral.
        const [pixel] = (await pollUntil('a picture shown', () => peer.peer.videoPixels([{ x: 10, y: 10 }]), (p) => p !== undefined))!;
        const [luma, cr] = lumaCr(pixel!);
        expect(Math.abs(luma - 81), `rgb ${pixel!.join(',')}`).toBeLessThan(16);
        expect(cr, `rgb ${pixel!.join(',')}`).toBeGreaterThan(200);

        await peer.send('pointer', { op: 'pointerAbs', x: COORD_MAX / 2, y: COORD_MAX / 4 });
        await expect.poll(() => mouseLocation(xvfb.display), { timeout: 5_000 }).toBe('x:640 y:180');

        await peer.send('input', { op: 'key', code: 'KeyB', down: true });
        const [press] = await observer.waitForEvents(1);
        expect(press!.name).toBe('KeyPress');
        expect(observer.keysymOf(press!.detail)).toBe(0x62);

        // The session captures through an ffmpeg child (--capture ffmpeg), which must not outlive the agent.
        const { stdout: during } = await execFileAsync('ps', ['-eo', 'args']);
        expect(during).toContain(`-i ${xvfb.display}+0,0`);

        // SIGTERM while the key is still held: the agent must release it and report the end.
        cli.proc.kill('SIGTERM');
        expect(await cli.exited).toBe(0);
        expect(await broker.next('session.end')).toEqual({ type: 'session.end', sessionId: 'cli-1', reason: 'agent-stopping' });
        const [release] = await observer.waitForEvents(1);
        expect(release).toEqual({ name: 'KeyRelease', detail: press!.detail });
        expect(await observer.pressedKeycodes()).toEqual([]);
      } finally {
        clearInterval(relay);
      }

      // ffmpeg went with the agent.
      const { stdout: ps } = await execFileAsync('ps', ['-eo', 'args']);
      expect(ps).not.toContain(`-i ${xvfb.display}+0,0`);
      // Logs are JSON lines and never carry the secret.
      const lines = cli.stdout().trim().split('\n');
      for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
      expect(cli.stdout()).not.toContain(SECRET);
      // The probe's choice at start, with its reason: the encoded pipeline, libx264 among its encoders.
      const choice = lines.map((l) => JSON.parse(l) as { pipeline?: unknown; encoders?: unknown; msg: string }).find((l) => l.pipeline !== undefined);
      expect(choice).toMatchObject({ pipeline: 'encoded', encoders: expect.arrayContaining(['libx264']) as unknown, msg: expect.stringMatching(/^encoded pipeline, .*chosen/) as unknown });
      expect(lines.some((l) => l.includes('session ended'))).toBe(true);
    });
  });
});
