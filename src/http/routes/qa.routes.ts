// QA: search calls (the CDR) and read one with its decision, recording, reviews and complaints;
// scorecards (admins change them: config.write; QA and supervisors read them: config.read);
// reviews and per-agent summaries; complaints. Agents (agent.self) read only their own calls and
// reviews and the summary of their own agent, never recordings or complaints. Number search is
// exact and only for users who may see numbers.
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { writeAudit } from '../../auth/audit.repository.js';
import type { Principal } from '../../auth/users.repository.js';
import { complaintStatuses, complaintView, fileComplaint, getComplaint, listComplaints, updateComplaint } from '../../qa/complaints.js';
import { agentSummaries, createReview, deleteReview, getReview, reviewView, updateReview } from '../../qa/reviews.js';
import {
  createScorecard, deleteScorecard, getScorecard, markSchema, reviewScoreInput, scorecardInputSchema, scorecardPatchSchema, scorecardView, updateScorecard,
} from '../../qa/scorecards.js';
import { callView, getCallRow, searchCalls } from '../../qa/search.js';
import { actorOf, principalOf } from '../auth.js';
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';

const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 instant such as 2026-11-23T00:00:00Z' });
const uuid = (what: string) => z.uuid(`must be ${what} id (a UUID)`);
const day = z.iso.date('must be a date such as 2026-11-25');

