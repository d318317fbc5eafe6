import type { BacklotApi } from '../../shared/bridge.js';
import { ExportDiagnostics } from './Diagnostics.js';

/**
 * The studio's policy file exists but is invalid: sign-in stays blocked until
 * IT fixes it (a typo must not silently re-enable what the policy turned
 * off). Only the reason is shown, and the diagnostics export IT needs to
 * see which file was refused and why.
 */
export function PolicyBlocked({ bridge, message }: { bridge: BacklotApi; message: string }) {
  return (
    <main className="login">
      <div className="card" data-step="policy-error">
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <h1>Backlot</h1>
        </div>
        <h2 className="card-title">Sign-in is blocked</h2>
        <p className="error" role="alert" data-testid="policy-error">
          {message}
        </p>
        <p className="muted small">Your studio IT needs to fix Backlot’s configuration on this computer.</p>
        <ExportDiagnostics bridge={bridge} />
      </div>
    </main>
  );
}
