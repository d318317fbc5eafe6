/** The admin CLI on a real database file: what an IT admin types on the broker's server. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/broker/db.js';
import { SqliteStore } from '../../src/broker/store.js';
import { verifyPassword } from '../../src/broker/passwords.js';
import { runCli } from './helpers/broker-process.js';

let dir: string;
let config: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backlot-cli-'));
  config = join(dir, 'broker.json');
  await writeFile(config, JSON.stringify({ database: 'studio.db' }));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli([...args, '--config', config]);

describe('backlot-broker admin CLI', () => {
  it('creates users, workstations, enrolment codes and assignments, and reads the audit log', async () => {
    expect(await runCli(['user', 'add', 'ana', '--name', 'Ana Ruiz', '--config', config], 'a long enough password\n')).toMatchObject({ code: 0, stdout: 'created ana (artist)\n' });
    expect((await runCli(['user', 'add', 'it', '--name', 'IT', '--role', 'admin', '--config', config], 'another long password\n')).code).toBe(0);
    expect((await cli('workstation', 'add', 'ws-042', '--name', 'WS-042')).code).toBe(0);
    const enrol = await cli('workstation', 'enrol', 'ws-042');
    expect(enrol.stdout).toMatch(/[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}/);
    expect(enrol.stdout).toMatch(/backlot-host enrol --broker <broker URL> --code/);
    expect((await cli('assign', 'ws-042', '--user', 'ana')).code).toBe(0);
    expect((await cli('group', 'add', 'comp')).code).toBe(0);
    expect((await cli('group', 'member', 'comp', 'ana')).code).toBe(0);
    const list = await cli('workstation', 'list');
    expect(list.stdout).toMatch(/ws-042\s+WS-042\s+false\s+-\s+-\s+user:ana/);
    const totp = await cli('user', 'totp', 'ana');
    expect(totp.stdout).toMatch(/otpauth:\/\/totp\/Backlot:ana\?/);

    const users = await cli('user', 'list');
    expect(users.stdout).toMatch(/ana\s+Ana Ruiz\s+artist\s+false\s+true/);
    expect(users.stdout).not.toMatch(/scrypt/);

    const audit = await cli('audit', '--json', '--action', 'admin');
    const actions = audit.stdout.trim().split('\n').map((l) => JSON.parse(l).action);
    expect(actions).toEqual(expect.arrayContaining(['admin.user.create', 'admin.workstation.create', 'admin.enrol.code-created', 'admin.assign', 'admin.user.totp-enrol']));

    const store = new SqliteStore(openDatabase(join(dir, 'studio.db')));
    try {
      expect(await verifyPassword('a long enough password', store.getUser('ana')!.passwordHash)).toBe(true);
      expect(store.isAssigned('ana', 'ws-042')).toBe(true);
    } finally {
      store.close();
    }
  }, 60_000);

  it('refuses bad input with a reason and a non-zero exit', async () => {
    expect(await runCli(['user', 'add', 'bo', '--name', 'Bo', '--config', config], 'short\n')).toMatchObject({ code: 2, stderr: expect.stringMatching(/at least 10 characters/) });
    expect(await cli('assign', 'ws-042')).toMatchObject({ code: 2, stderr: expect.stringMatching(/exactly one of --user or --group/) });
    expect(await cli('assign', 'ws-404', '--user', 'ana')).toMatchObject({ code: 1, stderr: expect.stringMatching(/no workstation ws-404/) });
    expect(await cli('frobnicate')).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command/) });
    expect((await runCli(['user', 'list', '--bogus'])).code).toBe(2);
  }, 60_000);
});
