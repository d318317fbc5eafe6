import { useSelector } from '@xstate/react';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ActorRefFrom } from 'xstate';
import { MANAGED_LABEL } from '../../shared/managed-policy.js';
import { saveEffectiveSettings, savePrefs, type PrefsState } from '../api/settings.js';
import { attachInput } from '../session/input-capture.js';
import type { sessionMachine } from '../session/machine.js';
import { clipboardAllowed } from '../session/quality.js';
import type { DesktopMenu } from './AppMenu.js';
import { SettingsPanel } from './SettingsPanel.js';
import { StatsOverlay } from './StatsOverlay.js';

type Actor = ActorRefFrom<typeof sessionMachine>;

/**
 * The view toggle switches between 1:1 and the scaling the settings chose
 * (fit, or fill in the desktop app), so the web client keeps its fit ⇄ 1:1.
 */
function nextView(prefs: PrefsState): PrefsState['prefs']['viewMode'] {
  if (prefs.prefs.viewMode !== 'actual') return 'actual';
  return prefs.settings?.scaling.value === 'fill' ? 'fill' : 'fit';
}
const VIEW_LABEL = { fit: 'Fit', fill: 'Fill', actual: '1:1' } as const;

/** Client hotkeys: Ctrl+Alt+Shift plus a letter; everything else goes to the workstation. */
export const HOTKEYS = { stats: 'KeyS', fullscreen: 'KeyF', pointerLock: 'KeyM', settings: 'KeyQ' } as const;

/** The Keyboard Lock API (Chromium, Electron); not in TypeScript's DOM library yet. */
interface KeyboardLock {
  lock(codes?: string[]): Promise<void>;
  unlock(): void;
}
const keyboardLock = (): KeyboardLock | undefined => (navigator as Navigator & { keyboard?: KeyboardLock }).keyboard;

/** What the waiting overlay says in each connecting state. */
function usePhase(actor: Actor): string | null {
  return useSelector(actor, (s) => {
    if (s.matches({ session: 'requestingGrant' })) return 'Requesting access…';
    if (s.matches({ session: { link: 'signalling' } })) return s.context.lostAt === null ? 'Contacting the workstation…' : null;
    if (s.matches({ session: { link: 'iceConnecting' } })) return s.context.lostAt === null ? 'Establishing a secure connection…' : null;
    return null;
  });
}

/** What a reconnect the client started itself is for (`reconnectFor`). */
const RECONNECT_TITLE = { fullColour: 'Reconnecting to apply full colour…', codec: 'Reconnecting to apply the codec…' } as const;

/**
 * "Reconnecting… next attempt in 4 s", counting down from the machine's `retryAt`; "Reconnecting to
 * apply full colour…" when the client reconnects to apply a setting the host cannot change in place.
 */
export function ReconnectBanner({ actor }: { actor: Actor }) {
  const reconnecting = useSelector(actor, (s) => s.hasTag('reconnecting') || (s.context.lostAt !== null && s.hasTag('connecting')));
  const retryAt = useSelector(actor, (s) => (s.matches({ session: { recovering: 'waiting' } }) ? s.context.retryAt : null));
  const restarting = useSelector(actor, (s) => s.matches({ session: { link: 'iceRestart' } }));
  const attempt = useSelector(actor, (s) => s.context.attempt);
  const reconnectFor = useSelector(actor, (s) => s.context.reconnectFor);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!reconnecting) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, [reconnecting]);
  if (!reconnecting) return null;
  const seconds = retryAt === null ? null : Math.max(0, Math.ceil((retryAt - now) / 1000));
  const detail = restarting
    ? 'Restoring the network path…'
    : seconds !== null && seconds > 0
      ? `Next attempt in ${seconds} s`
      : `Connecting${attempt > 0 ? ` (attempt ${attempt + 1})` : ''}…`;
  return (
    <div className="reconnect" role="status" data-testid="reconnecting" data-reason={reconnectFor ?? 'lost'}>
      <div className="spinner small" aria-hidden="true" />
      <div>
        <strong>{reconnectFor ? RECONNECT_TITLE[reconnectFor] : 'Reconnecting…'}</strong> <span className="muted">{detail}</span>
      </div>
      <button onClick={() => actor.send({ type: 'session.disconnect' })}>Cancel</button>
    </div>
  );
}

/**
 * The picture stopped: no frames and no word from the host for a moment (machine
 * state `stalled`). Shown at once over the frozen last frame; it goes away by
 * itself when the host answers again, or gives way to "Reconnecting…".
 */
function StallBanner({ actor }: { actor: Actor }) {
  const stalled = useSelector(actor, (s) => s.hasTag('stalled'));
  if (!stalled) return null;
  return (
    <div className="stalled" role="status" data-testid="stalled">
      <div className="spinner small" aria-hidden="true" />
      <div>
        <strong>Picture stalled</strong> <span className="muted">The workstation is not answering. Waiting for it…</span>
      </div>
    </div>
  );
}

