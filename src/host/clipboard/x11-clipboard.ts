/**
 * The X CLIPBOARD selection, spoken directly over the X protocol (no xclip or
 * xsel needed): to set it we become the selection owner and answer
 * SelectionRequests with UTF-8 text; to follow it XFIXES tells us when
 * another client takes ownership, and we convert the selection to UTF-8 and
 * read it back from a property on our own window.
 *
 * Limits: one ChangeProperty carries the whole text, so texts above
 * MAX_SELECTION_BYTES are refused (the INCR protocol for larger transfers is
 * not implemented); only text targets are offered; the PRIMARY selection
 * (middle-click paste) is not touched.
 */
import type { Logger } from 'pino';
import x11 from 'x11';
import { HostError } from '../errors.js';
import { closeX11, connectX11, type X11Client, type X11Display } from '../x11/client.js';
import type { Clipboard } from './clipboard.js';

/** Largest text set or read in one property: well under the core protocol's 256 KiB request limit. */
export const MAX_SELECTION_BYTES = 240 * 1024;
/** Predefined atoms of the core protocol. */
const XA_ATOM = 4;
const XA_STRING = 31;
/** Core event codes. */
const SELECTION_REQUEST = 30;
const SELECTION_NOTIFY = 31;
/** The "no property" answer that refuses a conversion. */
const NONE = 0;
const ANY_PROPERTY_TYPE = 0;
const PROPERTY_MODE_REPLACE = 0;
/** XFIXES SetSelectionOwner event mask. */
const FIXES_SET_SELECTION_OWNER = 1;

interface FixesExtension {
  firstEvent: number;
  SelectSelectionInput(window: number, selection: number, mask: number): void;
}

interface ClipboardEvent {
  type: number;
  name: string;
  time?: number;
  owner?: number;
  requestor?: number;
  selection?: number;
  target?: number;
  property?: number;
}

interface ClipboardClient extends X11Client {
  AllocID(): number;
  CreateWindow(id: number, parent: number, x: number, y: number, w: number, h: number, border: number, depth: number, cls: number, visual: number, values: object): void;
  InternAtom(onlyIfExists: boolean, name: string, cb: (err: Error | null, atom: number) => void): void;
  SetSelectionOwner(owner: number, selection: number, time: number): void;
  ConvertSelection(requestor: number, selection: number, target: number, property: number, time: number): void;
  ChangeProperty(mode: number, wid: number, name: number, type: number, format: number, data: Buffer | number[]): void;
  GetProperty(del: number, wid: number, name: number, type: number, longOffset: number, longLength: number, cb: (err: Error | null, prop: { type: number; bytesAfter: number; data: Buffer }) => void): void;
  SendEvent(destination: number, propagate: number, mask: number, event: object): void;
}

const eventMask = (x11 as { eventMask: Record<string, number> }).eventMask;

export class X11Clipboard implements Clipboard {
  private owned: Buffer | undefined;
  private onChange: ((text: string) => void) | undefined;
  private lastSeen: string | undefined;
  private closed = false;

  private constructor(
    private readonly dpy: X11Display,
    private readonly client: ClipboardClient,
    private readonly window: number,
    private readonly atoms: { clipboard: number; utf8: number; targets: number; text: number; property: number },
    fixesFirstEvent: number,
    private readonly logger: Logger | undefined,
  ) {
    client.on('error', (err) => this.logger?.warn({ err: err.message }, 'X error on the clipboard connection'));
    client.on('event', (raw) => {
      // The package unpacks selection events with these fields; X11Event only names the input ones.
      const ev = raw as unknown as ClipboardEvent;
      if (ev.type === SELECTION_REQUEST) this.answer(ev);
      else if (ev.type === SELECTION_NOTIFY) this.converted(ev);
      else if (ev.type === fixesFirstEvent && ev.owner !== this.window && ev.owner !== NONE && ev.selection === this.atoms.clipboard) {
        // Someone else copied: ask for their text as UTF-8, delivered to our property.
        this.client.ConvertSelection(this.window, this.atoms.clipboard, this.atoms.utf8, this.atoms.property, 0);
      }
    });
  }

