import { useState } from 'react';
import type { BacklotApi } from '../../shared/bridge.js';

type Status = { kind: 'idle' } | { kind: 'saving' } | { kind: 'saved'; path: string } | { kind: 'cancelled' } | { kind: 'failed'; message: string };

/** "Export diagnostics": main asks where to save a redacted bundle for IT; this says where it went. */
export function ExportDiagnostics({ bridge }: { bridge: BacklotApi }) {
  const [status, setStatus] = useState<Status>({ kind: 'idle' });
  const run = async () => {
    setStatus({ kind: 'saving' });
    const reply = await bridge.exportDiagnostics().catch(() => null);
    if (reply === null) return setStatus({ kind: 'failed', message: 'The diagnostics could not be saved.' });
    if (!reply.ok) return setStatus({ kind: 'failed', message: reply.error.message });
    setStatus(reply.value === null ? { kind: 'cancelled' } : { kind: 'saved', path: reply.value.path });
  };
  return (
    <div className="diagnostics">
      <button type="button" className="ghost" onClick={() => void run()} disabled={status.kind === 'saving'}>
        {status.kind === 'saving' ? 'Saving diagnostics…' : 'Export diagnostics'}
      </button>
      <span role="status" className="small" data-testid="diagnostics-status">
        {status.kind === 'saved' && (
          <>
            Saved to <code>{status.path}</code>. Send this file to your studio IT; it holds no passwords or tokens.
          </>
        )}
        {status.kind === 'cancelled' && <span className="muted">Not saved.</span>}
        {status.kind === 'failed' && <span className="error-text">{status.message}</span>}
      </span>
    </div>
  );
}
