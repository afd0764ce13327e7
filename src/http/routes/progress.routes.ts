// "Why was this contact not called?": a campaign's and a contact's attempts (filters, keyset
// pages), a campaign's progress (contacts by state, why they wait, "idle until") and a contact's
// page with every attempt's decisions in plain words. Numbers are masked by the auth layer for
// users without numbers.view, as in every response.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { campaignProgress, contactOverview } from '../../dialer/progress.service.js';
import { listAttempts, ProgressError } from '../../dialer/progress.repository.js';
import type { ApiDeps } from '../server.js';

const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 instant such as "2026-03-08T12:30:00Z"' });
const attemptStates = ['queued', 'dialing', 'completed', 'skipped', 'failed', 'cancelled'] as const;

const attemptQuery = z.strictObject({
  state: z.enum(attemptStates).optional(),
  outcome: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be an outcome such as "no-answer" or "denied"').optional(),
  from: instant.optional().describe('attempts created at or after this instant'),
  to: instant.optional().describe('attempts created before this instant'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional().describe('nextCursor of the previous page'),
});

const nullableInstant = z.string().nullable();
export const attemptSchema = z.object({
  id: z.uuid(),
  campaignId: z.uuid(),
  contactId: z.uuid(),
  phone: z.string(),
  state: z.enum(attemptStates),
  outcome: z.string().nullable(),
  isCallback: z.boolean(),
  agentId: z.string().nullable(),
  scheduledAt: z.string(),
  dialedAt: nullableInstant,
  createdAt: z.string(),
  updatedAt: z.string(),
  disposition: z.string().nullable(),
  callId: z.string().nullable(),
  decision: z.object({ id: z.uuid(), decidedAt: z.string(), allowed: z.boolean(), nextAllowedAt: nullableInstant, failedRules: z.array(z.string()) })
    .nullable().describe('the latest dial-time decision (GET /attempts/:id/decision has all of it)'),
});
const attemptPage = z.object({ attempts: z.array(attemptSchema), nextCursor: z.string().nullable().describe('null on the last page') });

/** A stored decision in plain words (also in GET /attempts/:id/decision). */
export const decisionExplanation = z.object({
  summary: z.string().describe('the decision in one plain sentence, with the next allowed instant'),
  reasons: z.array(z.object({ rule: z.string(), policy: z.string().nullable(), sentence: z.string() })).describe('one plain sentence per failed rule'),
}).describe('the stored decision in plain words');
const explanation = decisionExplanation;

const reasonGroup = z.object({ reason: z.string(), rules: z.array(z.string()), description: z.string(), contacts: z.number() });
const progressSchema = z.object({
  campaignId: z.uuid(),
  name: z.string(),
  state: z.string(),
  at: z.string(),
  contacts: z.number(),
  notStarted: z.number(),
  waiting: z.object({ contacts: z.number(), dueSince: nullableInstant, handedToDialer: z.number() }),
  scheduledLater: z.object({
    contacts: z.number(), nextAt: nullableInstant,
    byReason: z.array(reasonGroup.extend({ nextAt: nullableInstant.optional(), lastAt: nullableInstant.optional() })),
  }),
  dialing: z.object({ contacts: z.number() }),
  done: z.object({ contacts: z.number(), byOutcome: z.array(z.object({ outcome: z.string(), contacts: z.number() })) }),
  skipped: z.object({ contacts: z.number(), byReason: z.array(reasonGroup) }),
  cancelled: z.object({ contacts: z.number() }),
  idleUntil: nullableInstant.describe('nothing due and nothing being dialed: when the next attempt falls due'),
  nothingLeft: z.boolean().describe('nothing due, dialing or queued for later'),
  completeWhenIdleDays: z.number().nullable(),
  completesByItself: z.boolean(),
});

const contactSchema = z.object({
  contact: z.object({
    id: z.uuid(), campaignId: z.uuid(), campaignName: z.string(), campaignState: z.string(), phone: z.string(), name: z.string().nullable(),
    segment: z.string().nullable(), timeZone: z.string().nullable(), priority: z.number(), externalId: z.string().nullable(), createdAt: z.string(),
  }),
  state: z.enum(['not-started', 'waiting', 'scheduled', 'dialing', 'done', 'skipped', 'cancelled']),
  nextAllowedAt: nullableInstant,
  next: z.string().describe('where the contact stands, in one sentence'),
  attempts: z.array(attemptSchema.extend({
    decisions: z.array(z.object({
      id: z.uuid(), decidedAt: z.string(), allowed: z.boolean(), nextAllowedAt: nullableInstant, timeZones: z.array(z.string()),
      policyVersions: z.array(z.object({ name: z.string(), version: z.number() })), explanation,
    })).describe('newest first'),
  })),
});

const campaignParams = z.object({ id: z.uuid('must be a campaign id (a UUID)') });
const contactParams = z.object({ id: z.uuid('must be a contact id (a UUID)') });
const filterOf = (q: z.infer<typeof attemptQuery>) => ({ state: q.state, outcome: q.outcome, from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined });

export function progressRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/campaigns/:id/attempts',
      { config: { access: { perm: 'calls.read' } }, schema: { params: campaignParams, querystring: attemptQuery, response: { 200: attemptPage } } },
      async (req) => {
        await campaignExists(deps, req.params.id);
        return listAttempts(deps.db, { campaignId: req.params.id }, filterOf(req.query), { limit: req.query.limit, cursor: req.query.cursor });
      },
    );
    app.get(
      '/contacts/:id/attempts',
      { config: { access: { perm: 'calls.read' } }, schema: { params: contactParams, querystring: attemptQuery, response: { 200: attemptPage } } },
      async (req) => {
        await contactExists(deps, req.params.id);
        return listAttempts(deps.db, { contactId: req.params.id }, filterOf(req.query), { limit: req.query.limit, cursor: req.query.cursor });
      },
    );
    app.get(
      '/campaigns/:id/progress',
      { config: { access: { perm: 'live.read' } }, schema: { params: campaignParams, response: { 200: progressSchema } } },
      async (req) => campaignProgress(deps.db, req.params.id, new Date()),
    );
    app.get(
      '/contacts/:id',
      { config: { access: { perm: 'calls.read' } }, schema: { params: contactParams, response: { 200: contactSchema } } },
      async (req) => contactOverview(deps.db, req.params.id, new Date()),
    );
  };
}

async function campaignExists(deps: ApiDeps, id: string): Promise<void> {
  const c = await deps.db.selectFrom('campaigns').where('id', '=', id).select('id').executeTakeFirst();
  if (!c) throw new ProgressError(`campaign ${id} does not exist`, 404);
}

async function contactExists(deps: ApiDeps, id: string): Promise<void> {
  const c = await deps.db.selectFrom('contacts').where('id', '=', id).select('id').executeTakeFirst();
  if (!c) throw new ProgressError(`contact ${id} does not exist`, 404);
}

