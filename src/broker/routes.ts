/** The broker's REST API: sign-in, workstations and grants for artists, enrolment for hosts, administration for admins. */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { SessionPolicy } from '../shared/policy.js';
import {
  EnrolRequest,
  LoginRequest,
  RefreshRequest,
  SessionRequest,
  TotpRequest,
  type EnrolResponse,
  type IceServer,
  type SessionGrant,
  type WorkstationList,
} from '../shared/protocol.js';
import type { Accounts, Principal } from './accounts.js';
import { type Admin, AssignmentBody, AuditQueryParams, normaliseEnrolmentCode, NewUser, NewWorkstation, UserPatch } from './admin.js';
import type { SecurityConfig } from './config.js';
import { bearerToken, HttpError, readJson, sendJson } from './http.js';
import { Router, type RequestContext } from './router.js';
import type { SignallingHub } from './signalling.js';
import type { Store } from './store.js';
import { newId, newToken, tokenDigest } from './tokens.js';

export interface RouteDeps {
  store: Store;
  accounts: Accounts;
  admin: Admin;
  hub: SignallingHub;
  security: SecurityConfig;
  policy: SessionPolicy;
  publicUrl: () => string;
  iceServersFor(party: string): IceServer[];
  log: Logger;
  now?: () => number;
}

const OptionalRefresh = z.strictObject({ refreshToken: z.string().min(16).max(512).optional() });

