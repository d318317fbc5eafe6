import { describe, expect, it } from 'vitest';
import {
  INSTALLER_POLICY_PATH,
  NO_POLICIES,
  loadPolicies,
  lockedBy,
  managedPolicyPath,
  pinnedBrokers,
  policyError,
  readPolicyFile,
  resolveSettings,
  type Policies,
} from '../../src/main/policy.js';
import { DEFAULT_SETTINGS, type ClientPolicy } from '../../src/shared/managed-policy.js';
import { join } from 'node:path';

const notFound = () => Promise.reject(Object.assign(new Error('nope'), { code: 'ENOENT' }));
const files = (map: Record<string, string>) => (path: string) => (path in map ? Promise.resolve(map[path]!) : notFound());

function policies(managed: ClientPolicy | null, installer: ClientPolicy | null): Policies {
  return {
    managed: { kind: 'managed', path: '/etc/backlot/policy.json', policy: managed, error: null },
    installer: { kind: 'installer', path: '/app/dist/policy/installer-policy.json', policy: installer, error: null },
  };
}

describe('policy locations', () => {
  it.each<[NodeJS.Platform, Record<string, string>, string]>([
    ['win32', { ProgramData: 'D:\\ProgramData' }, 'D:\\ProgramData\\Backlot\\policy.json'],
    ['win32', {}, 'C:\\ProgramData\\Backlot\\policy.json'],
    ['darwin', {}, '/Library/Application Support/Backlot/policy.json'],
    ['linux', {}, '/etc/backlot/policy.json'],
  ])('%s', (platform, env, expected) => {
    expect(managedPolicyPath(platform, env)).toBe(expected);
  });

  it('reads the managed file and the installer file baked into the app', async () => {
    const loaded = await loadPolicies({
      platform: 'linux',
      env: {},
      appRoot: '/app',
      readFile: files({
        '/etc/backlot/policy.json': JSON.stringify({ version: 1, locked: ['clipboard'] }),
        [join('/app', INSTALLER_POLICY_PATH)]: JSON.stringify({ version: 1, settings: { clipboard: 'off' } }),
      }),
    });
    expect(loaded.managed.policy).toEqual({ version: 1, locked: ['clipboard'] });
    expect(loaded.installer.policy).toEqual({ version: 1, settings: { clipboard: 'off' } });
    expect(policyError(loaded)).toBeNull();
  });
});

describe('readPolicyFile', () => {
  it('treats a missing file as no policy', async () => {
    expect(await readPolicyFile('managed', '/x/policy.json', notFound)).toEqual({ kind: 'managed', path: '/x/policy.json', policy: null, error: null });
  });

  it('accepts a UTF-8 BOM (Notepad)', async () => {
    const file = await readPolicyFile('managed', '/p', () => Promise.resolve('\uFEFF{"version":1}'));
    expect(file.error).toBeNull();
  });

  it.each([
    ['not JSON', '{', /not valid JSON/],
    ['an unknown key (a typo must not be silently ignored)', JSON.stringify({ version: 1, clipbaord: 'off' }), /clipbaord/],
    ['a wrong value', JSON.stringify({ version: 1, settings: { clipboard: 'sometimes' } }), /clipboard/],
    ['locking an unknown setting', JSON.stringify({ version: 1, locked: ['everything'] }), /locked/],
    ['a broker with a path', JSON.stringify({ version: 1, allowedBrokers: ['https://b.example/api'] }), /allowedBrokers/],
    ['plain http to a remote broker', JSON.stringify({ version: 1, allowedBrokers: ['http://b.example'] }), /allowedBrokers/],
    ['a profile outside the pinned brokers', JSON.stringify({ version: 1, allowedBrokers: ['https://a.example'], profiles: [{ id: 'x', name: 'X', brokerUrl: 'https://b.example' }] }), /not in allowedBrokers/],
    ['a duplicate profile id', JSON.stringify({ version: 1, profiles: [{ id: 'x', name: 'X', brokerUrl: 'https://a.example' }, { id: 'x', name: 'Y', brokerUrl: 'https://a.example' }] }), /twice/],
    ['a default profile that does not exist', JSON.stringify({ version: 1, defaultProfile: 'nope' }), /defaultProfile/],
    ['a profile carrying a password', JSON.stringify({ version: 1, profiles: [{ id: 'x', name: 'X', brokerUrl: 'https://a.example', password: 'p' }] }), /password/],
    ['an oversized file', JSON.stringify({ version: 1, $schema: 'x'.repeat(300_000) }), /larger than/],
  ])('fails closed on %s, with a reason naming the file', async (_name, text, reason) => {
    const file = await readPolicyFile('managed', '/etc/backlot/policy.json', () => Promise.resolve(text));
    expect(file.policy).toBeNull();
    expect(file.error).toMatch(reason);
    expect(file.error).toContain('/etc/backlot/policy.json');
  });

  it('fails closed on a file that exists but cannot be read', async () => {
    const file = await readPolicyFile('managed', '/p', () => Promise.reject(Object.assign(new Error('denied'), { code: 'EACCES' })));
    expect(file.error).toMatch(/could not be read/);
  });
});

