// Campaigns as admins configure them: trunk, caller id, compliance policy, dial mode, limits
// (never above the trunk's own), recording, the agent's script and retry rules; and the state
// machine draft → running ⇄ paused → completed.
import { z } from 'zod';
import { ClientError } from '../errors.js';
import { loadPolicy, PolicyResolver } from '../compliance/store/policies.repository.js';
import { minRingSecondsOf } from '../compliance/policy.js';
import { idleState } from '../dialer/progress.repository.js';
import { writeAudit, systemActor } from '../auth/audit.repository.js';
import type { Db } from '../db/database.js';
import type { Campaign, CampaignState } from '../db/schema.js';
import { retryRulesSchema } from '../dialer/retries.js';
import { cancelQueuedAttempts } from '../dialer/attempts.repository.js';

export class CampaignError extends ClientError {
  override readonly name = 'CampaignError';
}

const line = z.string().max(2000);
const mediaUri = z.string().regex(/^(sound|recording|digits|number|tone):[A-Za-z0-9_/.:,-]+$/, 'must be an ARI media URI such as "sound:im-sorry" or "recording:acme-info"');
export const scriptSchema = z.strictObject({
  opening: line.optional(),
  needs: line.optional(),
  response: line.optional(),
  proposal: line.optional(),
  close: line.optional(),
  farewell: line.optional(),
  /** Asked when the customer declines. */
  questionnaire: z.array(z.string().min(1).max(500)).max(20).optional(),
});

export const campaignInputSchema = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(200),
  trunkId: z.uuid('must be a trunk id (a UUID)'),
  callerIdId: z.uuid('must be a caller id id (a UUID)'),
  policyName: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'must be a policy name such as "us-federal"').nullable().default(null),
  dialMode: z.enum(['preview', 'progressive', 'predictive']).default('progressive'),
  maxConcurrent: z.int('must be a whole number').min(1).max(10_000).default(10),
  maxCps: z.int('must be a whole number').min(1).max(1000).default(5),
  recordCalls: z.boolean().default(true),
  product: z.string().min(1).max(100).nullable().default(null),
  defaultCountry: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 country code such as "US"').default('US'),
  abandonCap: z.number().min(0).max(0.5, 'must be at most 0.5 (50%)').default(0.03),
  script: scriptSchema.optional(),
  retry: retryRulesSchema.optional(),
  /** What an abandoned customer hears before the number to call back: ARI media, e.g. a recording naming the caller. */
  informationMessage: z
    .array(mediaUri)
    .min(1)
    .max(10)
    .optional(),
  amd: z.boolean().optional(),
  localPresence: z.boolean().optional(),
  /** Seconds a customer's phone rings before the dial gives up; never below the policies' minimum ring time. null = the dialer's default (30 s). */
  ringTimeoutSeconds: z.int('must be a whole number of seconds').min(5, 'must be at least 5 seconds').max(300, 'must be at most 300 seconds').nullable().optional(),
  /** Complete the campaign by itself when nothing is due within this many days (attempts further out are cancelled). null = never. */
  completeWhenIdleDays: z.int('must be a whole number of days').min(1, 'must be at least 1 day').max(365).nullable().optional(),
  /** Days recordings are kept; the purge deletes them after that. null = kept until deleted by hand. */
  recordingRetentionDays: z.int('must be a whole number of days').min(1, 'must be at least 1 day').max(36_500).nullable().optional(),
  /**
   * Played to the answered customer of a recorded call before the agent joins ("this call is
   * recorded"): ARI media. Finding the agent runs meanwhile and still must succeed within the
   * connect timeout (2 s); see call-session.ts.
   */
  recordingAnnouncement: z.array(mediaUri).min(1).max(5).nullable().optional(),
  /**
   * The longest an answered call may last (seed rule 12), in seconds; at the limit the customer
   * hears the closing message and the call ends (the CDR's ended_by says max-duration). Never
   * above the campaign policy's dialing.maxCallSeconds. null = no limit.
   */
  maxCallSeconds: z.int('must be a whole number of seconds').min(10, 'must be at least 10 seconds').max(86_400, 'must be at most 86400 (24 h)').nullable().optional(),
  /** What the customer hears before Dialwell ends a call (maximum duration, a stop): ARI media; default sound:goodbye. */
  closingMessage: z.array(mediaUri).min(1).max(5).nullable().optional(),
});
export type CampaignInput = z.infer<typeof campaignInputSchema>;
/**
 * A PATCH changes only the fields it names. Not `campaignInputSchema.partial()`: zod 4 applies a
 * default inside `.optional()`, so every patch reset the policy, dial mode, limits, recording,
 * product, country, abandonment cap and retry rules to their defaults.
 */
