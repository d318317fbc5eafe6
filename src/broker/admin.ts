/**
 * Administration operations, shared by the admin REST API and the
 * `backlot-broker` CLI so both validate and audit the same way. Inputs are
 * parsed with these schemas; every change writes an audit entry naming the
 * actor (an admin's username, or `cli:<os user>`).
 */
import { z } from 'zod';
import { HttpError } from './http.js';
import { hashPassword } from './passwords.js';
import type { Store, UserRecord } from './store.js';
import { newToken, tokenDigest } from './tokens.js';
import { newTotpSecret, totpUri } from './totp.js';

const name = z.string().trim().min(1).max(128);
export const Username = z.string().min(1).max(64).regex(/^[A-Za-z0-9._@-]+$/, 'letters, digits, . _ @ - only');
export const WorkstationId = z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only');
export const GroupName = z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only');
/** Long enough to resist guessing; the KDF handles the rest. */
export const Password = z.string().min(10, 'at least 10 characters').max(1024);

export const NewUser = z.strictObject({ username: Username, displayName: name, role: z.enum(['artist', 'admin']).default('artist'), password: Password });
export const UserPatch = z.strictObject({
  displayName: name.optional(),
  role: z.enum(['artist', 'admin']).optional(),
  password: Password.optional(),
  disabled: z.boolean().optional(),
  totpRequired: z.boolean().optional(),
});
export const NewWorkstation = z.strictObject({ id: WorkstationId, name });
export const AssignmentBody = z.union([
  z.strictObject({ workstationId: WorkstationId, user: Username }),
  z.strictObject({ workstationId: WorkstationId, group: GroupName }),
]);
export const AuditQueryParams = z.strictObject({
  since: z.coerce.number().int().min(0).optional(),
  until: z.coerce.number().int().min(0).optional(),
  actor: z.string().max(128).optional(),
  action: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

/** A user as admins see it: never the password hash or TOTP secret. */
export function publicUser(u: UserRecord, now: number) {
  return {
    username: u.username,
    displayName: u.displayName,
    role: u.role,
    disabled: u.disabled,
    totpEnrolled: u.totpSecret !== null,
    totpRequired: u.totpRequired,
    lockedUntil: u.lockedUntil > now ? u.lockedUntil : null,
    createdAt: u.createdAt,
  };
}

export class Admin {
  constructor(
    private readonly store: Store,
    private readonly issuer: string,
    private readonly enrolmentCodeMs: number,
    private readonly now: () => number = Date.now,
    /** Called when a user's tokens must stop working at once (disable, delete, revoke). */
    private readonly onUserRevoked: (username: string) => void = () => undefined,
  ) {}

  private audit(actor: string, action: string, target: string | null, detail?: Record<string, unknown>): void {
    this.store.audit({ at: this.now(), actor, action, target, ip: null, detail: detail ?? null });
  }

  private requireUser(username: string): UserRecord {
    const u = this.store.getUser(username);
    if (!u) throw new HttpError(404, 'ERR_NOT_FOUND', `no user ${username}`);
    return u;
  }

  private requireWorkstation(id: string): void {
    if (!this.store.getWorkstation(id)) throw new HttpError(404, 'ERR_NOT_FOUND', `no workstation ${id}`);
  }

  async createUser(actor: string, input: z.input<typeof NewUser>) {
    const u = NewUser.parse(input);
    if (this.store.getUser(u.username)) throw new HttpError(409, 'ERR_BAD_REQUEST', `user ${u.username} exists`);
    this.store.createUser({ username: u.username, displayName: u.displayName, role: u.role, passwordHash: await hashPassword(u.password) });
    this.audit(actor, 'admin.user.create', u.username, { role: u.role });
    return publicUser(this.requireUser(u.username), this.now());
  }

  listUsers() {
    const now = this.now();
    return this.store.listUsers().map((u) => publicUser(u, now));
  }

  async updateUser(actor: string, username: string, input: z.input<typeof UserPatch>) {
    const patch = UserPatch.parse(input);
    this.requireUser(username);
    const { password, ...rest } = patch;
    this.store.updateUser(username, { ...rest, ...(password ? { passwordHash: await hashPassword(password) } : {}) });
    if (password || patch.disabled || patch.role) {
      // A changed password, a disabled account or a changed role ends existing sign-ins.
      this.store.revokeAllRefreshTokens(username, this.now());
      this.onUserRevoked(username);
    }
    this.audit(actor, 'admin.user.update', username, { fields: Object.keys(patch) });
    return publicUser(this.requireUser(username), this.now());
  }

  deleteUser(actor: string, username: string): void {
    this.requireUser(username);
    this.store.deleteUser(username);
    this.onUserRevoked(username);
    this.audit(actor, 'admin.user.delete', username);
  }

  unlockUser(actor: string, username: string): void {
    this.requireUser(username);
    this.store.unlockUser(username);
    this.audit(actor, 'admin.user.unlock', username);
  }

  /** Creates (or replaces) a user's TOTP secret; the URI goes to the user's authenticator app. */
  enrolTotp(actor: string, username: string): { secret: string; uri: string } {
    this.requireUser(username);
    const secret = newTotpSecret();
    this.store.updateUser(username, { totpSecret: secret });
    this.audit(actor, 'admin.user.totp-enrol', username);
    return { secret, uri: totpUri(secret, username, this.issuer) };
  }

  removeTotp(actor: string, username: string): void {
    this.requireUser(username);
    this.store.updateUser(username, { totpSecret: null });
    this.audit(actor, 'admin.user.totp-remove', username);
  }

  revokeTokens(actor: string, username: string): number {
    this.requireUser(username);
    const n = this.store.revokeAllRefreshTokens(username, this.now());
    this.onUserRevoked(username);
    this.audit(actor, 'admin.user.revoke-tokens', username, { revoked: n });
    return n;
  }

  createGroup(actor: string, group: string): void {
    const g = GroupName.parse(group);
    if (this.store.listGroups().some((x) => x.name === g)) throw new HttpError(409, 'ERR_BAD_REQUEST', `group ${g} exists`);
    this.store.createGroup(g);
    this.audit(actor, 'admin.group.create', g);
  }

  addGroupMember(actor: string, group: string, username: string): void {
    if (!this.store.listGroups().some((x) => x.name === group)) throw new HttpError(404, 'ERR_NOT_FOUND', `no group ${group}`);
    this.requireUser(username);
    this.store.addGroupMember(group, username);
    this.audit(actor, 'admin.group.add-member', group, { username });
  }

  removeGroupMember(actor: string, group: string, username: string): void {
    if (!this.store.removeGroupMember(group, username)) throw new HttpError(404, 'ERR_NOT_FOUND', `${username} is not in ${group}`);
    this.audit(actor, 'admin.group.remove-member', group, { username });
  }

  listGroups() {
    return this.store.listGroups();
  }

  createWorkstation(actor: string, input: z.input<typeof NewWorkstation>) {
    const w = NewWorkstation.parse(input);
    if (this.store.getWorkstation(w.id)) throw new HttpError(409, 'ERR_BAD_REQUEST', `workstation ${w.id} exists`);
    this.store.createWorkstation(w, this.now());
    this.audit(actor, 'admin.workstation.create', w.id, { name: w.name });
  }

  deleteWorkstation(actor: string, id: string): void {
    if (!this.store.deleteWorkstation(id)) throw new HttpError(404, 'ERR_NOT_FOUND', `no workstation ${id}`);
    this.audit(actor, 'admin.workstation.delete', id);
  }

  /** A one-time code the workstation's agent trades for its own credential (`backlot-host enrol`). */
  createEnrolmentCode(actor: string, workstationId: string): { code: string; expiresAt: number } {
    this.requireWorkstation(workstationId);
    // 20 base32-ish characters in groups, easy to type on a workstation console.
    const raw = newToken().replace(/[^A-Za-z0-9]/g, '').toUpperCase().slice(0, 20);
    const code = raw.match(/.{1,5}/g)!.join('-');
    const expiresAt = this.now() + this.enrolmentCodeMs;
    this.store.createEnrolmentCode(workstationId, tokenDigest(normaliseEnrolmentCode(code)), expiresAt);
    this.audit(actor, 'admin.enrol.code-created', workstationId, { expiresAt });
    return { code, expiresAt };
  }

  assign(actor: string, input: z.input<typeof AssignmentBody>): void {
    const a = AssignmentBody.parse(input);
    this.requireWorkstation(a.workstationId);
    if ('user' in a) this.requireUser(a.user);
    else if (!this.store.listGroups().some((g) => g.name === a.group)) throw new HttpError(404, 'ERR_NOT_FOUND', `no group ${a.group}`);
    this.store.assign({ workstationId: a.workstationId, ...('user' in a ? { kind: 'user' as const, principal: a.user } : { kind: 'group' as const, principal: a.group }) });
    this.audit(actor, 'admin.assign', a.workstationId, 'user' in a ? { user: a.user } : { group: a.group });
  }

  unassign(actor: string, input: z.input<typeof AssignmentBody>): void {
    const a = AssignmentBody.parse(input);
    const ok = this.store.unassign({ workstationId: a.workstationId, ...('user' in a ? { kind: 'user' as const, principal: a.user } : { kind: 'group' as const, principal: a.group }) });
    if (!ok) throw new HttpError(404, 'ERR_NOT_FOUND', 'no such assignment');
    this.audit(actor, 'admin.unassign', a.workstationId, 'user' in a ? { user: a.user } : { group: a.group });
  }
}

/** Enrolment codes are compared without dashes, spaces or case, as people type them. */
export function normaliseEnrolmentCode(code: string): string {
  return code.replace(/[\s-]/g, '').toUpperCase();
}
