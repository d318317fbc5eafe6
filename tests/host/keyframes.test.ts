import { describe, expect, it } from 'vitest';
import { KeyframeScheduler, MIN_KEYFRAME_INTERVAL_MS } from '../../src/host/encoder/keyframes.js';

describe('KeyframeScheduler', () => {
  it('forces one keyframe per request burst and defers, never drops, requests inside the interval', () => {
    const k = new KeyframeScheduler();
    expect(k.take(0)).toBeUndefined();
    k.request('start');
    k.request('pli');
    expect(k.take(0)).toBe('start');
    expect(k.take(1)).toBeUndefined();
    k.request('pli');
    expect(k.take(MIN_KEYFRAME_INTERVAL_MS - 1)).toBeUndefined();
    expect(k.take(MIN_KEYFRAME_INTERVAL_MS)).toBe('pli');
    expect(k.stats()).toEqual({ requested: { start: 1, pli: 2, fir: 0, client: 0, quality: 0, reconnect: 0 }, forced: 2 });
  });

  it('lets a keyframe the encoder made by itself answer a pending request', () => {
    const k = new KeyframeScheduler();
    k.request('fir');
    k.sawKeyframe(10);
    expect(k.take(10 + MIN_KEYFRAME_INTERVAL_MS)).toBeUndefined();
  });
});
