/**
 * TURN with real coturn: the broker's credentials (TURN REST scheme, shared
 * secret) let the client (Chromium) and the host (libdatachannel) of a
 * session connect relay-only; an expired or forged credential does not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodeDatachannel from 'node-datachannel';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { turnCredential } from '../../src/broker/turn.js';
import { datachannelIceServers } from '../../src/host/transport/ice-servers.js';
import { DATA_CHANNELS } from '../../src/shared/constants.js';
import type { IceServer, SignalData } from '../../src/shared/protocol.js';
import { openBrowserPeer, pollUntil } from '../host/helpers/browser-peer.js';
import { api, startBrokerProcess, type BrokerProcess } from './helpers/broker-process.js';
import { WsPeer } from './helpers/ws-peer.js';

const SECRET = 'coturn-shared-secret-for-tests';
const PW = 'correct horse battery';
const CONNECT_TIMEOUT_MS = 15_000;

let coturn: ChildProcess;
let coturnLog = '';
let dir: string;
let turnPort: number;
let broker: BrokerProcess;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backlot-coturn-'));
  turnPort = await freePort();
  const conf = join(dir, 'turnserver.conf');
  await writeFile(
    conf,
    [
      `listening-port=${turnPort}`,
      'listening-ip=127.0.0.1',
      'relay-ip=127.0.0.1',
      'min-port=49160',
      'max-port=49260',
      'use-auth-secret',
      `static-auth-secret=${SECRET}`,
      'realm=backlot.test',
      // Loopback peers are refused by default ("403 Forbidden IP"); these tests only ever use loopback.
      'allow-loopback-peers',
      'no-tls',
      'no-dtls',
      'no-cli',
      'no-multicast-peers',
      `pidfile=${join(dir, 'turnserver.pid')}`,
      'log-file=stdout',
      'simple-log',
    ].join('\n'),
  );
  coturn = spawn('turnserver', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  coturn.stdout!.on('data', (d: Buffer) => (coturnLog += d.toString()));
  coturn.stderr!.on('data', (d: Buffer) => (coturnLog += d.toString()));
  await vi.waitFor(() => {
    if (coturn.exitCode !== null) throw new Error(`coturn exited: ${coturnLog}`);
    if (!/Total General servers|IO method/.test(coturnLog)) throw new Error('coturn not ready');
  }, { timeout: 10_000, interval: 100 });

  broker = await startBrokerProcess(
    { turn: { urls: [`turn:127.0.0.1:${turnPort}?transport=udp`, `turn:127.0.0.1:${turnPort}?transport=tcp`], ttlSeconds: 300 } },
    { BACKLOT_TURN_SECRET: SECRET },
  );
  await broker.admin.createUser('test', { username: 'ana', displayName: 'Ana', password: PW });
  broker.admin.createWorkstation('test', { id: 'ws-1', name: 'WS-1' });
  broker.admin.assign('test', { workstationId: 'ws-1', user: 'ana' });
}, 40_000);

afterAll(async () => {
  await broker?.stop();
  if (coturn && coturn.exitCode === null) {
    await new Promise<void>((r) => {
      coturn.once('exit', () => r());
      coturn.kill('SIGTERM');
    });
  }
  await rm(dir, { recursive: true, force: true });
});

interface RelayResult {
  /** Candidate types each side signalled, in order. */
  clientCandidates: string[];
  hostCandidates: string[];
  /** The selected pair as each side sees it, `local/remote` candidate types; undefined when they never connected. */
  clientPath: string | undefined;
  hostPath: string | undefined;
  /** Text crossed both ways on the control channel. */
  textCrossed: boolean;
}

const typeOf = (candidate: string): string => / typ (\w+)/.exec(candidate)?.[1] ?? '?';

/**
 * The client and the host of a session, each relay-only: the client is
 * Chromium given the grant's ICE servers as the web client passes them; the
 * host is libdatachannel (node-datachannel) given session.start's, converted
 * as the host's transport converts them (transport/ice-servers.ts).
 */
