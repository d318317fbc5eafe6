import { describe, expect, it, vi } from 'vitest';
import {
  MAX_CONNECTION_FILE_BYTES,
  MAX_DEEP_LINK_CHARS,
  connectionFilePathProblem,
  launchTargetsFromArgv,
  parseConnectionFile,
  parseDeepLink,
  readConnectionFile,
  resolveTarget,
  type TargetContext,
} from '../../src/main/deep-link.js';
import { OpenRequests } from '../../src/main/open-requests.js';

const STUDIO = 'https://broker.studio.example';
const context: TargetContext = {
  findProfile: (id) => (id === 'studio' ? { id: 'studio', brokerUrl: STUDIO } : undefined),
  findProfileByBroker: (origin) => (origin === STUDIO ? { id: 'studio' } : undefined),
  isBrokerAllowed: (url) => url === STUDIO || url === 'https://second.studio.example',
};

describe('parseDeepLink', () => {
  it.each([
    ['backlot://connect?profile=studio&workstation=WS-042', { profile: 'studio', workstation: 'WS-042' }],
    ['BACKLOT://connect/?broker=https%3A%2F%2Fbroker.studio.example&username=ana', { broker: STUDIO, username: 'ana' }],
  ])('accepts %s', (link, target) => {
    expect(parseDeepLink(link)).toEqual({ ok: true, value: target });
  });

  it.each([
    ['another scheme', 'https://connect?profile=studio', /not a backlot/],
    ['a javascript: URL', 'javascript:alert(1)//backlot://connect?profile=studio', /not a backlot/],
    ['an unknown action', 'backlot://delete?profile=studio', /unknown action/],
    ['a password', 'backlot://connect?profile=studio&password=hunter2', /never carry passwords/],
    ['a token in any case', 'backlot://connect?profile=studio&RefreshToken=abc', /never carry/],
    ['an unknown parameter', 'backlot://connect?profile=studio&evil=1', /unknown parameter/],
    ['a repeated parameter', 'backlot://connect?profile=studio&profile=other', /twice/],
    ['credentials before the host', 'backlot://ana:pw@connect?profile=studio', /user name or password/],
    ['a port', 'backlot://connect:8080?profile=studio', /port/],
    ['a path (path tricks)', 'backlot://connect/../../etc/passwd?profile=studio', /path/],
    ['a fragment', 'backlot://connect?profile=studio#x', /fragment/],
    ['a quote that would break out of "%1" on Windows', 'backlot://connect?profile=studio"%20--gpu-launcher=calc', /not allowed/],
    ['raw whitespace', 'backlot://connect?profile=studio --no-sandbox', /not allowed/],
    ['a control character', 'backlot://connect?profile=studio\u0000', /not allowed/],
    ['an oversized link', `backlot://connect?profile=${'a'.repeat(MAX_DEEP_LINK_CHARS)}`, /longer than/],
    ['an oversized value', `backlot://connect?profile=${'a'.repeat(65)}`, /profile/],
    ['a workstation id with a path', 'backlot://connect?profile=studio&workstation=..%2F..%2Fx', /workstation/],
    ['a broker with a path', 'backlot://connect?broker=https%3A%2F%2Fb.example%2Fapi', /broker/],
    ['a plain-http remote broker', 'backlot://connect?broker=http%3A%2F%2Fb.example', /broker/],
    ['neither profile nor broker', 'backlot://connect?workstation=WS-042', /profile or a broker/],
  ])('refuses %s', (_name, link, reason) => {
    const result = parseDeepLink(link);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});

describe('parseConnectionFile', () => {
  it('accepts a minimal file', () => {
    expect(parseConnectionFile(JSON.stringify({ version: 1, profile: 'studio', workstation: 'WS-042' }))).toEqual({ ok: true, value: { profile: 'studio', workstation: 'WS-042' } });
  });
  it.each([
    ['a password', { version: 1, profile: 'studio', password: 'x' }, /never carry/],
    ['an unknown key', { version: 1, profile: 'studio', autorun: 'calc.exe' }, /autorun/],
    ['another version', { version: 2, profile: 'studio' }, /version/],
    ['a non-object', ['backlot://connect'], /invalid/],
  ])('refuses %s', (_name, content, reason) => {
    const result = parseConnectionFile(JSON.stringify(content));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
  it('refuses an oversized file before parsing', () => {
    const result = parseConnectionFile(' '.repeat(MAX_CONNECTION_FILE_BYTES + 1));
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/larger/) as unknown });
  });
});

describe('connection file paths', () => {
  it.each<[string, NodeJS.Platform, RegExp | null]>([
    ['/home/ana/Downloads/ws-042.backlot', 'linux', null],
    ['C:\\Users\\ana\\Downloads\\ws-042.BACKLOT', 'win32', null],
    ['relative/ws.backlot', 'linux', /absolute/],
    ['/home/ana/ws.backlot.exe', 'linux', /not a \.backlot/],
    ['\\\\attacker.example\\share\\ws.backlot', 'win32', /UNC/],
    ['//attacker.example/share/ws.backlot', 'win32', /UNC/],
    ['\\\\?\\C:\\x\\ws.backlot', 'win32', /UNC/],
    ['C:\\x\\ws.txt:hidden.backlot', 'win32', /data streams/],
    ['/tmp/ws\0.backlot', 'linux', /NUL/],
  ])('%s on %s', (path, platform, problem) => {
    const result = connectionFilePathProblem(path, platform);
    if (problem === null) expect(result).toBeNull();
    else expect(result).toMatch(problem);
  });

  it('reads only regular, small files', async () => {
    const fs = (info: { isFile: boolean; size: number }) => ({
      stat: () => Promise.resolve({ isFile: () => info.isFile, size: info.size }),
      readFile: vi.fn(() => Promise.resolve(JSON.stringify({ version: 1, profile: 'studio' }))),
    });
    expect(await readConnectionFile('/x/a.backlot', 'linux', fs({ isFile: true, size: 40 }))).toMatchObject({ ok: true });
    const fifo = fs({ isFile: false, size: 0 });
    expect(await readConnectionFile('/x/a.backlot', 'linux', fifo)).toMatchObject({ ok: false, reason: 'not a regular file' });
    expect(fifo.readFile).not.toHaveBeenCalled();
    expect(await readConnectionFile('/x/a.backlot', 'linux', fs({ isFile: true, size: 10_000_000 }))).toMatchObject({ ok: false });
  });
});

describe('resolveTarget against profiles and policy', () => {
  it('opens a profile at a workstation', () => {
    expect(resolveTarget({ profile: 'studio', workstation: 'WS-042' }, context)).toEqual({
      ok: true,
      value: { profileId: 'studio', brokerUrl: STUDIO, workstationId: 'WS-042', username: null },
    });
  });
  it('maps a broker to its profile, or none for a pinned broker without one', () => {
    expect(resolveTarget({ broker: `${STUDIO}/` }, context)).toMatchObject({ ok: true, value: { profileId: 'studio', brokerUrl: STUDIO } });
    expect(resolveTarget({ broker: 'https://second.studio.example' }, context)).toMatchObject({ ok: true, value: { profileId: null } });
  });
  it.each([
    ['an unlisted broker', { broker: 'https://phish.example' }, /not allowed/],
    ['an unknown profile', { profile: 'nope' }, /no profile/],
    ['a profile with a different broker', { profile: 'studio', broker: 'https://second.studio.example' }, /does not match/],
  ])('refuses %s', (_name, target, reason) => {
    const result = resolveTarget(target, context);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});

describe('launch arguments and routing', () => {
  it('finds links and files, ignoring switches', () => {
    expect(launchTargetsFromArgv(['/opt/Backlot/backlot', '--no-sandbox', 'backlot://connect?profile=studio', '/tmp/a.backlot'])).toEqual({
      links: ['backlot://connect?profile=studio'],
      files: ['/tmp/a.backlot'],
    });
  });

  it('holds a launch link until the renderer takes it, then pushes later ones; refusals are logged, not opened', async () => {
    const deliver = vi.fn(() => true);
    const log = vi.fn();
    const router = new OpenRequests({ context, fs: { stat: vi.fn(), readFile: vi.fn() }, platform: 'linux', deliver, log });
    await router.handleArgv(['exe', 'backlot://connect?profile=studio&workstation=WS-1']);
    expect(deliver).not.toHaveBeenCalled();
    expect(router.take()).toMatchObject({ profileId: 'studio', workstationId: 'WS-1' });
    expect(router.take()).toBeNull();
    router.handleUrl('backlot://connect?profile=studio&workstation=WS-2');
    expect(deliver).toHaveBeenCalledWith(expect.objectContaining({ workstationId: 'WS-2' }));
    router.handleUrl('backlot://connect?broker=https%3A%2F%2Fphish.example&password=x');
    expect(deliver).toHaveBeenCalledTimes(1);
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/^Refused a link: /));
    expect(JSON.stringify(log.mock.calls)).not.toContain('phish');
  });
});
