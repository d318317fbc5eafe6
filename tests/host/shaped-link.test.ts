/**
 * The encoded pipeline on a shaped link (issue 12 §3), the part CI holds it
 * to: capped at 5 Mbit/s with 1 % loss from the first packet, starting at
 * 12 Mbit/s, the host's bitrate controller must come down under the cap
 * within 3 s on the receiver's reports, the picture must keep
 * moving, and NACKs must repair the loss once the stream has settled.
 * helpers/shaped-stream.ts builds the link, the host and the client.
 *
 * Then the cap is lifted, and the stream must climb back above 8 Mbit/s
 * within 20 s: the host's controller raises its target on clear receiver
 * reports (loss, and the round trip from its sender reports), since
 * Chromium's REMB alone collapsed on this link (BENCHMARKS.md). Settling when
 * the cap returns mid-stream, and glass to glass, are measured by
 * `npm run bench` (bench/shaped-link.ts), which reports them met or missed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shapedLinkUnavailable } from './helpers/netns.js';
import {
  CAP,
  LOSS_PERCENT,
  MAX_FRAME_GAP_MS,
  RECOVER_BUDGET_MS,
  RECOVERED_KBPS,
  SETTLE_BUDGET_MS,
  STREAM_START_TIMEOUT_MS,
  WIDTH,
  lostForGood,
  now,
  round,
  settleTime,
  startShapedStream,
  timeline,
  windows,
  type PhaseResult,
  type ShapedStream,
} from './helpers/shaped-stream.js';

/** The capped phase: the settle budget plus long enough to see the stream stay settled (or oscillate) and to count its losses. */
const CAPPED_PHASE_MS = 15_000;
/**
 * Packets lost for good (after NACK repair) over the settled part of the
 * phase, as a share of those expected. Measured here (three runs, load 4-6 on
 * 2 cores): 0 of 2,075, 4,287 and 6,019 once settled; the loss rule drops 1 %
 * (44-68 packets a run), so without NACK repair this reads ~1 %. 0.3 % leaves
 * room for a few packets whose retransmission is itself dropped or late, and
 * still fails a host that does not answer NACKs. Not the whole phase: the
 * first second's 12 Mbit/s into the 5 Mbit/s queue tail-drops 560-2,900
 * packets before the first REMB, which no controller can prevent.
 */
const MAX_SETTLED_UNREPAIRED = 0.003;

// Skipped only where no shaped link can be made; a missing encoder or capture addon fails the test instead.
const skipReason = await shapedLinkUnavailable();

describe.skipIf(skipReason !== undefined)(`the encoded stream on a shaped link (${CAP.rateKbit / 1000} Mbit/s, ${LOSS_PERCENT} % loss)${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let stream: ShapedStream | undefined;
  let capped: PhaseResult;
  let settledMs: number | undefined;

  beforeAll(async () => {
    stream = await startShapedStream();
    // The cap was on before the first packet: the clock starts with the first decoded frame.
    capped = await stream.runPhase('capped from the start', stream.streamStart, CAPPED_PHASE_MS);
    settledMs = settleTime(capped.client, stream.host, capped.phase);
    capped.numbers.settleMs = settledMs;
  }, STREAM_START_TIMEOUT_MS + CAPPED_PHASE_MS + 30_000);

  afterAll(async () => {
    await stream?.close();
  }, 30_000);

  it('settles under the cap within 3 s when the link is capped from the start', () => {
    const n = capped.numbers;
    expect(capped.client.at(-1)?.codec, 'the negotiated codec').toMatch(/^video\/H264/);
    expect(capped.client.at(-1)?.frameWidth).toBe(WIDTH);
    expect(settledMs, `never settled under ${CAP.rateKbit} kbit/s: ${JSON.stringify(n)}`).toBeDefined();
    expect(settledMs!, `settled ${settledMs} ms after the first frame: ${JSON.stringify(n)}`).toBeLessThanOrEqual(SETTLE_BUDGET_MS);
  });

  it('keeps the picture moving: no gap over 500 ms between decoded frames', async () => {
    const { errors } = await stream!.readClient();
    expect(errors).toEqual([]);
    expect(stream!.hostErrors.map((e) => `${e.code}: ${e.message}`)).toEqual([]);
    const n = capped.numbers;
    expect(n.fps, `frames decoded: ${JSON.stringify(n)}`).toBeGreaterThan(0);
    expect(n.gapMaxMs, `p50 ${n.gapP50Ms} ms, p95 ${n.gapP95Ms} ms, max ${n.gapMaxMs} ms, ${n.fps} fps, long gaps [${n.longGaps.join(', ')}], freezes ${n.freezes} (${n.freezesMs} ms)`).toBeLessThanOrEqual(MAX_FRAME_GAP_MS);
  });

  it('repairs the loss once settled: NACKs answered, few packets lost for good', () => {
    const n = capped.numbers;
    expect(settledMs, 'the stream settled (the loss is judged on the settled part)').toBeDefined();
    const settled = lostForGood(capped.client, capped.phase.from + settledMs!, capped.phase.to);
    const summary = JSON.stringify({ settledMs: round(settledMs!), settled: { ...settled, share: round(settled.share * 100, 3) }, whole: { packetsReceived: n.packetsReceived, packetsLost: n.packetsLost }, nacks: n.nacks, hostNacked: n.hostNacked, plis: n.plis, lossRuleDrops: n.lossRuleDrops, capDrops: n.capDrops });
    if (process.env.BACKLOT_TRACE_SHAPED_LINK === '1') console.warn(`loss: ${summary}`);
    expect(n.lossRuleDrops, `the loss rule dropped nothing: ${summary}`).toBeGreaterThan(0);
    expect(n.nacks, `the client sent no NACK: ${summary}`).toBeGreaterThan(0);
    expect(n.hostNacked, `the host retransmitted nothing: ${summary}`).toBeGreaterThan(0);
    expect(settled.received, `too little of the phase was settled to judge: ${summary}`).toBeGreaterThan(1_000);
    expect(settled.share, summary).toBeLessThanOrEqual(MAX_SETTLED_UNREPAIRED);
  });

  it('climbs back above 8 Mbit/s within 20 s once the cap is lifted', async () => {
    await stream!.link.liftCap();
    const from = now();
    const lifted = await stream!.runPhase('cap lifted', from, RECOVER_BUDGET_MS, (client, host) => {
      const w = windows(client, from, now()).at(-1);
      return !!w && w.kbps >= RECOVERED_KBPS && (host.at(-1)?.targetKbps ?? 0) >= RECOVERED_KBPS;
    });
    const up = windows(lifted.client, lifted.phase.from, lifted.phase.to).find((w) => w.kbps >= RECOVERED_KBPS);
    const trace = timeline(lifted.phase, lifted.client, stream!.host).join('\n');
    expect(up, `never above ${RECOVERED_KBPS} kbit/s in ${RECOVER_BUDGET_MS} ms:\n${trace}`).toBeDefined();
    console.warn(`shaped link: above ${RECOVERED_KBPS} kbit/s ${round(up!.end - from)} ms after the cap was lifted`);
    expect(lifted.numbers.gapMaxMs, trace).toBeLessThanOrEqual(MAX_FRAME_GAP_MS);
  }, RECOVER_BUDGET_MS + 15_000);
});
