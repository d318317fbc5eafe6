/**
 * The WebSocket heartbeat: every socket is pinged once per period, in slices
 * spread over it (not one loop over all of them), and one that does not
 * answer is dropped at its next visit.
 */
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessBroker, type InProcessBroker } from './helpers/in-process-broker.js';

// Short, but long enough that a pong is never late on a loaded CI machine; the whole test stays
// under the 5 s in which an unauthenticated socket must authenticate.
const PERIOD_MS = 800;
let broker: InProcessBroker;

beforeAll(async () => {
  broker = await startInProcessBroker({ heartbeatMs: PERIOD_MS });
});
afterAll(() => broker?.close());

function open(autoPong: boolean): Promise<{ ws: WebSocket; pings: number; closedAt: number | undefined; code: string }> {
  const ws = new WebSocket(`${broker.url.replace(/^http/, 'ws')}/ws/client`, { autoPong });
  const peer = { ws, pings: 0, closedAt: undefined as number | undefined, code: '' };
  ws.on('ping', () => peer.pings++);
  ws.on('close', (code, reason) => {
    peer.closedAt = Date.now();
    peer.code = `${code} ${reason.toString()}`;
  });
  ws.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(peer));
    ws.once('error', reject);
  });
}

describe('WebSocket heartbeat', () => {
  it('pings every socket once a period and drops the ones that stop answering', async () => {
    const live = await Promise.all(Array.from({ length: 150 }, () => open(true)));
    const dead = await Promise.all(Array.from({ length: 10 }, () => open(false)));
    await new Promise((r) => setTimeout(r, PERIOD_MS * 4));
    // Four periods: every live socket pinged about once a period (not all at once, not never).
    for (const p of live) {
      expect(p.closedAt, p.code).toBeUndefined();
      expect(p.pings).toBeGreaterThanOrEqual(2);
      expect(p.pings).toBeLessThanOrEqual(5);
    }
    // A silent socket is pinged once, then dropped on the next visit.
    for (const p of dead) {
      expect(p.pings).toBeGreaterThanOrEqual(1);
      expect(p.closedAt).toBeDefined();
    }
    for (const p of live) p.ws.terminate();
  });
});
