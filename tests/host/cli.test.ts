/**
 * The host agent as a real process (the CLI) on a real Xvfb with ffmpeg and
 * XTEST, against a fake broker and an in-process WebRTC client: what a
 * client would see and what the X server receives.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_POLICY } from '../../src/shared/policy.js';
import { COORD_MAX, encodeInput } from '../../src/shared/input.js';
import type { SignalData } from '../../src/shared/protocol.js';
import { createClientPeer, type ClientPeer } from './helpers/client-peer.js';
import { FakeBroker } from './helpers/fake-broker.js';
import { X11Observer } from './helpers/x11-observer.js';
import { startXvfb, xrun, type Xvfb } from './helpers/xvfb.js';

const execFileAsync = promisify(execFile);
const SECRET = 'cli-secret-0123456789abcdef';
const CLI = ['--import', 'tsx', 'src/host/cli.ts'];

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

  describe('on a real display', () => {
    let xvfb: Xvfb;
    let broker: FakeBroker;
    let cli: Cli | undefined;
    let client: ClientPeer | undefined;
    let observer: X11Observer | undefined;

    beforeAll(async () => {
      xvfb = await startXvfb('1280x720');
      await xrun(xvfb.display, 'xsetroot', ['-solid', '#ff0000']);
      broker = await FakeBroker.start();
    });
    afterAll(async () => {
      client?.peer.destroy();
      if (cli && cli.proc.exitCode === null) {
        cli.proc.kill('SIGKILL');
        await cli.exited;
      }
      await observer?.close();
      await broker?.close();
      await xvfb?.stop();
    });

    it('streams the screen, injects input and shuts down cleanly on SIGTERM', async () => {
      // The client stand-in is wrtc, which cannot decode H.264: without --pipeline wrtc the
      // agent's probe picks the encoded pipeline, and the session ends at the offer with
      // ERR_CODEC_UNAVAILABLE (no format both allowed and offered).
      cli = runCli(['run', '--broker', broker.url, '--fps', '30', '--pipeline', 'wrtc', '--capture', 'ffmpeg'], {
        DISPLAY: xvfb.display,
        BACKLOT_WORKSTATION: 'ws-demo',
        BACKLOT_HOST_SECRET: SECRET,
      });
      const auth = await broker.next('auth', 15_000);
      expect(auth).toEqual({ type: 'auth', workstationId: 'ws-demo', secret: SECRET });
      broker.send({ type: 'ready', workstationId: 'ws-demo' });
      observer = await X11Observer.open(xvfb.display);

      broker.send({ type: 'session.start', sessionId: 'cli-1', user: 'alice', iceServers: [], policy: DEFAULT_SESSION_POLICY });
      await broker.next('session.accept', 10_000);
      const peer = createClientPeer((data) => broker.send({ type: 'signal', sessionId: 'cli-1', data }));
      client = peer;
      const relay = setInterval(() => {
        for (let i; (i = broker.received.findIndex((m) => m.type === 'signal')) >= 0; ) {
          peer.peer.signal((broker.received.splice(i, 1)[0] as { data: SignalData }).data as never);
        }
      }, 5);
      try {
        await peer.channelsOpen;
        const frame = await peer.firstFrame;
        expect([frame.width, frame.height]).toEqual([1280, 720]);
        // Red after VP8 and back: luma ~81, V well above neutral.
        expect(Math.abs(frame.data[10 * 1280 + 10]! - 81)).toBeLessThan(16);
        expect(frame.data[1280 * 720 * 1.25 + 5 * 640 + 5]!).toBeGreaterThan(200);

        peer.pointer.send(encodeInput({ op: 'pointerAbs', x: COORD_MAX / 2, y: COORD_MAX / 4 }));
        await expect.poll(() => mouseLocation(xvfb.display), { timeout: 5_000 }).toBe('x:640 y:180');

        peer.input.send(encodeInput({ op: 'key', code: 'KeyB', down: true }));
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
      expect(lines.some((l) => l.includes('session ended'))).toBe(true);
      expect(lines.some((l) => l.includes('"pipeline":"wrtc"'))).toBe(true);
    });
  });
});
