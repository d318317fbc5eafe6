/**
 * All of the broker's data access goes through the `Store` interface, so that
 * a PostgreSQL implementation for multi-node deployments can replace the
 * SQLite one without touching the handlers. Times are Unix milliseconds.
 */
import { timingSafeEqual } from 'node:crypto';
import type { SessionPolicy } from '../shared/policy.js';
import type { Db } from './db.js';

export type Role = 'artist' | 'admin';

export interface UserRecord {
  username: string;
  displayName: string;
  role: Role;
  passwordHash: string;
  totpSecret: string | null;
  totpRequired: boolean;
  /** Last TOTP time step accepted, so a code cannot be replayed. */
  totpLastStep: number;
  disabled: boolean;
  failedLogins: number;
  lockedUntil: number;
  createdAt: number;
}

export interface WorkstationRecord {
  id: string;
  name: string;
  secretDigest: string | null;
  hostname: string | null;
  enrolledAt: number | null;
  lastSeenAt: number | null;
  createdAt: number;
}

export interface Assignment {
  workstationId: string;
  kind: 'user' | 'group';
  principal: string;
}

export interface GrantRecord {
  sessionId: string;
  workstationId: string;
  username: string;
  policy: SessionPolicy;
  expiresAt: number;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string | null;
  action: string;
  target: string | null;
  ip: string | null;
  detail: Record<string, unknown> | null;
}

export interface AuditQuery {
  since?: number;
  until?: number;
  actor?: string;
  action?: string;
  limit?: number;
}

export type RefreshOutcome =
  | { ok: true; username: string; family: string }
  | { ok: false; reason: 'unknown' | 'expired' | 'revoked' | 'reused'; username?: string };

export type GrantOutcome = { ok: true; grant: GrantRecord } | { ok: false; reason: 'unknown' | 'expired' | 'used' };

export interface Store {
  // users
  createUser(u: Pick<UserRecord, 'username' | 'displayName' | 'role' | 'passwordHash'>): void;
  getUser(username: string): UserRecord | undefined;
  listUsers(): UserRecord[];
  updateUser(username: string, patch: Partial<Pick<UserRecord, 'displayName' | 'role' | 'passwordHash' | 'totpSecret' | 'totpRequired' | 'disabled'>>): boolean;
  deleteUser(username: string): boolean;
  recordLoginFailure(username: string, threshold: number, lockMs: number, now: number): { lockedUntil: number };
  clearLoginFailures(username: string): void;
  unlockUser(username: string): boolean;
  /** Accepts a TOTP step only if it is newer than the last accepted one (atomically). */
  useTotpStep(username: string, step: number): boolean;
  // groups
  createGroup(name: string): void;
  addGroupMember(group: string, username: string): void;
  removeGroupMember(group: string, username: string): boolean;
  listGroups(): { name: string; members: string[] }[];
  // workstations
  createWorkstation(w: { id: string; name: string }, now: number): void;
  getWorkstation(id: string): WorkstationRecord | undefined;
  listWorkstations(): WorkstationRecord[];
  deleteWorkstation(id: string): boolean;
  setHostCredential(id: string, secretDigest: string, hostname: string, now: number): void;
  touchWorkstation(id: string, now: number): void;
  verifyHostSecret(id: string, secretDigest: string): boolean;
  createEnrolmentCode(workstationId: string, codeDigest: string, expiresAt: number): void;
  /** Marks a code used and returns its workstation, or why it cannot be used. Atomic. */
  consumeEnrolmentCode(codeDigest: string, now: number): { ok: true; workstationId: string } | { ok: false; reason: 'unknown' | 'expired' | 'used' };
  // assignments
  assign(a: Assignment): void;
  unassign(a: Assignment): boolean;
  listAssignments(workstationId?: string): Assignment[];
  isAssigned(username: string, workstationId: string): boolean;
  workstationsFor(username: string): WorkstationRecord[];
  // refresh tokens (stored as digests)
  insertRefreshToken(digest: string, username: string, family: string, expiresAt: number): void;
  /** Marks a refresh token used. Presenting a used one again revokes its whole family (theft detection). */
  consumeRefreshToken(digest: string, now: number): RefreshOutcome;
  revokeRefreshToken(digest: string, now: number): boolean;
  revokeAllRefreshTokens(username: string, now: number): number;
  // grants (single use)
  insertGrant(digest: string, g: GrantRecord): void;
  redeemGrant(digest: string, now: number): GrantOutcome;
  // settings
  getSetting(key: string): string | undefined;
  setSetting(key: string, value: string): void;
  // audit
  audit(e: Omit<AuditEntry, 'id'>): void;
  queryAudit(q: AuditQuery): AuditEntry[];
  /** Deletes expired grants, codes and refresh tokens. */
  sweep(now: number): void;
  close(): void;
}

