import { describe, expect, it } from 'vitest';
import { COORD_MAX } from '../../src/shared/input.js';
import { normalisedPosition } from '../../src/renderer/session/input-capture.js';

describe('normalisedPosition', () => {
  const box = { left: 10, top: 20, width: 1600, height: 1000 };

  it('maps the letterboxed picture, not the element, to 0..COORD_MAX', () => {
    // A 16:9 video in a 16:10 box: 900 px tall picture, 50 px bars above and below.
    expect(normalisedPosition(10, 70, box, 1920, 1080)).toEqual({ x: 0, y: 0 });
    expect(normalisedPosition(1610, 970, box, 1920, 1080)).toEqual({ x: COORD_MAX, y: COORD_MAX });
    expect(normalisedPosition(810, 520, box, 1920, 1080)).toEqual({ x: 32768, y: 32768 });
  });

  it('clamps points on the bars to the picture edge', () => {
    expect(normalisedPosition(-50, 30, box, 1920, 1080)).toEqual({ x: 0, y: 0 });
    expect(normalisedPosition(5000, 999, box, 1920, 1080)).toEqual({ x: COORD_MAX, y: COORD_MAX });
  });

  it('falls back to the element box before the video has a size', () => {
    expect(normalisedPosition(810, 520, box, 0, 0)).toEqual({ x: 32768, y: 32768 });
  });
});
