import { useSelector } from '@xstate/react';
import type { ActorRefFrom } from 'xstate';
import type { sessionMachine } from '../session/machine.js';
import { describeFailure } from './errors.js';

export function WorkstationsView({ actor }: { actor: ActorRefFrom<typeof sessionMachine> }) {
  const user = useSelector(actor, (s) => s.context.user);
  const workstations = useSelector(actor, (s) => s.context.workstations);
  const failure = useSelector(actor, (s) => s.context.failure);
  const endedReason = useSelector(actor, (s) => s.context.endedReason);
  const over = useSelector(actor, (s) => s.hasTag('over'));

  return (
    <main className="workstations">
      <header className="topbar">
        <div className="brand small">
          <span className="logo" aria-hidden="true" />
          <span>Backlot</span>
        </div>
        <div className="spacer" />
        <span className="muted">{user?.displayName}</span>
        <button onClick={() => actor.send({ type: over ? 'session.back' : 'workstations.refresh' })}>Refresh</button>
        <button onClick={() => actor.send({ type: 'auth.logout' })}>Sign out</button>
      </header>
      <section className="content">
        <h2>Your workstations</h2>
        {failure && (
          <p className="error" role="alert" data-code={failure.code}>
            {describeFailure(failure)}
          </p>
        )}
        {!failure && endedReason && <p className="notice" role="status">Session ended: {endedReason}</p>}
        {workstations.length === 0 ? (
          <p className="muted">No workstation is assigned to you yet. Ask your studio IT.</p>
        ) : (
          <ul className="ws-list">
            {workstations.map((w) => (
              <li key={w.id} className="ws" data-workstation={w.id}>
                <span className={`dot ${w.online ? (w.inUse ? 'busy' : 'online') : 'offline'}`} aria-hidden="true" />
                <div className="ws-name">
                  <strong>{w.name}</strong>
                  <span className="muted">{w.online ? (w.inUse ? 'In use' : 'Online') : 'Offline'}</span>
                </div>
                <button className="primary" disabled={!w.online} onClick={() => actor.send({ type: 'session.connect', workstationId: w.id })}>
                  Connect
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </main>
  );
}