export function buildRoutes(deps: RouteDeps): Router {
  const { store, accounts, admin, hub, log } = deps;
  const now = deps.now ?? Date.now;
  const r = new Router();

  const signedIn = (ctx: RequestContext): Principal => accounts.principal(bearerToken(ctx.req));
  const adminOnly = (ctx: RequestContext): Principal => {
    const p = signedIn(ctx);
    if (p.role !== 'admin') {
      store.audit({ at: now(), actor: p.username, action: 'admin.denied', target: ctx.req.url ?? null, ip: ctx.ip, detail: null });
      throw new HttpError(403, 'ERR_FORBIDDEN', 'administrators only');
    }
    return p;
  };
  const ok = (ctx: RequestContext, body: unknown, status = 200) => sendJson(ctx.res, status, body);
  const noContent = (ctx: RequestContext) => {
    ctx.res.writeHead(204, { 'cache-control': 'no-store' });
    ctx.res.end();
  };
  const body = <T>(ctx: RequestContext, schema: z.ZodType<T>) => readJson(ctx.req, schema);

  // ---------------------------------------------------------------- sign-in
  r.on('POST', '/api/login', async (ctx) => {
    const b = await body(ctx, LoginRequest);
    ok(ctx, await accounts.login(b.username, b.password, ctx.ip));
  });
  r.on('POST', '/api/login/totp', async (ctx) => {
    const b = await body(ctx, TotpRequest);
    ok(ctx, accounts.verifyTotp(b.mfaToken, b.code, ctx.ip));
  });
  r.on('POST', '/api/token/refresh', async (ctx) => {
    const b = await body(ctx, RefreshRequest);
    ok(ctx, accounts.refresh(b.refreshToken, ctx.ip));
  });
  r.on('POST', '/api/logout', async (ctx) => {
    const token = bearerToken(ctx.req);
    if (!token) throw new HttpError(401, 'ERR_UNAUTHORIZED', 'sign in again');
    const b = await body(ctx, OptionalRefresh);
    accounts.logout(token, b.refreshToken, ctx.ip);
    noContent(ctx);
  });

  // ---------------------------------------------------------------- artists
  r.on('GET', '/api/workstations', (ctx) => {
    const who = signedIn(ctx);
    const reply: WorkstationList = {
      workstations: store.workstationsFor(who.username).map((w) => ({ id: w.id, name: w.name, online: hub.isOnline(w.id), inUse: hub.isInUse(w.id) })),
    };
    ok(ctx, reply);
  });

  r.on('POST', '/api/sessions', async (ctx) => {
    const who = signedIn(ctx);
    const b = await body(ctx, SessionRequest);
    // Unknown and unassigned workstations get the same answer, so IDs cannot be probed.
    if (!store.getWorkstation(b.workstationId) || !store.isAssigned(who.username, b.workstationId)) {
      store.audit({ at: now(), actor: who.username, action: 'grant.refused', target: b.workstationId, ip: ctx.ip, detail: { reason: 'not assigned' } });
      throw new HttpError(403, 'ERR_FORBIDDEN', 'you are not assigned to this workstation');
    }
    if (!hub.isOnline(b.workstationId)) throw new HttpError(409, 'ERR_WORKSTATION_OFFLINE', 'the workstation is offline');
    const current = hub.userOn(b.workstationId);
    if (current !== undefined && current !== who.username && !mayTakeOver(who, deps.security)) {
      throw new HttpError(409, 'ERR_WORKSTATION_IN_USE', `the workstation is in use by ${current}`);
    }
    const grantToken = newToken();
    const grant = {
      sessionId: newId('ses'),
      workstationId: b.workstationId,
      username: who.username,
      policy: deps.policy,
      expiresAt: now() + deps.security.grantSeconds * 1000,
    };
    store.insertGrant(tokenDigest(grantToken), grant);
    store.audit({ at: now(), actor: who.username, action: 'grant.issued', target: b.workstationId, ip: ctx.ip, detail: { sessionId: grant.sessionId } });
    const reply: SessionGrant = {
      sessionId: grant.sessionId,
      workstationId: grant.workstationId,
      signalUrl: `${deps.publicUrl().replace(/^http/, 'ws')}/ws/client`,
      grantToken,
      iceServers: deps.iceServersFor(who.username),
      expiresAt: grant.expiresAt,
      policy: grant.policy,
    };
    ok(ctx, reply, 201);
  });

  // ---------------------------------------------------------------- hosts
  r.on('POST', '/api/enrol', async (ctx) => {
    const b = await body(ctx, EnrolRequest);
    const t = now();
    // Enrolment codes are guessable only by brute force; the address throttle slows that down.
    const outcome = store.consumeEnrolmentCode(tokenDigest(normaliseEnrolmentCode(b.code)), t);
    if (!outcome.ok) {
      store.audit({ at: t, actor: null, action: 'enrol.failure', target: null, ip: ctx.ip, detail: { reason: outcome.reason, hostname: b.hostname } });
      throw new HttpError(403, 'ERR_ENROLMENT_CODE', `the enrolment code is ${outcome.reason === 'unknown' ? 'not valid' : outcome.reason}; ask IT for a new one`);
    }
    const ws = store.getWorkstation(outcome.workstationId)!;
    const secret = newToken();
    store.setHostCredential(ws.id, tokenDigest(secret), b.hostname, t);
    store.audit({ at: t, actor: null, action: 'enrol.success', target: ws.id, ip: ctx.ip, detail: { hostname: b.hostname } });
    log.info({ workstationId: ws.id, hostname: b.hostname }, 'workstation enrolled');
    const reply: EnrolResponse = { workstationId: ws.id, name: ws.name, secret };
    ok(ctx, reply, 201);
  });

  // ---------------------------------------------------------------- admins
  r.on('GET', '/api/admin/users', (ctx) => {
    adminOnly(ctx);
    ok(ctx, { users: admin.listUsers() });
  });
  r.on('POST', '/api/admin/users', async (ctx) => {
    const a = adminOnly(ctx);
    ok(ctx, await admin.createUser(a.username, await body(ctx, NewUser)), 201);
  });
  r.on('PATCH', '/api/admin/users/:username', async (ctx) => {
    const a = adminOnly(ctx);
    ok(ctx, await admin.updateUser(a.username, ctx.params.username!, await body(ctx, UserPatch)));
  });
  r.on('DELETE', '/api/admin/users/:username', (ctx) => {
    const a = adminOnly(ctx);
    admin.deleteUser(a.username, ctx.params.username!);
    noContent(ctx);
  });
  r.on('POST', '/api/admin/users/:username/unlock', (ctx) => {
    const a = adminOnly(ctx);
    admin.unlockUser(a.username, ctx.params.username!);
    noContent(ctx);
  });
  r.on('POST', '/api/admin/users/:username/totp', (ctx) => {
    const a = adminOnly(ctx);
    ok(ctx, admin.enrolTotp(a.username, ctx.params.username!), 201);
  });
  r.on('DELETE', '/api/admin/users/:username/totp', (ctx) => {
    const a = adminOnly(ctx);
    admin.removeTotp(a.username, ctx.params.username!);
    noContent(ctx);
  });
  r.on('POST', '/api/admin/users/:username/revoke-tokens', (ctx) => {
    const a = adminOnly(ctx);
    ok(ctx, { revoked: admin.revokeTokens(a.username, ctx.params.username!) });
  });
  r.on('GET', '/api/admin/groups', (ctx) => {
    adminOnly(ctx);
    ok(ctx, { groups: admin.listGroups() });
  });
  r.on('POST', '/api/admin/groups', async (ctx) => {
    const a = adminOnly(ctx);
    const b = await body(ctx, z.strictObject({ name: z.string() }));
    admin.createGroup(a.username, b.name);
    noContent(ctx);
  });
  r.on('POST', '/api/admin/groups/:group/members', async (ctx) => {
    const a = adminOnly(ctx);
    const b = await body(ctx, z.strictObject({ username: z.string() }));
    admin.addGroupMember(a.username, ctx.params.group!, b.username);
    noContent(ctx);
  });
  r.on('DELETE', '/api/admin/groups/:group/members/:username', (ctx) => {
    const a = adminOnly(ctx);
    admin.removeGroupMember(a.username, ctx.params.group!, ctx.params.username!);
    noContent(ctx);
  });
  r.on('GET', '/api/admin/workstations', (ctx) => {
    adminOnly(ctx);
    ok(ctx, {
      workstations: store.listWorkstations().map((w) => ({
        id: w.id,
        name: w.name,
        enrolled: w.secretDigest !== null,
        hostname: w.hostname,
        enrolledAt: w.enrolledAt,
        lastSeenAt: w.lastSeenAt,
        online: hub.isOnline(w.id),
        user: hub.userOn(w.id) ?? null,
        assignments: store.listAssignments(w.id),
      })),
    });
  });
  r.on('POST', '/api/admin/workstations', async (ctx) => {
    const a = adminOnly(ctx);
    admin.createWorkstation(a.username, await body(ctx, NewWorkstation));
    noContent(ctx);
  });
  r.on('DELETE', '/api/admin/workstations/:id', (ctx) => {
    const a = adminOnly(ctx);
    admin.deleteWorkstation(a.username, ctx.params.id!);
    noContent(ctx);
  });
  r.on('POST', '/api/admin/workstations/:id/enrolment-code', (ctx) => {
    // Takes no body: the workstation is in the path.
    const a = adminOnly(ctx);
    ok(ctx, admin.createEnrolmentCode(a.username, ctx.params.id!), 201);
  });
  r.on('POST', '/api/admin/assignments', async (ctx) => {
    const a = adminOnly(ctx);
    admin.assign(a.username, await body(ctx, AssignmentBody));
    noContent(ctx);
  });
  r.on('DELETE', '/api/admin/assignments', async (ctx) => {
    const a = adminOnly(ctx);
    admin.unassign(a.username, await body(ctx, AssignmentBody));
    noContent(ctx);
  });
  r.on('GET', '/api/admin/sessions', (ctx) => {
    adminOnly(ctx);
    ok(ctx, { sessions: hub.listSessions() });
  });
  r.on('GET', '/api/admin/audit', (ctx) => {
    adminOnly(ctx);
    const parsed = AuditQueryParams.safeParse(Object.fromEntries(ctx.query));
    if (!parsed.success) throw new HttpError(400, 'ERR_BAD_REQUEST', z.prettifyError(parsed.error).slice(0, 300));
    ok(ctx, { entries: store.queryAudit(parsed.data) });
  });

  return r;
}

export function mayTakeOver(who: Principal, security: SecurityConfig): boolean {
  return security.takeover === 'anyone' || (security.takeover === 'admins' && who.role === 'admin');
}