interface UserRow {
  username: string;
  display_name: string;
  role: Role;
  password_hash: string;
  totp_secret: string | null;
  totp_required: number;
  totp_last_step: number;
  disabled: number;
  failed_logins: number;
  locked_until: number;
  created_at: number;
}

interface WorkstationRow {
  id: string;
  name: string;
  secret_digest: string | null;
  hostname: string | null;
  enrolled_at: number | null;
  last_seen_at: number | null;
  created_at: number;
}

const toUser = (r: UserRow): UserRecord => ({
  username: r.username,
  displayName: r.display_name,
  role: r.role,
  passwordHash: r.password_hash,
  totpSecret: r.totp_secret,
  totpRequired: r.totp_required === 1,
  totpLastStep: r.totp_last_step,
  disabled: r.disabled === 1,
  failedLogins: r.failed_logins,
  lockedUntil: r.locked_until,
  createdAt: r.created_at,
});

const toWorkstation = (r: WorkstationRow): WorkstationRecord => ({
  id: r.id,
  name: r.name,
  secretDigest: r.secret_digest,
  hostname: r.hostname,
  enrolledAt: r.enrolled_at,
  lastSeenAt: r.last_seen_at,
  createdAt: r.created_at,
});

function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const USER_COLUMNS: Record<string, string> = {
  displayName: 'display_name',
  role: 'role',
  passwordHash: 'password_hash',
  totpSecret: 'totp_secret',
  totpRequired: 'totp_required',
  disabled: 'disabled',
};

/** The embedded default: one SQLite file (better-sqlite3, synchronous and fast). */
export class SqliteStore implements Store {
  constructor(private readonly db: Db) {}