  /** Connects to `display`; rejects when XFIXES is missing (needed to notice copies). */
  static async open(display: string, logger?: Logger): Promise<X11Clipboard> {
    const dpy = await connectX11(display);
    const client = dpy.client as ClipboardClient;
    try {
      const atom = (name: string) => new Promise<number>((resolve, reject) => client.InternAtom(false, name, (err, a) => (err ? reject(err) : resolve(a))));
      const atoms = {
        clipboard: await atom('CLIPBOARD'),
        utf8: await atom('UTF8_STRING'),
        targets: await atom('TARGETS'),
        text: await atom('TEXT'),
        property: await atom('BACKLOT_CLIPBOARD'),
      };
      const fixes = await new Promise<FixesExtension>((resolve, reject) => client.require<FixesExtension>('fixes', (err, ext) => (err ? reject(err) : resolve(ext))));
      const window = client.AllocID();
      // An unmapped 1x1 window: selections need a window to own them and to receive conversions.
      client.CreateWindow(window, dpy.screen[0]!.root, 0, 0, 1, 1, 0, 0, 0, 0, { eventMask: eventMask.PropertyChange! });
      fixes.SelectSelectionInput(window, atoms.clipboard, FIXES_SET_SELECTION_OWNER);
      await client.sync();
      return new X11Clipboard(dpy, client, window, atoms, fixes.firstEvent, logger);
    } catch (err) {
      await closeX11(dpy);
      throw new HostError('ERR_X11_CONNECT', `clipboard unavailable on ${display}: ${(err as Error).message}`, { cause: err });
    }
  }

  async write(text: string): Promise<void> {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length > MAX_SELECTION_BYTES) throw new HostError('ERR_CLIPBOARD_TOO_LARGE', `clipboard text over ${MAX_SELECTION_BYTES} bytes is not supported on X11`);
    this.owned = bytes;
    // What we set ourselves must not echo back to the client as a host copy.
    this.lastSeen = text;
    this.client.SetSelectionOwner(this.window, this.atoms.clipboard, 0);
    await this.client.sync();
  }

  watch(onChange: (text: string) => void): void {
    this.onChange = onChange;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Our window goes with the connection and the server clears our ownership.
    await closeX11(this.dpy);
  }

  /** Another client asks for our clipboard: give it UTF-8 text or the list of targets. */
  private answer(ev: ClipboardEvent): void {
    const requestor = ev.requestor ?? NONE;
    const target = ev.target ?? NONE;
    // Obsolete clients send property None: ICCCM says use the target as the property.
    let property = ev.property || target;
    if (ev.selection !== this.atoms.clipboard || !this.owned) property = NONE;
    else if (target === this.atoms.targets) {
      this.client.ChangeProperty(PROPERTY_MODE_REPLACE, requestor, property, XA_ATOM, 32, [this.atoms.targets, this.atoms.utf8, XA_STRING, this.atoms.text]);
    } else if (target === this.atoms.utf8 || target === XA_STRING || target === this.atoms.text) {
      this.client.ChangeProperty(PROPERTY_MODE_REPLACE, requestor, property, target === XA_STRING ? XA_STRING : this.atoms.utf8, 8, this.owned);
    } else property = NONE;
    this.client.SendEvent(requestor, 0, 0, {
      type: SELECTION_NOTIFY,
      name: 'SelectionNotify',
      seq: 0,
      time: ev.time ?? 0,
      requestor,
      selection: ev.selection ?? NONE,
      target,
      property,
    });
  }

  /** Our conversion request was answered: read the text from our property. */
  private converted(ev: ClipboardEvent): void {
    if (ev.requestor !== this.window || ev.property === NONE || ev.property === undefined) return;
    this.client.GetProperty(1, this.window, this.atoms.property, ANY_PROPERTY_TYPE, 0, Math.ceil(MAX_SELECTION_BYTES / 4), (err, prop) => {
      if (err || prop.bytesAfter > 0) {
        this.logger?.warn({ err: err?.message, bytesAfter: prop?.bytesAfter }, 'host clipboard not read (error or too large)');
        return;
      }
      const text = prop.data.toString('utf8');
      if (text === this.lastSeen) return;
      this.lastSeen = text;
      this.onChange?.(text);
    });
  }
}
