// Users and their API tokens.
import type { Db } from '../db/database.js';
import { ClientError } from '../errors.js';
import type { Role } from '../db/schema.js';
import { permissionsOf, type Permission } from './permissions.js';
import { hashToken, looksLikeToken, newToken } from './tokens.js';

export interface Principal {
  userId: string;
  name: string;
  role: Role;
  /** The agent this user works as (role agent); for a supervisor or admin, the agent row whose
   * endpoint is their own phone (supervision calls it, src/dialer/supervision.ts). */
  agentId: string | null;
  /** The API token the request came with; null for a console session. */
  tokenId: string | null;
  /** The console session the request came with; absent for an API token. */
  sessionId?: string;
  permissions: ReadonlySet<Permission>;
}

export class UserError extends ClientError {
  override readonly name = 'UserError';
}

export interface UserInput {
  name: string;
  role: Role;
  agentId?: string | null;
  viewNumbers?: boolean;
}

export async function createUser(db: Db, input: UserInput) {
  if (input.role === 'agent' && !input.agentId) throw new UserError('a user with role agent needs agentId: the agent they work as', 400, 'agentId');
  // A supervisor's or admin's agent row is their phone, for listening to agents' calls.
  if (input.role === 'qa' && input.agentId) throw new UserError('a user with role qa has no agentId (agents work as one; supervisors and admins listen on one)', 400, 'agentId');
  if (input.agentId) {
    const agent = await db.selectFrom('agents').select('id').where('id', '=', input.agentId).executeTakeFirst();
    if (!agent) throw new UserError(`no agent ${input.agentId}`, 400, 'agentId');
  }
  const existing = await db.selectFrom('users').select('id').where('name', '=', input.name).executeTakeFirst();
  if (existing) throw new UserError(`a user named "${input.name}" already exists`, 409, 'name');
  return db
    .insertInto('users')
    .values({ name: input.name, role: input.role, agent_id: input.agentId ?? null, view_numbers: input.viewNumbers ?? input.role === 'admin' })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function issueToken(db: Db, userId: string, name: string): Promise<{ id: string; token: string; prefix: string }> {
  const t = newToken();
  const row = await db
    .insertInto('api_tokens')
    .values({ user_id: userId, name, token_hash: t.hash, prefix: t.prefix, last_used_at: null, revoked_at: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, token: t.token, prefix: t.prefix };
}

export async function revokeToken(db: Db, tokenId: string): Promise<boolean> {
  const r = await db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('id', '=', tokenId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** The principal a token stands for, or null when it is unknown, revoked, or its user disabled. */
export async function authenticate(db: Db, token: string): Promise<Principal | null> {
  if (!looksLikeToken(token)) return null;
  const row = await db
    .selectFrom('api_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select(['t.id as tokenId', 't.last_used_at', 'u.id as userId', 'u.name', 'u.role', 'u.agent_id', 'u.view_numbers'])
    .where('t.token_hash', '=', hashToken(token))
    .where('t.revoked_at', 'is', null)
    .where('u.disabled', '=', false)
    .executeTakeFirst();
  if (!row) return null;
  // last_used_at is for people auditing tokens; a minute's precision spares a write per request.
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000) {
    await db.updateTable('api_tokens').set({ last_used_at: new Date() }).where('id', '=', row.tokenId).execute();
  }
  return {
    userId: row.userId, name: row.name, role: row.role, agentId: row.agent_id, tokenId: row.tokenId,
    permissions: permissionsOf(row.role, row.view_numbers),
  };
}

export function userView(u: { id: string; name: string; role: Role; agent_id: string | null; view_numbers: boolean; disabled: boolean; created_at: Date; password_hash?: string | null }) {
  return {
    id: u.id, name: u.name, role: u.role, agentId: u.agent_id, viewNumbers: u.view_numbers, disabled: u.disabled, createdAt: u.created_at,
    /** Whether the user can sign in to the console (the hash itself never leaves the server). */
    hasPassword: u.password_hash != null,
  };
}
