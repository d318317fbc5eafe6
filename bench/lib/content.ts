/**
 * Desktop-like content for the host display: an application window with a
 * scrolling text panel (a script/log, like a compositor's script editor),
 * an animated viewer canvas (moving gradients, shapes and text, like a
 * playing shot), a node list and a timeline with a moving playhead. Not a
 * flat colour: the encoder has real work at every frame. The top-left
 * corner stays free for the marker window (see marker.ts).
 *
 * Like the demo desktop, it logs every input event it receives in
 * `window.__backlotEvents`: `ts` = performance.timeOrigin + event.timeStamp
 * (when the browser got the event from X), `t` = when the page's handler ran.
 */

/** The marker sits at the top-left; keep the content's busy parts clear of it. */
export const MARKER = { x: 16, y: 16, size: 96 } as const;

export function contentHtml(): string {
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) {
    lines.push(
      `<div>${String(i).padStart(4, '0')}  Read${i % 7}.file = "/shots/sq${(i % 12) + 10}/sh${(i * 37) % 900}/plate.%04d.exr"; Grade${i % 5}.gain = ${(0.5 + (i % 17) / 10).toFixed(2)}; Merge${i % 3}.mix = ${((i * 13) % 100) / 100}</div>`,
    );
  }
  const nodes = Array.from({ length: 28 }, (_, i) => `<li>${['Read', 'Grade', 'Merge', 'Blur', 'Roto', 'Transform', 'Write'][i % 7]}${i + 1}</li>`).join('');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Backlot bench desktop</title>
<style>
  html,body{margin:0;height:100%;overflow:hidden;background:#22252b;color:#d7dbe2;font:13px 'DejaVu Sans Mono',monospace;cursor:crosshair;user-select:none}
  #menu{position:fixed;left:140px;right:0;top:0;height:28px;background:#30343c;line-height:28px;padding-left:12px;font:14px 'DejaVu Sans',sans-serif}
  #nodes{position:fixed;left:0;top:140px;bottom:96px;width:220px;background:#2a2e35;overflow:hidden}
  #nodes li{padding:3px 8px;border-bottom:1px solid #353a43}
  #viewer{position:fixed;left:230px;top:40px;width:calc(62% - 230px);bottom:96px;background:#000}
  #script{position:fixed;right:0;top:40px;width:38%;bottom:96px;overflow:hidden;background:#1b1d22;color:#a9d1a0}
  #scroll{animation:scroll 60s linear infinite;white-space:pre}
  @keyframes scroll{from{transform:translateY(0)}to{transform:translateY(-7000px)}}
  #timeline{position:fixed;left:0;right:0;bottom:0;height:86px;background:#2c3038}
  #ticks{position:absolute;left:20px;right:20px;top:36px;height:30px;background:repeating-linear-gradient(90deg,#444a55 0 1px,transparent 1px 24px)}
  #playhead{position:absolute;top:20px;width:2px;height:60px;background:#f5a623}
  #frame{position:absolute;left:20px;top:6px;color:#f5a623}
</style></head>
<body>
<div id="menu">File  Edit  Viewer  Render  Cache  Help      shot sq12_sh0420  comp v037</div>
<ul id="nodes" style="margin:0;padding:0;list-style:none">${nodes}</ul>
<canvas id="viewer"></canvas>
<div id="script"><div id="scroll">${lines.join('')}</div></div>
<div id="timeline"><div id="frame"></div><div id="ticks"></div><div id="playhead"></div></div>
<script>
  const events = (window.__backlotEvents = []);
  const record = (e) => {
    // ts: when the browser received the event from X (its platform timestamp); t: when the page's handler ran.
    events.push({ type: e.type, x: e.clientX, y: e.clientY, button: e.button, buttons: e.buttons, key: e.key, code: e.code, ts: performance.timeOrigin + e.timeStamp, t: performance.timeOrigin + performance.now() });
    if (events.length > 20000) events.splice(0, 5000);
  };
  for (const type of ['mousedown','mouseup','click','wheel','keydown','keyup']) addEventListener(type, record, true);
  addEventListener('mousemove', record, { capture: true, passive: true });
  addEventListener('contextmenu', (e) => e.preventDefault());
  addEventListener('keydown', (e) => e.preventDefault());

  const canvas = document.getElementById('viewer');
  const ctx = canvas.getContext('2d');
  const fit = () => { canvas.width = canvas.clientWidth; canvas.height = canvas.clientHeight; };
  fit(); addEventListener('resize', fit);
  const playhead = document.getElementById('playhead');
  const frameLabel = document.getElementById('frame');
  const t0 = performance.now();
  const draw = (now) => {
    const t = (now - t0) / 1000;
    const w = canvas.width, h = canvas.height;
    const g = ctx.createLinearGradient(0, 0, w, h);
    g.addColorStop(0, 'hsl(' + ((t * 40) % 360) + ',60%,35%)');
    g.addColorStop(1, 'hsl(' + ((t * 40 + 180) % 360) + ',60%,20%)');
    ctx.fillStyle = g; ctx.fillRect(0, 0, w, h);
    for (let i = 0; i < 24; i++) {
      const a = t * (0.4 + i * 0.05) + i;
      ctx.beginPath();
      ctx.fillStyle = 'hsla(' + ((i * 37 + t * 60) % 360) + ',80%,60%,0.7)';
      ctx.arc(w / 2 + Math.cos(a) * w * (0.1 + i * 0.015), h / 2 + Math.sin(a * 1.3) * h * (0.1 + i * 0.013), 12 + (i % 5) * 8, 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.strokeStyle = '#fff8'; ctx.lineWidth = 2;
    ctx.beginPath();
    for (let x = 0; x < w; x += 8) ctx.lineTo(x, h * 0.8 + Math.sin(x / 40 + t * 3) * 30);
    ctx.stroke();
    ctx.fillStyle = '#fff'; ctx.font = '20px monospace';
    ctx.fillText('sq12_sh0420  ' + (1001 + Math.floor(t * 24)) + '  ' + t.toFixed(2) + 's', 16, 32);
    const frac = (t % 10) / 10;
    playhead.style.left = (20 + frac * (innerWidth - 40)) + 'px';
    frameLabel.textContent = 'frame ' + (1001 + Math.floor(t * 24));
    requestAnimationFrame(draw);
  };
  requestAnimationFrame(draw);
</script>
</body></html>`;
}
