/** A WebSocket that queues what it receives, so a test can await the next message. */
import { WebSocket } from 'ws';

export class WsPeer {
  readonly ws: WebSocket;
  readonly closed: Promise<number>;
  private readonly inbox: any[] = [];
  private waiters: ((m: any) => void)[] = [];

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (d) => {
      const msg = JSON.parse((d as Buffer).toString('utf8'));
      const w = this.waiters.shift();
      if (w) w(msg);
      else this.inbox.push(msg);
    });
    this.ws.on('error', () => undefined);
    this.closed = new Promise((r) => this.ws.on('close', (code) => r(code)));
  }

  static async open(url: string): Promise<WsPeer> {
    const p = new WsPeer(url);
    await new Promise((r, j) => {
      p.ws.once('open', r);
      p.ws.once('error', j);
    });
    return p;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  next(timeoutMs = 5000): Promise<any> {
    if (this.inbox.length > 0) return Promise.resolve(this.inbox.shift());
    return new Promise((resolve, reject) => {
      const waiter = (m: any) => {
        clearTimeout(t);
        resolve(m);
      };
      const t = setTimeout(() => {
        // A timed-out waiter must not swallow the next message.
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no message in time on ${this.ws.url}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Resolves true if nothing arrives within `ms`. */
  async silent(ms = 300): Promise<boolean> {
    try {
      await this.next(ms);
      return false;
    } catch {
      return true;
    }
  }
}
