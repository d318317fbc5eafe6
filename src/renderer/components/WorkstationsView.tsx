import { useSelector } from '@xstate/react';
import { useEffect, useState } from 'react';
import type { ActorRefFrom } from 'xstate';
import type { Workstation } from '../../shared/protocol.js';
import type { sessionMachine } from '../session/machine.js';
import { AppMenu, type DesktopMenu } from './AppMenu.js';
import { describeFailure, failureTitle } from './errors.js';

type Actor = ActorRefFrom<typeof sessionMachine>;

function status(w: Workstation): { key: 'online' | 'busy' | 'offline'; label: string } {
  if (!w.online) return { key: 'offline', label: 'Offline' };
  if (w.inUse) return { key: 'busy', label: 'In use' };
  return { key: 'online', label: 'Online' };
}

/** "updated 3 s ago", ticking while shown. */
function Freshness({ at }: { at: number | null }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(t);
  }, []);
  if (at === null) return <span className="muted small">loading…</span>;
  const s = Math.max(0, Math.round((now - at) / 1000));
  return <span className="muted small live-dot">Live · updated {s < 2 ? 'just now' : `${s} s ago`}</span>;
}

function Outcome({ actor }: { actor: Actor }) {
  const failure = useSelector(actor, (s) => s.context.failure);
  const ended = useSelector(actor, (s) => s.context.ended);
  const over = useSelector(actor, (s) => s.hasTag('over'));
  const workstationId = useSelector(actor, (s) => s.context.workstationId);
  if (failure) {
    return (
      <div className="banner error" role="alert" data-code={failure.code}>
        <div>
          <strong>{failureTitle(failure)}</strong>
          <p>{describeFailure(failure)}</p>
        </div>
        {over && workstationId && (
          <div className="banner-actions">
            <button onClick={() => actor.send({ type: 'session.connect', workstationId })}>Try again</button>
            <button className="ghost" onClick={() => actor.send({ type: 'session.back' })}>
              Dismiss
            </button>
          </div>
        )}
      </div>
    );
  }
  if (ended) {
    return (
      <div className="banner notice" role="status" data-code={ended.code}>
        <p>Session ended: {ended.message}</p>
        <button className="ghost" onClick={() => actor.send({ type: 'session.back' })}>
          Dismiss
        </button>
      </div>
    );
  }
  return null;
}

export function WorkstationsView({ actor, desktop }: { actor: Actor; desktop: DesktopMenu | null }) {
  const user = useSelector(actor, (s) => s.context.user);
  const workstations = useSelector(actor, (s) => s.context.workstations);
  const updatedAt = useSelector(actor, (s) => s.context.workstationsUpdatedAt);
  const over = useSelector(actor, (s) => s.hasTag('over'));

  return (
    <main className="workstations">
      <header className="topbar">
        <div className="brand small">
          <span className="logo" aria-hidden="true" />
          <span>Backlot</span>
        </div>
        <div className="spacer" />
        <span className="user">
          <span className="avatar" aria-hidden="true">
            {(user?.displayName ?? '?').slice(0, 1)}
          </span>
          {user?.displayName}
        </span>
        {desktop && <AppMenu desktop={desktop} />}
        <button className="ghost" onClick={() => actor.send({ type: 'auth.logout' })}>
          Sign out
        </button>
      </header>
      <section className="content">
        <div className="section-head">
          <h2>Your workstations</h2>
          <Freshness at={updatedAt} />
          <div className="spacer" />
          <button className="ghost" onClick={() => actor.send({ type: over ? 'session.back' : 'workstations.refresh' })}>
            Refresh
          </button>
        </div>
        <Outcome actor={actor} />
        {workstations.length === 0 ? (
          <p className="empty muted">{updatedAt === null ? 'Loading your workstations…' : 'No workstation is assigned to you yet. Ask your studio IT.'}</p>
        ) : (
          <ul className="ws-list">
            {workstations.map((w) => {
              const st = status(w);
              return (
                <li key={w.id} className={`ws ${st.key}`} data-workstation={w.id} data-status={st.key}>
                  <span className="ws-icon" aria-hidden="true">
                    <span className={`dot ${st.key}`} />
                  </span>
                  <div className="ws-name">
                    <strong>{w.name}</strong>
                    <span className="muted small">{w.id}</span>
                  </div>
                  <span className={`pill ${st.key}`}>{st.label}</span>
                  <button
                    className="primary"
                    disabled={!w.online}
                    title={desktop ? 'Opens the session in its own window' : undefined}
                    onClick={() => actor.send({ type: 'session.connect', workstationId: w.id })}
                  >
                    Connect
                  </button>
                </li>
              );
            })}
          </ul>
        )}
      </section>
    </main>
  );
}
