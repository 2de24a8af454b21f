import type { Migration } from '@saas/kit';

/**
 * Plain SQL that PostgreSQL and PGlite both run. Timestamps that decide expiry are written by the service
 * (its clock is injectable), not by now() defaults. The outbox holds what to send, never a rendered mail: a
 * login link's raw token exists only in the mail itself (it is made at send time, only its hash is stored).
 */
export const migrations: Migration[] = [
  {
    id: 'users_001_schema',
    sql: `
CREATE TABLE organizations (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9]+$'),
  name text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
  probe_token text NOT NULL UNIQUE,
  probe_token_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL,
  first_probe_update_at timestamptz
);

CREATE TABLE users (
  id uuid PRIMARY KEY,
  email text NOT NULL UNIQUE CHECK (email = lower(email)),
  created_at timestamptz NOT NULL,
  approved_at timestamptz,
  organization_id text REFERENCES organizations (id) ON DELETE SET NULL
);
CREATE INDEX users_pending_idx ON users (created_at) WHERE approved_at IS NULL;

CREATE TABLE login_tokens (
  token_hash text PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX login_tokens_user_idx ON login_tokens (user_id);
CREATE INDEX login_tokens_expiry_idx ON login_tokens (expires_at);

CREATE TABLE sessions (
  id_hash text PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

CREATE TABLE mail_outbox (
  id bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('welcome', 'approved', 'login-link')),
  to_address text NOT NULL,
  user_id uuid REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  last_error text,
  sent_at timestamptz
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;
`,
  },
  {
    id: 'users_002_throttle',
    sql: `
CREATE TABLE throttle (
  key text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  count integer NOT NULL
);
CREATE INDEX throttle_window_idx ON throttle (window_start);
`,
  },
];