describe('resolveSettings: locked-managed > installer > user > default', () => {
  it('uses defaults with no policy and no user choice', () => {
    const s = resolveSettings(NO_POLICIES, {});
    expect(s.clipboard).toEqual({ value: DEFAULT_SETTINGS.clipboard, locked: false, source: 'default' });
  });

  it('a user choice beats unlocked policy values, which beat defaults', () => {
    const p = policies({ version: 1, settings: { maxFps: 30 } }, { version: 1, settings: { maxFps: 24, showStats: true } });
    const s = resolveSettings(p, { maxFps: 120 });
    expect(s.maxFps).toEqual({ value: 120, locked: false, source: 'user' });
    expect(resolveSettings(p, {}).maxFps).toEqual({ value: 30, locked: false, source: 'managed' });
    expect(resolveSettings(p, {}).showStats).toEqual({ value: true, locked: false, source: 'installer' });
  });

  it('an installer lock beats the user', () => {
    const p = policies(null, { version: 1, settings: { clipboard: 'off' }, locked: ['clipboard'] });
    expect(resolveSettings(p, { clipboard: 'both' }).clipboard).toEqual({ value: 'off', locked: true, source: 'installer' });
  });

  it('a managed lock beats an installer lock, the user and a profile preference', () => {
    const p = policies(
      { version: 1, settings: { maxBitrateKbps: 8000 }, locked: ['maxBitrateKbps'] },
      { version: 1, settings: { maxBitrateKbps: 90000 }, locked: ['maxBitrateKbps'] },
    );
    expect(resolveSettings(p, { maxBitrateKbps: 200 }, { maxBitrateKbps: 300 }).maxBitrateKbps).toEqual({ value: 8000, locked: true, source: 'managed' });
    expect(lockedBy(p, 'maxBitrateKbps')).toBe('managed');
  });

  it('an installer lock beats an unlocked managed value', () => {
    const p = policies({ version: 1, settings: { forceRelay: false } }, { version: 1, settings: { forceRelay: true }, locked: ['forceRelay'] });
    expect(resolveSettings(p, {}).forceRelay).toEqual({ value: true, locked: true, source: 'installer' });
  });

  it('a lock without a value pins the built-in default', () => {
    const p = policies({ version: 1, locked: ['fileTransfer'] }, null);
    expect(resolveSettings(p, { fileTransfer: false }).fileTransfer).toEqual({ value: DEFAULT_SETTINGS.fileTransfer, locked: true, source: 'default' });
  });

  it('a profile preference beats the user default when unlocked', () => {
    expect(resolveSettings(NO_POLICIES, { scaling: 'fill' }, { scaling: 'native' }).scaling).toEqual({ value: 'native', locked: false, source: 'profile' });
  });
});

describe('pinned brokers', () => {
  it('the managed list replaces the installer list, normalised', () => {
    expect(pinnedBrokers(policies({ version: 1, allowedBrokers: ['HTTPS://A.example:443/'] }, { version: 1, allowedBrokers: ['https://b.example'] }))).toEqual(['https://a.example']);
    expect(pinnedBrokers(policies(null, { version: 1, allowedBrokers: ['https://b.example'] }))).toEqual(['https://b.example']);
    expect(pinnedBrokers(NO_POLICIES)).toBeNull();
  });
});
