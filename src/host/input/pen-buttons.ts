/**
 * Pen samples as pointer buttons, for injectors whose platform cannot carry
 * pressure or tilt (XTEST, robotjs): the tip (or the eraser end) touching is
 * the primary button, the barrel buttons are the secondary and middle ones.
 */
import { PenFlag } from '../../shared/input.js';
import type { PenSample } from './injector.js';

/** Which of the pen's parts press a button. */
export type PenPart = 'tip' | 'barrel' | 'barrel2';

const PART_FLAGS: readonly [PenPart, number][] = [
  ['tip', PenFlag.Contact],
  ['barrel', PenFlag.Barrel],
  ['barrel2', PenFlag.Barrel2],
];

/**
 * Presses or releases the buttons whose pen part changed since the previous
 * sample (`previousFlags`) and returns the flags to remember. Out of range, every
 * part counts as released.
 */
export function applyPenButtons(sample: PenSample, previousFlags: number, setButton: (part: PenPart, down: boolean) => void): number {
  const inRange = (sample.flags & (PenFlag.InRange | PenFlag.Contact)) !== 0;
  const flags = inRange ? sample.flags : 0;
  const changed = flags ^ previousFlags;
  for (const [part, bit] of PART_FLAGS) if (changed & bit) setButton(part, (flags & bit) !== 0);
  return flags;
}
