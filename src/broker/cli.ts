/**
 * `backlot-broker`: run the broker, and administer it from the server's shell.
 * Admin commands work on the broker's database directly (the same operations
 * and audit trail as the admin REST API), so they work whether or not the
 * broker is running.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ZodError, z } from 'zod';
import { Admin } from './admin.js';
import { loadConfig, type ResolvedConfig } from './config.js';
import { openDatabase } from './db.js';
import { HttpError } from './http.js';
import { startBroker } from './server.js';
import { SqliteStore } from './store.js';

const USAGE = `usage: backlot-broker <command> [--config broker.json]

  serve                                   run the broker
  user add <username> --name "Full Name" [--role artist|admin]   (password on stdin)
  user list
  user passwd <username>                  (new password on stdin)
  user set <username> [--name N] [--role R] [--disabled true|false] [--totp-required true|false]
  user delete <username>
  user unlock <username>                  clear a lockout after failed sign-ins
  user totp <username>                    enrol (or reset) TOTP; prints the otpauth:// URI to scan
  user totp-remove <username>
  user revoke <username>                  sign the user out everywhere
  group add <name> | group member <group> <username> | group remove-member <group> <username> | group list
  workstation add <id> --name "WS-042"
  workstation enrol <id>                  print a one-time enrolment code for the host agent
  workstation list
  workstation delete <id>
  assign <workstation> (--user <username> | --group <group>)
  unassign <workstation> (--user <username> | --group <group>)
  audit [--since 2026-01-01T00:00Z] [--until …] [--action login] [--actor ana] [--limit 100] [--json]`;

const OPTIONS = {
  config: { type: 'string' },
  name: { type: 'string' },
  role: { type: 'string' },
  disabled: { type: 'string' },
  'totp-required': { type: 'string' },
  user: { type: 'string' },
  group: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  action: { type: 'string' },
  actor: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
} as const;

class UsageError extends Error {}

async function readSecret(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  }
  // Interactive: prompt without echoing what is typed.
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WritableStream };
  let prompted = false;
  out._writeToOutput = (s: string) => {
    if (!prompted) out.output.write(s);
    prompted = true;
  };
  const answer = await new Promise<string>((resolve) => rl.question(prompt, resolve));
  rl.close();
  process.stderr.write('\n');
  return answer;
}

function bool(v: string | undefined, flag: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new UsageError(`--${flag} takes true or false`);
}

function time(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`--${flag}: not a date or Unix milliseconds: ${v}`);
  return t;
}

function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(none)';
  const keys = Object.keys(rows[0]!);
  const cell = (v: unknown): string => (v === null || v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v));
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => cell(r[k]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(keys), ...rows.map((r) => line(keys.map((k) => cell(r[k]))))].join('\n');
}

async function serve(config: ResolvedConfig): Promise<number> {
  const store = new SqliteStore(openDatabase(config.database));
  const broker = await startBroker({
    store,
    config,
    ...(config.tls ? { tls: { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) } } : {}),
  });
  const stop = (): void =>
    void broker.close().then(() => {
      store.close();
      process.exit(0);
    });
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return new Promise(() => undefined);
}

async function admin(argv: string[], config: ResolvedConfig, values: Record<string, string | boolean | undefined>): Promise<number> {
  const store = new SqliteStore(openDatabase(config.database));
  const ops = new Admin(store, config.issuer, config.security.enrolmentCodeHours * 3_600_000);
  const actor = `cli:${userInfo().username}`;
  const str = (k: keyof typeof OPTIONS) => values[k] as string | undefined;
  const [group, verb, a, b] = argv;
  const need = (v: string | undefined, what: string): string => {
    if (!v) throw new UsageError(`missing ${what}`);
    return v;
  };
  const principal = () => {
    const user = str('user');
    const grp = str('group');
    if ((user === undefined) === (grp === undefined)) throw new UsageError('give exactly one of --user or --group');
    return user !== undefined ? { user } : { group: grp! };
  };
  try {
    switch (`${group} ${group === 'assign' || group === 'unassign' || group === 'audit' ? '' : (verb ?? '')}`.trim()) {
      case 'user add': {
        const password = await readSecret('Password for the new user: ');
        const u = await ops.createUser(actor, { username: need(verb === 'add' ? a : undefined, 'username'), displayName: need(str('name'), '--name'), role: (str('role') ?? 'artist') as 'artist', password });
        console.log(`created ${u.username} (${u.role})`);
        return 0;
      }
      case 'user list':
        console.log(table(ops.listUsers().map((u) => ({ ...u, lockedUntil: u.lockedUntil ? new Date(u.lockedUntil).toISOString() : null, createdAt: new Date(u.createdAt).toISOString() }))));
        return 0;
      case 'user passwd':
        await ops.updateUser(actor, need(a, 'username'), { password: await readSecret('New password: ') });
        console.log('password changed; existing sign-ins ended');
        return 0;
      case 'user set': {
        const patch = {
          ...(str('name') !== undefined ? { displayName: str('name')! } : {}),
          ...(str('role') !== undefined ? { role: str('role') as 'artist' } : {}),
          ...(str('disabled') !== undefined ? { disabled: bool(str('disabled'), 'disabled')! } : {}),
          ...(str('totp-required') !== undefined ? { totpRequired: bool(str('totp-required'), 'totp-required')! } : {}),
        };
        console.log(table([await ops.updateUser(actor, need(a, 'username'), patch)]));
        return 0;
      }
      case 'user delete':
        ops.deleteUser(actor, need(a, 'username'));
        return 0;
      case 'user unlock':
        ops.unlockUser(actor, need(a, 'username'));
        console.log('unlocked');
        return 0;
      case 'user totp': {
        const { uri, secret } = ops.enrolTotp(actor, need(a, 'username'));
        console.log(`Scan this in the user's authenticator app (or enter the secret by hand):\n\n  ${uri}\n\n  secret: ${secret}`);
        return 0;
      }
      case 'user totp-remove':
        ops.removeTotp(actor, need(a, 'username'));
        return 0;
      case 'user revoke':
        console.log(`revoked ${ops.revokeTokens(actor, need(a, 'username'))} refresh token(s)`);
        return 0;
      case 'group add':
        ops.createGroup(actor, need(a, 'group name'));
        return 0;
      case 'group member':
        ops.addGroupMember(actor, need(a, 'group'), need(b, 'username'));
        return 0;
      case 'group remove-member':
        ops.removeGroupMember(actor, need(a, 'group'), need(b, 'username'));
        return 0;
      case 'group list':
        console.log(table(ops.listGroups().map((g) => ({ name: g.name, members: g.members.join(', ') }))));
        return 0;
      case 'workstation add':
        ops.createWorkstation(actor, { id: need(a, 'workstation id'), name: str('name') ?? a! });
        return 0;
      case 'workstation enrol': {
        const { code, expiresAt } = ops.createEnrolmentCode(actor, need(a, 'workstation id'));
        console.log(`Enrolment code for ${a} (single use, valid until ${new Date(expiresAt).toISOString()}):\n\n  ${code}\n\nOn the workstation: backlot-host enrol --broker <broker URL> --code ${code}`);
        return 0;
      }
      case 'workstation list':
        console.log(
          table(
            store.listWorkstations().map((w) => ({
              id: w.id,
              name: w.name,
              enrolled: w.secretDigest !== null,
              hostname: w.hostname,
              lastSeen: w.lastSeenAt ? new Date(w.lastSeenAt).toISOString() : null,
              assigned: store.listAssignments(w.id).map((x) => `${x.kind}:${x.principal}`).join(' '),
            })),
          ),
        );
        return 0;
      case 'workstation delete':
        ops.deleteWorkstation(actor, need(a, 'workstation id'));
        return 0;
      case 'assign':
        ops.assign(actor, { workstationId: need(verb, 'workstation id'), ...principal() });
        return 0;
      case 'unassign':
        ops.unassign(actor, { workstationId: need(verb, 'workstation id'), ...principal() });
        return 0;
      case 'audit': {
        const limit = str('limit') === undefined ? 100 : Number(str('limit'));
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit takes a positive integer');
        const since = time(str('since'), 'since');
        const until = time(str('until'), 'until');
        const entries = store.queryAudit({
          limit,
          ...(since !== undefined ? { since } : {}),
          ...(until !== undefined ? { until } : {}),
          ...(str('action') ? { action: str('action')! } : {}),
          ...(str('actor') ? { actor: str('actor')! } : {}),
        });
        if (values.json) for (const e of entries) console.log(JSON.stringify(e));
        else console.log(table(entries.map((e) => ({ at: new Date(e.at).toISOString(), actor: e.actor, action: e.action, target: e.target, ip: e.ip, detail: e.detail }))));
        return 0;
      }
      default:
        throw new UsageError(`unknown command: ${argv.join(' ')}`);
    }
  } finally {
    store.close();
  }
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    console.error(`backlot-broker: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0 || positionals[0] === 'help') {
    console.error(USAGE);
    return positionals.length === 0 ? 2 : 0;
  }
  const config = loadConfig(values.config);
  if (positionals[0] === 'serve') return serve(config);
  try {
    return await admin(positionals, config, values);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`backlot-broker: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof HttpError) {
      console.error(`backlot-broker: ${err.message} (${err.code})`);
      return 1;
    }
    if (err instanceof ZodError) {
      console.error(`backlot-broker: ${z.prettifyError(err)}`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`backlot-broker: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
