// The dial-time decision and the reservation of the attempt, in one transaction per phone number:
// a transaction-scoped advisory lock on the number serialises every decision about it, the facts
// (history across all campaigns, DNC, protected lists) are read after the lock, the decision is
// stored with its reasons, and an allowed attempt becomes `dialing` before the lock is released.
// So concurrent workers can never exceed a cap, dial one number twice at once, or miss a DNC entry
// committed before the decision. Anything that fails means no dial (fail closed).
import { sql, type Transaction } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Database } from '../../db/schema.js';
import { decide, historyHorizonHours, type AttemptRecord, type Decision, type DecisionFacts, type Reason } from '../decide.js';
import { Lru } from '../lru.js';
import { parsePhone } from '../phone.js';
import type { CallOutcome, NumberTypeName, Policy } from '../policy.js';
import { resolveRegion } from '../regions.js';
import { resolveTimeZones } from '../time-zones.js';
import { PolicyError, type PolicyResolver } from './policies.repository.js';

/** Dialer outcomes → the outcome names policies count. */
const OUTCOME: Record<string, CallOutcome> = {
  answered: 'conversation',
  abandoned: 'abandoned',
  busy: 'busy',
  'no-answer': 'no-answer',
  congestion: 'congestion',
  rejected: 'rejected',
  failed: 'failed',
  machine: 'machine',
  cancelled: 'cancelled',
};

export interface NumberProfile {
  numberType: NumberTypeName | null;
  timeZones: string[];
  region: string | null;
}

const typeCache = new Lru<string, NumberTypeName | null>(100_000);

/** Number type, zones and region of a number, with the contact's own data taking precedence. */
export async function profileNumber(
  phone: string,
  contact: { timeZone?: string | null; postalTimeZone?: string | null; region?: string | null } = {},
): Promise<NumberProfile> {
  let numberType = typeCache.get(phone);
  if (numberType === undefined) {
    const parsed = parsePhone(phone);
    numberType = parsed.ok ? parsed.type : null;
    typeCache.set(phone, numberType);
  }
  const [timeZones, region] = await Promise.all([resolveTimeZones(phone, contact), resolveRegion(phone, contact)]);
  return { numberType, timeZones, region };
}

interface FactRow {
  phone: string;
  history: { at: string; campaignId: string; product: string | null; outcome: string | null; refused: boolean; state: string }[];
  dnc: { campaignId: string | null; source: string; expiresAt: string | null }[];
  registry: string | null;
  registry_expires: string | null;
  protected: string[];
  refusals: Record<string, number> | null;
}

interface StoredFacts {
  history: AttemptRecord[];
  dncHits: DecisionFacts['dncHits'];
  protectedHits: DecisionFacts['protectedHits'];
  refusals: Record<string, number>;
  live: number;
}

