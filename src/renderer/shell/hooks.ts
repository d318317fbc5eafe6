/** React glue between the desktop shell (`window.backlot`) and the connection machine. */
import { useEffect, useState } from 'react';
import type { ActorRefFrom } from 'xstate';
import type { BacklotApi } from '../../shared/bridge.js';
import type { SessionState } from '../../shared/ipc.js';
import type { OpenRequest } from '../../shared/managed-policy.js';
import type { sessionMachine } from '../session/machine.js';
import type { WindowMode } from './mode.js';
import { sessionStateOf } from './session-state.js';
import { loadShellStartup, type ShellStartup } from './startup.js';

/** The shell's start-up answers; null while they load. */
export function useShellStartup(bridge: BacklotApi, mode: WindowMode): ShellStartup | null {
  const [startup, setStartup] = useState<ShellStartup | null>(null);
  useEffect(() => {
    let live = true;
    void loadShellStartup(bridge, mode).then((s) => live && setStartup(s));
    return () => {
      live = false;
    };
  }, [bridge, mode]);
  return startup;
}

/** Deep links and connection files that arrive while the app runs (the main window only). */
export function useOpenRequests(bridge: BacklotApi | null, onRequest: (request: OpenRequest) => void): void {
  useEffect(() => {
    if (!bridge) return;
    return bridge.onOpenRequest(onRequest);
  }, [bridge, onRequest]);
}

/**
 * A session window reports each change of its session's state to main, in
 * order, once per change (the machine moves between connecting sub-states
 * that all report as "connecting").
 */
export function useSessionStateReport(actor: ActorRefFrom<typeof sessionMachine>, bridge: BacklotApi | null, workstationId: string | null): void {
  useEffect(() => {
    if (!bridge || workstationId === null) return;
    let last: SessionState | null = null;
    const report = (state: SessionState | null) => {
      if (state === null || state === last) return;
      last = state;
      bridge
        .reportSessionState({ workstationId, state })
        .then((reply) => {
          if (!reply.ok) console.warn(`main refused a session state report: ${reply.error.code}`);
        })
        .catch((err: unknown) => console.warn('cannot report the session state:', err));
    };
    report(sessionStateOf(actor.getSnapshot()));
    const sub = actor.subscribe((s) => report(sessionStateOf(s)));
    return () => sub.unsubscribe();
  }, [actor, bridge, workstationId]);
}
