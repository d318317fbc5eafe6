/**
 * Broker capacity: the real broker as its own process (`backlot-broker serve`,
 * fd limit raised to 20000) on a fresh SQLite file, set up the way an IT
 * admin would (users, workstations, host secrets, assignments) through the
 * store, directly in that file, before it starts.
 *
 * 1. Idle authenticated host sockets: open N `/ws/host` connections from this
 *    process (staggered, 200 in flight), each authenticated with its own
 *    workstation secret; VmRSS of the broker before and after.
 * 2. Session setups per second, while those are held: login → grant →
 *    client socket auth → host gets session.start → host accepts → client's
 *    offer relayed to the host → host's answer relayed back. Once with a
 *    fresh login (scrypt) per setup, once with one access token reused.
 * 3. Signalling relay latency at that load: ICE-candidate-sized messages
 *    through open sessions, client→host and host→client, sent and received in
 *    this process (one clock).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { Admin } from '../src/broker/admin.js';
import { openDatabase } from '../src/broker/db.js';
import { SqliteStore } from '../src/broker/store.js';
import { tokenDigest } from '../src/broker/tokens.js';
import { ROOT } from './lib/backlot.js';
import { onCleanup, rssMb, sleep, startChild, waitUntil } from './lib/proc.js';
import { r1, summary } from './lib/stats.js';

export interface BrokerResult {
  ws_connections_held: number;
  ws_connections_attempted: number;
  rss_mb_before: number;
  rss_mb_after: number;
  rss_mb_per_1k_connections: number | null;
  connect_seconds: number;
  session_setups_per_s: number | null;
  session_setups_per_s_token_reused: number | null;
  session_setup_ms: ReturnType<typeof summary>;
  session_setup_ms_token_reused: ReturnType<typeof summary>;
  setup_concurrency: number;
  signal_relay_ms_p50: number | null;
  signal_relay_ms_p99: number | null;
  signal_relay: { client_to_host: ReturnType<typeof summary>; host_to_client: ReturnType<typeof summary> };
  connections_at_relay: number;
  errors: string[];
}

const PASSWORD = 'bench broker password';
const USER = 'bench';
const CONNECT_IN_FLIGHT = 200;
const SETUP_CONCURRENCY = 4;

type Msg = { type: string; sessionId?: string; data?: { type: string; sdp?: string; candidate?: { candidate: string } } };

class Host {
  ws: WebSocket | undefined;
  listeners = new Set<(m: Msg) => void>();
  constructor(
    readonly id: string,
    readonly secret: string,
  ) {}
  connect(url: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${url}/ws/host`);
      this.ws = ws;
      const timer = setTimeout(() => reject(new Error('host auth timeout')), 30_000);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', workstationId: this.id, secret: this.secret })));
      ws.on('message', (raw) => {
        const m = JSON.parse((raw as Buffer).toString('utf8')) as Msg;
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve();
        }
        for (const l of this.listeners) l(m);
      });
      ws.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.on('close', () => {
        clearTimeout(timer);
        reject(new Error('closed'));
      });
    });
  }
  next(pred: (m: Msg) => boolean, timeoutMs = 10_000): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(l);
        reject(new Error('host did not get the message in time'));
      }, timeoutMs);
      const l = (m: Msg) => {
        if (!pred(m)) return;
        clearTimeout(timer);
        this.listeners.delete(l);
        resolve(m);
      };
      this.listeners.add(l);
    });
  }
  send(m: unknown): void {
    this.ws!.send(JSON.stringify(m));
  }
}

function clientSocket(url: string, grantToken: string): Promise<{ ws: WebSocket; next(pred: (m: Msg) => boolean): Promise<Msg>; onMessage(l: (m: Msg) => void): void }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const listeners = new Set<(m: Msg) => void>();
    ws.on('message', (raw) => {
      const m = JSON.parse((raw as Buffer).toString('utf8')) as Msg;
      for (const l of listeners) l(m);
    });
    ws.on('error', reject);
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'auth', grantToken }));
      resolve({
        ws,
        onMessage: (l) => listeners.add(l),
        next: (pred) =>
          new Promise((res, rej) => {
            const timer = setTimeout(() => rej(new Error('client did not get the message in time')), 10_000);
            const l = (m: Msg) => {
              if (m.type === 'error') {
                clearTimeout(timer);
                listeners.delete(l);
                rej(new Error(`broker: ${JSON.stringify(m)}`));
                return;
              }
              if (!pred(m)) return;
              clearTimeout(timer);
              listeners.delete(l);
              res(m);
            };
            listeners.add(l);
          }),
      });
    });
  });
}

async function post(base: string, path: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const candidate = (seq: number) => ({ type: 'candidate', candidate: { candidate: `candidate:842163049 1 udp 1677729535 127.0.0.1 ${40000 + (seq % 20000)} typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag bnch network-cost 999 seq-${seq}`, sdpMLineIndex: 0, sdpMid: '0' } });
const FAKE_SDP = (tag: string) => `v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=bench:${tag}\r\n${'a=x-pad:0123456789abcdef0123456789abcdef\r\n'.repeat(60)}`;

/** One complete session setup through the broker; returns the open client socket (the caller ends it). */
async function setup(base: string, host: Host, token: string | null): Promise<{ client: Awaited<ReturnType<typeof clientSocket>>; sessionId: string }> {
  const access = token ?? ((await post(base, '/api/login', { username: USER, password: PASSWORD })).accessToken as string);
  const grant = await post(base, '/api/sessions', { workstationId: host.id }, access);
  const started = host.next((m) => m.type === 'session.start');
  const client = await clientSocket(grant.signalUrl as string, grant.grantToken as string);
  const ready = client.next((m) => m.type === 'ready');
  const start = await started;
  await ready;
  const sessionId = start.sessionId!;
  const joined = client.next((m) => m.type === 'peer.joined');
  host.send({ type: 'session.accept', sessionId });
  await joined;
  const offerAtHost = host.next((m) => m.type === 'signal' && m.data?.type === 'offer');
  client.ws.send(JSON.stringify({ type: 'signal', data: { type: 'offer', sdp: FAKE_SDP(sessionId) } }));
  await offerAtHost;
  const answerAtClient = client.next((m) => m.type === 'signal' && m.data?.type === 'answer');
  host.send({ type: 'signal', sessionId, data: { type: 'answer', sdp: FAKE_SDP(`${sessionId}-answer`) } });
  await answerAtClient;
  return { client, sessionId };
}

