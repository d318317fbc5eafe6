/**
 * The broker API in the Electron client: every call goes through the preload
 * bridge to the main process, which holds the credentials and talks to the
 * broker. The renderer never sees a token.
 */
import type { BacklotApi } from '../../shared/bridge.js';
import type { IpcReply } from '../../shared/ipc.js';
import type { SessionGrant, Workstation } from '../../shared/protocol.js';
import { BrokerError, type BrokerApi, type LoginOutcome, type SignedInUser } from './broker.js';

function unwrap<T>(reply: IpcReply<T>): T {
  if (reply.ok) return reply.value;
  throw new BrokerError(reply.error.code, reply.error.message);
}

export class BridgeBrokerApi implements BrokerApi {
  constructor(
    private readonly bridge: BacklotApi,
    /** The broker the user signs in to; set from the app config, the login form or the local demo. */
    public brokerUrl: string | null,
  ) {}

  async login(username: string, password: string, brokerUrl?: string): Promise<LoginOutcome> {
    const url = brokerUrl ?? this.brokerUrl;
    if (!url) throw new BrokerError('ERR_BAD_REQUEST', 'Enter the address of your studio’s Backlot server.');
    const outcome = unwrap(await this.bridge.login({ brokerUrl: url, username, password }));
    this.brokerUrl = url;
    return outcome;
  }

  async submitTotp(code: string): Promise<SignedInUser> {
    return unwrap(await this.bridge.submitTotp({ code }));
  }

  async resume(): Promise<SignedInUser | null> {
    return unwrap(await this.bridge.resumeSession());
  }

  async logout(): Promise<void> {
    unwrap(await this.bridge.logout());
  }

  async listWorkstations(): Promise<Workstation[]> {
    return unwrap(await this.bridge.listWorkstations()).workstations;
  }

  async requestSession(workstationId: string): Promise<SessionGrant> {
    return unwrap(await this.bridge.requestSession({ workstationId }));
  }
}
