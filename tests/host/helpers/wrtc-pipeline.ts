/**
 * HostSession's `openPipeline` for the tests whose client is the stand-in in
 * client-peer.ts: a simple-peer initiator on wrtc, whose libwebrtc decodes
 * VP8/VP9/AV1 but not H.264, and which reads video from an RTP track. The
 * encoded pipeline (H.264 over libdatachannel) cannot stream to it, so these
 * tests run, and test, the wrtc pipeline, built as the agent builds it
 * (pipeline/select.ts `openPipeline` for kind 'wrtc').
 */
import type { Logger } from 'pino';
import type { SessionPolicy } from '../../../src/shared/policy.js';
import type { IceServer } from '../../../src/shared/protocol.js';
import type { CaptureSource } from '../../../src/host/capture/capture-source.js';
import { WrtcPipeline } from '../../../src/host/pipeline/wrtc-pipeline.js';
import type { SessionOptions } from '../../../src/host/session.js';

export function openWrtcPipeline(capture: CaptureSource, policy: SessionPolicy, logger: Logger, iceServers: readonly IceServer[] = []): SessionOptions['openPipeline'] {
  return (events, quality) => new WrtcPipeline({ ...events, capture, policy, iceServers, maxKbps: quality.maxBitrateKbps, logger });
}
