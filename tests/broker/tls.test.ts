/** Transport security: plain HTTP only on loopback; TLS with the configured certificate otherwise. */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/broker/config.js';
import { openDatabase } from '../../src/broker/db.js';
import { startBroker } from '../../src/broker/server.js';
import { SqliteStore } from '../../src/broker/store.js';

let dir: string;
let store: SqliteStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backlot-tls-'));
  store = new SqliteStore(openDatabase(':memory:'));
});
afterAll(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('transport security', () => {
  it('refuses to serve plain HTTP on a non-loopback interface', async () => {
    const config = resolveConfig({ host: '0.0.0.0', port: 0, database: ':memory:' }, dir, {});
    await expect(startBroker({ store, config, logger: pino({ level: 'silent' }) })).rejects.toThrow(/refusing plain HTTP on 0\.0\.0\.0/);
  });

  it('serves HTTPS with the configured certificate', async () => {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const tls = { cert: await readFile(cert), key: await readFile(key) };
    const config = resolveConfig({ host: '127.0.0.1', port: 0, database: ':memory:' }, dir, {});
    const broker = await startBroker({ store, config, tls, logger: pino({ level: 'silent' }) });
    try {
      expect(broker.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const body = await new Promise<string>((resolve, reject) => {
        request(`${broker.url}/healthz`, { ca: tls.cert }, (res) => {
          let t = '';
          res.on('data', (d: Buffer) => (t += d.toString()));
          res.on('end', () => resolve(t));
        })
          .on('error', reject)
          .end();
      });
      expect(JSON.parse(body)).toEqual({ ok: true });
    } finally {
      await broker.close();
    }
  });
});
