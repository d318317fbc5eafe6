import { describe, expect, it } from 'vitest';
import { datachannelIceServers, iceServerOf } from '../../src/host/transport/ice-servers.js';

describe('ICE servers for libdatachannel', () => {
  it('keeps TURN REST user names with colons, and maps transports to relay types', () => {
    const { servers, skipped } = datachannelIceServers([
      { urls: 'stun:turn.example.com' },
      { urls: ['turn:127.0.0.1:3479?transport=udp', 'turn:[::1]:3479?transport=tcp', 'turns:turn.example.com'], username: '1767225600:ana', credential: 'c2VjcmV0' },
    ]);
    expect(skipped).toEqual([]);
    expect(servers).toEqual([
      { hostname: 'turn.example.com', port: 3478 },
      { hostname: '127.0.0.1', port: 3479, username: '1767225600:ana', password: 'c2VjcmV0', relayType: 'TurnUdp' },
      { hostname: '::1', port: 3479, username: '1767225600:ana', password: 'c2VjcmV0', relayType: 'TurnTcp' },
      { hostname: 'turn.example.com', port: 5349, username: '1767225600:ana', password: 'c2VjcmV0', relayType: 'TurnTls' },
    ]);
  });

  it('skips what it cannot use, with the reason', () => {
    expect(iceServerOf('turn:host', undefined, undefined)).toMatch(/no credentials/);
    expect(iceServerOf('http://x', 'a', 'b')).toMatch(/unsupported/);
    expect(iceServerOf('stun:x:70000', undefined, undefined)).toMatch(/out of range/);
  });
});
