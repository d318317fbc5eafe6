/**
 * When this computer cannot decode the stream as fast as it arrives, frames
 * queue in front of the decoder and the picture falls further and further
 * behind the workstation (measured at 1920x1080@60 on a 2-core machine: a
 * 311 ms average wait and a 1 s p95 glass to glass). Lower latency beats a
 * higher frame rate for someone working, so after a few seconds of that the
 * session asks the host for the next lower frame rate (60 → 30 → 24), as
 * game-streaming clients do. Pure, so the rule is unit-tested.
 */
import type { QualityRequest } from '../../shared/control.js';
import { FPS_CHOICES } from './quality.js';
import type { StatsSnapshot } from './stats.js';

/**
 * A frame waiting this long on average over one stats interval is a backlog:
 * with the host's playout delay of 0 the receiver holds frames only while
 * the decoder is behind (a healthy stream here waits 0.5–15 ms).
 */
export const BACKLOG_QUEUE_MS = 120;
/** Consecutive backlogged stats intervals (seconds) before the frame rate is lowered. */
export const BACKLOG_INTERVALS = 3;
/** Never lowered below this automatically. */
export const MIN_AUTO_FPS = 24;

export function isBacklogged(stats: StatsSnapshot): boolean {
  return stats.queueMs !== null && stats.queueMs > BACKLOG_QUEUE_MS;
}

/** A frame rate the session lowered by itself: applies to this session only, never to the person's saved choice. */
export interface AutoFps {
  from: number;
  to: number;
  /** When it was lowered (the stats sample's time, ms since the epoch). */
  at: number;
}

/**
 * What to ask the host for: the person's request, with the session's own
 * step-down as a ceiling on its frame rate. Kept apart from the request so the
 * request stays what the person chose (it is what the client saves, issue 11).
 */
export function withAutoFps(request: QualityRequest, autoFps: AutoFps | null): QualityRequest {
  if (!autoFps) return request;
  return { ...request, fps: Math.min(request.fps ?? autoFps.to, autoFps.to) };
}

/** The next lower frame rate to ask for, or null at the floor. */
export function lowerFps(current: number): number | null {
  const lower = FPS_CHOICES.filter((f) => f < current && f >= MIN_AUTO_FPS);
  return lower.length > 0 ? Math.max(...lower) : null;
}
