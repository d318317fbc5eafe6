import { useState } from 'react';
import type { BacklotApi } from '../../shared/bridge.js';
import type { EffectiveSettings } from '../../shared/managed-policy.js';
import { ClientSettings } from './ClientSettings.js';
import { ExportDiagnostics } from './Diagnostics.js';

/** What the desktop app's menu needs; the web client has no menu. */
export interface DesktopMenu {
  bridge: BacklotApi;
  settings: EffectiveSettings | null;
  onSettings: (settings: EffectiveSettings) => void;
}

/** The workstation list's menu in the desktop app: settings (the studio's locked ones read-only) and diagnostics for IT. */
export function AppMenu({ desktop }: { desktop: DesktopMenu }) {
  const [open, setOpen] = useState<'menu' | 'settings' | null>(null);
  return (
    <div className="app-menu">
      <button className="ghost" aria-haspopup="true" aria-expanded={open !== null} onClick={() => setOpen(open ? null : 'menu')}>
        Menu
      </button>
      {open === 'menu' && (
        <div className="menu-popover" role="menu">
          <button role="menuitem" className="ghost" disabled={!desktop.settings} onClick={() => setOpen('settings')}>
            Settings…
          </button>
          <ExportDiagnostics bridge={desktop.bridge} />
        </div>
      )}
      {open === 'settings' && desktop.settings && (
        <aside className="settings-dialog" aria-label="Settings">
          <header>
            <span>Settings</span>
            <button className="icon" aria-label="Close settings" onClick={() => setOpen(null)}>
              ×
            </button>
          </header>
          <ClientSettings bridge={desktop.bridge} settings={desktop.settings} onSettings={desktop.onSettings} />
        </aside>
      )}
    </div>
  );
}
