import { useSelector } from '@xstate/react';
import { useState, type FormEvent } from 'react';
import type { ActorRefFrom } from 'xstate';
import type { BacklotApi } from '../../shared/bridge.js';
import { MANAGED_LABEL, type ProfileList } from '../../shared/managed-policy.js';
import type { sessionMachine } from '../session/machine.js';
import { brokerPinned, type LoginPrefill } from '../shell/profiles.js';
import type { ShellStartup } from '../shell/startup.js';
import { describeFailure } from './errors.js';
import { ProfilePicker } from './ProfilePicker.js';

type Actor = ActorRefFrom<typeof sessionMachine>;

/** What the desktop app adds to the sign-in form (null in the web client, which always uses the broker that served it). */
export interface LoginShell {
  bridge: BacklotApi;
  startup: ShellStartup;
  profiles: ProfileList | null;
  profileId: string | null;
  prefill: LoginPrefill;
  /** Bumped when the prefill should replace what was typed: a profile was chosen, or a link arrived. */
  prefillKey: number;
  onSelectProfile: (id: string | null) => void;
  onProfiles: (list: ProfileList) => void;
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

/** Shown while the remembered sign-in is tried, so nobody starts typing a password that is not needed. */
function Resuming() {
  return (
    <div className="card" aria-busy="true" data-step="resuming">
      <Brand />
      <div className="resuming" role="status">
        <div className="spinner small" aria-hidden="true" />
        <span>Signing you in…</span>
      </div>
    </div>
  );
}

/** Why this computer will not remember the sign-in: discreet, under the form. */
function CredentialsNote({ shell }: { shell: LoginShell }) {
  const status = shell.startup.credentials;
  if (!status || status.canRemember || !status.message) return null;
  return (
    <p className="muted small" data-testid="credentials-note">
      This computer can’t keep you signed in: {status.message}
    </p>
  );
}

/** The desktop app's local demo, offered only when no broker is configured at all. */
function DemoOffer({ actor, shell, onStarted }: { actor: Actor; shell: LoginShell; onStarted: (brokerUrl: string, username: string) => void }) {
  const busy = useSelector(actor, (s) => s.hasTag('busy'));
  const [error, setError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const start = async () => {
    setStarting(true);
    setError(null);
    const reply = await shell.bridge.startDemo();
    setStarting(false);
    if (!reply.ok) return setError(reply.error.message);
    onStarted(reply.value.brokerUrl, reply.value.username);
    // The demo account's password opens only the local demo on this machine (see DemoInfo): not a person's secret.
    actor.send({ type: 'auth.login', username: reply.value.username, password: reply.value.password, brokerUrl: reply.value.brokerUrl });
  };
  return (
    <div className="demo">
      <p className="muted">No studio server configured yet? Try Backlot with a virtual workstation on this computer.</p>
      <button type="button" onClick={() => void start()} disabled={starting || busy}>
        {starting ? 'Starting the local demo…' : 'Start local demo'}
      </button>
      {error && <p className="error">{error}</p>}
    </div>
  );
}

/**
 * Server (desktop only), user name and password. Prefilled from the profile
 * or link, never with a password, and never submitted by itself: a person
 * always presses "Sign in".
 */
function PasswordForm({ actor, shell }: { actor: Actor; shell: LoginShell | null }) {
  const busy = useSelector(actor, (s) => s.hasTag('busy'));
  const [brokerUrl, setBrokerUrl] = useState(shell?.prefill.brokerUrl ?? '');
  const [username, setUsername] = useState(shell?.prefill.username ?? '');
  const [password, setPassword] = useState('');
  const pinned = brokerPinned(shell?.profiles ?? null);
  const config = shell?.startup.config;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    actor.send({ type: 'auth.login', username, password, ...(shell ? { brokerUrl } : {}) });
    setPassword('');
  };

  return (
    <form className="card" onSubmit={submit} aria-busy={busy} data-step="password">
      <Brand />
      <p className="muted">Sign in to reach your studio workstation.</p>
      {shell?.profiles && (
        <ProfilePicker
          bridge={shell.bridge}
          list={shell.profiles}
          selectedId={shell.profileId}
          draft={{ brokerUrl, username }}
          onSelect={shell.onSelectProfile}
          onList={shell.onProfiles}
        />
      )}
      {shell && (
        <label>
          Server
          <input
            name="broker"
            type="url"
            placeholder="https://backlot.your-studio.com"
            required
            readOnly={pinned}
            aria-describedby={pinned ? 'broker-managed' : undefined}
            value={brokerUrl}
            onChange={(e) => setBrokerUrl(e.target.value)}
          />
          {pinned && (
            <span id="broker-managed" className="managed-note">
              {MANAGED_LABEL}
            </span>
          )}
        </label>
      )}
      <label>
        Username
        <input name="username" autoComplete="username" autoFocus={!username} required value={username} onChange={(e) => setUsername(e.target.value)} />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autoComplete="current-password"
          autoFocus={!!username}
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
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
      {shell && <CredentialsNote shell={shell} />}
      {shell && config && !config.brokerUrl && config.demoAvailable && !pinned && (
        <DemoOffer
          actor={actor}
          shell={shell}
          onStarted={(url, user) => {
            setBrokerUrl(url);
            setUsername(user);
          }}
        />
      )}
    </form>
  );
}

export function LoginView({ actor, shell }: { actor: Actor; shell: LoginShell | null }) {
  const totp = useSelector(actor, (s) => s.hasTag('totp'));
  const resuming = useSelector(actor, (s) => s.hasTag('resuming'));
  return (
    <main className="login">
      {resuming ? <Resuming /> : totp ? <TotpForm actor={actor} /> : <PasswordForm key={shell?.prefillKey ?? 0} actor={actor} shell={shell} />}
      <footer className="login-footer muted">Backlot · remote workstations for your studio{shell?.startup.config.version ? ` · ${shell.startup.config.version}` : ''}</footer>
    </main>
  );
}
