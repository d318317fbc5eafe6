/**
 * The demo workstation's "desktop": a page shown full screen on the virtual
 * display, with calibration blocks of known colours at known positions, a
 * clock and a sketch pad. It records every input event it receives in
 * `window.__backlotEvents`, which the end-to-end tests read on the host side.
 */

/** Colour blocks, BLOCK px square, inset BLOCK_INSET px from each corner. */
export const BLOCK = 96;
export const BLOCK_INSET = 32;
export const CALIBRATION = {
  topLeft: [255, 0, 0],
  topRight: [0, 200, 0],
  bottomLeft: [0, 80, 255],
  bottomRight: [255, 220, 0],
} as const satisfies Record<string, readonly [number, number, number]>;

const rgb = ([r, g, b]: readonly [number, number, number]) => `rgb(${r},${g},${b})`;

/** The page's HTML (self-contained: no network, inline script and style). */
export function desktopHtml(title: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title>
<style>
  html,body{margin:0;height:100%;overflow:hidden;background:#1d2330;color:#e8ecf3;font:16px 'DejaVu Sans',sans-serif;cursor:crosshair;user-select:none}
  .block{position:fixed;width:${BLOCK}px;height:${BLOCK}px}
  #tl{left:${BLOCK_INSET}px;top:${BLOCK_INSET}px;background:${rgb(CALIBRATION.topLeft)}}
  #tr{right:${BLOCK_INSET}px;top:${BLOCK_INSET}px;background:${rgb(CALIBRATION.topRight)}}
  #bl{left:${BLOCK_INSET}px;bottom:${BLOCK_INSET}px;background:${rgb(CALIBRATION.bottomLeft)}}
  #br{right:${BLOCK_INSET}px;bottom:${BLOCK_INSET}px;background:${rgb(CALIBRATION.bottomRight)}}
  header{position:fixed;left:0;right:0;top:${BLOCK_INSET}px;text-align:center}
  h1{margin:0;font-size:28px;font-weight:600}
  #clock{font:600 20px monospace;color:#9fb3d9}
  #pad{position:fixed;left:20%;top:25%;width:60%;height:50%;background:#f4f1ea;border-radius:6px;box-shadow:0 8px 30px #0008}
  #last{position:fixed;left:0;right:0;bottom:${BLOCK_INSET}px;text-align:center;font:14px monospace;color:#9fb3d9}
</style></head>
<body>
<div class="block" id="tl"></div><div class="block" id="tr"></div><div class="block" id="bl"></div><div class="block" id="br"></div>
<header><h1>${title}</h1><div id="clock"></div><div>Draw on the pad with the mouse. Everything you do here happens on the workstation.</div></header>
<canvas id="pad"></canvas>
<div id="last">waiting for input</div>
<script>
  const events = (window.__backlotEvents = []);
  const last = document.getElementById('last');
  const record = (e) => {
    const item = { type: e.type, x: e.clientX, y: e.clientY, button: e.button, buttons: e.buttons, key: e.key, code: e.code, deltaX: e.deltaX, deltaY: e.deltaY, t: performance.timeOrigin + performance.now() };
    events.push(item);
    if (events.length > 5000) events.splice(0, 1000);
    last.textContent = item.type + ' ' + (item.code || (item.x + ',' + item.y));
  };
  for (const type of ['mousedown','mouseup','click','auxclick','dblclick','contextmenu','wheel','keydown','keyup']) addEventListener(type, record, true);
  addEventListener('mousemove', record, { capture: true, passive: true });
  addEventListener('contextmenu', (e) => e.preventDefault());
  const clock = document.getElementById('clock');
  const tick = () => { clock.textContent = new Date().toLocaleTimeString(); };
  tick(); setInterval(tick, 250);
  const pad = document.getElementById('pad');
  const ctx = pad.getContext('2d');
  const fit = () => { pad.width = pad.clientWidth; pad.height = pad.clientHeight; };
  fit(); addEventListener('resize', fit);
  let drawing = false;
  pad.addEventListener('mousedown', (e) => { drawing = true; ctx.beginPath(); ctx.moveTo(e.offsetX, e.offsetY); });
  addEventListener('mouseup', () => { drawing = false; });
  pad.addEventListener('mousemove', (e) => { if (!drawing) return; ctx.lineWidth = 3; ctx.lineCap = 'round'; ctx.strokeStyle = '#1d2330'; ctx.lineTo(e.offsetX, e.offsetY); ctx.stroke(); });
</script>
</body></html>`;
}

/** The system Chromium (Debian's package), overridable for other distributions. */
export const CHROMIUM = process.env.BACKLOT_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Flags that let Chromium run as root on a machine whose only network is the
 * package registries: without the background-networking ones it keeps trying
 * (and failing) to reach Google's hosts (see ENVIRONMENT.md).
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * For a Chromium that talks WebRTC to a host agent bound to 127.0.0.1
 * (tests and benchmarks keep their traffic on loopback): loopback
 * candidates are allowed, and local addresses are plain rather than mDNS
 * names, which libdatachannel does not resolve.
 */
export const LOOPBACK_WEBRTC_FLAGS: readonly string[] = ['--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns'];

/** Chromium flags that make it a full-screen "desktop" app on a bare X display, as root, offline. */
export function desktopChromiumArgs(width: number, height: number): string[] {
  return [
    ...CHROMIUM_FLAGS,
    '--noerrdialogs',
    '--disable-infobars',
    '--kiosk',
    '--window-position=0,0',
    `--window-size=${width},${height}`,
  ];
}
