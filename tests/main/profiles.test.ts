import * as fsp from 'node:fs/promises';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BacklotError } from '../../src/main/errors.js';
import { NO_POLICIES, type Policies } from '../../src/main/policy.js';
import { PROFILES_FILE_NAME, ProfileService } from '../../src/main/profiles.js';
import type { ClientPolicy } from '../../src/shared/managed-policy.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'backlot-profiles-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function withPolicy(managed: ClientPolicy | null, installer: ClientPolicy | null = null): Policies {
  return {
    managed: { kind: 'managed', path: '/etc/backlot/policy.json', policy: managed, error: null },
    installer: { kind: 'installer', path: '/app/installer-policy.json', policy: installer, error: null },
  };
}
const open = (policies: Policies = NO_POLICIES, environmentBroker: string | null = null, warn = vi.fn()) =>
  ProfileService.open({ policies, userDataDir: dir, fs: fsp, environmentBroker, warn });

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof BacklotError) return err.code;
    throw err;
  }
  return 'resolved';
}

const studio = { id: 'studio', name: 'Studio London', brokerUrl: 'https://broker.studio.example', username: 'ana' };

describe('user profiles file', () => {
  it('saves, validates on read, and survives a restart (0600, atomic)', async () => {
    const service = await open();
    await service.saveProfile({ id: 'home', name: 'Home', brokerUrl: 'HTTPS://Broker.Home.Example/', preferences: { maxFps: 30 } });
    const path = join(dir, PROFILES_FILE_NAME);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = await open();
    expect(again.list().profiles).toEqual([
      { id: 'home', name: 'Home', brokerUrl: 'https://broker.home.example', preferences: { maxFps: 30 }, source: 'user', locked: false },
    ]);
    expect(again.effective('home').maxFps).toEqual({ value: 30, locked: false, source: 'profile' });
  });

  it.each([
    ['not JSON', '{'],
    ['a password in a profile', JSON.stringify({ version: 1, profiles: [{ id: 'a', name: 'A', brokerUrl: 'https://a.example', password: 'x' }] })],
    ['a broker that is not an origin', JSON.stringify({ version: 1, profiles: [{ id: 'a', name: 'A', brokerUrl: 'javascript:alert(1)' }] })],
    ['an id with a path in it', JSON.stringify({ version: 1, profiles: [{ id: '../etc', name: 'A', brokerUrl: 'https://a.example' }] })],
    ['a user trying to set the update server', JSON.stringify({ version: 1, profiles: [], settings: { updateUrl: 'https://evil.example' } })],
  ])('ignores (and reports) a file with %s', async (_name, text) => {
    writeFileSync(join(dir, PROFILES_FILE_NAME), text);
    const warn = vi.fn();
    const service = await open(NO_POLICIES, null, warn);
    expect(service.list().profiles).toEqual([]);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('Ignoring'));
  });
});

describe('with an IT policy', () => {
  it('lists managed profiles read-only and first, and picks the policy default', async () => {
    const service = await open(withPolicy({ version: 1, profiles: [studio], defaultProfile: 'studio' }));
    await service.saveProfile({ id: 'home', name: 'Home', brokerUrl: 'https://home.example' });
    const list = service.list();
    expect(list.profiles.map((p) => [p.id, p.source, p.locked])).toEqual([['studio', 'managed', true], ['home', 'user', false]]);
    expect(list.defaultProfileId).toBe('studio');
    expect(await code(service.removeProfile('studio'))).toBe('ERR_FORBIDDEN');
    expect(await code(service.saveProfile({ ...studio, brokerUrl: 'https://evil.example' }))).toBe('ERR_FORBIDDEN');
  });

  it('pinned brokers: other brokers cannot be saved, listed or signed in to', async () => {
    writeFileSync(join(dir, PROFILES_FILE_NAME), JSON.stringify({ version: 1, profiles: [{ id: 'old', name: 'Old', brokerUrl: 'https://old.example' }] }));
    const service = await open(withPolicy({ version: 1, allowedBrokers: ['https://broker.studio.example'] }));
    expect(service.list().profiles).toEqual([]);
    expect(service.list().allowedBrokers).toEqual(['https://broker.studio.example']);
    expect(await code(service.saveProfile({ id: 'x', name: 'X', brokerUrl: 'https://other.example' }))).toBe('ERR_FORBIDDEN');
    expect(service.isBrokerAllowed('https://broker.studio.example/')).toBe(true);
    expect(service.isBrokerAllowed('https://old.example')).toBe(false);
  });

  it('allowUserProfiles false hides and forbids user profiles', async () => {
    const service = await open(withPolicy({ version: 1, allowUserProfiles: false, profiles: [studio] }));
    expect(await code(service.saveProfile({ id: 'home', name: 'Home', brokerUrl: 'https://home.example' }))).toBe('ERR_FORBIDDEN');
    expect(service.isBrokerAllowed('https://home.example')).toBe(false);
    expect(service.isBrokerAllowed(studio.brokerUrl)).toBe(true);
  });

  it('refuses to change a locked setting or the policy-only update server', async () => {
    const service = await open(withPolicy({ version: 1, settings: { clipboard: 'off' }, locked: ['clipboard'] }));
    expect(await code(service.setSettings({ clipboard: 'both' }))).toBe('ERR_FORBIDDEN');
    expect(await code(service.setSettings({ updateUrl: 'https://evil.example' } as never))).toBe('ERR_FORBIDDEN');
    const after = await service.setSettings({ showStats: true });
    expect(after.showStats).toEqual({ value: true, locked: false, source: 'user' });
    expect(after.clipboard).toEqual({ value: 'off', locked: true, source: 'managed' });
    expect(JSON.parse(readFileSync(join(dir, PROFILES_FILE_NAME), 'utf8'))).toMatchObject({ settings: { showStats: true } });
  });

  it('a broken policy blocks every broker', async () => {
    const broken: Policies = { ...withPolicy(null), managed: { kind: 'managed', path: '/etc/backlot/policy.json', policy: null, error: 'bad' } };
    const service = await open(broken, 'https://broker.studio.example');
    expect(service.policyError).toBe('bad');
    expect(service.isBrokerAllowed('https://broker.studio.example')).toBe(false);
  });

  it('offers BACKLOT_BROKER_URL as a profile only if the pin allows it', async () => {
    expect((await open(NO_POLICIES, 'https://env.example')).list().profiles.map((p) => p.source)).toEqual(['environment']);
    expect((await open(withPolicy({ version: 1, allowedBrokers: ['https://a.example'] }), 'https://env.example')).list().profiles).toEqual([]);
  });
});

describe('without any policy', () => {
  it('only brokers of listed profiles are allowed (a page cannot aim main at an arbitrary server)', async () => {
    const service = await open(NO_POLICIES, null);
    expect(service.isBrokerAllowed('https://anything.example')).toBe(false);
    await service.saveProfile({ id: 'a', name: 'A', brokerUrl: 'https://anything.example' });
    expect(service.isBrokerAllowed('https://anything.example')).toBe(true);
    expect(service.knownBrokers()).toEqual(['https://anything.example']);
  });
});