export const campaignPatchSchema = z.strictObject(
  Object.fromEntries(Object.entries(campaignInputSchema.shape).map(([k, f]) => [k, withoutDefault(f).optional()])),
) as unknown as z.ZodType<Partial<CampaignInput>>;

function withoutDefault(f: z.ZodType): z.ZodType {
  return f instanceof z.ZodDefault || f instanceof z.ZodOptional ? withoutDefault(f.unwrap() as z.ZodType) : f;
}

export interface CampaignView {
  id: string;
  name: string;
  state: CampaignState;
  trunkId: string | null;
  callerIdId: string | null;
  policyName: string | null;
  dialMode: string;
  maxConcurrent: number;
  maxCps: number;
  recordCalls: boolean;
  product: string | null;
  defaultCountry: string;
  abandonCap: number;
  script: unknown;
  retry: unknown;
  informationMessage: unknown;
  amd: boolean;
  localPresence: boolean;
  ringTimeoutSeconds: number | null;
  completeWhenIdleDays: number | null;
  recordingRetentionDays: number | null;
  recordingAnnouncement: string[] | null;
  maxCallSeconds: number | null;
  closingMessage: string[] | null;
  createdAt: string;
  updatedAt: string;
}

export function campaignView(c: Campaign): CampaignView {
  return {
    id: c.id, name: c.name, state: c.state, trunkId: c.trunk_id, callerIdId: c.caller_id_id, policyName: c.policy_name,
    dialMode: c.dial_mode, maxConcurrent: c.max_concurrent, maxCps: c.max_cps, recordCalls: c.record_calls, product: c.product,
    defaultCountry: c.default_country, abandonCap: c.abandon_cap, script: c.settings.script ?? null, retry: c.settings.retry ?? null,
    informationMessage: c.settings.informationMessage ?? null, amd: c.settings.amd === true,
    localPresence: (c.settings.callerId as { localPresence?: unknown } | undefined)?.localPresence === true,
    ringTimeoutSeconds: typeof c.settings.ringTimeoutSeconds === 'number' ? c.settings.ringTimeoutSeconds : null,
    completeWhenIdleDays: typeof c.settings.completeWhenIdleDays === 'number' ? c.settings.completeWhenIdleDays : null,
    recordingRetentionDays: typeof c.settings.recordingRetentionDays === 'number' ? c.settings.recordingRetentionDays : null,
    recordingAnnouncement: Array.isArray(c.settings.recordingAnnouncement) ? (c.settings.recordingAnnouncement as string[]) : null,
    maxCallSeconds: typeof c.settings.maxCallSeconds === 'number' ? c.settings.maxCallSeconds : null,
    closingMessage: Array.isArray(c.settings.closingMessage) ? (c.settings.closingMessage as string[]) : null,
    createdAt: c.created_at.toISOString(), updatedAt: c.updated_at.toISOString(),
  };
}

