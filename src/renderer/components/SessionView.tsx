import { useSelector } from '@xstate/react';
import { useEffect, useRef } from 'react';
import type { ActorRefFrom } from 'xstate';
import type { sessionMachine } from '../session/machine.js';
import { attachInput } from '../session/input-capture.js';

export function SessionView({ actor }: { actor: ActorRefFrom<typeof sessionMachine> }) {
  const stream = useSelector(actor, (s) => s.context.stream);
  const input = useSelector(actor, (s) => s.context.input);
  const streaming = useSelector(actor, (s) => s.hasTag('streaming'));
  const phase = useSelector(actor, (s) => (s.matches('connecting') ? 'Requesting access…' : 'Connecting to the workstation…'));
  const workstationId = useSelector(actor, (s) => s.context.workstationId);
  const videoRef = useRef<HTMLVideoElement>(null);

  useEffect(() => {
    const video = videoRef.current;
    if (video && stream && video.srcObject !== stream) video.srcObject = stream;
  }, [stream]);

  useEffect(() => {
    const video = videoRef.current;
    if (!video || !input) return;
    return attachInput(video, input);
  }, [input]);

  return (
    <main className="session" data-state={streaming ? 'streaming' : 'connecting'}>
      <video ref={videoRef} className="remote" autoPlay playsInline muted tabIndex={0} aria-label={`Remote desktop of ${workstationId ?? ''}`} />
      {!streaming && (
        <div className="overlay-center" role="status">
          <div className="spinner" aria-hidden="true" />
          <p>{phase}</p>
          <button onClick={() => actor.send({ type: 'session.disconnect' })}>Cancel</button>
        </div>
      )}
      {streaming && (
        <div className="session-bar">
          <span className="muted">{workstationId}</span>
          <button onClick={() => actor.send({ type: 'session.disconnect' })}>Disconnect</button>
        </div>
      )}
    </main>
  );
}