/** Everything decide() needs from the store about some numbers, in one round trip. */
async function loadFacts(
  q: Db | Transaction<Database>,
  f: { phones: string[]; campaignId: string | null; excludeAttemptId: string | null; since: Date; now: Date },
): Promise<Map<string, StoredFacts>> {
  const res = await sql<FactRow>`
    select p.phone,
      coalesce((select json_agg(json_build_object('at', a.dialed_at, 'campaignId', a.campaign_id, 'product', a.product,
                  'outcome', a.outcome, 'refused', a.refused, 'state', a.state))
                from attempts a
                where a.phone = p.phone and a.dialed_at >= ${f.since}
                  and a.id is distinct from ${f.excludeAttemptId}::uuid), '[]'::json) as history,
      coalesce((select json_agg(json_build_object('campaignId', d.campaign_id, 'source', d.source, 'expiresAt', d.expires_at))
                from dnc_entries d
                where d.phone = p.phone and (d.campaign_id is null or d.campaign_id = ${f.campaignId}::uuid)
                  and (d.expires_at is null or d.expires_at > ${f.now})), '[]'::json) as dnc,
      r.registry, r.expires_at as registry_expires,
      coalesce((select json_agg(pn.list) from protected_numbers pn where pn.phone = p.phone), '[]'::json) as protected,
      (select json_object_agg(coalesce(x.product, ''), x.n)
         from (select a.product, count(*)::int as n from attempts a
               where a.phone = p.phone and a.refused group by a.product) x) as refusals
    from unnest(${f.phones}::text[]) as p(phone)
    left join dnc_registry r on r.phone = substr(p.phone, 2)::bigint and (r.expires_at is null or r.expires_at > ${f.now})
  `.execute(q);
  const out = new Map<string, StoredFacts>();
  for (const row of res.rows) {
    let live = 0;
    const history: AttemptRecord[] = [];
    for (const h of row.history) {
      if (h.state === 'dialing') live++;
      history.push({
        at: new Date(h.at),
        campaignId: h.campaignId,
        product: h.product,
        // A call still in progress has no outcome yet: it counts as an attempt.
        outcome: (h.outcome && OUTCOME[h.outcome]) || 'no-answer',
        refused: h.refused,
      });
    }
    const dncHits: DecisionFacts['dncHits'][number][] = row.dnc.map((d) => ({
      list: d.campaignId ? 'campaign' : 'global',
      source: d.source,
      expiresAt: d.expiresAt ? new Date(d.expiresAt) : null,
    }));
    if (row.registry) dncHits.push({ list: 'global', source: `registry:${row.registry}`, expiresAt: row.registry_expires ? new Date(row.registry_expires) : null });
    out.set(row.phone, { history, dncHits, protectedHits: row.protected.map((list) => ({ list })), refusals: row.refusals ?? {}, live });
  }
  return out;
}

function engineReason(rule: 'policy' | 'in-progress', passed: boolean, detail: string, inputs: Reason['inputs'] = {}): Reason {
  return { rule, policy: null, passed, detail, inputs };
}

function deniedDecision(reason: Reason, policies: readonly Policy[], timeZones: string[]): Decision {
  return { allowed: false, reasons: [reason], timeZones, policyVersions: policies.map((p) => ({ name: p.name, version: p.version })), nextAllowedAt: null };
}

export interface GateDeps {
  db: Db;
  policies: PolicyResolver;
  now?: () => Date;
}

export type GateResult =
  | { status: 'allowed'; decisionId: string; decision: Decision; phone: string }
  | { status: 'denied'; decisionId: string; decision: Decision; rescheduledTo: Date | null }
  | { status: 'not-queued' };

interface AttemptInfo {
  id: string;
  phone: string;
  state: string;
  campaign_id: string;
  policy_name: string | null;
  product: string | null;
  segment: string | null;
  time_zone: string | null;
  attributes: Record<string, unknown>;
}

