/** libwebrtc field trials set in the installed wrtc binary through the wrtc-field-trials addon. */
import { describe, expect, it } from 'vitest';
import { MAX_PLAYOUT_DELAY_MS, playoutDelayTrial, setWebrtcFieldTrials } from '../../src/host/field-trials.js';

describe('field trials', () => {
  it('builds the playout-delay trial and refuses out-of-range delays', () => {
    expect(playoutDelayTrial(0)).toBe('WebRTC-ForceSendPlayoutDelay/min_ms:0,max_ms:0/');
    expect(playoutDelayTrial(MAX_PLAYOUT_DELAY_MS)).toBe(`WebRTC-ForceSendPlayoutDelay/min_ms:0,max_ms:${MAX_PLAYOUT_DELAY_MS}/`);
    expect(() => playoutDelayTrial(-1)).toThrow(RangeError);
    expect(() => playoutDelayTrial(501)).toThrow(RangeError);
    expect(() => playoutDelayTrial(2.5)).toThrow(RangeError);
  });

  it('sets them in the wrtc binary this install uses (it must not be stripped)', () => {
    expect(setWebrtcFieldTrials(playoutDelayTrial(0))).toEqual({ ok: true, trials: 'WebRTC-ForceSendPlayoutDelay/min_ms:0,max_ms:0/' });
  });
});
