// The audit log: every configuration change (before and after) and every access to a recording or
// to unmasked numbers — who, when, what. Written in the same transaction as the change it records.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export interface Actor {
  userId: string | null;
  name: string;
}

export const systemActor = (name: 'cli' | 'system'): Actor => ({ userId: null, name });

export interface AuditEntry {
  action: string;
  resource: string;
  resourceId?: string | null;
  before?: unknown;
  after?: unknown;
  details?: unknown;
}

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

export async function writeAudit(db: Kysely<Database>, actor: Actor, e: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      user_id: actor.userId, actor: actor.name, action: e.action, resource: e.resource, resource_id: e.resourceId ?? null,
      before: json(e.before), after: json(e.after), details: json(e.details),
    })
    .execute();
}

export interface AuditQuery {
  resource?: string;
  resourceId?: string;
  action?: string;
  userId?: string;
  from?: Date;
  to?: Date;
  limit: number;
}

export async function listAudit(db: Kysely<Database>, q: AuditQuery) {
  let s = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(q.limit);
  if (q.resource) s = s.where('resource', '=', q.resource);
  if (q.resourceId) s = s.where('resource_id', '=', q.resourceId);
  if (q.action) s = s.where('action', '=', q.action);
  if (q.userId) s = s.where('user_id', '=', q.userId);
  if (q.from) s = s.where('at', '>=', q.from);
  if (q.to) s = s.where('at', '<', q.to);
  return s.execute();
}
