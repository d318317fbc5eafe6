/**
 * The broker's directory: users, workstations and who may reach which. All
 * data access goes through the `Directory` interface so that the SQLite and
 * PostgreSQL back ends can replace this in-memory one without touching the
 * handlers.
 */
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { tokenDigest } from './tokens.js';

export interface UserRecord {
  username: string;
  displayName: string;
  passwordHash: string;
}

export interface WorkstationRecord {
  id: string;
  name: string;
  /** SHA-256 digest of the host agent's secret (see tokens.ts). */
  secretDigest: string;
}

export interface Directory {
  findUser(username: string): UserRecord | undefined;
  findWorkstation(id: string): WorkstationRecord | undefined;
  workstationsFor(username: string): WorkstationRecord[];
  isAssigned(username: string, workstationId: string): boolean;
  verifyHostSecret(workstationId: string, secret: string): boolean;
}

const name = z.string().min(1).max(128);
const idSchema = z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/);

/** The directory file format (JSON); also what the demo builds in memory. */
export const DirectoryData = z.strictObject({
  users: z.array(z.strictObject({ username: name, displayName: name, passwordHash: z.string().startsWith('scrypt$') })),
  workstations: z.array(z.strictObject({ id: idSchema, name, secretDigest: z.string().min(32).max(128) })),
  assignments: z.array(z.strictObject({ username: name, workstationId: idSchema })),
});
export type DirectoryData = z.infer<typeof DirectoryData>;

function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** An in-memory directory, loaded from a validated file or built by the demo. */
export class MemoryDirectory implements Directory {
  private readonly users = new Map<string, UserRecord>();
  private readonly workstations = new Map<string, WorkstationRecord>();
  private readonly assignments = new Set<string>();

  constructor(data: DirectoryData) {
    for (const u of data.users) this.users.set(u.username, u);
    for (const w of data.workstations) this.workstations.set(w.id, w);
    for (const a of data.assignments) this.assignments.add(`${a.username}\u0000${a.workstationId}`);
  }

  findUser(username: string): UserRecord | undefined {
    return this.users.get(username);
  }

  findWorkstation(id: string): WorkstationRecord | undefined {
    return this.workstations.get(id);
  }

  workstationsFor(username: string): WorkstationRecord[] {
    return [...this.workstations.values()].filter((w) => this.isAssigned(username, w.id));
  }

  isAssigned(username: string, workstationId: string): boolean {
    return this.assignments.has(`${username}\u0000${workstationId}`);
  }

  verifyHostSecret(workstationId: string, secret: string): boolean {
    const ws = this.workstations.get(workstationId);
    return ws !== undefined && sameDigest(ws.secretDigest, tokenDigest(secret));
  }
}