  createUser(u: Pick<UserRecord, 'username' | 'displayName' | 'role' | 'passwordHash'>): void {
    this.db
      .prepare('INSERT INTO users (username, display_name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(u.username, u.displayName, u.role, u.passwordHash, Date.now());
  }

  getUser(username: string): UserRecord | undefined {
    const row = this.db.prepare('SELECT * FROM users WHERE username = ?').get(username) as UserRow | undefined;
    return row && toUser(row);
  }

  listUsers(): UserRecord[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(toUser);
  }

  updateUser(username: string, patch: Parameters<Store['updateUser']>[1]): boolean {
    const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return this.getUser(username) !== undefined;
    const sets = entries.map(([k]) => `${USER_COLUMNS[k]} = ?`).join(', ');
    const values = entries.map(([, v]) => (typeof v === 'boolean' ? (v ? 1 : 0) : v) as string | number | null);
    return this.db.prepare(`UPDATE users SET ${sets} WHERE username = ?`).run(...values, username).changes === 1;
  }

  deleteUser(username: string): boolean {
    return this.db.transaction(() => {
      this.db.prepare("DELETE FROM assignments WHERE principal_kind = 'user' AND principal = ?").run(username);
      return this.db.prepare('DELETE FROM users WHERE username = ?').run(username).changes === 1;
    })();
  }

  recordLoginFailure(username: string, threshold: number, lockMs: number, now: number): { lockedUntil: number } {
    return this.db.transaction(() => {
      this.db.prepare('UPDATE users SET failed_logins = failed_logins + 1 WHERE username = ?').run(username);
      this.db
        .prepare('UPDATE users SET locked_until = ?, failed_logins = 0 WHERE username = ? AND failed_logins >= ?')
        .run(now + lockMs, username, threshold);
      const row = this.db.prepare('SELECT locked_until FROM users WHERE username = ?').get(username) as { locked_until: number } | undefined;
      return { lockedUntil: row?.locked_until ?? 0 };
    })();
  }

  clearLoginFailures(username: string): void {
    this.db.prepare('UPDATE users SET failed_logins = 0 WHERE username = ?').run(username);
  }

  unlockUser(username: string): boolean {
    return this.db.prepare('UPDATE users SET failed_logins = 0, locked_until = 0 WHERE username = ?').run(username).changes === 1;
  }

  useTotpStep(username: string, step: number): boolean {
    return this.db.prepare('UPDATE users SET totp_last_step = ? WHERE username = ? AND totp_last_step < ?').run(step, username, step).changes === 1;
  }

  createGroup(name: string): void {
    this.db.prepare('INSERT INTO groups (name) VALUES (?)').run(name);
  }

  addGroupMember(group: string, username: string): void {
    this.db.prepare('INSERT OR IGNORE INTO group_members (group_name, username) VALUES (?, ?)').run(group, username);
  }

  removeGroupMember(group: string, username: string): boolean {
    return this.db.prepare('DELETE FROM group_members WHERE group_name = ? AND username = ?').run(group, username).changes === 1;
  }

  listGroups(): { name: string; members: string[] }[] {
    const groups = this.db.prepare('SELECT name FROM groups ORDER BY name').all() as { name: string }[];
    const members = this.db.prepare('SELECT username FROM group_members WHERE group_name = ? ORDER BY username');
    return groups.map((g) => ({ name: g.name, members: (members.all(g.name) as { username: string }[]).map((m) => m.username) }));
  }

  createWorkstation(w: { id: string; name: string }, now: number): void {
    this.db.prepare('INSERT INTO workstations (id, name, created_at) VALUES (?, ?, ?)').run(w.id, w.name, now);
  }

  getWorkstation(id: string): WorkstationRecord | undefined {
    const row = this.db.prepare('SELECT * FROM workstations WHERE id = ?').get(id) as WorkstationRow | undefined;
    return row && toWorkstation(row);
  }

  listWorkstations(): WorkstationRecord[] {
    return (this.db.prepare('SELECT * FROM workstations ORDER BY id').all() as WorkstationRow[]).map(toWorkstation);
  }

  deleteWorkstation(id: string): boolean {
    return this.db.prepare('DELETE FROM workstations WHERE id = ?').run(id).changes === 1;
  }

  setHostCredential(id: string, secretDigest: string, hostname: string, now: number): void {
    this.db.prepare('UPDATE workstations SET secret_digest = ?, hostname = ?, enrolled_at = ? WHERE id = ?').run(secretDigest, hostname, now, id);
  }

  touchWorkstation(id: string, now: number): void {
    this.db.prepare('UPDATE workstations SET last_seen_at = ? WHERE id = ?').run(now, id);
  }

  verifyHostSecret(id: string, secretDigest: string): boolean {
    const ws = this.getWorkstation(id);
    return typeof ws?.secretDigest === 'string' && sameDigest(ws.secretDigest, secretDigest);
  }

  createEnrolmentCode(workstationId: string, codeDigest: string, expiresAt: number): void {
    this.db.prepare('INSERT INTO enrolment_codes (code_digest, workstation_id, expires_at) VALUES (?, ?, ?)').run(codeDigest, workstationId, expiresAt);
  }

  consumeEnrolmentCode(codeDigest: string, now: number): ReturnType<Store['consumeEnrolmentCode']> {
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT * FROM enrolment_codes WHERE code_digest = ?').get(codeDigest) as
        | { workstation_id: string; expires_at: number; used_at: number | null }
        | undefined;
      if (!row) return { ok: false as const, reason: 'unknown' as const };
      if (row.used_at !== null) return { ok: false as const, reason: 'used' as const };
      if (row.expires_at <= now) return { ok: false as const, reason: 'expired' as const };
      this.db.prepare('UPDATE enrolment_codes SET used_at = ? WHERE code_digest = ?').run(now, codeDigest);
      return { ok: true as const, workstationId: row.workstation_id };
    })();
  }

  assign(a: Assignment): void {
    this.db.prepare('INSERT OR IGNORE INTO assignments (workstation_id, principal_kind, principal) VALUES (?, ?, ?)').run(a.workstationId, a.kind, a.principal);
  }

  unassign(a: Assignment): boolean {
    return (
      this.db.prepare('DELETE FROM assignments WHERE workstation_id = ? AND principal_kind = ? AND principal = ?').run(a.workstationId, a.kind, a.principal)
        .changes === 1
    );
  }

  listAssignments(workstationId?: string): Assignment[] {
    const rows = (
      workstationId === undefined
        ? this.db.prepare('SELECT * FROM assignments ORDER BY workstation_id, principal_kind, principal').all()
        : this.db.prepare('SELECT * FROM assignments WHERE workstation_id = ? ORDER BY principal_kind, principal').all(workstationId)
    ) as { workstation_id: string; principal_kind: 'user' | 'group'; principal: string }[];
    return rows.map((r) => ({ workstationId: r.workstation_id, kind: r.principal_kind, principal: r.principal }));
  }

  private static readonly ASSIGNED_SQL = `
    SELECT DISTINCT w.* FROM workstations w JOIN assignments a ON a.workstation_id = w.id
    WHERE ((a.principal_kind = 'user' AND a.principal = @u)
       OR (a.principal_kind = 'group' AND a.principal IN (SELECT group_name FROM group_members WHERE username = @u)))`;

  isAssigned(username: string, workstationId: string): boolean {
    return this.db.prepare(`${SqliteStore.ASSIGNED_SQL} AND w.id = @w`).get({ u: username, w: workstationId }) !== undefined;
  }

  workstationsFor(username: string): WorkstationRecord[] {
    return (this.db.prepare(`${SqliteStore.ASSIGNED_SQL} ORDER BY w.name`).all({ u: username }) as WorkstationRow[]).map(toWorkstation);
  }

  insertRefreshToken(digest: string, username: string, family: string, expiresAt: number): void {
    this.db.prepare('INSERT INTO refresh_tokens (token_digest, username, family, expires_at) VALUES (?, ?, ?, ?)').run(digest, username, family, expiresAt);
  }

  consumeRefreshToken(digest: string, now: number): RefreshOutcome {
    return this.db.transaction((): RefreshOutcome => {
      const row = this.db.prepare('SELECT * FROM refresh_tokens WHERE token_digest = ?').get(digest) as
        | { username: string; family: string; expires_at: number; used_at: number | null; revoked_at: number | null }
        | undefined;
      if (!row) return { ok: false, reason: 'unknown' };
      if (row.revoked_at !== null) return { ok: false, reason: 'revoked', username: row.username };
      if (row.used_at !== null) {
        // A refresh token used twice means two parties hold it: end the whole family.
        this.db.prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL').run(now, row.family);
        return { ok: false, reason: 'reused', username: row.username };
      }
      if (row.expires_at <= now) return { ok: false, reason: 'expired', username: row.username };
      this.db.prepare('UPDATE refresh_tokens SET used_at = ? WHERE token_digest = ?').run(now, digest);
      return { ok: true, username: row.username, family: row.family };
    })();
  }

  revokeRefreshToken(digest: string, now: number): boolean {
    const row = this.db.prepare('SELECT family FROM refresh_tokens WHERE token_digest = ?').get(digest) as { family: string } | undefined;
    if (!row) return false;
    return this.db.prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL').run(now, row.family).changes > 0;
  }

  revokeAllRefreshTokens(username: string, now: number): number {
    return this.db.prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE username = ? AND revoked_at IS NULL').run(now, username).changes;
  }

  insertGrant(digest: string, g: GrantRecord): void {
    this.db
      .prepare('INSERT INTO grants (token_digest, session_id, workstation_id, username, policy, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(digest, g.sessionId, g.workstationId, g.username, JSON.stringify(g.policy), g.expiresAt);
  }

  redeemGrant(digest: string, now: number): GrantOutcome {
    return this.db.transaction((): GrantOutcome => {
      const row = this.db.prepare('SELECT * FROM grants WHERE token_digest = ?').get(digest) as
        | { session_id: string; workstation_id: string; username: string; policy: string; expires_at: number; used_at: number | null }
        | undefined;
      if (!row) return { ok: false, reason: 'unknown' };
      if (row.used_at !== null) return { ok: false, reason: 'used' };
      if (row.expires_at <= now) return { ok: false, reason: 'expired' };
      this.db.prepare('UPDATE grants SET used_at = ? WHERE token_digest = ?').run(now, digest);
      return {
        ok: true,
        grant: {
          sessionId: row.session_id,
          workstationId: row.workstation_id,
          username: row.username,
          policy: JSON.parse(row.policy) as SessionPolicy,
          expiresAt: row.expires_at,
        },
      };
    })();
  }

  getSetting(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setSetting(key: string, value: string): void {
    this.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  audit(e: Omit<AuditEntry, 'id'>): void {
    this.db
      .prepare('INSERT INTO audit (at, actor, action, target, ip, detail) VALUES (?, ?, ?, ?, ?, ?)')
      .run(e.at, e.actor, e.action, e.target, e.ip, e.detail ? JSON.stringify(e.detail) : null);
  }

  queryAudit(q: AuditQuery): AuditEntry[] {
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: Math.min(Math.max(q.limit ?? 100, 1), 10_000) };
    if (q.since !== undefined) {
      where.push('at >= @since');
      params.since = q.since;
    }
    if (q.until !== undefined) {
      where.push('at < @until');
      params.until = q.until;
    }
    if (q.actor !== undefined) {
      where.push('actor = @actor');
      params.actor = q.actor;
    }
    if (q.action !== undefined) {
      // `login` matches login.success, login.failure, …
      where.push('(action = @action OR action LIKE @prefix)');
      params.action = q.action;
      params.prefix = `${q.action}.%`;
    }
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`;
    const rows = this.db.prepare(sql).all(params) as { id: number; at: number; actor: string | null; action: string; target: string | null; ip: string | null; detail: string | null }[];
    return rows.map((r) => ({ ...r, detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null }));
  }

  sweep(now: number): void {
    this.db.prepare('DELETE FROM grants WHERE expires_at <= ?').run(now);
    this.db.prepare('DELETE FROM enrolment_codes WHERE expires_at <= ?').run(now);
    this.db.prepare('DELETE FROM refresh_tokens WHERE expires_at <= ?').run(now);
  }

  close(): void {
    this.db.close();
  }
}
