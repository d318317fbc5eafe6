/**
 * Routes deep links and connection files to the renderer. They can arrive
 * before any page is ready (the link that launched the app) or while it runs
 * (a second launch hands its argv to this instance; macOS sends open-url /
 * open-file). Until the renderer has asked once (`open.take`) the latest
 * request is held; after that each one is pushed as an `open.request` event.
 * Refused links are logged with their reason, never opened.
 */
import type { OpenRequest } from '../shared/managed-policy.js';
import {
  launchTargetsFromArgv,
  parseDeepLink,
  readConnectionFile,
  resolveTarget,
  type ConnectionFileFs,
  type LinkTarget,
  type ParseResult,
  type TargetContext,
} from './deep-link.js';

export interface OpenRequestsOptions {
  context: TargetContext;
  fs: ConnectionFileFs;
  platform: NodeJS.Platform;
  /** Sends the request to the main window (and brings it to the front); false if there is none. */
  deliver: (request: OpenRequest) => boolean;
  log: (message: string) => void;
}

export class OpenRequests {
  readonly #options: OpenRequestsOptions;
  #pending: OpenRequest | null = null;
  #rendererReady = false;

  constructor(options: OpenRequestsOptions) {
    this.#options = options;
  }

  /** Handles a command line (first launch or 'second-instance'). */
  async handleArgv(argv: readonly string[]): Promise<void> {
    const { links, files } = launchTargetsFromArgv(argv);
    // One launch opens one thing: the first link, else the first file.
    if (links[0] !== undefined) this.handleUrl(links[0]);
    else if (files[0] !== undefined) await this.handleFile(files[0]);
  }

  /** Handles a `backlot://` link. */
  handleUrl(url: string): void {
    this.#accept('link', parseDeepLink(url));
  }

  /** Handles a `.backlot` file path. */
  async handleFile(path: string): Promise<void> {
    this.#accept('connection file', await readConnectionFile(path, this.#options.platform, this.#options.fs));
  }

  /** The held request, once; marks the renderer ready for pushed events. */
  take(): OpenRequest | null {
    this.#rendererReady = true;
    const pending = this.#pending;
    this.#pending = null;
    return pending;
  }

  #accept(kind: string, parsed: ParseResult<LinkTarget>): void {
    const resolved = parsed.ok ? resolveTarget(parsed.value, this.#options.context) : parsed;
    if (!resolved.ok) {
      // The reason names the rule broken, not the link's content (which may be personal or hostile).
      this.#options.log(`Refused a ${kind}: ${resolved.reason}`);
      return;
    }
    this.#options.log(`Opening a ${kind} for ${resolved.value.brokerUrl}`);
    if (this.#rendererReady && this.#options.deliver(resolved.value)) return;
    this.#pending = resolved.value;
  }
}