function Toolbar({
  actor,
  prefs,
  onToggle,
}: {
  actor: Actor;
  prefs: PrefsState;
  onToggle: (what: 'stats' | 'fullscreen' | 'pointerLock' | 'settings' | 'view') => void;
}) {
  const name = useSelector(actor, (s) => s.context.workstations.find((w) => w.id === s.context.workstationId)?.name ?? s.context.workstationId);
  const rtt = useSelector(actor, (s) => (s.context.stats?.rttMs === null || s.context.stats === null ? null : Math.round(s.context.stats.rttMs)));
  return (
    <div className="session-bar" role="toolbar" aria-label="Session">
      <span className="ws-title">
        <span className="dot online" aria-hidden="true" />
        {name}
      </span>
      {rtt !== null && <span className="chip" title="Round-trip time">{rtt} ms</span>}
      <button
        className="ghost"
        onClick={() => onToggle('view')}
        disabled={prefs.locked.has('scaling')}
        title={prefs.locked.has('scaling') ? MANAGED_LABEL : 'Fit to window or show 1:1'}
      >
        {VIEW_LABEL[nextView(prefs)]}
      </button>
      <button className="ghost" onClick={() => onToggle('fullscreen')} title="Full screen (Ctrl+Alt+Shift+F)">
        Full screen
      </button>
      <button className="ghost" onClick={() => onToggle('pointerLock')} title="Relative mouse for 3D viewports (Ctrl+Alt+Shift+M)">
        Lock mouse
      </button>
      <button
        className="ghost"
        onClick={() => onToggle('stats')}
        disabled={prefs.locked.has('showStats')}
        title={prefs.locked.has('showStats') ? MANAGED_LABEL : 'Statistics (Ctrl+Alt+Shift+S)'}
        aria-pressed={prefs.prefs.statsVisible}
      >
        Stats
      </button>
      <button className="ghost" onClick={() => onToggle('settings')} title="Stream settings (Ctrl+Alt+Shift+Q)">
        Settings
      </button>
      <button className="danger" onClick={() => actor.send({ type: 'session.disconnect' })}>
        Disconnect
      </button>
    </div>
  );
}