async function endSession(client: Awaited<ReturnType<typeof clientSocket>>): Promise<void> {
  client.ws.send(JSON.stringify({ type: 'bye' }));
  client.ws.close();
  await new Promise<void>((r) => {
    if (client.ws.readyState === WebSocket.CLOSED) return r();
    client.ws.once('close', () => r());
    setTimeout(r, 2_000).unref();
  });
}

/** Runs setups for `ms` with `concurrency` workers, each on its own workstations; returns per-setup times and the rate. */
async function setupRate(base: string, hosts: Host[], token: string | null, ms: number, concurrency: number, errors: string[]): Promise<{ perSecond: number; times: number[] }> {
  const times: number[] = [];
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() - t0 < ms) {
        const host = hosts[next++ % hosts.length]!;
        const s = performance.now();
        try {
          const { client } = await setup(base, host, token);
          times.push(performance.now() - s);
          await endSession(client);
        } catch (err) {
          if (errors.length < 20) errors.push((err as Error).message);
        }
      }
    }),
  );
  return { perSecond: (times.length / (performance.now() - t0)) * 1000, times };
}

export async function runBroker(opts: { connections: number; quick: boolean }): Promise<BrokerResult> {
  const errors: string[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'backlot-bench-broker-'));
  onCleanup('broker data', () => rm(dir, { recursive: true, force: true }));
  const configPath = join(dir, 'broker.json');
  await writeFile(configPath, JSON.stringify({ host: '127.0.0.1', port: 0, database: 'broker.db' }));

  // Set up as an admin would, directly in the broker's SQLite file, before it starts.
  const db = openDatabase(join(dir, 'broker.db'));
  const store = new SqliteStore(db);
  const admin = new Admin(store, 'Backlot', 3_600_000);
  await admin.createUser('bench-setup', { username: USER, displayName: 'Bench Artist', role: 'artist', password: PASSWORD });
  const hosts: Host[] = [];
  const now = Date.now();
  db.transaction(() => {
    for (let i = 0; i < opts.connections; i++) {
      const id = `ws-${String(i).padStart(5, '0')}`;
      const secret = `bench-host-secret-${i}-${Math.random().toString(36).slice(2, 12)}`;
      store.createWorkstation({ id, name: id.toUpperCase() }, now);
      store.setHostCredential(id, tokenDigest(secret), `bench-${i}`, now);
      store.assign({ workstationId: id, kind: 'user', principal: USER });
      hosts.push(new Host(id, secret));
    }
  })();
  store.close();

  const broker = startChild('broker', 'bash', ['-c', 'ulimit -n 20000 2>/dev/null; exec "$0" --import tsx src/broker/cli.ts serve --config "$1"', process.execPath, configPath], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  const closeSockets = () => {
    for (const h of hosts) h.ws?.terminate();
  };
  onCleanup('broker sockets', () => Promise.resolve(closeSockets()));
  try {
    // The listening line is logged at info; with LOG_LEVEL=warn, find the port from /proc instead.
    const base = await waitUntil('broker listening', () => (broker.exited() ? Promise.reject(new Error(`broker exited:\n${broker.output()}`)) : listeningUrl(broker.pid)), 30_000, 200);
    await sleep(1_000);
    const rssBefore = rssMb(broker.pid);

    // 1. Idle authenticated connections.
    const c0 = performance.now();
    let held = 0;
    let cursor = 0;
    await Promise.all(
      Array.from({ length: CONNECT_IN_FLIGHT }, async () => {
        while (cursor < hosts.length) {
          const h = hosts[cursor++]!;
          try {
            await h.connect(base);
            held++;
          } catch (err) {
            if (errors.length < 20) errors.push(`connect ${h.id}: ${(err as Error).message}`);
          }
        }
      }),
    );
    const connectSeconds = (performance.now() - c0) / 1000;
    await sleep(2_000);
    const rssAfter = rssMb(broker.pid);
    console.error(`bench:   ${held}/${hosts.length} host sockets in ${connectSeconds.toFixed(1)} s; broker RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB`);

    // 2. Session setups per second, with the connections held.
    const live = hosts.filter((h) => h.ws?.readyState === WebSocket.OPEN);
    const fresh = await setupRate(base, live.slice(0, 1000), null, opts.quick ? 4_000 : 10_000, SETUP_CONCURRENCY, errors);
    const token = (await post(base, '/api/login', { username: USER, password: PASSWORD })).accessToken as string;
    const reused = await setupRate(base, live.slice(1000, 2000).length > 0 ? live.slice(1000, 2000) : live.slice(0, 1000), token, opts.quick ? 3_000 : 6_000, SETUP_CONCURRENCY, errors);
    console.error(`bench:   setups/s ${fresh.perSecond.toFixed(1)} (fresh login), ${reused.perSecond.toFixed(1)} (token reused)`);

    // 3. Relay latency through open sessions, one message at a time every ~2 ms.
    const sessions: { host: Host; client: Awaited<ReturnType<typeof clientSocket>>; sessionId: string }[] = [];
    for (const h of live.slice(2000, 2010).length > 0 ? live.slice(2000, 2010) : live.slice(0, 10)) sessions.push({ host: h, ...(await setup(base, h, token)) });
    const sentAt = new Map<number, number>();
    const c2h: number[] = [];
    const h2c: number[] = [];
    const seqOf = (m: Msg) => Number(/seq-(\d+)/.exec(m.data?.candidate?.candidate ?? '')?.[1] ?? -1);
    for (const s of sessions) {
      s.host.listeners.add((m) => {
        if (m.type !== 'signal' || m.data?.type !== 'candidate') return;
        const t = sentAt.get(seqOf(m));
        if (t !== undefined) c2h.push(performance.now() - t);
      });
      s.client.onMessage((m) => {
        if (m.type !== 'signal' || m.data?.type !== 'candidate') return;
        const t = sentAt.get(seqOf(m));
        if (t !== undefined) h2c.push(performance.now() - t);
      });
    }
    const messages = opts.quick ? 500 : 3_000;
    for (let seq = 0; seq < messages; seq++) {
      const s = sessions[seq % sessions.length]!;
      sentAt.set(seq, performance.now());
      if (seq % 2 === 0) s.client.ws.send(JSON.stringify({ type: 'signal', data: candidate(seq) }));
      else s.host.send({ type: 'signal', sessionId: s.sessionId, data: candidate(seq) });
      await sleep(2);
    }
    await sleep(500);
    const connectionsAtRelay = hosts.filter((h) => h.ws?.readyState === WebSocket.OPEN).length;
    for (const s of sessions) await endSession(s.client);
    const all = summary([...c2h, ...h2c]);
    console.error(`bench:   relay p50 ${all.p50} ms p99 ${all.p99} ms (n=${all.n}) with ${connectionsAtRelay} connections`);

    return {
      ws_connections_held: held,
      ws_connections_attempted: hosts.length,
      rss_mb_before: r1(rssBefore)!,
      rss_mb_after: r1(rssAfter)!,
      rss_mb_per_1k_connections: held > 0 ? r1(((rssAfter - rssBefore) / held) * 1000) : null,
      connect_seconds: r1(connectSeconds)!,
      session_setups_per_s: r1(fresh.perSecond),
      session_setups_per_s_token_reused: r1(reused.perSecond),
      session_setup_ms: summary(fresh.times),
      session_setup_ms_token_reused: summary(reused.times),
      setup_concurrency: SETUP_CONCURRENCY,
      signal_relay_ms_p50: all.p50 === null ? null : Math.round(all.p50 * 100) / 100,
      signal_relay_ms_p99: all.p99 === null ? null : Math.round(all.p99 * 100) / 100,
      signal_relay: { client_to_host: summary(c2h), host_to_client: summary(h2c) },
      connections_at_relay: connectionsAtRelay,
      errors,
    };
  } finally {
    closeSockets();
    await broker.stop();
  }
}

/** The broker's listening address, from /proc/net/tcp and the sockets its process (or its children) own. */
async function listeningUrl(pid: number): Promise<string | undefined> {
  const { readdirSync, readlinkSync, readFileSync } = await import('node:fs');
  const inodes = new Set<string>();
  const pids = [pid, ...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)];
  for (const p of pids) {
    try {
      for (const fd of readdirSync(`/proc/${p}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${p}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      }
    } catch {
      // Exited or not ours to read.
    }
  }
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // st 0A = LISTEN; local address 0100007F:PORT = 127.0.0.1.
    if (f[3] === '0A' && f[1]?.startsWith('0100007F:') && inodes.has(f[9]!)) return `http://127.0.0.1:${parseInt(f[1].split(':')[1]!, 16)}`;
  }
  return undefined;
}
