/**
 * The baseline: Chromium's own screen share. The sender page calls
 * `getDisplayMedia` for the whole display at the requested size and rate and
 * sends the track over an RTCPeerConnection; a page in the artist's (client)
 * browser receives it into a full-window <video>, where the same probe as for
 * Backlot measures it. SDP goes through the harness (`page.evaluate`), with
 * ICE gathering completed first, so no signalling server is involved.
 */
import type { Page } from 'playwright-core';

const SENDER_PAGE = `<!doctype html><html><body style="margin:0;background:#333">
<button id="share" style="width:100%;height:100%">share</button></body></html>`;

const RECEIVER_PAGE = `<!doctype html><html><body style="margin:0;background:#000;overflow:hidden">
<video autoplay muted playsinline style="width:100vw;height:100vh;object-fit:contain;display:block"></video></body></html>`;

/** Shared by both pages: wait for ICE gathering to finish so one offer/answer carries every candidate. */
const GATHER = String.raw`
window.__gathered = (pc) => new Promise((resolve) => {
  if (pc.iceGatheringState === 'complete') return resolve();
  pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
  setTimeout(resolve, 3000);
});`;

export interface BaselineLink {
  /** What the sender's capture track reports. */
  settings: { width?: number; height?: number; frameRate?: number };
  close(): Promise<void>;
}

/** Starts a screen share from `sender` to `receiver` at width×height@fps, both pages on `origin`; resolves once video is playing. */
export async function startBaseline(origin: string, sender: Page, receiver: Page, width: number, height: number, fps: number): Promise<BaselineLink> {
  // A loopback http origin is a secure context (about:blank is not: no mediaDevices there).
  await sender.goto(origin);
  await receiver.goto(origin);
  await sender.setContent(SENDER_PAGE);
  await sender.evaluate(GATHER);
  await receiver.setContent(RECEIVER_PAGE);
  await receiver.evaluate(GATHER);
  // getDisplayMedia needs a user gesture: the click happens inside the handler's activation window.
  await sender.evaluate(`
    document.getElementById('share').onclick = () => {
      window.__share = navigator.mediaDevices.getDisplayMedia({
        video: { width: { ideal: ${width} }, height: { ideal: ${height} }, frameRate: { ideal: ${fps}, max: ${fps} }, cursor: 'always' },
        audio: false,
      });
    };`);
  await sender.click('#share');
  const settings = await sender.evaluate<BaselineLink['settings']>(`(async () => {
    const stream = await window.__share;
    const track = stream.getVideoTracks()[0];
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    window.__benchPc = pc;
    pc.addTrack(track, stream);
    await pc.setLocalDescription(await pc.createOffer());
    await window.__gathered(pc);
    const s = track.getSettings();
    return { width: s.width, height: s.height, frameRate: s.frameRate };
  })()`);
  const offer = await sender.evaluate<RTCSessionDescriptionInit>('({ type: window.__benchPc.localDescription.type, sdp: window.__benchPc.localDescription.sdp })');
  const answer = await receiver.evaluate<RTCSessionDescriptionInit>(
    `(async (offer) => {
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      window.__benchPc = pc;
      const video = document.querySelector('video');
      pc.ontrack = (e) => { video.srcObject = e.streams[0] || new MediaStream([e.track]); };
      await pc.setRemoteDescription(offer);
      await pc.setLocalDescription(await pc.createAnswer());
      await window.__gathered(pc);
      return { type: pc.localDescription.type, sdp: pc.localDescription.sdp };
    })(${JSON.stringify(offer)})`,
  );
  await sender.evaluate(`window.__benchPc.setRemoteDescription(${JSON.stringify(answer)})`);
  await receiver.waitForFunction(
    () => {
      const v = document.querySelector('video');
      return !!v && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames >= 10;
    },
    undefined,
    { timeout: 20_000 },
  );
  return {
    settings,
    async close() {
      await receiver.evaluate('window.__benchPc && window.__benchPc.close()').catch(() => undefined);
      await sender.evaluate('(() => { const pc = window.__benchPc; if (pc) { pc.getSenders().forEach((s) => s.track && s.track.stop()); pc.close(); } })()').catch(() => undefined);
    },
  };
}
