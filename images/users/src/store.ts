import { inTransaction, type Pool, type PoolClient } from '@saas/kit';
import { newOrganizationId, newOrganizationName, newProbeToken, sha256 } from './tokens.ts';

type Db = Pool | PoolClient;

export interface User {
  id: string;
  email: string;
  createdAt: Date;
  approvedAt: Date | null;
  organizationId: string | null;
}

export interface Organization {
  id: string;
  name: string;
  probeToken: string;
  createdAt: Date;
  firstProbeUpdateAt: Date | null;
}

export interface UserWithOrganization extends User {
  organization: Organization | null;
}

export type MailKind = 'welcome' | 'approved' | 'login-link';

export interface OutboxMail {
  id: string;
  kind: MailKind;
  toAddress: string;
  userId: string | null;
  attempts: number;
}

interface UserRow {
  id: string;
  email: string;
  created_at: Date;
  approved_at: Date | null;
  organization_id: string | null;
}

interface OrganizationRow {
  org_id: string | null;
  org_name: string | null;
  org_probe_token: string | null;
  org_created_at: Date | null;
  org_first_probe_update_at: Date | null;
}

const USER_COLUMNS = 'u.id, u.email, u.created_at, u.approved_at, u.organization_id';
const ORG_COLUMNS =
  'o.id AS org_id, o.name AS org_name, o.probe_token AS org_probe_token, o.created_at AS org_created_at, o.first_probe_update_at AS org_first_probe_update_at';

const toUser = (r: UserRow): User => ({
  id: r.id,
  email: r.email,
  createdAt: r.created_at,
  approvedAt: r.approved_at,
  organizationId: r.organization_id,
});

const toOrganization = (r: OrganizationRow): Organization | null =>
  r.org_id === null || r.org_name === null || r.org_probe_token === null || r.org_created_at === null
    ? null
    : { id: r.org_id, name: r.org_name, probeToken: r.org_probe_token, createdAt: r.org_created_at, firstProbeUpdateAt: r.org_first_probe_update_at };

const toUserWithOrganization = (r: UserRow & OrganizationRow): UserWithOrganization => ({ ...toUser(r), organization: toOrganization(r) });

export type SignupOutcome = 'created' | 'pending' | 'approved';

export type LoginFailure = 'invalid' | 'used' | 'expired';

export type SessionLookup = { status: 'ok'; user: UserWithOrganization } | { status: 'missing' | 'expired' };

