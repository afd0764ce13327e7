// Dry runs: "may this number be called now (or at a given instant)?", for one number or a list,
// reserving nothing; and scrubbing, which sorts a list into invalid, protected, on DNC, over caps,
// unknown zone and eligible. National-format input is parsed with the campaign's default country.
import { poolOf, type Db } from '../../db/database.js';
import { scrubStatusOf, type Decision, type ScrubStatus } from '../decide.js';
import { parsePhone } from '../phone.js';
import { decideMany, type DecideInput } from './dial-gate.js';
import type { PolicyResolver } from './policies.repository.js';

export class EligibilityInputError extends Error {
  override readonly name = 'EligibilityInputError';
  constructor(
    message: string,
    readonly status: 400 | 404 | 409 = 400,
  ) {
    super(message);
  }
}

export interface CheckRequest {
  phones: string[];
  campaignId?: string | null;
  at?: Date;
  /** Default country for national-format numbers when no campaign says it. */
  country?: string;
}

export type CheckOutcome =
  | { input: string; phone: string; decision: Decision }
  | { input: string; phone: null; error: string };

interface CampaignFacts {
  id: string;
  policyName: string | null;
  product: string | null;
  defaultCountry: string;
}

async function campaignFacts(db: Db, campaignId: string | null | undefined): Promise<CampaignFacts | null> {
  if (!campaignId) return null;
  if (!/^[0-9a-f-]{36}$/i.test(campaignId)) throw new EligibilityInputError(`campaignId "${campaignId.slice(0, 40)}" is not a campaign id (a UUID)`);
  const c = await db
    .selectFrom('campaigns')
    .where('id', '=', campaignId)
    .select(['id', 'policy_name', 'product', 'default_country'])
    .executeTakeFirst();
  if (!c) throw new EligibilityInputError(`campaign ${campaignId} does not exist`, 404);
  return { id: c.id, policyName: c.policy_name, product: c.product, defaultCountry: c.default_country };
}

/** Decides for each number without reserving anything. Numbers that do not parse come back with an error. */
export async function checkNumbers(deps: { db: Db; policies: PolicyResolver }, req: CheckRequest): Promise<CheckOutcome[]> {
  const campaign = await campaignFacts(deps.db, req.campaignId);
  const country = campaign?.defaultCountry ?? req.country;
  const parsed = req.phones.map((input) => ({ input, p: parsePhone(input, country) }));
  const valid = parsed.filter((x) => x.p.ok).map((x) => (x.p.ok ? x.p.e164 : ''));
  const contacts = new Map<string, { segment: string | null; time_zone: string | null; attributes: Record<string, unknown> }>();
  if (campaign && valid.length > 0) {
    const rows = await deps.db
      .selectFrom('contacts')
      .where('campaign_id', '=', campaign.id)
      .where('phone', 'in', valid)
      .select(['phone', 'segment', 'time_zone', 'attributes'])
      .execute();
    for (const r of rows) contacts.set(r.phone, r);
  }
  const inputs: DecideInput[] = valid.map((phone) => {
    const c = contacts.get(phone);
    return {
      phone,
      campaignId: campaign?.id ?? null,
      campaignPolicy: campaign?.policyName ?? null,
      product: campaign?.product ?? null,
      contact: {
        segment: c?.segment ?? null,
        timeZone: c?.time_zone ?? null,
        postalTimeZone: typeof c?.attributes.postalTimeZone === 'string' ? c.attributes.postalTimeZone : null,
        region: typeof c?.attributes.region === 'string' ? c.attributes.region : null,
      },
    };
  });
  const decisions = await decideMany(poolOf(deps.db), deps.policies, inputs, req.at ?? new Date());
  let k = 0;
  return parsed.map(({ input, p }) => (p.ok ? { input, phone: p.e164, decision: decisions[k++]! } : { input, phone: null, error: p.error }));
}

export interface ScrubReport {
  total: number;
  counts: Record<ScrubStatus, number>;
  numbers: { input: string; phone: string | null; status: ScrubStatus; detail: string }[];
}

/** Sorts checked numbers into invalid, protected, on DNC, over caps, unknown zone and eligible. */
export function scrubReport(outcomes: CheckOutcome[]): ScrubReport {
  const counts: Record<ScrubStatus, number> = { invalid: 0, protected: 0, dnc: 0, 'over-caps': 0, 'unknown-time-zone': 0, eligible: 0 };
  const numbers = outcomes.map((o) => {
    if (o.phone === null) {
      counts.invalid++;
      return { input: o.input, phone: null, status: 'invalid' as const, detail: o.error };
    }
    const policyFailure = o.decision.reasons.find((r) => r.rule === 'policy' && !r.passed);
    // Without a policy nothing can be judged: that is the caller's problem to fix, not a category.
    if (policyFailure) throw new EligibilityInputError(policyFailure.detail, 409);
    const s = scrubStatusOf(o.decision.reasons);
    counts[s.status]++;
    return { input: o.input, phone: o.phone, ...s };
  });
  return { total: outcomes.length, counts, numbers };
}
