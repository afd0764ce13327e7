// Dry-run eligibility checks (reserving nothing), list scrubbing, and the stored decision of a
// real attempt.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { decisionJson } from '../../compliance/decide.js';
import { explainDecision } from '../../compliance/explain.js';
import { checkNumbers, EligibilityInputError, scrubReport, type CheckOutcome } from '../../compliance/store/eligibility.service.js';
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';
import { decisionExplanation } from './progress.routes.js';

const phone = z.string().min(1, 'must not be empty').max(40, 'is too long for a phone number');
const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 instant such as "2026-03-08T12:30:00Z"' });
const country = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 country code such as "US"');
const campaignId = z.uuid('must be a campaign id (a UUID)');

const outcomeJson = (o: Extract<CheckOutcome, { phone: string }>) => decisionJson(o.phone, o.decision);

async function run<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof EligibilityInputError) throw new HttpError(err.status, err.message);
    throw err;
  }
}

export function eligibilityRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/eligibility/check',
      { config: { access: { perm: 'compliance.read' } }, schema: { body: z.strictObject({ phone, campaignId: campaignId.optional(), at: instant.optional(), country: country.optional() }) } },
      async (req) => {
        const b = req.body;
        const [o] = await run(() =>
          checkNumbers(deps, { phones: [b.phone], campaignId: b.campaignId ?? null, at: b.at ? new Date(b.at) : undefined, country: b.country }),
        );
        if (!o || o.phone === null) throw new HttpError(400, `phone: ${o?.error ?? 'is not a phone number'}`, [{ field: 'body.phone', problem: o?.error ?? 'invalid' }]);
        return outcomeJson(o);
      },
    );

    app.post(
      '/eligibility/check-batch',
      {
        config: { access: { perm: 'compliance.read' } },
        bodyLimit: 4 << 20,
        schema: {
          body: z.strictObject({
            phones: z.array(phone).min(1, 'must list at least one number').max(10_000, 'at most 10,000 numbers per request'),
            campaignId: campaignId.optional(),
            at: instant.optional(),
            country: country.optional(),
          }),
        },
      },
      async (req) => {
        const b = req.body;
        const out = await run(() => checkNumbers(deps, { phones: b.phones, campaignId: b.campaignId ?? null, at: b.at ? new Date(b.at) : undefined, country: b.country }));
        return { results: out.map((o) => (o.phone === null ? { input: o.input, error: o.error } : { input: o.input, ...outcomeJson(o) })) };
      },
    );

    app.post(
      '/eligibility/scrub',
      {
        config: { access: { perm: 'compliance.read' } },
        bodyLimit: 16 << 20,
        schema: {
          body: z.strictObject({
            phones: z.array(phone).min(1, 'must list at least one number').max(200_000, 'at most 200,000 numbers per request'),
            campaignId: campaignId.optional(),
            at: instant.optional(),
            country: country.optional(),
            details: z.boolean().default(false),
          }),
        },
      },
      async (req) => {
        const b = req.body;
        const outcomes: CheckOutcome[] = [];
        for (let i = 0; i < b.phones.length; i += 2000) {
          outcomes.push(...(await run(() =>
            checkNumbers(deps, { phones: b.phones.slice(i, i + 2000), campaignId: b.campaignId ?? null, at: b.at ? new Date(b.at) : undefined, country: b.country }),
          )));
        }
        const report = await run(async () => scrubReport(outcomes));
        return b.details ? report : { total: report.total, counts: report.counts };
      },
    );

    const storedDecision = z.object({
      id: z.uuid(), decidedAt: z.string(), phone: z.string(), allowed: z.boolean(),
      reasons: z.array(z.unknown()).describe('every rule evaluated: rule, policy, passed, detail, inputs'),
      timeZones: z.array(z.string()), policyVersions: z.array(z.object({ name: z.string(), version: z.number() })), nextAllowedAt: z.string().nullable(),
      explanation: decisionExplanation,
    });
    const decisionResponse = storedDecision.extend({
      attemptId: z.uuid(),
      state: z.string(),
      earlierDecisions: z.array(storedDecision).describe("this attempt's earlier decisions, newest first (an attempt rescheduled by a denial is decided again when due); not the number's call history"),
    });
    app.get(
      '/attempts/:id/decision',
      {
        config: { access: { perm: 'calls.read' } },
        schema: {
          description: "The attempt's latest dial-time decision, in plain words too, and its earlier decisions.",
          params: z.object({ id: z.uuid('must be an attempt id (a UUID)') }),
          response: { 200: decisionResponse },
        },
      },
      async (req) => {
        const attempt = await deps.db.selectFrom('attempts').where('id', '=', req.params.id).select(['id', 'state', 'phone', 'decision_id']).executeTakeFirst();
        if (!attempt) throw new HttpError(404, `attempt ${req.params.id} does not exist`);
        const rows = await deps.db.selectFrom('decisions').where('attempt_id', '=', attempt.id).selectAll().orderBy('decided_at', 'desc').execute();
        if (rows.length === 0) throw new HttpError(404, `attempt ${attempt.id} has not been decided yet (state ${attempt.state})`);
        const now = new Date();
        const json = (d: (typeof rows)[number]) => ({
          id: d.id,
          decidedAt: d.decided_at.toISOString(),
          phone: d.phone,
          allowed: d.allowed,
          reasons: d.reasons,
          timeZones: d.time_zones,
          policyVersions: d.policy_versions,
          nextAllowedAt: d.next_allowed_at?.toISOString() ?? null,
          explanation: explainDecision({ allowed: d.allowed, reasons: d.reasons, timeZones: d.time_zones, nextAllowedAt: d.next_allowed_at }, now),
        });
        return { attemptId: attempt.id, state: attempt.state, ...json(rows[0]!), earlierDecisions: rows.slice(1).map(json) };
      },
    );
  };
}
