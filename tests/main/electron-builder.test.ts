import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8')) as object;
// strict: false because the schema uses keywords Ajv does not know (it is generated from TypeScript).
// Compiled once: the schema is large.
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const config = load(readFileSync(new URL('../../electron-builder.yml', import.meta.url), 'utf8')) as Record<string, unknown>;

/** Target names of a platform section, whether written as strings or `{ target }` objects. */
function targets(section: unknown): string[] {
  const list = (section as { target?: unknown }).target;
  const items = Array.isArray(list) ? (list as unknown[]) : [list];
  return items.map((t) => (typeof t === 'string' ? t : (t as { target: string }).target));
}

describe('electron-builder.yml', () => {
  it("validates against electron-builder's own schema", () => {
    const valid = validate(config);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema check can fail (guards against a vacuous test)', () => {
    expect(validate({ ...config, nsis: { perMachine: 'yes' } })).toBe(false);
    expect(validate({ ...config, notAnOption: true })).toBe(false);
  });

  it('identifies the product', () => {
    expect(config.appId).toBe('studio.backlot.client');
    expect(config.productName).toBe('Backlot');
    expect(config.files).toContain('dist/**');
  });

  it('builds every installer studios deploy', () => {
    expect(targets(config.win)).toEqual(expect.arrayContaining(['nsis', 'msi']));
    expect(targets(config.mac)).toEqual(expect.arrayContaining(['dmg', 'pkg']));
    expect(targets(config.linux)).toEqual(expect.arrayContaining(['AppImage', 'deb', 'rpm']));
    expect(config.nsis).toMatchObject({ perMachine: true });
    expect(config.msi).toMatchObject({ perMachine: true });
    expect(config.pkg).toMatchObject({ installLocation: '/Applications' });
  });

  it('ships the baked-in studio policy inside the app archive', () => {
    // scripts/dist.mjs writes dist/policy/installer-policy.json; src/main/policy.ts reads it from there.
    expect(config.files).toContain('dist/**');
    expect(config.files).not.toContain('!dist/policy/**');
    expect(readFileSync(new URL('../../scripts/dist.mjs', import.meta.url), 'utf8')).toContain("join(root, 'dist', 'policy', 'installer-policy.json')");
  });

  it('publishes update metadata for a generic (studio-hosted) update server', () => {
    expect(config.publish).toMatchObject({ provider: 'generic', url: '${env.BACKLOT_UPDATE_URL}' });
  });

  it('registers backlot:// links and .backlot files', () => {
    const protocols = config.protocols as { schemes: string[] }[];
    expect(protocols.flatMap((p) => p.schemes)).toContain('backlot');
    const associations = config.fileAssociations as { ext: string }[];
    expect(associations.map((a) => a.ext)).toContain('backlot');
    expect((config.linux as { mimeTypes: string[] }).mimeTypes).toEqual(expect.arrayContaining(['x-scheme-handler/backlot', 'application/x-backlot']));
  });

  it('flips the security fuses', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
    expect(config.asar).toBe(true);
  });
});
