/**
 * TURN with real coturn: the broker's credentials (TURN REST scheme, shared
 * secret) let two peers connect relay-only; an expired or forged credential
 * does not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import wrtc from '@roamhq/wrtc';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { turnCredential } from '../../src/broker/turn.js';
import type { IceServer } from '../../src/shared/protocol.js';
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

/** Two relay-only peers in this process; resolves with the candidate types each gathered and whether data flowed. */
async function connectRelayOnly(a: IceServer[], b: IceServer[]): Promise<{ connected: boolean; relayCandidates: number }> {
  const pcA = new wrtc.RTCPeerConnection({ iceServers: a, iceTransportPolicy: 'relay' });
  const pcB = new wrtc.RTCPeerConnection({ iceServers: b, iceTransportPolicy: 'relay' });
  let relayCandidates = 0;
  const wire = (from: any, to: any) => {
    from.onicecandidate = (e: any) => {
      if (!e.candidate) return;
      if (/ typ relay /.test(e.candidate.candidate)) relayCandidates++;
      void to.addIceCandidate(e.candidate).catch(() => undefined);
    };
  };
  wire(pcA, pcB);
  wire(pcB, pcA);
  try {
    const received = new Promise<string>((resolve) => {
      pcB.ondatachannel = (e: any) => (e.channel.onmessage = (m: any) => resolve(String(m.data)));
    });
    const channel = pcA.createDataChannel('probe');
    const opened = new Promise<void>((resolve) => (channel.onopen = () => resolve()));
    await pcA.setLocalDescription(await pcA.createOffer());
    await pcB.setRemoteDescription(pcA.localDescription!);
    await pcB.setLocalDescription(await pcB.createAnswer());
    await pcA.setRemoteDescription(pcB.localDescription!);
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), CONNECT_TIMEOUT_MS));
    // With no relay candidate once both have finished gathering, relay-only peers can never connect: stop early.
    const hopeless = new Promise<'no-relay'>((r) => {
      const check = () => {
        if (pcA.iceGatheringState === 'complete' && pcB.iceGatheringState === 'complete' && relayCandidates === 0) r('no-relay');
      };
      pcA.onicegatheringstatechange = check;
      pcB.onicegatheringstatechange = check;
    });
    const result = await Promise.race([
      hopeless,
      opened.then(async () => {
        channel.send('through the relay');
        return received;
      }),
      timeout,
    ]);
    const stats = await pcA.getStats();
    let relayPair = false;
    stats.forEach((s: any) => {
      if (s.type === 'candidate-pair' && s.state === 'succeeded') {
        const local = stats.get(s.localCandidateId);
        if (local?.candidateType === 'relay') relayPair = true;
      }
    });
    return { connected: result === 'through the relay' && relayPair, relayCandidates };
  } finally {
    pcA.close();
    pcB.close();
  }
}

describe('TURN credentials', () => {
  it('connect two relay-only peers through coturn with the credentials the broker issued', async () => {
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
    expect(result.relayCandidates).toBeGreaterThan(0);
    expect(result.connected).toBe(true);
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
      expect(result).toEqual({ connected: false, relayCandidates: 0 });
    }
    expect(coturnLog).toMatch(/401|Unauthori[sz]ed|cannot find credentials|check_stun_auth/i);
  }, 60_000);
});
