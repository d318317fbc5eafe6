/**
 * The peers Backlot is measured against besides Chromium's own screen share,
 * each sharing the same Xvfb display (content and marker) and shown in a page
 * of the same client browser, where the probe reads its canvas:
 * - noVNC over x11vnc: `x11vnc -display :N -rfbport P -localhost -nopw
 *   -forever -shared`, `websockify --web /usr/share/novnc 127.0.0.1:W
 *   127.0.0.1:P`, page `vnc.html?autoconnect=1&host=127.0.0.1&port=W`;
 * - xpra's HTML5 client (Debian's xpra 3.1) on `xpra shadow :N`: the
 *   existing display shown as one window, the same picture the others send.
 *   (`xpra start` would run its own display and forward each X window as a
 *   separate canvas, the marker included: not the same content.)
 * Both run with their defaults, as a newcomer would install them. Their
 * servers' CPU is read from /proc like the host agent's, and what they send
 * from the kernel's per-socket counters (`ss -ti`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { onCleanup, startChild, waitUntil, type Child } from './proc.js';

/** Where Debian's packages put the web clients. */
const NOVNC_WEB = '/usr/share/novnc';
const XPRA_WEB = '/usr/share/xpra/www';
/** Servers get this long to listen, the page this long to show a picture. */
const START_TIMEOUT_MS = 30_000;

export type PeerName = 'novnc' | 'xpra';

