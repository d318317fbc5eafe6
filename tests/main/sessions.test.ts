import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { intersectClipboard, narrowGrant } from '../../src/shared/grant-narrowing.js';
import { MAX_SESSION_WINDOWS, SessionManager, sessionUrl } from '../../src/main/sessions.js';
import { startUpdates, updatePlan } from '../../src/main/updater.js';
import { GRANT } from './fake-broker.js';

function manager() {
  const windows: (EventEmitter & { webContents: object; focus: ReturnType<typeof vi.fn>; close: () => void; isDestroyed: () => boolean })[] = [];
  const sessions = new SessionManager({
    createWindow: () => {
      let destroyed = false;
      const win = Object.assign(new EventEmitter(), {
        webContents: {},
        focus: vi.fn(),
        isDestroyed: () => destroyed,
        close: () => {
          destroyed = true;
          win.emit('closed');
        },
      });
      windows.push(win);
      return win;
    },
    log: vi.fn(),
  });
  return { sessions, windows };
}

describe('SessionManager', () => {
  it('puts the workstation in the fragment, encoded', () => {
    expect(sessionUrl('ws-042')).toBe('app://backlot/index.html#session=ws-042');
  });

  it('focuses instead of duplicating, forgets closed windows, and caps the number of windows', () => {
    const { sessions, windows } = manager();
    expect(sessions.open('a')).toBe('opened');
    expect(sessions.open('a')).toBe('focused');
    expect(windows[0]!.focus).toHaveBeenCalled();
    windows[0]!.close();
    expect(sessions.list()).toEqual([]);
    for (let i = 0; i < MAX_SESSION_WINDOWS; i += 1) sessions.open(`ws-${i}`);
    expect(() => sessions.open('one-too-many')).toThrow(/At most/);
    sessions.closeAll();
    expect(sessions.list()).toEqual([]);
    expect(windows.every((w) => w.isDestroyed())).toBe(true);
  });
});

describe('client policy applied to grants', () => {
  it.each([
    ['both', 'off', 'off'],
    ['both', 'host-to-client', 'host-to-client'],
    ['client-to-host', 'host-to-client', 'off'],
    ['client-to-host', 'both', 'client-to-host'],
  ] as const)('%s ∩ %s = %s', (a, b, out) => {
    expect(intersectClipboard(a, b)).toBe(out);
  });

  it('never widens what the broker granted', () => {
    const grant = { ...GRANT, policy: { ...GRANT.policy, fileTransfer: false, clipboard: 'host-to-client' as const } };
    expect(narrowGrant(grant, { clipboard: 'both', fileTransfer: true, forceRelay: false }).policy).toMatchObject({ fileTransfer: false, clipboard: 'host-to-client' });
  });
});

describe('updates', () => {
  it('plans updates only for packaged builds with autoUpdate on and an https server', () => {
    expect(updatePlan({ autoUpdate: true, updateUrl: 'https://updates.studio.example/backlot/' }, true)).toEqual({ enabled: true, url: 'https://updates.studio.example/backlot/' });
    expect(updatePlan({ autoUpdate: true, updateUrl: 'https://u.example' }, false)).toMatchObject({ enabled: false });
    expect(updatePlan({ autoUpdate: false, updateUrl: 'https://u.example' }, true)).toMatchObject({ enabled: false, reason: expect.stringContaining('autoUpdate') as unknown });
    expect(updatePlan({ autoUpdate: true, updateUrl: null }, true)).toMatchObject({ enabled: false });
    expect(updatePlan({ autoUpdate: true, updateUrl: 'http://u.example' }, true)).toMatchObject({ enabled: false });
  });

  it('points electron-updater at the policy server, and never loads it when off', async () => {
    const updater = { autoDownload: false, autoInstallOnAppQuit: false, setFeedURL: vi.fn(), checkForUpdatesAndNotify: vi.fn(() => Promise.resolve(null)) };
    const load = vi.fn(() => Promise.resolve(updater));
    expect(await startUpdates({ plan: { enabled: true, url: 'https://u.example/' }, load, log: vi.fn(), setInterval: vi.fn() })).toBe(true);
    expect(updater.setFeedURL).toHaveBeenCalledWith({ provider: 'generic', url: 'https://u.example/' });
    expect(updater.checkForUpdatesAndNotify).toHaveBeenCalled();
    const unused = vi.fn(() => Promise.resolve(updater));
    expect(await startUpdates({ plan: { enabled: false, reason: 'x' }, load: unused, log: vi.fn() })).toBe(false);
    expect(unused).not.toHaveBeenCalled();
  });
});
