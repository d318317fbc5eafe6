import { useSelector } from '@xstate/react';
import type { ActorRefFrom } from 'xstate';
import type { sessionMachine } from '../session/machine.js';
import { describeFailure, failureTitle } from './errors.js';

/**
 * A session window whose session is over: there is no list to go back to,
 * so it offers to reconnect to the same workstation or to close the window.
 */
export function SessionEnded({ actor }: { actor: ActorRefFrom<typeof sessionMachine> }) {
  const failure = useSelector(actor, (s) => s.context.failure);
  const ended = useSelector(actor, (s) => s.context.ended);
  const workstationId = useSelector(actor, (s) => s.context.workstationId ?? s.context.sessionWindow);
  return (
    <main className="login session-ended" data-state={failure ? 'failed' : 'ended'}>
      <div className="card">
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <h1>{workstationId}</h1>
        </div>
        {failure ? (
          <div className="error" role="alert" data-code={failure.code}>
            <strong>{failureTitle(failure)}</strong>
            <p>{describeFailure(failure)}</p>
          </div>
        ) : (
          <p className="notice" role="status" data-code={ended?.code}>
            Session ended{ended ? `: ${ended.message}` : '.'}
          </p>
        )}
        <div className="banner-actions">
          {workstationId && (
            <button className="primary" onClick={() => actor.send({ type: 'session.connect', workstationId })}>
              Reconnect
            </button>
          )}
          <button onClick={() => window.close()}>Close</button>
        </div>
      </div>
    </main>
  );
}
