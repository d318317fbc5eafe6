/**
 * The published policy JSON Schema is generated from the zod schema and must
 * match it; the IT admin reference (README.md) must document every
 * key, and its example policies must validate against the published schema.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { generatePolicySchema } from '../../scripts/policy-schema.mjs';
import { ClientPolicy, SETTING_KEYS } from '../../src/shared/managed-policy.js';

const committed = readFileSync(new URL('../../schemas/policy.schema.json', import.meta.url), 'utf8');
const docs = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(committed) as object);

describe('schemas/policy.schema.json', () => {
  it('is up to date with the zod schema (run `node scripts/policy-schema.mjs`)', async () => {
    expect(committed).toBe(await generatePolicySchema());
  });

  it('accepts what the app accepts and refuses what it refuses', () => {
    const good = { version: 1, allowedBrokers: ['https://broker.studio.example'], settings: { clipboard: 'off' }, locked: ['clipboard'] };
    expect(validate(good)).toBe(true);
    expect(ClientPolicy.safeParse(good).success).toBe(true);
    for (const bad of [{ version: 1, clipbaord: 'off' }, { version: 1, locked: ['nope'] }, { version: 1, allowedBrokers: ['http://remote.example'] }]) {
      expect(validate(bad)).toBe(false);
      expect(ClientPolicy.safeParse(bad).success).toBe(false);
    }
  });
});

describe('README.md', () => {
  it('documents every policy key and every setting', () => {
    const keys = [...Object.keys(ClientPolicy.shape), ...SETTING_KEYS, 'id', 'name', 'brokerUrl', 'username', 'preferences'];
    for (const key of keys) expect(docs, key).toContain(`\`${key}\``);
  });

  it('has example policies that validate against the published schema', () => {
    const examples = [...docs.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((text) => text.includes('"version": 1') && !text.includes('"profile"'));
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const example of examples) {
      expect(validate(JSON.parse(example)), JSON.stringify(validate.errors)).toBe(true);
    }
  });
});
