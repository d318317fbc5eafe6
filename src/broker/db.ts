/**
 * The broker's SQLite database: opening it with the settings a server needs,
 * and the schema migrations, versioned in code and applied in order inside a
 * transaction (`PRAGMA user_version` records the last one applied).
 */
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** Each entry migrates from version i to i+1. Never edit one that has shipped; append a new one. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE users (
    username        TEXT PRIMARY KEY,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('artist', 'admin')),
    password_hash   TEXT NOT NULL,
    totp_secret     TEXT,
    totp_required   INTEGER NOT NULL DEFAULT 0,
    totp_last_step  INTEGER NOT NULL DEFAULT 0,
    disabled        INTEGER NOT NULL DEFAULT 0,
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
  );
  CREATE TABLE groups (name TEXT PRIMARY KEY);
  CREATE TABLE group_members (
    group_name TEXT NOT NULL REFERENCES groups(name) ON DELETE CASCADE,
    username   TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    PRIMARY KEY (group_name, username)
  );
  CREATE TABLE workstations (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    secret_digest  TEXT,
    hostname       TEXT,
    enrolled_at    INTEGER,
    last_seen_at   INTEGER,
    created_at     INTEGER NOT NULL
  );
  CREATE TABLE enrolment_codes (
    code_digest     TEXT PRIMARY KEY,
    workstation_id  TEXT NOT NULL REFERENCES workstations(id) ON DELETE CASCADE,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER
  );
  CREATE TABLE assignments (
    workstation_id  TEXT NOT NULL REFERENCES workstations(id) ON DELETE CASCADE,
    principal_kind  TEXT NOT NULL CHECK (principal_kind IN ('user', 'group')),
    principal       TEXT NOT NULL,
    PRIMARY KEY (workstation_id, principal_kind, principal)
  );
  CREATE TABLE refresh_tokens (
    token_digest  TEXT PRIMARY KEY,
    username      TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    family        TEXT NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER,
    revoked_at    INTEGER
  );
  CREATE INDEX refresh_tokens_family ON refresh_tokens(family);
  CREATE TABLE grants (
    token_digest    TEXT PRIMARY KEY,
    session_id      TEXT NOT NULL UNIQUE,
    workstation_id  TEXT NOT NULL,
    username        TEXT NOT NULL,
    policy          TEXT NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER
  );
  CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT,
    action  TEXT NOT NULL,
    target  TEXT,
    ip      TEXT,
    detail  TEXT
  );
  CREATE INDEX audit_at ON audit(at);
  CREATE INDEX audit_action ON audit(action);
  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
];

/** Opens (creating if needed) and migrates the database at `path` (':memory:' for tests). */
export function openDatabase(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  // Another process (the admin CLI) may write while the broker runs; wait rather than fail.
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  migrate(db);
  return db;
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this broker (${MIGRATIONS.length}); upgrade the broker`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
