import { useSelector } from '@xstate/react';
import { useState, type FormEvent } from 'react';
import type { ActorRefFrom } from 'xstate';
import type { sessionMachine } from '../session/machine.js';
import { describeFailure } from './errors.js';

export function LoginView({ actor }: { actor: ActorRefFrom<typeof sessionMachine> }) {
  const busy = useSelector(actor, (s) => s.hasTag('busy'));
  const failure = useSelector(actor, (s) => s.context.failure);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');

  const submit = (e: FormEvent) => {
    e.preventDefault();
    actor.send({ type: 'auth.login', username, password });
    setPassword('');
  };

  return (
    <main className="login">
      <form className="card" onSubmit={submit} aria-busy={busy}>
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <h1>Backlot</h1>
        </div>
        <p className="muted">Sign in to reach your studio workstation.</p>
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
      </form>
    </main>
  );
}
