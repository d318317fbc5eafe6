/** Types for scripts/policy-schema.mjs (imported by tests/main/policy-schema.test.ts). */
export declare const SCHEMA_PATH: string;
export declare const SCHEMA_ID: string;
/** The text of schemas/policy.schema.json as generated from the zod schema now. */
export declare function generatePolicySchema(): Promise<string>;
