import { useSelector } from '@xstate/react';
import { useEffect, useState, type FormEvent } from 'react';
import type { ActorRefFrom } from 'xstate';
import type { AppConfig } from '../../shared/ipc.js';
import type { sessionMachine } from '../session/machine.js';
import { describeFailure } from './errors.js';

/** The desktop app's configuration (null in the web client, which always uses the broker that served it). */
function useShellConfig(): AppConfig | null {
  const [config, setConfig] = useState<AppConfig | null>(null);
  useEffect(() => {
    const bridge = window.backlot;
    if (!bridge) return;
    void bridge.getConfig().then((reply) => reply.ok && setConfig(reply.value));
  }, []);
  return config;
}

export function LoginView({ actor }: { actor: ActorRefFrom<typeof sessionMachine> }) {
  const busy = useSelector(actor, (s) => s.hasTag('busy'));
  const failure = useSelector(actor, (s) => s.context.failure);
  const shell = useShellConfig();
  const [brokerUrl, setBrokerUrl] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [demoError, setDemoError] = useState<string | null>(null);
  const [demoStarting, setDemoStarting] = useState(false);

  useEffect(() => {
    if (shell?.brokerUrl) setBrokerUrl(shell.brokerUrl);
  }, [shell]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    actor.send({ type: 'auth.login', username, password, ...(shell ? { brokerUrl } : {}) });
    setPassword('');
  };

  const startDemo = async () => {
    const bridge = window.backlot;
    if (!bridge) return;
    setDemoStarting(true);
    setDemoError(null);
    const reply = await bridge.startDemo();
    setDemoStarting(false);
    if (!reply.ok) return setDemoError(reply.error.message);
    setBrokerUrl(reply.value.brokerUrl);
    setUsername(reply.value.username);
    actor.send({ type: 'auth.login', username: reply.value.username, password: reply.value.password, brokerUrl: reply.value.brokerUrl });
  };

  return (
    <main className="login">
      <form className="card" onSubmit={submit} aria-busy={busy}>
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <h1>Backlot</h1>
        </div>
        <p className="muted">Sign in to reach your studio workstation.</p>
        {shell && (
          <label>
            Server
            <input name="broker" type="url" placeholder="https://backlot.your-studio.com" required value={brokerUrl} onChange={(e) => setBrokerUrl(e.target.value)} />
          </label>
        )}
        <label>
          Username
          <input name="username" autoComplete="username" autoFocus required value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {failure && (
          <p className="error" role="alert" data-code={failure.code}>
            {describeFailure(failure)}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {shell && !shell.brokerUrl && shell.demoAvailable && (
          <div className="demo">
            <p className="muted">No studio server configured yet? Try Backlot with a virtual workstation on this computer.</p>
            <button type="button" onClick={() => void startDemo()} disabled={demoStarting || busy}>
              {demoStarting ? 'Starting the local demo…' : 'Start local demo'}
            </button>
            {demoError && <p className="error">{demoError}</p>}
          </div>
        )}
      </form>
    </main>
  );
}