/** Checks what the schema cannot: references exist, limits within the trunk's own. */
async function checkReferences(
  db: Db,
  c: Pick<CampaignInput, 'trunkId' | 'callerIdId' | 'policyName' | 'maxConcurrent' | 'maxCps'> & { maxCallSeconds?: number | null },
): Promise<void> {
  const trunk = await db.selectFrom('trunks').where('id', '=', c.trunkId).select(['name', 'enabled', 'max_channels', 'max_cps']).executeTakeFirst();
  if (!trunk) throw new CampaignError(`trunk ${c.trunkId} does not exist`, 400, 'trunkId');
  if (!trunk.enabled) throw new CampaignError(`trunk "${trunk.name}" is disabled`, 400, 'trunkId');
  if (c.maxCps > trunk.max_cps) throw new CampaignError(`maxCps ${c.maxCps} is above trunk "${trunk.name}"'s limit of ${trunk.max_cps} calls per second`, 400, 'maxCps');
  if (c.maxConcurrent > trunk.max_channels) throw new CampaignError(`maxConcurrent ${c.maxConcurrent} is above trunk "${trunk.name}"'s ${trunk.max_channels} channels`, 400, 'maxConcurrent');
  const cid = await db.selectFrom('caller_ids').where('id', '=', c.callerIdId).select('id').executeTakeFirst();
  if (!cid) throw new CampaignError(`caller id ${c.callerIdId} does not exist`, 400, 'callerIdId');
  const allowed = await db.selectFrom('caller_id_trunks').where('caller_id_id', '=', c.callerIdId).select('trunk_id').execute();
  if (allowed.length > 0 && !allowed.some((a) => a.trunk_id === c.trunkId)) {
    throw new CampaignError(`caller id ${c.callerIdId} may not be presented on trunk "${trunk.name}" (see its trunkIds)`, 400, 'callerIdId');
  }
  const policy = c.policyName ? await loadPolicy(db, c.policyName) : null;
  if (c.policyName && !policy) throw new CampaignError(`no policy named "${c.policyName}"`, 400, 'policyName');
  const policyMax = policy?.dialing?.maxCallSeconds;
  if (c.maxCallSeconds && policyMax !== undefined && c.maxCallSeconds > policyMax) {
    throw new CampaignError(`maxCallSeconds ${c.maxCallSeconds} is above policy "${c.policyName}"'s maximum call duration of ${policyMax} s`, 400, 'maxCallSeconds');
  }
}

/** The ring timeout may not cut a ring shorter than any applicable policy (global + campaign) asks. */
async function checkRingTimeout(db: Db, ringTimeoutSeconds: number | null | undefined, policyName: string | null): Promise<void> {
  if (ringTimeoutSeconds === null || ringTimeoutSeconds === undefined) return;
  const min = minRingSecondsOf(await new PolicyResolver(db, 0).forCampaign(policyName));
  if (min !== null && ringTimeoutSeconds < min) {
    throw new CampaignError(`ringTimeoutSeconds ${ringTimeoutSeconds} is below the ${min} s minimum ring time of the campaign's compliance policies`, 400, 'ringTimeoutSeconds');
  }
}

