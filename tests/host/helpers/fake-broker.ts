/** A minimal broker host endpoint on loopback: records what the host sends and lets the test reply. */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { HostToBroker, parseJson } from '../../../src/shared/protocol.js';

export class FakeBroker {
  readonly received: HostToBroker[] = [];
  readonly sockets: WebSocket[] = [];
  private readonly server: WebSocketServer;
  private waiters: (() => void)[] = [];

  private constructor(server: WebSocketServer) {
    this.server = server;
    server.on('connection', (ws, req) => {
      if (req.url !== '/ws/host') {
        ws.close(4404, 'wrong path');
        return;
      }
      this.sockets.push(ws);
      ws.on('message', (raw: Buffer) => {
        const parsed = parseJson(HostToBroker, raw.toString());
        if (!parsed.ok) throw new Error(`host sent an invalid message: ${parsed.reason}`);
        this.received.push(parsed.value);
        for (const w of this.waiters.splice(0)) w();
      });
    });
  }

  static async start(): Promise<FakeBroker> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    return new FakeBroker(server);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The socket of the latest connection. */
  get socket(): WebSocket {
    const ws = this.sockets.at(-1);
    if (!ws) throw new Error('no host connected');
    return ws;
  }

  send(msg: unknown): void {
    this.socket.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Waits for the next message of `type` not yet consumed, and consumes it. */
  async next<T extends HostToBroker['type']>(type: T, timeoutMs = 10_000): Promise<Extract<HostToBroker, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.received.findIndex((m) => m.type === type);
      if (i >= 0) return this.received.splice(i, 1)[0] as Extract<HostToBroker, { type: T }>;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} from the host; got ${JSON.stringify(this.received.map((m) => m.type))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    for (const ws of this.server.clients) ws.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
