// Generates schemas/policy.schema.json (the JSON Schema of the IT policy file)
// from the zod schema in src/shared/managed-policy.ts, so the two cannot drift.
//
//   node scripts/policy-schema.mjs          write the file
//   node scripts/policy-schema.mjs --check  fail if the committed file is stale
//
// tests/main/policy-schema.test.ts runs the same comparison.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMA_PATH = join(root, 'schemas', 'policy.schema.json');
/** Where the published schema lives; policy files may point "$schema" at it. */
export const SCHEMA_ID = 'https://backlot.studio/schemas/policy.schema.json';

/** The schema's text, generated now. */
export async function generatePolicySchema() {
  const { z } = await import('zod');
  const { ClientPolicy } = await tsImport(pathToFileURL(join(root, 'src', 'shared', 'managed-policy.ts')).href, import.meta.url);
  // io: 'input' describes what an admin writes (defaults and optional keys as written, not as parsed).
  const schema = { ...z.toJSONSchema(ClientPolicy, { io: 'input' }), $id: SCHEMA_ID };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = await generatePolicySchema();
  if (process.argv.includes('--check')) {
    if (readFileSync(SCHEMA_PATH, 'utf8') !== text) {
      console.error('schemas/policy.schema.json is stale: run `node scripts/policy-schema.mjs`');
      process.exit(1);
    }
    console.log('schemas/policy.schema.json is up to date');
  } else {
    writeFileSync(SCHEMA_PATH, text);
    console.log(`wrote ${SCHEMA_PATH}`);
  }
}
