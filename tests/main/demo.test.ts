import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEMO_CLI_PATH, DemoLauncher, demoCommand } from '../../src/main/demo.js';
import { failure } from './fake-broker.js';

const launchers: DemoLauncher[] = [];
afterEach(async () => {
  await Promise.all(launchers.splice(0).map((l) => l.stop()));
});

/** A launcher whose "demo" is the given Node script. */
function launcher(script: string, options: { readyTimeoutMs?: number; stopGraceMs?: number } = {}) {
  const warn = vi.fn();
  const demo = new DemoLauncher({
    spawn,
    command: { command: process.execPath, args: ['-e', script], cwd: process.cwd() },
    env: process.env,
    warn,
    ...options,
  });
  launchers.push(demo);
  return { demo, warn };
}


const READY = JSON.stringify({ brokerUrl: 'http://127.0.0.1:43210', username: 'demo', password: 'pw' });

describe('demoCommand', () => {
  it('runs the launcher with the Node that ran npm, in the app root, without opening a browser', () => {
    const cmd = demoCommand('/src/backlot', { npm_node_execpath: '/opt/node20/bin/node' });
    expect(cmd).toEqual({ command: '/opt/node20/bin/node', args: ['--import', 'tsx', DEMO_CLI_PATH, '--no-browser', '--json'], cwd: '/src/backlot' });
  });

  it('falls back to node on PATH (never Electron’s own binary)', () => {
    expect(demoCommand('/src/backlot', {}).command).toBe('node');
    expect(demoCommand('/src/backlot', { npm_node_execpath: '' }).command).toBe('node');
  });
});

describe('DemoLauncher', () => {
  it('resolves with the ready line, skipping log lines, and stops the child', async () => {
    const { demo } = launcher(`console.log('starting broker...'); console.log(${JSON.stringify(READY)}); setInterval(() => {}, 1000)`);
    expect(await demo.start()).toEqual({ brokerUrl: 'http://127.0.0.1:43210', username: 'demo', password: 'pw' });
    expect(demo.running).toBe(true);
    await demo.stop();
    expect(demo.running).toBe(false);
  });

  it('starts only one demo when asked twice', async () => {
    const { demo } = launcher(`console.log(${JSON.stringify(READY)}); setInterval(() => {}, 1000)`);
    const [a, b] = await Promise.all([demo.start(), demo.start()]);
    expect(a).toBe(b);
  });

  it('refuses a ready line that does not match the schema', async () => {
    const { demo } = launcher(`console.log(JSON.stringify({ brokerUrl: 'http://127.0.0.1:1', user: 'x' })); setInterval(() => {}, 1000)`);
    expect((await failure(demo.start())).code).toBe('ERR_PROTOCOL');
  });

  it('refuses a demo broker that is not on loopback over http', async () => {
    const { demo } = launcher(`console.log(JSON.stringify({ brokerUrl: 'http://evil.example', username: 'd', password: 'p' })); setInterval(() => {}, 1000)`);
    expect((await failure(demo.start())).code).toBe('ERR_PROTOCOL');
  });

  it('reports a launcher that exits before it is ready, and logs its stderr', async () => {
    const { demo, warn } = launcher(`console.error('demo: the web client is not built'); process.exit(1)`);
    const err = await failure(demo.start());
    expect(err.code).toBe('ERR_INTERNAL');
    expect(err.message).toContain('npm run demo:web');
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('the web client is not built'));
  });

  it('gives up after the ready timeout and kills the child', async () => {
    const { demo } = launcher('setInterval(() => {}, 1000)', { readyTimeoutMs: 300 });
    const err = await failure(demo.start());
    expect(err.code).toBe('ERR_INTERNAL');
    await vi.waitFor(() => expect(demo.running).toBe(false));
  });

  it('kills a demo that ignores SIGTERM after the grace period', async () => {
    const { demo } = launcher(`process.on('SIGTERM', () => {}); console.log(${JSON.stringify(READY)}); setInterval(() => {}, 1000)`, { stopGraceMs: 200 });
    await demo.start();
    await demo.stop();
    expect(demo.running).toBe(false);
  });

  it('can start again after the demo has stopped', async () => {
    const { demo } = launcher(`console.log(${JSON.stringify(READY)}); setInterval(() => {}, 1000)`);
    await demo.start();
    await demo.stop();
    expect(await demo.start()).toMatchObject({ username: 'demo' });
  });

  it('reports a missing Node binary', async () => {
    const demo = new DemoLauncher({ spawn, command: { command: '/nonexistent/node', args: [], cwd: process.cwd() }, env: process.env, warn: () => undefined });
    launchers.push(demo);
    expect((await failure(demo.start())).code).toBe('ERR_INTERNAL');
  });
});
