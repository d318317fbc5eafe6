/**
 * The IPC handlers: one `ipcMain.handle` per channel of the shared registry.
 * Each one checks who is asking (our own page, in one of our windows, in its
 * top-level frame), parses the payload from `unknown` with the shared schema,
 * and answers with an `IpcReply` so errors cross the bridge with their code.
 */
import { z } from 'zod';
import { IPC, IpcRequest, type IpcChannel, type IpcReply, type IpcResponse } from '../shared/ipc.js';
import { isAppUrl } from './app-protocol.js';
import { toIpcError, BacklotError } from './errors.js';

/** Longest schema error text sent back to the renderer. */
const MAX_REASON_CHARS = 512;

type RequestOf<C extends IpcChannel> = z.output<(typeof IpcRequest)[C]>;
type ResponseOf<C extends IpcChannel> = z.output<(typeof IpcResponse)[C]>;

/** Who sent a message, for the handlers that care which window asked (session state reports). */
export interface IpcContext {
  sender: object;
}

/** What each channel does, once the sender and payload have been checked. */
export type IpcHandlers = { [C in IpcChannel]: (payload: RequestOf<C>, context: IpcContext) => Promise<ResponseOf<C>> };

/** The parts of Electron's `IpcMainInvokeEvent` the sender check reads. */
export interface InvokeEventLike {
  sender: object;
  senderFrame: { url: string; parent: object | null } | null;
}

/** The part of `ipcMain` we use (Electron's `ipcMain` satisfies it). */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

export interface RegisterIpcOptions {
  ipcMain: IpcMainLike;
  handlers: IpcHandlers;
  /** True when `sender` is the web contents of one of our windows (main.ts asks BrowserWindow). */
  isOurWebContents: (sender: object) => boolean;
  warn: (message: string) => void;
}

/** Why a sender is refused, or null if it is ours. */
export function senderRefusal(event: InvokeEventLike, isOurWebContents: (sender: object) => boolean): string | null {
  if (!isOurWebContents(event.sender)) return 'the message did not come from a Backlot window';
  const frame = event.senderFrame;
  // null when the frame navigated away or was destroyed while the message was in flight.
  if (frame === null) return 'the sending frame no longer exists';
  if (frame.parent !== null) return 'only the top-level page may use the bridge';
  if (!isAppUrl(frame.url)) return 'the sending page is not the Backlot app';
  return null;
}

/** Checks and dispatches one message. Exported for tests; `registerIpc` binds it to each channel. */
export async function handleInvoke<C extends IpcChannel>(
  channel: C,
  event: InvokeEventLike,
  args: unknown[],
  options: Omit<RegisterIpcOptions, 'ipcMain'>,
): Promise<IpcReply<ResponseOf<C>>> {
  const refusal = senderRefusal(event, options.isOurWebContents);
  if (refusal !== null) {
    options.warn(`Refused IPC ${channel}: ${refusal}`);
    return { ok: false, error: { code: 'ERR_FORBIDDEN', message: `Refused: ${refusal}.` } };
  }
  // The preload sends at most one argument; anything more is not our preload talking.
  if (args.length > 1) {
    options.warn(`Refused IPC ${channel}: ${args.length} arguments`);
    return { ok: false, error: { code: 'ERR_BAD_REQUEST', message: 'Malformed request: expected a single payload.' } };
  }
  const schema: z.ZodType<RequestOf<C>> = IpcRequest[channel] as unknown as z.ZodType<RequestOf<C>>;
  const parsed = schema.safeParse(args[0]);
  if (!parsed.success) {
    // The payload is not logged: a login payload carries a password.
    options.warn(`Refused IPC ${channel}: malformed payload`);
    const reason = z.prettifyError(parsed.error).slice(0, MAX_REASON_CHARS);
    return { ok: false, error: { code: 'ERR_BAD_REQUEST', message: `Malformed request: ${reason}` } };
  }
  const handler = options.handlers[channel] as (payload: RequestOf<C>, context: IpcContext) => Promise<ResponseOf<C>>;
  try {
    return { ok: true, value: await handler(parsed.data, { sender: event.sender }) };
  } catch (err) {
    if (!(err instanceof BacklotError)) options.warn(`IPC ${channel} failed unexpectedly: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return { ok: false, error: toIpcError(err) };
  }
}

/** Registers a handler for every channel in the registry; returns a function that removes them. */
export function registerIpc(options: RegisterIpcOptions): () => void {
  const { ipcMain, ...rest } = options;
  const channels = Object.values(IPC);
  for (const channel of channels) {
    ipcMain.handle(channel, (event, ...args) => handleInvoke(channel, event, args, rest));
  }
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel);
  };
}
