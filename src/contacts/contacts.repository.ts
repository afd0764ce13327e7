// Contacts in PostgreSQL: batch upserts keyed by (campaign, phone), each contact's one initial
// attempt (a deterministic idempotency key, so repeating an import or a request adds none),
// listing, and agent assignments. Plain functions over a Kysely instance or transaction.
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.js';
import type { ContactValues, UpdatableField } from './validate.js';

export interface CampaignForContacts {
  id: string;
  defaultCountry: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The campaign contacts go into; undefined when there is none with that id (or the id is no UUID). */
export async function findCampaign(db: Db, id: string): Promise<CampaignForContacts | undefined> {
  if (!UUID.test(id)) return undefined;
  const c = await db.selectFrom('campaigns').where('id', '=', id).select(['id', 'default_country']).executeTakeFirst();
  return c ? { id: c.id, defaultCountry: c.default_country } : undefined;
}

/** The id of the campaign's contact with this (E.164) phone. */
export async function findContactId(db: Db, campaignId: string, phone: string): Promise<string | undefined> {
  const c = await db.selectFrom('contacts').where('campaign_id', '=', campaignId).where('phone', '=', phone).select('id').executeTakeFirst();
  return c?.id;
}

/** The idempotency key of a contact's first attempt: the same contact never gets a second one. */
export function initialAttemptKey(campaignId: string, contactId: string): string {
  return `${campaignId}:${contactId}:initial`;
}

/** What an update may change: the fields and attribute keys the input has (others are left alone). */
export interface UpdateScope {
  fields: readonly UpdatableField[];
  /** Attribute keys the input speaks for: removed from the stored attributes, then the new values added. */
  attributeKeys: readonly string[];
}

export interface UpsertResult {
  inserted: number;
  updated: number;
  unchanged: number;
  /** Per phone, for callers that need the id and what happened. */
  rows: { id: string; phone: string; outcome: 'inserted' | 'updated' }[];
}

/**
 * Inserts or updates the contacts of one campaign in one statement. Phones must be distinct within
 * the call. Rows are written in phone order, so concurrent imports lock rows in the same order.
 * A row whose stored values already equal the new ones is not written (and counts as unchanged).
 */
export async function upsertContacts(db: Db, campaignId: string, contacts: readonly ContactValues[], scope: UpdateScope): Promise<UpsertResult> {
  if (contacts.length === 0) return { inserted: 0, updated: 0, unchanged: 0, rows: [] };
  const sorted = [...contacts].sort((a, b) => (a.phone < b.phone ? -1 : a.phone > b.phone ? 1 : 0));
  const values = sorted.map((c) => ({
    campaign_id: campaignId,
    phone: c.phone,
    name: c.name,
    segment: c.segment,
    time_zone: c.time_zone,
    priority: c.priority,
    external_id: c.external_id,
    attributes: JSON.stringify(c.attributes),
  }));
  const mergedAttributes = sql<string>`(contacts.attributes - ${sql.val([...scope.attributeKeys])}::text[]) || excluded.attributes`;
  const current: RawBuilder<unknown>[] = scope.fields.map((f) => sql.ref(`contacts.${f}`));
  const proposed: RawBuilder<unknown>[] = scope.fields.map((f) => sql.ref(`excluded.${f}`));
  if (scope.attributeKeys.length > 0) {
    current.push(sql`contacts.attributes`);
    proposed.push(mergedAttributes);
  }
  const rows = await db
    .insertInto('contacts')
    .values(values)
    .onConflict((oc) => {
      const target = oc.columns(['campaign_id', 'phone']);
      if (current.length === 0) return target.doNothing();
      const set: Record<string, RawBuilder<unknown>> = { updated_at: sql`now()` };
      for (const f of scope.fields) set[f] = sql.ref(`excluded.${f}`);
      if (scope.attributeKeys.length > 0) set.attributes = mergedAttributes;
      return target
        .doUpdateSet(set)
        // Row constructors compare column by column, nulls included.
        .where(sql<boolean>`(${sql.join(current)}, null) is distinct from (${sql.join(proposed)}, null)`);
    })
    // xmax is 0 on a freshly inserted row version and set on one an ON CONFLICT update wrote.
    .returning(['id', 'phone', sql<boolean>`xmax = 0`.as('fresh')])
    .execute();
  const inserted = rows.filter((r) => r.fresh).length;
  return {
    inserted,
    updated: rows.length - inserted,
    unchanged: contacts.length - rows.length,
    rows: rows.map((r) => ({ id: r.id, phone: r.phone, outcome: r.fresh ? 'inserted' : 'updated' })),
  };
}

export interface ContactView {
  id: string;
  phone: string;
  name: string | null;
  segment: string | null;
  timeZone: string | null;
  priority: number;
  externalId: string | null;
  attributes: Record<string, unknown>;
  assignedAgentId: string | null;
  assignedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** One page of a campaign's contacts, oldest first, and how many it has in all. */
export async function listContacts(db: Db, campaignId: string, page: { limit: number; offset: number }): Promise<{ total: number; contacts: ContactView[] }> {
  const [rows, count] = await Promise.all([
    db
      .selectFrom('contacts')
      .where('campaign_id', '=', campaignId)
      .orderBy('created_at')
      .orderBy('id')
      .limit(page.limit)
      .offset(page.offset)
      .selectAll()
      .execute(),
    db.selectFrom('contacts').where('campaign_id', '=', campaignId).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return {
    total: Number(count.n),
    contacts: rows.map((r) => ({
      id: r.id,
      phone: r.phone,
      name: r.name,
      segment: r.segment,
      timeZone: r.time_zone,
      priority: r.priority,
      externalId: r.external_id,
      attributes: r.attributes,
      assignedAgentId: r.assigned_agent_id,
      assignedAt: r.assigned_at,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    })),
  };
}

/** Hands a contact's data to an agent from `at` on. */
export async function assignContact(db: Db, contactId: string, agentId: string, at: Date): Promise<boolean> {
  const r = await db.updateTable('contacts').set({ assigned_agent_id: agentId, assigned_at: at }).where('id', '=', contactId).executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

/** Clears every assignment made at or before `cutoff`; returns how many were cleared. */
export async function clearAssignmentsUntil(db: Db, cutoff: Date): Promise<number> {
  const r = await db
    .updateTable('contacts')
    .set({ assigned_agent_id: null, assigned_at: null, updated_at: sql`now()` })
    .where('assigned_at', '<=', cutoff)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}
