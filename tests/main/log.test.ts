import { describe, expect, it, vi } from 'vitest';
import { buildDiagnostics } from '../../src/main/diagnostics.js';
import { Logger, REDACTED, redact } from '../../src/main/log.js';
import { NO_POLICIES, resolveSettings } from '../../src/main/policy.js';

describe('redact', () => {
  it.each([
    ['Authorization: Bearer tok_abcdefghijklmnop', 'tok_abc'],
    ['{"username":"ana","password":"hunter2 \\"quoted\\""}', 'hunter2'],
    ['{"refreshToken": "ref_0000000000000000000001"}', 'ref_0000'],
    ['{"mfaToken":"mfa_ccccccccccccccccc","code":"123456"}', '123456'],
    ['wss://broker.example/ws?grantToken=g_secret_value&x=1', 'g_secret'],
    ['https://ana:pa55word@broker.example/', 'pa55word'],
  ])('removes the secret from %s', (line, secret) => {
    const out = redact(line);
    expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
  });

  it('keeps error codes readable', () => {
    expect(redact('{"code":"ERR_BAD_TOTP"}')).toBe('{"code":"ERR_BAD_TOTP"}');
  });

  it('removes registered live secrets wherever they appear', () => {
    const sink = vi.fn();
    const log = new Logger({ sink });
    log.addSecret('tok_live_secret_value');
    log.warn('unexpected reply mentioning tok_live_secret_value in prose');
    expect(log.tail().join('\n')).not.toContain('tok_live_secret_value');
    expect(JSON.stringify(sink.mock.calls)).not.toContain('tok_live_secret_value');
  });

  it('keeps only the last lines', () => {
    const log = new Logger({ ringLines: 3 });
    for (let i = 0; i < 10; i += 1) log.info(`line ${i}`);
    expect(log.tail().map((l) => l.split(' ').slice(2).join(' '))).toEqual(['line 7', 'line 8', 'line 9']);
  });
});

describe('diagnostics bundle', () => {
  it('has versions, policy state and settings, and no secret even if one slipped into the log', () => {
    const text = buildDiagnostics({
      version: '1.2.3',
      platform: 'linux',
      arch: 'x64',
      versions: { electron: '45.0.0' },
      policies: { ...NO_POLICIES, managed: { kind: 'managed', path: '/etc/backlot/policy.json', policy: null, error: 'bad JSON' } },
      settings: resolveSettings(NO_POLICIES, {}),
      profiles: { profiles: [], defaultProfileId: null, allowUserProfiles: true, allowedBrokers: null },
      credentials: { canRemember: false, reason: 'basic-text', message: 'no keyring', remembered: false },
      signedInBroker: 'https://broker.example',
      sessions: [{ workstationId: 'ws-042', state: 'connected' }],
      log: ['2025-01-01T00:00:00.000Z WARN sent {"password":"hunter2"} with Bearer tok_abcdefghijk'],
      now: new Date('2025-01-01T00:00:00Z'),
    });
    const report = JSON.parse(text);
    expect(report).toMatchObject({ format: 'backlot-diagnostics/1', app: { version: '1.2.3' }, policy: { managed: { valid: false, error: 'bad JSON' } } });
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('tok_abcdefghijk');
  });
});