export interface PeerLink {
  name: PeerName;
  /** Root pids of the server side's process trees, for the CPU meter. */
  serverPids: Record<string, number>;
  /** Bytes the server side has sent to the client browser so far. */
  bytesSent(): number | null;
  /** What ran, for results.json. */
  detail: Record<string, unknown>;
  /** What the client page saw over the run (xpra: paints per encoding). */
  describe(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Why a peer cannot run on this machine, or undefined when it can. */
export function peerUnavailable(name: PeerName): string | undefined {
  const need = name === 'novnc' ? ['/usr/bin/x11vnc', '/usr/bin/websockify', `${NOVNC_WEB}/vnc.html`] : ['/usr/bin/xpra', `${XPRA_WEB}/index.html`];
  const missing = need.filter((p) => !existsSync(p));
  if (missing.length === 0) return undefined;
  const packages = name === 'novnc' ? 'x11vnc novnc websockify' : 'xpra';
  return `not installed (${missing.join(', ')} missing): apt-get install --no-install-recommends ${packages}`;
}

/** A free TCP port on loopback (closed again before the peer binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Bytes the server has sent on its established connections from `port` (the kernel's `bytes_sent`
 * per TCP socket, from `ss -ti`): what the client browser got, framing included. (A process's
 * `wchar` in /proc would miss it: send() on a socket is not counted there.)
 */
export function tcpBytesSent(port: number): number | null {
  let out: string;
  try {
    out = execFileSync('ss', ['-tinH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8', timeout: 5_000 });
  } catch {
    return null;
  }
  let total = 0;
  let any = false;
  for (const m of out.matchAll(/bytes_sent:(\d+)/g)) {
    total += Number(m[1]);
    any = true;
  }
  return any ? total : null;
}

/** Whether something accepts TCP connections on 127.0.0.1:port (a server's banner can come before its bind). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

async function waitForPort(child: Child, what: string, port: number): Promise<void> {
  await waitUntil(`${what} listening on ${port}`, async () => (child.exited() ? fail(child, what) : (await accepts(port)) || undefined), START_TIMEOUT_MS, 200);
}

function fail(child: Child, what: string): never {
  throw new Error(`${what} exited: ${child.output().trim().split('\n').slice(-3).join(' | ')}`);
}

/** Waits until the page shows a canvas of the display's size with something drawn into it. */
async function waitForPicture(page: Page, width: number, height: number, children: Child[]): Promise<void> {
  await waitUntil(
    'peer picture',
    async () => {
      for (const c of children) if (c.exited()) fail(c, c.proc.spawnfile);
      const ok = await page
        .evaluate(
          ([w, h]) => {
            const canvases = [...document.querySelectorAll('canvas')];
            const big = canvases.find((c) => c.width >= w * 0.9 && c.height >= h * 0.9);
            return !!big && (window as unknown as { __bench: { painted(): { frames: number } } }).__bench.painted().frames >= 5;
          },
          [width, height] as const,
        )
        .catch(() => false);
      return ok || undefined;
    },
    START_TIMEOUT_MS,
    250,
  );
}

/** x11vnc on the display, websockify in front of it, noVNC's page in `page`; resolves once the picture shows. */
export async function startNoVnc(display: string, page: Page, width: number, height: number): Promise<PeerLink> {
  const rfb = await freePort();
  const ws = await freePort();
  const vnc = startChild('x11vnc', 'x11vnc', ['-display', display, '-rfbport', String(rfb), '-localhost', '-nopw', '-forever', '-shared']);
  let proxy: Child | undefined;
  try {
    // x11vnc prints PORT=<n> once it listens; connecting to it before would count as a client.
    await waitUntil('x11vnc listening', () => (vnc.exited() ? fail(vnc, 'x11vnc') : new RegExp(`PORT=${rfb}`).test(vnc.output()) || undefined), START_TIMEOUT_MS);
    proxy = startChild('websockify', 'websockify', ['--web', NOVNC_WEB, `127.0.0.1:${ws}`, `127.0.0.1:${rfb}`]);
    const p = proxy;
    await waitForPort(p, 'websockify', ws);
    await page.goto(`http://127.0.0.1:${ws}/vnc.html?autoconnect=1&host=127.0.0.1&port=${ws}`);
    await waitForPicture(page, width, height, [vnc, p]);
  } catch (err) {
    await proxy?.stop();
    await vnc.stop();
    throw err;
  }
  const version = (/x11vnc version: (\S+)/i.exec(vnc.output()) ?? /x11vnc: (\d[\d.]+)/.exec(vnc.output()))?.[1] ?? null;
  return {
    name: 'novnc',
    serverPids: { host_x11vnc: vnc.pid, host_websockify: proxy.pid },
    // websockify → the browser: RFB inside WebSocket frames.
    bytesSent: () => tcpBytesSent(ws),
    // noVNC 1.3's defaults (app/ui.js): Tight first, JPEG quality 6, compression 2, no scaling.
    detail: { x11vnc: version, client: 'noVNC (defaults: Tight, quality 6, compression 2)', rfb_port: rfb, websocket_port: ws, url: `vnc.html?autoconnect=1&host=127.0.0.1&port=${ws}` },
    describe: () => Promise.resolve({}),
    async close() {
      await page.goto('about:blank').catch(() => undefined);
      await proxy.stop();
      await vnc.stop();
    },
  };
}

/** `xpra shadow` of the display with its HTML5 client, opened in `page`; resolves once the picture shows. */
export async function startXpra(display: string, page: Page, width: number, height: number): Promise<PeerLink> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'backlot-bench-xpra-'));
  const unregisterDir = onCleanup('xpra runtime dir', () => rm(dir, { recursive: true, force: true }));
  // Debian's /etc/xpra/conf.d/60_server.conf has `start = /etc/X11/Xsession true`, which on a shadowed
  // display (it has its session already) pops an xmessage over the content; a command-line --start only
  // adds to that list, while a user config file replaces it.
  await writeFile(join(dir, 'xpra.conf'), '# the bench shadows a display that already has its session\nstart =\n');
  const server = startChild(
    'xpra shadow',
    'xpra',
    [
      'shadow', display,
      `--bind-tcp=127.0.0.1:${port}`,
      '--html=on',
      '--daemon=no',
      '--systemd-run=no',
      '--mdns=no',
      '--pulseaudio=no',
      '--dbus-launch=',
      '--dbus-control=no',
      // Its sockets in our temp dir, not /run/xpra, /run/user/0 and ~/.xpra.
      `--socket-dirs=${dir}`,
      `--socket-dir=${dir}`,
      '--notifications=no',
      '--speaker=off',
      '--microphone=off',
      '--webcam=no',
      '--printing=no',
      '--file-transfer=no',
      '--clipboard=no',
    ],
    { env: { ...process.env, XPRA_USER_CONF_DIRS: dir, XDG_RUNTIME_DIR: dir, XAUTHORITY: join(dir, 'Xauthority'), HOME: dir, DISPLAY: display } },
  );
  try {
    await waitUntil('xpra ready', () => (server.exited() ? fail(server, 'xpra') : /xpra is ready/.test(server.output()) || undefined), START_TIMEOUT_MS);
    await waitForPort(server, 'xpra', port);
    await page.goto(`http://127.0.0.1:${port}/index.html?server=127.0.0.1&port=${port}&submit=true&sound=false&clipboard=false&printing=false&file_transfer=false&floating_menu=false`);
    await waitForPicture(page, width, height, [server]);
    // Which encodings the server chose: the client's window paints, counted by `coding`.
    await page.evaluate(`(() => {
      const W = window.XpraWindow;
      if (!W || window.__peerEncodings) return;
      const tally = (window.__peerEncodings = {});
      const orig = W.prototype.do_paint;
      W.prototype.do_paint = function (x, y, w, h, coding, ...rest) { tally[coding] = (tally[coding] || 0) + 1; return orig.call(this, x, y, w, h, coding, ...rest); };
    })()`);
  } catch (err) {
    await server.stop();
    unregisterDir();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const version = /xpra .*?version (\S+)/i.exec(server.output())?.[1] ?? null;
  return {
    name: 'xpra',
    serverPids: { host_xpra: server.pid },
    bytesSent: () => tcpBytesSent(port),
    detail: { xpra: version, mode: 'shadow', port },
    describe: async () => ({ paints_by_encoding: await page.evaluate('window.__peerEncodings || null').catch(() => null) }),
    async close() {
      await page.goto('about:blank').catch(() => undefined);
      await server.stop();
      unregisterDir();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