/** Decides whether the queued attempt may be dialed now and, if so, reserves it (state dialing). */
export async function decideAndReserve(deps: GateDeps, attemptId: string): Promise<GateResult> {
  return deps.db.transaction().execute(async (trx) => {
    const info = await sql<AttemptInfo>`
      select a.id, a.phone, a.state, a.campaign_id, c.policy_name, coalesce(a.product, c.product) as product,
             ct.segment, ct.time_zone, ct.attributes, pg_advisory_xact_lock(hashtextextended(a.phone, 0)) is null as locked
      from attempts a join campaigns c on c.id = a.campaign_id join contacts ct on ct.id = a.contact_id
      where a.id = ${attemptId}`.execute(trx);
    const a = info.rows[0];
    if (!a) return { status: 'not-queued' } as const;
    // Read again under the lock: another worker may have claimed it while we waited.
    const state = await trx.selectFrom('attempts').where('id', '=', attemptId).select('state').executeTakeFirst();
    if (state?.state !== 'queued') return { status: 'not-queued' } as const;

    const now = deps.now?.() ?? new Date();
    const decision = await decideFor(trx, deps.policies, {
      phone: a.phone, campaignId: a.campaign_id, campaignPolicy: a.policy_name, product: a.product, attemptId,
      contact: {
        segment: a.segment,
        timeZone: a.time_zone,
        postalTimeZone: typeof a.attributes.postalTimeZone === 'string' ? a.attributes.postalTimeZone : null,
        region: typeof a.attributes.region === 'string' ? a.attributes.region : null,
      },
    }, now);

    const d = await trx
      .insertInto('decisions')
      .values({
        attempt_id: attemptId, phone: a.phone, campaign_id: a.campaign_id, decided_at: now, allowed: decision.allowed,
        reasons: JSON.stringify(decision.reasons), time_zones: decision.timeZones,
        policy_versions: JSON.stringify(decision.policyVersions), next_allowed_at: decision.nextAllowedAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();

    if (decision.allowed) {
      await trx
        .updateTable('attempts')
        .set({ state: 'dialing', dialed_at: now, decision_id: d.id, product: a.product, updated_at: now })
        .where('id', '=', attemptId)
        .execute();
      return { status: 'allowed', decisionId: d.id, decision, phone: a.phone } as const;
    }
    const next = decision.nextAllowedAt;
    await trx
      .updateTable('attempts')
      .set(next ? { scheduled_at: next, decision_id: d.id, updated_at: now } : { state: 'skipped', outcome: 'denied', decision_id: d.id, updated_at: now })
      .where('id', '=', attemptId)
      .execute();
    return { status: 'denied', decisionId: d.id, decision, rescheduledTo: next } as const;
  });
}

export interface DecideInput {
  phone: string;
  campaignId: string | null;
  campaignPolicy: string | null;
  product: string | null;
  attemptId: string | null;
  contact: { segment?: string | null; timeZone?: string | null; postalTimeZone?: string | null; region?: string | null };
}

/** Loads the facts and decides; used under the lock by the gate and without it by dry runs. */
export async function decideFor(q: Db | Transaction<Database>, resolver: PolicyResolver, input: DecideInput, now: Date): Promise<Decision> {
  return (await decideMany(q, resolver, [input], now))[0]!;
}

/**
 * Decides for many numbers of one campaign at once (one facts query for all): the dry-run check
 * and list scrubbing. Inputs must share campaignId and campaignPolicy.
 */
export async function decideMany(q: Db | Transaction<Database>, resolver: PolicyResolver, inputs: DecideInput[], now: Date): Promise<Decision[]> {
  const first = inputs[0];
  if (!first) return [];
  let policies: Policy[];
  try {
    policies = await resolver.forCampaign(first.campaignPolicy);
  } catch (err) {
    if (err instanceof PolicyError) return inputs.map(() => deniedDecision(engineReason('policy', false, err.message), [], []));
    throw err;
  }
  if (policies.length === 0) {
    const none = engineReason('policy', false, 'no policy applies: attach one to the campaign or set a global policy');
    return inputs.map(() => deniedDecision(none, [], []));
  }
  const since = new Date(now.getTime() - historyHorizonHours(policies) * 3_600_000);
  const [profiles, facts] = await Promise.all([
    Promise.all(inputs.map((i) => profileNumber(i.phone, i.contact))),
    loadFacts(q, { phones: [...new Set(inputs.map((i) => i.phone))], campaignId: first.campaignId, excludeAttemptId: first.attemptId, since, now }),
  ]);
  return inputs.map((input, k) => {
    const profile = profiles[k]!;
    const f = facts.get(input.phone)!;
    const decision = decide(
      {
        phone: input.phone, numberType: profile.numberType, timeZones: profile.timeZones, region: profile.region,
        segment: input.contact.segment ?? null, campaignId: input.campaignId, product: input.product,
        history: f.history, refusalsByProduct: f.refusals, dncHits: f.dncHits, protectedHits: f.protectedHits,
      },
      policies,
      now,
    );
    // Never two calls to one number at the same moment, whatever the policies say.
    const live = engineReason('in-progress', f.live === 0, f.live === 0 ? 'no call to this number in progress' : `${f.live} call(s) to this number in progress`, { live: f.live });
    decision.reasons.push(live);
    if (!live.passed) {
      decision.allowed = false;
      // Retried once the live call has had time to end.
      const retry = new Date(now.getTime() + 60_000);
      if (decision.nextAllowedAt && decision.nextAllowedAt < retry) decision.nextAllowedAt = retry;
    }
    return decision;
  });
}