/** Filters shared by GET /calls and GET /recordings. */
export const callSearchQuery = z.strictObject({
  from: instant.optional(),
  to: instant.optional(),
  campaignId: uuid('a campaign').optional(),
  agentId: uuid('an agent').optional(),
  outcome: z.enum(['answered', 'busy', 'no-answer', 'congestion', 'rejected', 'failed', 'abandoned', 'machine']).optional(),
  disposition: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a disposition result such as "not-interested"').optional(),
  minDurationS: z.coerce.number().min(0, 'must be 0 or more').optional(),
  maxDurationS: z.coerce.number().min(0, 'must be 0 or more').optional(),
  // A "+" in a query string arrives as a space unless sent as %2B: both are taken.
  phone: z
    .string()
    .transform((v) => `+${v.trim().replace(/^\+/, '')}`)
    .pipe(z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number such as +13055550123 (send + as %2B); the match is exact'))
    .optional(),
  recorded: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});
export type CallSearchQuery = z.infer<typeof callSearchQuery>;

/** The search as this principal may run it: agents see only their own calls; number search needs numbers.view. */
export function scopedSearch(p: Principal, q: CallSearchQuery) {
  if (q.phone && !p.permissions.has('numbers.view')) {
    throw new HttpError(403, `user ${p.name} may not see phone numbers, so may not search by one (needs numbers.view)`);
  }
  if (q.minDurationS !== undefined && q.maxDurationS !== undefined && q.minDurationS > q.maxDurationS) {
    throw new HttpError(400, 'querystring.minDurationS is above maxDurationS', [{ field: 'querystring.minDurationS', problem: 'must not be above maxDurationS' }]);
  }
  let agentId = q.agentId;
  if (!p.permissions.has('calls.read')) {
    if (!p.agentId) throw new HttpError(403, `user ${p.name} is an agent user with no agent assigned; an admin sets it`);
    if (agentId && agentId !== p.agentId) throw new HttpError(403, `user ${p.name} reads only their own agent's calls (${p.agentId})`);
    agentId = p.agentId;
  }
  return { ...q, agentId, from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined };
}

const callParams = z.object({ id: uuid('a call') });
const idParams = (what: string) => z.object({ id: uuid(what) });
const read = { access: { perm: ['calls.read', 'agent.self'] } } as const;
const qaWrite = { access: { perm: 'qa.write' } } as const;

export function qaRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const db = deps.db;
  /** The call, or 403 for an agent reading someone else's. */
  const callFor = async (p: Principal, id: string) => {
    const row = await getCallRow(db, id);
    if (!row) throw new HttpError(404, `call ${id} does not exist`);
    if (!p.permissions.has('calls.read') && (!p.agentId || row.agent_id !== p.agentId)) throw new HttpError(403, `call ${id} was not your call`);
    return row;
  };
  const audit = (req: FastifyRequest, action: string, resource: string, id: string, before: unknown, after: unknown) =>
    writeAudit(db, actorOf(req), { action, resource, resourceId: id, before, after });

  return async (app) => {
    app.get('/calls', { config: read, schema: { querystring: callSearchQuery } }, async (req) => {
      const p = principalOf(req);
      const { rows, more } = await searchCalls(db, scopedSearch(p, req.query));
      return {
        calls: rows.map((r) => callView(r, p.permissions.has('recordings.read'))),
        next: more ? req.query.offset + req.query.limit : null,
      };
    });

    app.get('/calls/:id', { config: read, schema: { params: callParams } }, async (req) => {
      const p = principalOf(req);
      const row = await callFor(p, req.params.id);
      const decision = await db
        .selectFrom('decisions')
        .select(['id', 'decided_at', 'allowed', 'reasons', 'time_zones', 'policy_versions'])
        .where('attempt_id', '=', row.attempt_id)
        .orderBy('decided_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      const reviews = await db.selectFrom('reviews').selectAll().where('call_id', '=', row.id).orderBy('created_at').execute();
      const complaints = p.permissions.has('calls.read')
        ? await db.selectFrom('complaints').selectAll().where('call_id', '=', row.id).orderBy('created_at').execute()
        : [];
      // Holds, transfers and hang-ups asked through the API, beside the CDR.
      const events = await db.selectFrom('call_events').where('call_id', '=', row.id).orderBy('id').select(['at', 'kind', 'actor', 'agent_id', 'details']).execute();
      return {
        ...callView(row, p.permissions.has('recordings.read')),
        events: events.map((e) => ({ at: e.at.toISOString(), kind: e.kind, actor: e.actor, agentId: e.agent_id, details: e.details })),
        decision: decision
          ? { id: decision.id, decidedAt: decision.decided_at.toISOString(), allowed: decision.allowed, reasons: decision.reasons, timeZones: decision.time_zones, policyVersions: decision.policy_versions }
          : null,
        reviews: reviews.map(reviewView),
        complaints: complaints.map((c) => complaintView(c)),
      };
    });

    // Scorecards: configuration.
    app.get('/scorecards', { config: { access: { perm: 'config.read' } }, schema: { querystring: z.strictObject({ active: z.enum(['true', 'false']).optional() }) } }, async (req) => {
      let q = db.selectFrom('scorecards').selectAll().orderBy('name');
      if (req.query.active) q = q.where('active', '=', req.query.active === 'true');
      return { scorecards: (await q.execute()).map(scorecardView) };
    });
    app.get('/scorecards/:id', { config: { access: { perm: 'config.read' } }, schema: { params: idParams('a scorecard') } }, async (req) =>
      scorecardView(await getScorecard(db, req.params.id)),
    );
    app.post('/scorecards', { config: { access: { perm: 'config.write' } }, schema: { body: scorecardInputSchema } }, async (req, reply) => {
      const s = scorecardView(await createScorecard(db, req.body));
      await audit(req, 'scorecard.created', 'scorecard', s.id, null, s);
      return reply.status(201).send(s);
    });
    app.patch('/scorecards/:id', { config: { access: { perm: 'config.write' } }, schema: { params: idParams('a scorecard'), body: scorecardPatchSchema } }, async (req) => {
      const { before, after } = await updateScorecard(db, req.params.id, req.body);
      await audit(req, 'scorecard.updated', 'scorecard', after.id, scorecardView(before), scorecardView(after));
      return scorecardView(after);
    });
    app.delete('/scorecards/:id', { config: { access: { perm: 'config.write' } }, schema: { params: idParams('a scorecard') } }, async (req, reply) => {
      const gone = await deleteScorecard(db, req.params.id);
      await audit(req, 'scorecard.deleted', 'scorecard', gone.id, scorecardView(gone), null);
      return reply.status(204).send();
    });

    // Reviews.
    const reviewBody = z.strictObject({
      scorecardId: uuid('a scorecard'),
      scores: z.array(reviewScoreInput).min(1).max(30),
      comment: z.string().max(5000).optional(),
      marks: z.array(markSchema).max(200).optional(),
    });
    app.post('/calls/:id/reviews', { config: qaWrite, schema: { params: callParams, body: reviewBody } }, async (req, reply) =>
      reply.status(201).send(reviewView(await createReview(db, actorOf(req), req.params.id, req.body))),
    );
    app.get('/reviews/:id', { config: read, schema: { params: idParams('a review') } }, async (req) => {
      const p = principalOf(req);
      const r = await getReview(db, req.params.id);
      if (!p.permissions.has('calls.read') && (!p.agentId || r.agent_id !== p.agentId)) throw new HttpError(403, `review ${r.id} is not of your calls`);
      return reviewView(r);
    });
    app.patch(
      '/reviews/:id',
      { config: qaWrite, schema: { params: idParams('a review'), body: reviewBody.omit({ scorecardId: true }).partial().extend({ comment: z.string().max(5000).nullable().optional() }) } },
      async (req) => reviewView(await updateReview(db, actorOf(req), req.params.id, req.body)),
    );
    app.delete('/reviews/:id', { config: qaWrite, schema: { params: idParams('a review') } }, async (req, reply) => {
      await deleteReview(db, actorOf(req), req.params.id);
      return reply.status(204).send();
    });
    app.get(
      '/qa/summary',
      {
        config: read,
        schema: {
          querystring: z.strictObject({ from: instant, to: instant, agentId: uuid('an agent').optional(), scorecardId: uuid('a scorecard').optional() }),
        },
      },
      async (req) => {
        const p = principalOf(req);
        const q = scopedSearch(p, { ...req.query, limit: 1, offset: 0 });
        const from = new Date(req.query.from);
        const to = new Date(req.query.to);
        if (to <= from) throw new HttpError(400, 'querystring.to must be after from', [{ field: 'querystring.to', problem: 'must be after from' }]);
        return { from: from.toISOString(), to: to.toISOString(), agents: await agentSummaries(db, { from, to, agentId: q.agentId, scorecardId: req.query.scorecardId }) };
      },
    );

    // Complaints.
    app.post(
      '/calls/:id/complaints',
      { config: qaWrite, schema: { params: callParams, body: z.strictObject({ summary: z.string().trim().min(1, 'must not be empty').max(5000), dueOn: day.optional() }) } },
      async (req, reply) => reply.status(201).send(complaintView(await fileComplaint(db, actorOf(req), req.params.id, req.body))),
    );
    app.get(
      '/complaints',
      {
        config: { access: { perm: 'calls.read' } },
        schema: {
          querystring: z.strictObject({
            status: z.enum(complaintStatuses).optional(),
            callId: uuid('a call').optional(),
            overdue: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
            limit: z.coerce.number().int().min(1).max(500).default(100),
            offset: z.coerce.number().int().min(0).default(0),
          }),
        },
      },
      async (req) => ({ complaints: (await listComplaints(db, req.query)).map((c) => complaintView(c)) }),
    );
    app.get('/complaints/:id', { config: { access: { perm: 'calls.read' } }, schema: { params: idParams('a complaint') } }, async (req) =>
      complaintView(await getComplaint(db, req.params.id)),
    );
    app.patch(
      '/complaints/:id',
      {
        config: qaWrite,
        schema: {
          params: idParams('a complaint'),
          body: z.strictObject({
            status: z.enum(complaintStatuses).optional(),
            resolution: z.string().trim().min(1, 'must not be empty').max(5000).optional(),
            summary: z.string().trim().min(1, 'must not be empty').max(5000).optional(),
            dueOn: day.optional(),
          }),
        },
      },
      async (req) => complaintView(await updateComplaint(db, actorOf(req), req.params.id, req.body)),
    );
  };
}