async function connectRelayOnly(clientServers: IceServer[], hostServers: IceServer[]): Promise<RelayResult> {
  const result: RelayResult = { clientCandidates: [], hostCandidates: [], clientPath: undefined, hostPath: undefined, textCrossed: false };
  const ice = datachannelIceServers(hostServers);
  // It answers, as the host does: an offer of its own (libdatachannel makes one for a new channel) would collide.
  const host = new nodeDatachannel.PeerConnection('turn-test-host', { iceServers: ice.servers, iceTransportPolicy: 'relay', disableAutoNegotiation: true });
  let hostGathered = false;
  host.onGatheringStateChange((state) => (hostGathered ||= state === 'complete'));
  const fromClient: string[] = [];
  const control = host.createDataChannel(DATA_CHANNELS.control.label, { negotiated: true, id: DATA_CHANNELS.control.id });
  control.onMessage((m) => fromClient.push(typeof m === 'string' ? m : '(binary)'));
  const hostOpen = new Promise<true>((resolve) => control.onOpen(() => resolve(true)));
  const toClient: SignalData[] = [];
  host.onLocalDescription((sdp, type) => {
    if (type === 'answer') toClient.push({ type: 'answer', sdp });
  });
  host.onLocalCandidate((candidate, mid) => {
    result.hostCandidates.push(typeOf(candidate));
    toClient.push({ type: 'candidate', candidate: { candidate: candidate.replace(/^a=/, ''), sdpMid: mid } });
  });
  const client = await openBrowserPeer(
    (data) => {
      if (data.type !== 'candidate') return;
      result.clientCandidates.push(typeOf(data.candidate.candidate));
      host.addRemoteCandidate(data.candidate.candidate, data.candidate.sdpMid ?? '0');
    },
    { iceServers: clientServers, iceTransportPolicy: 'relay' },
  );
  try {
    const offer = await client.offer();
    if (offer.type === 'offer') host.setRemoteDescription(offer.sdp, 'offer');
    host.setLocalDescription('answer');
    const deadline = Date.now() + CONNECT_TIMEOUT_MS;
    for (;;) {
      // The host's signals go to the page in order, the answer first.
      for (const data of toClient.splice(0)) await client.signal(data);
      if (await Promise.race([hostOpen, new Promise<false>((r) => setTimeout(() => r(false), 200))])) break;
      // With no relay candidate once both have finished gathering, relay-only peers can never connect: stop early.
      const hopeless = hostGathered && (await client.connection()).gathering === 'complete' && result.clientCandidates.length + result.hostCandidates.length === 0;
      if (hopeless || Date.now() > deadline) return result;
    }
    await client.channelsOpen();
    control.sendMessage('from the host, through the relay');
    await client.sendControl('from the client, through the relay');
    const crossed = await pollUntil('text both ways', async () => ({ atClient: await client.controlMessages(), atHost: [...fromClient] }), (m) => m.atClient.length > 0 && m.atHost.length > 0).catch(() => undefined);
    result.textCrossed = crossed?.atClient[0] === 'from the host, through the relay' && crossed.atHost[0] === 'from the client, through the relay';
    const pair = host.getSelectedCandidatePair();
    result.hostPath = pair ? `${pair.local.type}/${pair.remote.type}` : undefined;
    result.clientPath = (await client.connection()).path;
    return result;
  } finally {
    control.close();
    host.close();
    await client.close();
  }
}

describe('TURN credentials', () => {
  it('connect a relay-only client and host through coturn with the credentials the broker issued', async () => {
    const host = await WsPeer.open(`${broker.url.replace('http', 'ws')}/ws/host`);
    const { code } = broker.admin.createEnrolmentCode('test', 'ws-1');
    const { json: enrolled } = await api(broker.url, 'POST', '/api/enrol', { code, hostname: 'ws-1' });
    host.send({ type: 'auth', workstationId: 'ws-1', secret: enrolled.secret });
    expect((await host.next()).type).toBe('ready');
    const { json: login } = await api(broker.url, 'POST', '/api/login', { username: 'ana', password: PW });
    const { json: grant } = await api(broker.url, 'POST', '/api/sessions', { workstationId: 'ws-1' }, login.accessToken);
    const client = await WsPeer.open(`${broker.url.replace('http', 'ws')}/ws/client`);
    client.send({ type: 'auth', grantToken: grant.grantToken });
    const start = await host.next();
    expect(start.type).toBe('session.start');

    const clientTurn = grant.iceServers.find((s: IceServer) => String(s.urls).includes('turn:'));
    const hostTurn = start.iceServers.find((s: IceServer) => String(s.urls).includes('turn:'));
    expect(clientTurn.username).toMatch(/^\d+:ana$/);
    expect(hostTurn.username).toMatch(/^\d+:host-ws-1$/);

    const result = await connectRelayOnly(grant.iceServers, start.iceServers);
    // Each credential allocated a relay on coturn, and each side offered nothing else.
    expect(result.clientCandidates.length).toBeGreaterThan(0);
    expect(result.hostCandidates.length).toBeGreaterThan(0);
    expect(new Set([...result.clientCandidates, ...result.hostCandidates])).toEqual(new Set(['relay']));
    expect(result.textCrossed).toBe(true);
    // Every path crosses coturn. The client sends only from its relay (Chromium
    // enforces relay-only); the host's libdatachannel (libjuice) only filters
    // what it signals, and in about one run in three reaches the client's relay
    // straight from its own socket (srflx, seen by the client as prflx): on
    // loopback coturn's per-IP permissions cannot tell that from its relay.
    expect(result.clientPath).toMatch(/^relay\/(relay|prflx)$/);
    expect(result.hostPath).toMatch(/^(relay|srflx)\/relay$/);
    client.ws.close();
    host.ws.close();
  }, 40_000);

  it('refuse an expired credential and a forged one', async () => {
    const urls = [`turn:127.0.0.1:${turnPort}?transport=udp`];
    const expired = turnCredential(SECRET, 'ana', Math.floor(Date.now() / 1000) - 60);
    const forged = turnCredential('not-the-secret-at-all', 'ana', Math.floor(Date.now() / 1000) + 600);
    for (const cred of [expired, forged]) {
      const servers = [{ urls, ...cred }];
      const result = await connectRelayOnly(servers, servers);
      expect(result).toEqual({ clientCandidates: [], hostCandidates: [], clientPath: undefined, hostPath: undefined, textCrossed: false });
    }
    expect(coturnLog).toMatch(/401|Unauthori[sz]ed|cannot find credentials|check_stun_auth/i);
  }, 60_000);
});
