import { useActorRef, useSelector } from '@xstate/react';
import { useEffect, useRef, useState } from 'react';
import type { BrokerApi } from './api/broker.js';
import { loadEffectiveSettings, loadPrefs, saveEffectiveSettings, savePrefs, type PrefsState } from './api/settings.js';
import { LoginView } from './components/LoginView.js';
import { SessionView } from './components/SessionView.js';
import { WorkstationsView } from './components/WorkstationsView.js';
import { sessionMachine } from './session/machine.js';
import type { ClipboardPort } from './session/types.js';

/** The system clipboard where the page may write it (secure contexts, Electron). */
const clipboard: ClipboardPort | null = typeof navigator !== 'undefined' && navigator.clipboard ? navigator.clipboard : null;

export function App({ broker }: { broker: BrokerApi }) {
  const [prefs, setPrefs] = useState<PrefsState>(() => loadPrefs());
  const actor = useActorRef(sessionMachine, { input: { broker, clipboard, quality: prefs.prefs.quality } });
  const view = useSelector(actor, (s) => (s.hasTag('login') ? 'login' : s.hasTag('session') ? 'session' : 'workstations'));
  const quality = useSelector(actor, (s) => s.context.quality);

  // The Electron client's effective settings (including what the studio locked), once at start-up.
  useEffect(() => {
    let live = true;
    void loadEffectiveSettings(loadPrefs()).then((next) => {
      if (!live) return;
      setPrefs(next);
      actor.send({ type: 'quality.defaults', request: next.prefs.quality });
    });
    return () => {
      live = false;
    };
  }, [actor]);

  // Remember the person's quality choices for the next session.
  const prefsRef = useRef(prefs);
  prefsRef.current = prefs;
  useEffect(() => {
    const p = prefsRef.current;
    if (p.prefs.quality === quality) return;
    const next = { ...p.prefs, quality };
    savePrefs(next);
    saveEffectiveSettings(next, p.locked);
    setPrefs({ ...p, prefs: next });
  }, [quality]);

  switch (view) {
    case 'login':
      return <LoginView actor={actor} />;
    case 'session':
      return <SessionView actor={actor} prefs={prefs} onPrefs={setPrefs} />;
    case 'workstations':
      return <WorkstationsView actor={actor} />;
  }
}
