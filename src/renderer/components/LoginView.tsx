import { useSelector } from '@xstate/react';
import { useEffect, useState, type FormEvent } from 'react';
import type { ActorRefFrom } from 'xstate';
import type { AppConfig } from '../../shared/ipc.js';
import type { sessionMachine } from '../session/machine.js';
import { describeFailure } from './errors.js';

type Actor = ActorRefFrom<typeof sessionMachine>;

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

function FailureAlert({ actor }: { actor: Actor }) {
  const failure = useSelector(actor, (s) => s.context.failure);
  if (!failure) return null;
  return (
    <p className="error" role="alert" data-code={failure.code}>
      {describeFailure(failure)}
    </p>
  );
}

function Brand() {
  return (
    <div className="brand">
      <span className="logo" aria-hidden="true" />
      <h1>Backlot</h1>
    </div>
  );
}

function TotpForm({ actor }: { actor: Actor }) {
  const busy = useSelector(actor, (s) => s.hasTag('busy'));
  const [code, setCode] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    actor.send({ type: 'auth.totp', code });
    setCode('');
  };
  return (
    <form className="card" onSubmit={submit} aria-busy={busy} data-step="totp">
      <Brand />
      <div>
        <h2 className="card-title">Two-step verification</h2>
        <p className="muted">Enter the 6-digit code from your authenticator app.</p>
      </div>
      <label>
        Code
        <input
          name="code"
          className="code"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="\d{6}"
          maxLength={6}
          autoFocus
          required
          value={code}
          onChange={(e) => setCode(e.target.value.replace(/\D/g, ''))}
        />
      </label>
      <FailureAlert actor={actor} />
      <button type="submit" className="primary" disabled={busy || code.length !== 6}>
        {busy ? 'Verifying…' : 'Verify'}
      </button>
      <button type="button" className="link" onClick={() => actor.send({ type: 'auth.cancel' })}>
        Cancel and use another account
      </button>
    </form>
  );
}

export function LoginView({ actor }: { actor: Actor }) {
  const busy = useSelector(actor, (s) => s.hasTag('busy'));
  const totp = useSelector(actor, (s) => s.hasTag('totp'));
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
      {totp ? (
        <TotpForm actor={actor} />
      ) : (
        <form className="card" onSubmit={submit} aria-busy={busy} data-step="password">
          <Brand />
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
          <FailureAlert actor={actor} />
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
          {busy && (
            <button type="button" className="link" onClick={() => actor.send({ type: 'auth.cancel' })}>
              Cancel
            </button>
          )}
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
      )}
      <footer className="login-footer muted">Backlot · remote workstations for your studio</footer>
    </main>
  );
}
