// Callbacks and previews: attempts meant for one agent. A callback scheduled at wrap-up is offered
// at its time to the agent it was made for (to the first ready agent when made for anyone, or
// when its agent has not been ready for a grace period); a preview hands the next contact to an
// agent who then dials or skips it. Either way the dial passes the compliance gate like any other.
import { sql } from 'kysely';
import { ClientError } from '../errors.js';
import { createAttempt, markCallback } from './attempts.repository.js';
import { assignContact } from '../contacts/contacts.repository.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import type { Dialer } from './dialer.js';

/** A callback or preview the client asked for that cannot be: 400, 404 or 409 with the reason. */
export class CallbackError extends ClientError {
  override readonly name = 'CallbackError';
  constructor(message: string, status: 400 | 404 | 409) {
    super(message, status);
  }
}

/** Schedules a call back to the contact of a dialed attempt. */
export async function scheduleCallback(
  db: Db,
  c: { fromAttemptId: string; at: Date; agentId: string | null; note: string | null },
): Promise<{ attemptId: string; created: boolean }> {
  const a = await db.selectFrom('attempts').where('id', '=', c.fromAttemptId).select(['campaign_id', 'contact_id', 'phone']).executeTakeFirst();
  if (!a) throw new CallbackError(`attempt ${c.fromAttemptId} does not exist`, 404);
  if (c.agentId) {
    const agent = await db.selectFrom('agents').where('id', '=', c.agentId).select('id').executeTakeFirst();
    if (!agent) throw new CallbackError(`agent ${c.agentId} does not exist`, 400);
  }
  const made = await createAttempt(db, {
    campaignId: a.campaign_id, contactId: a.contact_id, phone: a.phone,
    idempotencyKey: `${c.fromAttemptId}:callback`, scheduledAt: c.at,
  });
  if (made.created) {
    await markCallback(db, made.id, { agentId: c.agentId, note: c.note });
  }
  return { attemptId: made.id, created: made.created };
}

/** How long a callback waits for its own agent before the first ready agent takes it. */
export const CALLBACK_OWNER_GRACE_MS = 5 * 60_000;

/** Offers due callbacks to ready agents; returns how many were dialed. */
export async function offerDueCallbacks(db: Db, dialer: Dialer, log: Logger, now = new Date()): Promise<number> {
  const due = await db
    .selectFrom('attempts as a')
    .innerJoin('campaigns as c', 'c.id', 'a.campaign_id')
    .where('a.state', '=', 'queued')
    .where('a.is_callback', '=', true)
    .where('a.enqueued_at', 'is', null)
    .where('a.scheduled_at', '<=', now)
    .where('c.state', '=', 'running')
    .select(['a.id', 'a.agent_id', 'a.scheduled_at', 'a.campaign_id'])
    .orderBy('a.scheduled_at')
    .limit(50)
    .execute();
  let dialed = 0;
  for (const cb of due) {
    const ownerWaitOver = now.getTime() - cb.scheduled_at.getTime() > CALLBACK_OWNER_GRACE_MS;
    // A callback promised to an agent goes to them whatever they serve; "anyone" means the campaign's agents.
    const agent = cb.agent_id
      ? (dialer.agents.reserveAgent(cb.agent_id) ?? (ownerWaitOver ? dialer.agents.reserve(cb.campaign_id) : null))
      : dialer.agents.reserve(cb.campaign_id);
    if (!agent) continue;
    // Claim it (another runner may be looking at the same row).
    const claimed = await sql<{ id: string }>`
      update attempts set enqueued_at = ${now}, agent_id = ${agent.agentId}
      where id = ${cb.id} and state = 'queued' and enqueued_at is null returning id`.execute(db);
    if (claimed.rows.length === 0) {
      dialer.agents.release(agent.agentId);
      continue;
    }
    const r = await dialer.dialAttempt(cb.id, { agentId: agent.agentId });
    log.info({ attemptId: cb.id, agentId: agent.agentId, status: r.status }, 'callback offered');
    if (r.status === 'dialing') dialed++;
  }
  return dialed;
}

export interface PreviewContact {
  attemptId: string;
  campaign: { id: string; name: string; script: unknown };
  contact: { id: string; name: string | null; phone: string; segment: string | null; attributes: Record<string, unknown> };
}

/** Gives a ready agent the next contact of a running preview campaign, held for them. */
export async function takePreview(db: Db, dialer: Dialer, agentId: string, now = new Date()): Promise<PreviewContact | null> {
  const agent = dialer.agents.reserveAgent(agentId);
  if (!agent) throw new CallbackError('the agent must be logged in and ready to preview a contact', 409);
  const picked = await sql<{ id: string }>`
    update attempts a set enqueued_at = ${now}, agent_id = ${agentId}
    where a.id = (
      select a2.id from attempts a2
        join campaigns c on c.id = a2.campaign_id
        join contacts ct on ct.id = a2.contact_id
      where c.state = 'running' and c.dial_mode = 'preview' and a2.state = 'queued' and a2.enqueued_at is null
        and a2.scheduled_at <= ${now} and (a2.agent_id is null or a2.agent_id = ${agentId})
      order by ct.priority desc, a2.scheduled_at
      limit 1
      for update of a2 skip locked)
    returning a.id`.execute(db);
  const id = picked.rows[0]?.id;
  if (!id) {
    dialer.agents.release(agentId);
    return null;
  }
  const row = await db
    .selectFrom('attempts as a')
    .innerJoin('campaigns as c', 'c.id', 'a.campaign_id')
    .innerJoin('contacts as ct', 'ct.id', 'a.contact_id')
    .where('a.id', '=', id)
    .select(['a.id', 'c.id as campaign_id', 'c.name as campaign_name', 'c.settings', 'ct.id as contact_id', 'ct.name', 'ct.phone', 'ct.segment', 'ct.attributes'])
    .executeTakeFirstOrThrow();
  // The agent now holds this contact's data: taken back after the reclaim period.
  await assignContact(db, row.contact_id, agentId, new Date());
  return {
    attemptId: row.id,
    campaign: { id: row.campaign_id, name: row.campaign_name, script: row.settings.script ?? null },
    contact: { id: row.contact_id, name: row.name, phone: row.phone, segment: row.segment, attributes: row.attributes },
  };
}

async function previewOf(db: Db, agentId: string, attemptId: string) {
  const a = await db.selectFrom('attempts').where('id', '=', attemptId).select(['id', 'agent_id', 'state', 'enqueued_at']).executeTakeFirst();
  if (!a) throw new CallbackError(`attempt ${attemptId} does not exist`, 404);
  if (a.agent_id !== agentId || a.state !== 'queued' || !a.enqueued_at) throw new CallbackError(`attempt ${attemptId} is not a preview held for this agent`, 409);
  return a;
}

/** The agent chose to dial the previewed contact. */
export async function dialPreview(db: Db, dialer: Dialer, agentId: string, attemptId: string) {
  await previewOf(db, agentId, attemptId);
  if (dialer.agents.get(agentId)?.state !== 'reserved') throw new CallbackError('the agent is no longer holding this preview', 409);
  return dialer.dialAttempt(attemptId, { agentId });
}

/** The agent skipped the previewed contact: it is not dialed, and the agent is ready again. */
export async function skipPreview(db: Db, dialer: Dialer, agentId: string, attemptId: string): Promise<void> {
  await previewOf(db, agentId, attemptId);
  await db.updateTable('attempts').set({ state: 'skipped', outcome: 'agent-skipped', updated_at: new Date() }).where('id', '=', attemptId).execute();
  dialer.agents.release(agentId);
}
