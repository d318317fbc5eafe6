/** Enrolment against a fake broker endpoint, and the configuration file it writes. */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfigPath, readConfig, SYSTEM_CONFIG_PATH, writeConfig } from '../../src/host/config.js';
import { enrol, enrolUrl } from '../../src/host/enrol.js';

const SECRET = 'enrolled-secret-0123456789abcdef';
const GOOD_CODE = 'ABCD-EFGH-1234';

interface Received {
  path: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

let server: Server;
let url: string;
const received: Received[] = [];
let rateLimited = false;

async function bodyOf(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void bodyOf(req).then((text) => {
      const body = JSON.parse(text) as { code?: string };
      received.push({ path: req.url, contentType: req.headers['content-type'], body });
      res.setHeader('content-type', 'application/json');
      if (rateLimited) {
        res.statusCode = 429;
        res.end(JSON.stringify({ error: { code: 'ERR_RATE_LIMITED', message: 'slow down' } }));
      } else if (body.code !== GOOD_CODE) {
        res.statusCode = 400;
        res.end(JSON.stringify({ error: { code: 'ERR_ENROLMENT_CODE', message: 'bad code' } }));
      } else {
        res.end(JSON.stringify({ workstationId: 'ws-042', name: 'WS-042', secret: SECRET }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

let dir: string;
afterEach(async () => {
  received.length = 0;
  rateLimited = false;
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('enrolment', () => {
  it('posts the code and hostname, and writes the credential 0600', async () => {
    dir = await mkdtemp(join(tmpdir(), 'backlot-enrol-'));
    const configPath = join(dir, 'sub', 'host.json');
    const config = await enrol({ brokerUrl: `${url}/`, code: GOOD_CODE, configPath, hostname: 'ws042.studio.lan' });
    expect(received).toEqual([{ path: '/api/enrol', contentType: 'application/json', body: { code: GOOD_CODE, hostname: 'ws042.studio.lan' } }]);
    expect(config).toMatchObject({ workstationId: 'ws-042', secret: SECRET });
    expect((await stat(configPath)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(configPath, 'utf8'))).toEqual({ brokerUrl: `${url}/`, workstationId: 'ws-042', name: 'WS-042', secret: SECRET });
    // No temporary file left behind.
    expect(await readdir(join(dir, 'sub'))).toEqual(['host.json']);
    expect(await readConfig(configPath)).toMatchObject({ workstationId: 'ws-042' });
  });

  it('reports a bad code and rate limiting with stable codes and writes nothing', async () => {
    dir = await mkdtemp(join(tmpdir(), 'backlot-enrol-'));
    const configPath = join(dir, 'host.json');
    await expect(enrol({ brokerUrl: url, code: 'WRONG-CODE-99', configPath })).rejects.toMatchObject({ code: 'ERR_ENROLMENT_CODE' });
    rateLimited = true;
    await expect(enrol({ brokerUrl: url, code: GOOD_CODE, configPath })).rejects.toMatchObject({ code: 'ERR_RATE_LIMITED' });
    await expect(enrol({ brokerUrl: 'http://127.0.0.1:1', code: GOOD_CODE, configPath })).rejects.toMatchObject({ code: 'ERR_BROKER_UNREACHABLE' });
    await expect(enrol({ brokerUrl: url, code: 'short', configPath })).rejects.toMatchObject({ code: 'ERR_BAD_OPTIONS' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('builds the endpoint under a path prefix', () => {
    expect(enrolUrl('https://studio.example/backlot/')).toBe('https://studio.example/backlot/api/enrol');
    expect(enrolUrl('wss://b.example')).toBe('https://b.example/api/enrol');
  });
});

describe('configuration file', () => {
  it('defaults to /etc for root and XDG config otherwise', () => {
    expect(defaultConfigPath({}, 0)).toBe(SYSTEM_CONFIG_PATH);
    expect(defaultConfigPath({ XDG_CONFIG_HOME: '/home/a/.cfg' }, 1000)).toBe('/home/a/.cfg/backlot/host.json');
  });

  it('names bad fields without echoing the content', async () => {
    dir = await mkdtemp(join(tmpdir(), 'backlot-config-'));
    const path = join(dir, 'host.json');
    await writeFile(path, JSON.stringify({ brokerUrl: 'ftp://x', workstationId: 'ws', secret: 'short-secret-value' }));
    const err = await readConfig(path).catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ code: 'ERR_CONFIG' });
    expect((err as Error).message).toMatch(/brokerUrl/);
    expect((err as Error).message).not.toContain('short-secret-value');
    await expect(readConfig(join(dir, 'missing.json'))).rejects.toMatchObject({ code: 'ERR_CONFIG' });
  });

  it('replaces an existing file atomically and keeps it 0600', async () => {
    dir = await mkdtemp(join(tmpdir(), 'backlot-config-'));
    const path = join(dir, 'host.json');
    await writeFile(path, '{}', { mode: 0o644 });
    await writeConfig(path, { brokerUrl: 'https://b.example', workstationId: 'ws-1', secret: SECRET });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readConfig(path)).toMatchObject({ workstationId: 'ws-1' });
  });

  it('the CLI enrols, never prints the secret, and run then finds its configuration', async () => {
    dir = await mkdtemp(join(tmpdir(), 'backlot-cli-enrol-'));
    const configPath = join(dir, 'host.json');
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const proc = spawn(process.execPath, ['--import', 'tsx', 'src/host/cli.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
        proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
        proc.on('exit', (code) => resolve({ code, out }));
      });
    const enrolled = await run(['enrol', '--broker', url, '--code', GOOD_CODE, '--config', configPath]);
    expect(enrolled.code).toBe(0);
    expect(enrolled.out).toContain('ws-042');
    expect(enrolled.out).not.toContain(SECRET);
    expect((await readConfig(configPath)).secret).toBe(SECRET);
    // A bad --fps is reported against the flag, proving run read the file (no other flag is missing).
    const badRun = await run(['run', '--config', configPath, '--display', ':1', '--fps', '0']);
    expect(badRun.code).toBe(2);
    const problems = badRun.out.split('\n\n')[0]!;
    expect(problems).toMatch(/--fps/);
    expect(problems).not.toMatch(/--secret|--broker|--workstation/);
    expect(badRun.out).not.toContain(SECRET);
  });
});
