import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { BROKER_URL_ENV, CONFIG_FILE_NAME, loadConfig, normaliseBrokerUrl } from '../../src/main/config.js';

const userDataDir = '/home/ana/.config/Backlot';

function sources(options: { env?: Record<string, string>; file?: string | Error }) {
  const warn = vi.fn();
  const readFile = vi.fn((path: string) => {
    expect(path).toBe(join(userDataDir, CONFIG_FILE_NAME));
    if (options.file === undefined) return Promise.reject(Object.assign(new Error('nope'), { code: 'ENOENT' }));
    if (options.file instanceof Error) return Promise.reject(options.file);
    return Promise.resolve(options.file);
  });
  return { env: options.env ?? {}, userDataDir, readFile, warn };
}

describe('normaliseBrokerUrl', () => {
  it.each([
    ['https://broker.studio.example', 'https://broker.studio.example'],
    ['https://broker.studio.example/', 'https://broker.studio.example'],
    ['HTTPS://Broker.Studio.Example:443', 'https://broker.studio.example'],
    ['https://broker.studio.example:8443', 'https://broker.studio.example:8443'],
    ['http://127.0.0.1:5174', 'http://127.0.0.1:5174'],
    ['http://localhost:5174/', 'http://localhost:5174'],
    ['http://[::1]:5174', 'http://[::1]:5174'],
  ])('accepts %s as %s', (raw, origin) => {
    expect(normaliseBrokerUrl(raw)).toEqual({ ok: true, url: origin });
  });

  it.each([
    'broker.studio.example',
    'http://broker.studio.example',
    'ftp://broker.studio.example',
    'https://ana:secret@broker.studio.example',
    'https://broker.studio.example/backlot',
    'https://broker.studio.example/?x=1',
    'javascript:alert(1)',
  ])('refuses %s', (raw) => {
    expect(normaliseBrokerUrl(raw).ok).toBe(false);
  });
});

describe('loadConfig', () => {
  it('means "offer the demo" when nothing is configured', async () => {
    const s = sources({});
    expect(await loadConfig(s)).toEqual({ brokerUrl: null });
    expect(s.warn).not.toHaveBeenCalled();
  });

  it('takes the environment variable first', async () => {
    const s = sources({ env: { [BROKER_URL_ENV]: 'https://env.example/' }, file: '{"brokerUrl":"https://file.example"}' });
    expect(await loadConfig(s)).toEqual({ brokerUrl: 'https://env.example' });
    expect(s.readFile).not.toHaveBeenCalled();
  });

  it('reads config.json from userData', async () => {
    expect(await loadConfig(sources({ file: '{"brokerUrl":"https://file.example"}' }))).toEqual({ brokerUrl: 'https://file.example' });
    expect(await loadConfig(sources({ file: '{}' }))).toEqual({ brokerUrl: null });
  });

  it.each([
    ['an invalid env URL', { env: { [BROKER_URL_ENV]: 'http://remote.example' } }],
    ['a file that is not JSON', { file: '{brokerUrl:' }],
    ['an unknown key (typo)', { file: '{"brokerURL":"https://file.example"}' }],
    ['an insecure URL', { file: '{"brokerUrl":"http://file.example"}' }],
    ['an unreadable file', { file: Object.assign(new Error('denied'), { code: 'EACCES' }) }],
  ])('warns and falls back to "not configured" for %s', async (_name, options) => {
    const s = sources(options);
    expect(await loadConfig(s)).toEqual({ brokerUrl: null });
    expect(s.warn).toHaveBeenCalledTimes(1);
  });
});
