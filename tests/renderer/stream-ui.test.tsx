/**
 * What a person sees of the stream (issue 12), rendered to markup from a
 * machine driven with stand-in actors: the settings' codec list follows the
 * host, "Full colour (4:4:4)" appears only where the policy and this browser's
 * decoder allow it, the overlay names pipeline, encoder, profile and 4:4:4 with
 * the host's reason, and the reconnect banner says what it reconnects for.
 */
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { StreamDescription } from '../../src/shared/control.js';
import type { SessionPolicy } from '../../src/shared/policy.js';
import { ReconnectBanner } from '../../src/renderer/components/SessionView.js';
import { SettingsPanel } from '../../src/renderer/components/SettingsPanel.js';
import { StatsOverlay } from '../../src/renderer/components/StatsOverlay.js';
import type { CodecCapability } from '../../src/renderer/session/media.js';
import type { StatsSnapshot } from '../../src/renderer/session/stats.js';
import { fakePeers, grantWith, settle, start, ENCODED } from './helpers.js';

const H264_420: CodecCapability = { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' };
const H264_444: CodecCapability = { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=f4001f' };
const WITH_444 = () => [H264_420, H264_444];
const WITHOUT_444 = () => [H264_420];

/** A streaming session whose host said `stream` in its hello (none: before hello). */
async function session(stream: StreamDescription | null, policy: Partial<SessionPolicy> = {}) {
  const peers = fakePeers();
  const actor = start({ peer: peers.actor, grant: () => Promise.resolve(grantWith(policy)) });
  actor.send({ type: 'auth.login', username: 'ana', password: 'pw' });
  await settle();
  actor.send({ type: 'session.connect', workstationId: 'ws-1' });
  await settle();
  peers.last().send({ type: 'peer.connected', input: { send: () => undefined } });
  if (stream) peers.last().send({ type: 'peer.control', message: { type: 'hello', monitors: [], applied: {}, stream } });
  return { actor, peers };
}

const panel = (actor: Awaited<ReturnType<typeof session>>['actor'], decoders = WITH_444) =>
  renderToStaticMarkup(<SettingsPanel actor={actor} locked={new Set()} desktop={null} onClose={() => undefined} decoders={decoders} />);
const codecOptions = (html: string) => {
  const select = /<label>Codec<select[^>]*>(.*?)<\/select>/.exec(html)![1]!;
  return [...select.matchAll(/<option value="([^"]*)"[^>]*>([^<]*)<\/option>/g)].map((m) => `${m[1]}:${m[2]}`);
};

describe('stream settings', () => {
  it('offers the codecs both the policy and the host allow: no VP8 from an encoded host', async () => {
    const { actor } = await session(ENCODED);
    expect(codecOptions(panel(actor))).toEqual([':Studio default (H264)', 'H264:H264']);
  });

  it('offers the policy’s codecs before the host has said', async () => {
    const { actor } = await session(null);
    expect(codecOptions(panel(actor))).toEqual([':Studio default (H264)', 'H264:H264', 'VP8:VP8', 'VP9:VP9', 'AV1:AV1']);
  });

  it('says what "Automatic" bitrate means: the ceiling the workstation applies for this size and rate, not the policy maximum', async () => {
    const before = await session(null);
    expect(panel(before.actor)).toMatch(/<option value=""[^>]*>Automatic \(set by the workstation\)<\/option>/);
    const { actor, peers } = await session(null);
    peers.last().send({ type: 'peer.control', message: { type: 'hello', monitors: [], applied: { width: 1920, height: 1080, fps: 30, maxBitrateKbps: 3_732 }, stream: ENCODED } });
    await settle();
    expect(panel(actor)).toMatch(/<option value=""[^>]*>Automatic \(3\.732 Mb\/s for this stream\)<\/option>/);
    expect(panel(actor)).not.toContain('up to');
  });

  it('shows "Full colour (4:4:4)" only when the policy allows it and this browser decodes H.264 High 4:4:4', async () => {
    const { actor } = await session(ENCODED);
    expect(panel(actor)).toContain('Full colour (4:4:4)');
    expect(panel(actor, WITHOUT_444)).not.toContain('Full colour');
    const strict = await session(ENCODED, { chroma444: false });
    expect(panel(strict.actor)).not.toContain('Full colour');
  });

  it('shows the saved choice, and greys it out where the workstation cannot send 4:4:4', async () => {
    const { actor } = await session(ENCODED);
    expect(panel(actor)).not.toMatch(/<input type="checkbox" checked=""/);
    actor.send({ type: 'fullColour.set', enabled: true });
    expect(panel(actor)).toMatch(/<input type="checkbox" checked=""/);
    const none = await session({ ...ENCODED, chroma444Available: false });
    const html = panel(none.actor);
    expect(html).toMatch(/<input type="checkbox" disabled=""/);
    expect(html).toContain('this workstation cannot send it');
  });
});

describe('stats overlay', () => {
  const stats: StatsSnapshot = {
    at: 1, rttMs: 1.2, fpsReceived: 30, fpsDecoded: 30, width: 1280, height: 720, codec: 'H264',
    codecFmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=f4001f', bitrateKbps: 900,
    packetLossPct: 0, packetsLost: 0, jitterBufferMs: 12, queueMs: 3, decodeMs: 2, framesDropped: 0, freezes: 0, freezeSeconds: 0,
  };
  const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

  it('names pipeline, encoder, codec profile and 4:4:4, and the host’s reason for its encoder', async () => {
    const { actor, peers } = await session({ ...ENCODED, chroma444: true });
    peers.last().send({ type: 'peer.stats', stats });
    const html = text(renderToStaticMarkup(<StatsOverlay actor={actor} onClose={() => undefined} />));
    expect(html).toContain('Pipeline encoded (host encoder, libdatachannel)');
    expect(html).toContain('Encoder libx264');
    expect(html).toContain('Codec H.264 High 4:4:4');
    expect(html).toContain('4:4:4 yes');
    expect(html).toContain('h264_nvenc: Cannot load libcuda.so.1; libx264: 10.1 ms/frame ≤ 25 ms: chosen');
  });
});

describe('reconnect banner', () => {
  it('says "Reconnecting to apply full colour…" when the client reconnects to apply it', async () => {
    const { actor } = await session(ENCODED);
    expect(renderToStaticMarkup(<ReconnectBanner actor={actor} />)).toBe('');
    actor.send({ type: 'fullColour.set', enabled: true });
    const html = renderToStaticMarkup(<ReconnectBanner actor={actor} />);
    expect(html).toContain('Reconnecting to apply full colour…');
    expect(html).toContain('data-reason="fullColour"');
  });

  it('says "Reconnecting…" when the connection was lost', async () => {
    const { actor, peers } = await session(ENCODED);
    peers.last().send({ type: 'peer.lost', reason: 'ICE disconnected', restartable: true });
    const html = renderToStaticMarkup(<ReconnectBanner actor={actor} />);
    expect(html).toContain('<strong>Reconnecting…</strong>');
    expect(html).toContain('data-reason="lost"');
  });
});