export function SessionView({ actor, prefs, onPrefs, desktop }: { actor: Actor; prefs: PrefsState; onPrefs: (p: PrefsState) => void; desktop: DesktopMenu | null }) {
  const stream = useSelector(actor, (s) => s.context.stream);
  const input = useSelector(actor, (s) => s.context.input);
  const streaming = useSelector(actor, (s) => s.hasTag('streaming'));
  const stalled = useSelector(actor, (s) => s.hasTag('stalled'));
  const phase = usePhase(actor);
  const cursor = useSelector(actor, (s) => s.context.cursor);
  const clipboardToHost = useSelector(actor, (s) => !!s.context.grant && clipboardAllowed(s.context.grant.policy, 'client-to-host'));
  const workstationId = useSelector(actor, (s) => s.context.workstationId);
  const rootRef = useRef<HTMLElement>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [videoSize, setVideoSize] = useState<{ w: number; h: number } | null>(null);

  useEffect(() => {
    const video = videoRef.current;
    if (video && stream && video.srcObject !== stream) video.srcObject = stream;
  }, [stream]);

  useEffect(() => {
    const video = videoRef.current;
    if (!video || !input) return;
    return attachInput(video, input);
  }, [input]);

  // Remote cursor shapes, when the host sends them; the local pointer stays the cursor.
  useEffect(() => {
    const video = videoRef.current;
    if (video) video.style.cursor = cursor ? `url(${cursor.image}) ${cursor.hotX} ${cursor.hotY}, default` : '';
  }, [cursor]);

  // Local clipboard → workstation when the window comes back into focus (browsers have no change event).
  useEffect(() => {
    if (!clipboardToHost || !navigator.clipboard?.readText) return;
    const sync = () => {
      navigator.clipboard
        .readText()
        .then((text) => text && actor.send({ type: 'clipboard.local', text }))
        .catch(() => undefined); // permission not granted: nothing to sync
    };
    window.addEventListener('focus', sync);
    sync();
    return () => window.removeEventListener('focus', sync);
  }, [actor, clipboardToHost]);

  // Freeze the last picture when the connection drops: the peer's teardown
  // ends the track (and blanks the video) a microtask after the transition,
  // so the frame is copied synchronously from the snapshot subscription.
  const frozenRef = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    let wasReconnecting = false;
    const sub = actor.subscribe((s) => {
      const reconnecting = s.hasTag('reconnecting') || (s.context.lostAt !== null && s.hasTag('connecting'));
      const video = videoRef.current;
      const canvas = frozenRef.current;
      if (reconnecting && !wasReconnecting && video && canvas && video.videoWidth > 0) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        canvas.getContext('2d')?.drawImage(video, 0, 0);
        canvas.hidden = false;
      } else if (!reconnecting && canvas) {
        canvas.hidden = true;
      }
      wasReconnecting = reconnecting;
    });
    return () => sub.unsubscribe();
  }, [actor]);

  const toggle = useCallback(
    (what: 'stats' | 'fullscreen' | 'pointerLock' | 'settings' | 'view') => {
      const root = rootRef.current;
      const video = videoRef.current;
      switch (what) {
        case 'stats':
        case 'view': {
          // The studio locked it: the hotkey is as read-only as the button.
          if (prefs.locked.has(what === 'stats' ? 'showStats' : 'scaling')) return;
          const next = {
            ...prefs.prefs,
            ...(what === 'stats' ? { statsVisible: !prefs.prefs.statsVisible } : { viewMode: nextView(prefs) }),
          };
          savePrefs(next);
          if (what === 'stats') saveEffectiveSettings(next, prefs.locked);
          onPrefs({ ...prefs, prefs: next });
          return;
        }
        case 'settings':
          setSettingsOpen((o) => !o);
          return;
        case 'fullscreen':
          if (document.fullscreenElement) void document.exitFullscreen();
          else if (root)
            void root
              .requestFullscreen({ navigationUI: 'hide' })
              // In full screen the Keyboard Lock API hands Alt+Tab, Esc, Ctrl+W and the rest to the page (hold Esc to leave).
              .then(() => keyboardLock()?.lock())
              .then(() => video?.focus())
              .catch((err: unknown) => console.warn('full screen refused:', err));
          return;
        case 'pointerLock':
          if (document.pointerLockElement) document.exitPointerLock();
          else if (video) void Promise.resolve(video.requestPointerLock()).catch((err: unknown) => console.warn('pointer lock refused:', err));
          return;
      }
    },
    [prefs, onPrefs],
  );

  useEffect(() => {
    const onFullscreen = () => {
      if (!document.fullscreenElement) keyboardLock()?.unlock();
    };
    // Capture phase on window: runs before the video's listeners, so a hotkey never reaches the workstation.
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey && e.altKey && e.shiftKey)) return;
      const entry = Object.entries(HOTKEYS).find(([, code]) => code === e.code);
      if (!entry) return;
      e.preventDefault();
      e.stopImmediatePropagation();
      toggle(entry[0] as keyof typeof HOTKEYS);
    };
    document.addEventListener('fullscreenchange', onFullscreen);
    window.addEventListener('keydown', onKey, true);
    return () => {
      document.removeEventListener('fullscreenchange', onFullscreen);
      window.removeEventListener('keydown', onKey, true);
    };
  }, [toggle]);

  const onResize = () => {
    const v = videoRef.current;
    if (v && v.videoWidth > 0) setVideoSize({ w: v.videoWidth, h: v.videoHeight });
  };
  const actual = prefs.prefs.viewMode === 'actual' && videoSize !== null;
  const dpr = window.devicePixelRatio || 1;

  return (
    <main ref={rootRef} className={`session ${actual ? 'actual' : prefs.prefs.viewMode === 'fill' ? 'fill' : 'fit'}`} data-state={stalled ? 'stalled' : streaming ? 'streaming' : 'connecting'}>
      <div className="viewport">
        <video
          ref={videoRef}
          className="remote"
          autoPlay
          playsInline
          muted
          disablePictureInPicture
          tabIndex={0}
          onResize={onResize}
          style={actual ? { width: videoSize.w / dpr, height: videoSize.h / dpr } : undefined}
          aria-label={`Remote desktop of ${workstationId ?? ''}`}
        />
        <canvas ref={frozenRef} className="frozen" hidden aria-hidden="true" style={actual ? { width: videoSize.w / dpr, height: videoSize.h / dpr } : undefined} />
      </div>
      {phase !== null && (
        <div className="overlay-center" role="status">
          <div className="spinner" aria-hidden="true" />
          <p>{phase}</p>
          <button onClick={() => actor.send({ type: 'session.disconnect' })}>Cancel</button>
        </div>
      )}
      <StallBanner actor={actor} />
      <ReconnectBanner actor={actor} />
      {streaming && <Toolbar actor={actor} prefs={prefs} onToggle={toggle} />}
      {prefs.prefs.statsVisible && <StatsOverlay actor={actor} onClose={() => toggle('stats')} />}
      {settingsOpen && <SettingsPanel actor={actor} locked={prefs.locked} desktop={desktop} onClose={() => setSettingsOpen(false)} />}
    </main>
  );
}