export async function createCampaignFrom(db: Db, input: CampaignInput): Promise<CampaignView> {
  await checkReferences(db, input);
  await checkRingTimeout(db, input.ringTimeoutSeconds, input.policyName);
  const exists = await db.selectFrom('campaigns').where('name', '=', input.name).select('id').executeTakeFirst();
  if (exists) throw new CampaignError(`a campaign named "${input.name}" exists already`, 409, 'name');
  const row = await db
    .insertInto('campaigns')
    .values({
      name: input.name, trunk_id: input.trunkId, caller_id_id: input.callerIdId, policy_name: input.policyName,
      dial_mode: input.dialMode, max_concurrent: input.maxConcurrent, max_cps: input.maxCps, record_calls: input.recordCalls,
      product: input.product, default_country: input.defaultCountry, abandon_cap: input.abandonCap,
      settings: JSON.stringify({
        script: input.script, retry: input.retry, informationMessage: input.informationMessage, amd: input.amd,
        callerId: input.localPresence === undefined ? undefined : { localPresence: input.localPresence },
        ringTimeoutSeconds: input.ringTimeoutSeconds ?? undefined,
        completeWhenIdleDays: input.completeWhenIdleDays ?? undefined,
        recordingRetentionDays: input.recordingRetentionDays ?? undefined,
        recordingAnnouncement: input.recordingAnnouncement ?? undefined,
        maxCallSeconds: input.maxCallSeconds ?? undefined,
        closingMessage: input.closingMessage ?? undefined,
      }),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return campaignView(row);
}

export async function getCampaign(db: Db, id: string): Promise<Campaign> {
  const c = await db.selectFrom('campaigns').where('id', '=', id).selectAll().executeTakeFirst();
  if (!c) throw new CampaignError(`campaign ${id} does not exist`, 404);
  return c;
}

export async function updateCampaign(db: Db, id: string, patch: Partial<CampaignInput>): Promise<CampaignView> {
  const c = await getCampaign(db, id);
  if (c.state === 'completed') throw new CampaignError(`campaign "${c.name}" is completed and can no longer change`, 409);
  const merged = {
    trunkId: patch.trunkId ?? c.trunk_id ?? '',
    callerIdId: patch.callerIdId ?? c.caller_id_id ?? '',
    policyName: patch.policyName !== undefined ? patch.policyName : c.policy_name,
    maxConcurrent: patch.maxConcurrent ?? c.max_concurrent,
    maxCps: patch.maxCps ?? c.max_cps,
    maxCallSeconds: patch.maxCallSeconds !== undefined ? patch.maxCallSeconds : typeof c.settings.maxCallSeconds === 'number' ? c.settings.maxCallSeconds : null,
  };
  await checkReferences(db, merged);
  await checkRingTimeout(db, patch.ringTimeoutSeconds !== undefined ? patch.ringTimeoutSeconds : (c.settings.ringTimeoutSeconds as number | undefined), merged.policyName);
  const settings = {
    ...c.settings,
    ...(patch.script !== undefined ? { script: patch.script } : {}),
    ...(patch.retry !== undefined ? { retry: patch.retry } : {}),
    ...(patch.informationMessage !== undefined ? { informationMessage: patch.informationMessage } : {}),
    ...(patch.amd !== undefined ? { amd: patch.amd } : {}),
    ...(patch.localPresence !== undefined ? { callerId: { localPresence: patch.localPresence } } : {}),
    ...(patch.ringTimeoutSeconds !== undefined ? { ringTimeoutSeconds: patch.ringTimeoutSeconds ?? undefined } : {}),
    ...(patch.completeWhenIdleDays !== undefined ? { completeWhenIdleDays: patch.completeWhenIdleDays ?? undefined } : {}),
    // null clears a setting (JSON drops undefined keys).
    ...(patch.recordingRetentionDays !== undefined ? { recordingRetentionDays: patch.recordingRetentionDays ?? undefined } : {}),
    ...(patch.recordingAnnouncement !== undefined ? { recordingAnnouncement: patch.recordingAnnouncement ?? undefined } : {}),
    ...(patch.maxCallSeconds !== undefined ? { maxCallSeconds: patch.maxCallSeconds ?? undefined } : {}),
    ...(patch.closingMessage !== undefined ? { closingMessage: patch.closingMessage ?? undefined } : {}),
  };
  const row = await db
    .updateTable('campaigns')
    .set({
      name: patch.name ?? c.name, trunk_id: merged.trunkId, caller_id_id: merged.callerIdId, policy_name: merged.policyName,
      dial_mode: patch.dialMode ?? c.dial_mode, max_concurrent: merged.maxConcurrent, max_cps: merged.maxCps,
      record_calls: patch.recordCalls ?? c.record_calls, product: patch.product !== undefined ? patch.product : c.product,
      default_country: patch.defaultCountry ?? c.default_country, abandon_cap: patch.abandonCap ?? c.abandon_cap,
      settings: JSON.stringify(settings), updated_at: new Date(),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return campaignView(row);
}

const TRANSITIONS: Record<'start' | 'pause' | 'complete', { from: CampaignState[]; to: CampaignState }> = {
  start: { from: ['draft', 'paused'], to: 'running' },
  pause: { from: ['running'], to: 'paused' },
  complete: { from: ['draft', 'running', 'paused'], to: 'completed' },
};

/** Moves a campaign through its states; completing it cancels the attempts still queued. */
export async function transitionCampaign(db: Db, id: string, action: keyof typeof TRANSITIONS): Promise<CampaignView> {
  const t = TRANSITIONS[action];
  return db.transaction().execute(async (trx) => {
    const c = await trx.selectFrom('campaigns').where('id', '=', id).selectAll().forUpdate().executeTakeFirst();
    if (!c) throw new CampaignError(`campaign ${id} does not exist`, 404);
    if (!t.from.includes(c.state)) throw new CampaignError(`cannot ${action} campaign "${c.name}": it is ${c.state} (allowed from ${t.from.join(', ')})`, 409);
    if (action === 'start' && (!c.trunk_id || !c.caller_id_id)) throw new CampaignError(`campaign "${c.name}" needs a trunk and a caller id before it starts`, 409);
    if (action === 'complete') await cancelQueuedAttempts(trx, id, new Date());
    const row = await trx.updateTable('campaigns').set({ state: t.to, updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    return campaignView(row);
  });
}

/**
 * Completes a running campaign that chose completeWhenIdleDays once nothing is due now, nothing is
 * being dialed and nothing falls due within that many days (what was scheduled further out is
 * cancelled, as any completion does). Checked under the campaign's row lock; audited as the system.
 * Returns the completed campaign, or null when it stays as it is.
 */
export async function completeIfIdle(db: Db, id: string, now: Date): Promise<{ campaign: CampaignView; idleUntil: Date | null } | null> {
  return db.transaction().execute(async (trx) => {
    const c = await trx.selectFrom('campaigns').where('id', '=', id).selectAll().forUpdate().executeTakeFirst();
    const days = c?.settings.completeWhenIdleDays;
    if (!c || c.state !== 'running' || typeof days !== 'number') return null;
    const s = await idleState(trx, id, now);
    // A campaign with no attempt yet has not started its work: it is not idle.
    if (s.attempts === 0 || s.due > 0 || s.dialing > 0) return null;
    if (s.nextAt !== null && s.nextAt.getTime() < now.getTime() + days * 86_400_000) return null;
    const cancelled = await cancelQueuedAttempts(trx, id, now);
    const row = await trx.updateTable('campaigns').set({ state: 'completed', updated_at: now }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    await writeAudit(trx, systemActor('system'), {
      action: 'campaign.completed', resource: 'campaign', resourceId: id, before: { state: c.state }, after: { state: row.state },
      details: { why: 'idle', completeWhenIdleDays: days, idleUntil: s.nextAt?.toISOString() ?? null, attemptsCancelled: cancelled },
    });
    return { campaign: campaignView(row), idleUntil: s.nextAt };
  });
}

/** Deletes a campaign that never reached Asterisk (its contacts and attempts go with it); one that placed calls is completed instead, so its CDRs keep their campaign. */
export async function deleteCampaign(db: Db, id: string): Promise<Campaign> {
  const c = await getCampaign(db, id);
  if (c.state === 'running') throw new CampaignError(`campaign "${c.name}" is running; pause or complete it first`, 409);
  const called = await db.selectFrom('calls').select('id').where('campaign_id', '=', id).limit(1).executeTakeFirst();
  if (called) throw new CampaignError(`campaign "${c.name}" placed calls and their records keep it; complete it instead`, 409);
  await db.deleteFrom('campaigns').where('id', '=', id).execute();
  return c;
}