/** Every query the users service makes, on one pool. Times come from the caller's clock. */
export class Store {
  constructor(readonly pool: Pool) {}

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  /**
   * Stores a sign-up. A new address gets the welcome mail; an approved one gets a fresh login link (how a
   * user who lost theirs gets another); a pending one gets nothing new. The caller answers the same either way.
   * With `mail: false` (the address has had its share of mails for now) the sign-up is stored and nothing is sent.
   */
  async signup(email: string, now: Date, opts: { mail: boolean } = { mail: true }): Promise<SignupOutcome> {
    return inTransaction(this.pool, async (c) => {
      const inserted = await c.query<UserRow>(
        `INSERT INTO users (id, email, created_at) VALUES (gen_random_uuid(), $1, $2)
         ON CONFLICT (email) DO NOTHING RETURNING id, email, created_at, approved_at, organization_id`,
        [email, now],
      );
      const created = inserted.rows[0];
      if (created) {
        if (opts.mail) await enqueueMail(c, 'welcome', created.email, created.id, now);
        return 'created';
      }
      const existing = await c.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.email = $1`, [email]);
      const user = existing.rows[0];
      if (user?.approved_at && user.organization_id) {
        if (opts.mail) await enqueueMail(c, 'login-link', user.email, user.id, now);
        return 'approved';
      }
      return 'pending';
    });
  }

  /** Every user, pending first (oldest first), then approved (newest first). */
  async listUsers(): Promise<UserWithOrganization[]> {
    const r = await this.pool.query<UserRow & OrganizationRow>(
      `SELECT ${USER_COLUMNS}, ${ORG_COLUMNS} FROM users u LEFT JOIN organizations o ON o.id = u.organization_id
       ORDER BY (u.approved_at IS NULL) DESC,
                CASE WHEN u.approved_at IS NULL THEN u.created_at END ASC,
                u.approved_at DESC, u.email`,
    );
    return r.rows.map(toUserWithOrganization);
  }

  async getUser(id: string): Promise<UserWithOrganization | null> {
    const r = await this.pool.query<UserRow & OrganizationRow>(
      `SELECT ${USER_COLUMNS}, ${ORG_COLUMNS} FROM users u LEFT JOIN organizations o ON o.id = u.organization_id WHERE u.id = $1`,
      [id],
    );
    return r.rows[0] ? toUserWithOrganization(r.rows[0]) : null;
  }

  /**
   * Approves a user: creates their organisation (once, ever) and queues the approval mail with a login link.
   * Approving an approved user queues the mail again and creates nothing. null when there is no such user.
   */
  async approveUser(id: string, now: Date): Promise<{ user: UserWithOrganization; alreadyApproved: boolean } | null> {
    return inTransaction(this.pool, async (c) => {
      const locked = await c.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = $1 FOR UPDATE`, [id]);
      const user = locked.rows[0];
      if (!user) return null;
      const alreadyApproved = user.approved_at !== null && user.organization_id !== null;
      if (!alreadyApproved) {
        const orgId = user.organization_id ?? (await createOrganization(c, now));
        await c.query('UPDATE users SET approved_at = COALESCE(approved_at, $2), organization_id = $3 WHERE id = $1', [id, now, orgId]);
      }
      await enqueueMail(c, 'approved', user.email, user.id, now);
      const r = await c.query<UserRow & OrganizationRow>(
        `SELECT ${USER_COLUMNS}, ${ORG_COLUMNS} FROM users u LEFT JOIN organizations o ON o.id = u.organization_id WHERE u.id = $1`,
        [id],
      );
      return { user: toUserWithOrganization(r.rows[0] as UserRow & OrganizationRow), alreadyApproved };
    });
  }

  async insertLoginToken(tokenHash: string, userId: string, now: Date, expiresAt: Date): Promise<void> {
    await this.pool.query('INSERT INTO login_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)', [
      tokenHash,
      userId,
      now,
      expiresAt,
    ]);
  }

  async deleteLoginToken(tokenHash: string): Promise<void> {
    await this.pool.query('DELETE FROM login_tokens WHERE token_hash = $1', [tokenHash]);
  }

  /** Uses a login token up, atomically: of two concurrent logins with one token, one wins. */
  async consumeLoginToken(email: string, tokenHash: string, now: Date): Promise<UserWithOrganization | LoginFailure> {
    const used = await this.pool.query<{ user_id: string }>(
      `UPDATE login_tokens t SET used_at = $3
       FROM users u
       WHERE t.token_hash = $2 AND t.user_id = u.id AND u.email = $1
         AND t.used_at IS NULL AND t.expires_at > $3
         AND u.approved_at IS NOT NULL AND u.organization_id IS NOT NULL
       RETURNING t.user_id`,
      [email, tokenHash, now],
    );
    const userId = used.rows[0]?.user_id;
    if (userId) {
      const user = await this.getUser(userId);
      return user?.organization ? user : 'invalid';
    }
    const why = await this.pool.query<{ used_at: Date | null; expires_at: Date }>(
      `SELECT t.used_at, t.expires_at FROM login_tokens t JOIN users u ON u.id = t.user_id
       WHERE t.token_hash = $2 AND u.email = $1`,
      [email, tokenHash],
    );
    const row = why.rows[0];
    if (!row) return 'invalid';
    if (row.used_at) return 'used';
    if (row.expires_at <= now) return 'expired';
    return 'invalid';
  }

  async insertSession(idHash: string, userId: string, now: Date, expiresAt: Date): Promise<void> {
    await this.pool.query('INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)', [
      idHash,
      userId,
      now,
      expiresAt,
    ]);
  }

  /** The session's user and organisation; a session of a deleted user is gone with it (ON DELETE CASCADE). */
  async findSession(idHash: string, now: Date): Promise<SessionLookup> {
    const r = await this.pool.query<UserRow & OrganizationRow & { expires_at: Date }>(
      `SELECT s.expires_at, ${USER_COLUMNS}, ${ORG_COLUMNS}
       FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN organizations o ON o.id = u.organization_id
       WHERE s.id_hash = $1`,
      [idHash],
    );
    const row = r.rows[0];
    if (!row) return { status: 'missing' };
    if (row.expires_at <= now) {
      await this.deleteSession(idHash);
      return { status: 'expired' };
    }
    return { status: 'ok', user: toUserWithOrganization(row) };
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.pool.query('DELETE FROM sessions WHERE id_hash = $1', [idHash]);
  }

  async findOrganizationByProbeTokenHash(tokenHash: string): Promise<Organization | null> {
    const r = await this.pool.query<OrganizationRow>(`SELECT ${ORG_COLUMNS} FROM organizations o WHERE o.probe_token_hash = $1`, [tokenHash]);
    return r.rows[0] ? toOrganization(r.rows[0]) : null;
  }

  /** Records the first probe report of an organisation; later ones change nothing. */
  async recordProbeUpdate(orgId: string, now: Date): Promise<Date> {
    const r = await this.pool.query<{ first_probe_update_at: Date }>(
      `UPDATE organizations SET first_probe_update_at = COALESCE(first_probe_update_at, $2) WHERE id = $1
       RETURNING first_probe_update_at`,
      [orgId, now],
    );
    return r.rows[0]?.first_probe_update_at ?? now;
  }

  /**
   * Claims the oldest due mail for this worker until leaseUntil (so another replica's worker skips it), or
   * null when none is due.
   */
  async claimDueMail(now: Date, leaseUntil: Date): Promise<OutboxMail | null> {
    const r = await this.pool.query<{ id: string; kind: MailKind; to_address: string; user_id: string | null; attempts: number }>(
      `UPDATE mail_outbox SET next_attempt_at = $2
       WHERE id = (SELECT id FROM mail_outbox WHERE sent_at IS NULL AND next_attempt_at <= $1
                   ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING id, kind, to_address, user_id, attempts`,
      [now, leaseUntil],
    );
    const row = r.rows[0];
    return row ? { id: row.id, kind: row.kind, toAddress: row.to_address, userId: row.user_id, attempts: row.attempts } : null;
  }

  async markMailSent(id: string, now: Date): Promise<void> {
    await this.pool.query('UPDATE mail_outbox SET sent_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1', [id, now]);
  }

  async markMailFailed(id: string, error: string, nextAttemptAt: Date): Promise<void> {
    await this.pool.query('UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $1', [
      id,
      error.slice(0, 2000),
      nextAttemptAt,
    ]);
  }

  /** When the next unsent mail is due, or null when none waits. */
  async nextMailDueAt(): Promise<Date | null> {
    const r = await this.pool.query<{ due: Date | null }>('SELECT min(next_attempt_at) AS due FROM mail_outbox WHERE sent_at IS NULL');
    return r.rows[0]?.due ?? null;
  }

  async unsentMailCount(): Promise<{ count: number; lastError: string | null }> {
    const r = await this.pool.query<{ count: string; last_error: string | null }>(
      `SELECT count(*) AS count,
              (SELECT last_error FROM mail_outbox WHERE sent_at IS NULL AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1) AS last_error
       FROM mail_outbox WHERE sent_at IS NULL`,
    );
    return { count: Number(r.rows[0]?.count ?? 0), lastError: r.rows[0]?.last_error ?? null };
  }

  /** Deletes expired sessions and login tokens, and sent mails' records after a month. */
  async deleteExpired(now: Date): Promise<void> {
    await this.pool.query('DELETE FROM sessions WHERE expires_at <= $1', [now]);
    await this.pool.query('DELETE FROM login_tokens WHERE expires_at <= $1', [now]);
    await this.pool.query("DELETE FROM mail_outbox WHERE sent_at IS NOT NULL AND sent_at <= $1::timestamptz - interval '30 days'", [now]);
  }
}

async function enqueueMail(c: Db, kind: MailKind, to: string, userId: string, now: Date): Promise<void> {
  await c.query('INSERT INTO mail_outbox (kind, to_address, user_id, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $4)', [
    kind,
    to,
    userId,
    now,
  ]);
}

/** Inserts an organisation under a fresh random name, id and probe token, trying again on a clash. */
async function createOrganization(c: Db, now: Date): Promise<string> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const probeToken = newProbeToken();
    const r = await c.query<{ id: string }>(
      `INSERT INTO organizations (id, name, probe_token, probe_token_hash, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING RETURNING id`,
      [newOrganizationId(), newOrganizationName(Math.floor(attempt / 5)), probeToken, sha256(probeToken), now],
    );
    if (r.rows[0]) return r.rows[0].id;
  }
  throw new Error('could not find a free organisation name');
}
