import { useActorRef, useSelector } from '@xstate/react';
import type { BrokerApi } from './api/broker.js';
import { LoginView } from './components/LoginView.js';
import { SessionView } from './components/SessionView.js';
import { WorkstationsView } from './components/WorkstationsView.js';
import { sessionMachine } from './session/machine.js';

export function App({ broker }: { broker: BrokerApi }) {
  const actor = useActorRef(sessionMachine, { input: { broker } });
  const view = useSelector(actor, (s) =>
    s.hasTag('login') ? 'login' : s.hasTag('session') ? 'session' : s.hasTag('over') ? 'over' : 'workstations',
  );
  switch (view) {
    case 'login':
      return <LoginView actor={actor} />;
    case 'session':
      return <SessionView actor={actor} />;
    case 'over':
    case 'workstations':
      return <WorkstationsView actor={actor} />;
  }
}
