import { useSelector } from '@xstate/react';
import type { ActorRefFrom } from 'xstate';
import type { sessionMachine } from '../session/machine.js';
import type { StatsSnapshot } from '../session/stats.js';
import { streamRows } from '../session/stream-info.js';

const fmt = (v: number | null, digits = 0, unit = ''): string => (v === null ? '—' : `${v.toFixed(digits)}${unit}`);

function rows(s: StatsSnapshot): [string, string, string][] {
  const rttClass = s.rttMs === null ? '' : s.rttMs < 30 ? 'good' : s.rttMs < 80 ? 'fair' : 'bad';
  const lossClass = s.packetLossPct < 0.5 ? 'good' : s.packetLossPct < 3 ? 'fair' : 'bad';
  return [
    ['Round trip', fmt(s.rttMs, 1, ' ms'), rttClass],
    ['Frames', `${fmt(s.fpsReceived, 0)} rx · ${fmt(s.fpsDecoded, 0)} dec`, ''],
    ['Resolution', s.width > 0 ? `${s.width}×${s.height}` : '—', ''],
    ['Bitrate', s.bitrateKbps >= 1000 ? `${(s.bitrateKbps / 1000).toFixed(1)} Mb/s` : `${s.bitrateKbps} kb/s`, ''],
    ['Packet loss', `${s.packetLossPct.toFixed(1)} % (${s.packetsLost})`, lossClass],
    ['Jitter buffer', fmt(s.queueMs ?? s.jitterBufferMs, 1, ' ms'), s.queueMs !== null && s.queueMs > 120 ? 'bad' : ''],
    ['Decode', fmt(s.decodeMs, 1, ' ms'), ''],
    ['Dropped', String(s.framesDropped), s.framesDropped > 0 ? 'fair' : ''],
    ['Freezes', `${s.freezes} (${s.freezeSeconds.toFixed(1)} s)`, s.freezes > 0 ? 'fair' : ''],
  ];
}

/**
 * The live numbers of the session, once a second, then how the picture is made (pipeline, encoder, codec
 * and profile, 4:4:4) and the host's reason for its encoder; the only component that re-renders on stats.
 */
export function StatsOverlay({ actor, onClose }: { actor: ActorRefFrom<typeof sessionMachine>; onClose: () => void }) {
  const stats = useSelector(actor, (s) => s.context.stats);
  const host = useSelector(actor, (s) => s.context.hostStream);
  return (
    <aside className="stats" aria-label="Connection statistics" data-testid="stats-overlay">
      <header>
        <span>Connection</span>
        <button className="icon" aria-label="Hide statistics" title="Hide (Ctrl+Alt+Shift+S)" onClick={onClose}>
          ×
        </button>
      </header>
      {stats ? (
        <dl>
          {rows(stats).map(([k, v, cls]) => (
            <div key={k} className={cls}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      ) : (
        <p className="muted">Collecting…</p>
      )}
      <dl className="stream" data-testid="stats-stream">
        {streamRows(host, stats).map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      {host?.why && (
        <p className="why small muted" data-testid="stats-why" title="Why the workstation runs this encoder (its start-up probe)">
          {host.why}
        </p>
      )}
    </aside>
  );
}
