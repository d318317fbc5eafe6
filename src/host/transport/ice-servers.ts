/**
 * The grant's ICE servers (W3C RTCIceServer shape, from the broker) in the
 * form libdatachannel takes. Written as objects, not URL strings: TURN REST
 * user names contain ':' (`<expiry>:<user>`), which the string form
 * (`turn:user:pass@host`) cannot carry.
 */
import type { IceServer } from '../../shared/protocol.js';

export interface DatachannelIceServer {
  hostname: string;
  port: number;
  username?: string;
  password?: string;
  relayType?: 'TurnUdp' | 'TurnTcp' | 'TurnTls';
}

const DEFAULT_PORT = { stun: 3478, turn: 3478, turns: 5349 } as const;

/** One URL to a server entry, or a reason it cannot be used. */
export function iceServerOf(url: string, username: string | undefined, credential: string | undefined): DatachannelIceServer | string {
  const m = /^(stuns?|turns?):(\[[0-9a-fA-F:.]+\]|[^:?/[\]]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/.exec(url.trim());
  if (!m) return `unsupported ICE server URL ${JSON.stringify(url)}`;
  const scheme = m[1] as 'stun' | 'stuns' | 'turn' | 'turns';
  const hostname = m[2]!.replace(/^\[|\]$/g, '');
  const port = m[3] ? Number(m[3]) : DEFAULT_PORT[scheme === 'stuns' ? 'turns' : scheme];
  if (port < 1 || port > 65535) return `port out of range in ${JSON.stringify(url)}`;
  if (scheme === 'stun' || scheme === 'stuns') return { hostname, port };
  if (username === undefined || credential === undefined) return `TURN server ${JSON.stringify(url)} has no credentials`;
  const relayType = scheme === 'turns' ? 'TurnTls' : m[4] === 'tcp' ? 'TurnTcp' : 'TurnUdp';
  return { hostname, port, username, password: credential, relayType };
}

/** Every usable server, and the reasons for the ones left out. */
export function datachannelIceServers(servers: readonly IceServer[]): { servers: DatachannelIceServer[]; skipped: string[] } {
  const out: DatachannelIceServer[] = [];
  const skipped: string[] = [];
  for (const server of servers) {
    for (const url of typeof server.urls === 'string' ? [server.urls] : server.urls) {
      const entry = iceServerOf(url, server.username, server.credential);
      if (typeof entry === 'string') skipped.push(entry);
      else out.push(entry);
    }
  }
  return { servers: out, skipped };
}
