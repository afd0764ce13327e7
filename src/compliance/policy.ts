// The compliance policy document: a versioned, zod-validated description of every calling rule
// (hours, holidays, caps, rests, product offers, refusals, DNC, protected numbers), so that rules
// are configuration attached globally or to a campaign, never code.
import { z } from 'zod';

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Outcomes a dial attempt can end with; caps and rests can count only some of them. */
export const CALL_OUTCOMES = [
  'no-answer', 'busy', 'failed', 'congestion', 'cancelled', 'rejected',
  'conversation', 'abandoned', 'machine', 'voicemail',
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

/** libphonenumber number types a policy can refuse to dial (payphones have no type: use a list). */
export const NUMBER_TYPES = [
  'PREMIUM_RATE', 'TOLL_FREE', 'SHARED_COST', 'VOIP', 'PERSONAL_NUMBER', 'PAGER', 'UAN',
  'VOICEMAIL', 'FIXED_LINE_OR_MOBILE', 'FIXED_LINE', 'MOBILE',
] as const;
export type NumberTypeName = (typeof NUMBER_TYPES)[number];

/** Emergency short codes never dialed (checked against the digits after the country code). */
export const DEFAULT_EMERGENCY_NUMBERS = ['911', '112', '999', '000', '110', '119', '120', '122', '100', '101', '102', '108', '15', '17', '18'];

const hhmm = z
  .string()
  .regex(/^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'must be a local time "HH:MM" between 00:00 and 24:00, e.g. "08:00"');

const isRealDate = (s: string): boolean => {
  const [y, m, d] = s.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
};
const localDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a local date "YYYY-MM-DD"')
  .refine(isRealDate, 'is not a real calendar date');
const holidayDate = z
  .string()
  .regex(/^(?:\d{4}-)?\d{2}-\d{2}$/, 'must be "YYYY-MM-DD" (one day) or "MM-DD" (every year)')
  .refine((s) => isRealDate(s.length === 5 ? `2000-${s}` : s), 'is not a real calendar date');

/** Region keys: ISO 3166-1 country ("GB") or ISO 3166-2 subdivision ("US-FL"). */
export const REGION_PATTERN = /^[A-Z]{2}(?:-[A-Z0-9]{1,3})?$/;
const regionKey = z.string().regex(REGION_PATTERN, 'must be an ISO 3166 code such as "US-FL" or "GB" (upper case)');
const segmentKey = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a lower-case segment name such as "owner"');
const hours = z.number().positive('must be a positive number of hours');

export const windowSchema = z
  .strictObject({
    days: z.array(z.enum(WEEKDAYS)).min(1, 'must list at least one weekday ("mon".."sun")'),
    start: hhmm,
    /** Exclusive: a window 08:00-21:00 allows 20:59 and denies 21:00. */
    end: hhmm,
  })
  .refine((w) => w.start < w.end, { message: 'end must be after start (a window cannot cross midnight: split it in two)', path: ['end'] });
export type CallingWindow = z.infer<typeof windowSchema>;

export const holidaySchema = z.strictObject({
  date: holidayDate,
  name: z.string().min(1, 'must name the holiday'),
  /** Only these regions close on this day; absent = every callee. */
  regions: z.array(regionKey).min(1).optional(),
});
export type Holiday = z.infer<typeof holidaySchema>;

export const blackoutSchema = z
  .strictObject({
    from: localDate,
    to: localDate,
    reason: z.string().optional(),
    regions: z.array(regionKey).min(1).optional(),
  })
  .refine((b) => b.from <= b.to, { message: 'to must be on or after from', path: ['to'] });
export type Blackout = z.infer<typeof blackoutSchema>;

export const capScopeSchema = z.enum(['phone', 'campaign', 'product']);
export type CapScope = z.infer<typeof capScopeSchema>;

export const capSchema = z.strictObject({
  /** Lets a rest period name the cap that triggers it. */
  id: z.string().min(1).optional(),
  scope: capScopeSchema,
  max: z.int('must be a whole number').min(1, 'must be at least 1'),
  windowHours: hours,
  /** Only attempts with these outcomes count; absent = every attempt counts. */
  countOutcomes: z.array(z.enum(CALL_OUTCOMES)).min(1).optional(),
});
export type Cap = z.infer<typeof capSchema>;

export const restSchema = z
  .strictObject({
    after: z.enum(['cap-reached', 'conversation', 'abandoned', 'refusal']),
    hours,
    /** For after: 'cap-reached', the id of the cap whose reaching starts the rest. */
    cap: z.string().min(1).optional(),
    /** Which attempts trigger the rest (cap-reached uses the cap's own scope). */
    scope: capScopeSchema.default('phone'),
    /** Ofcom: a repeat call within 72 h of an abandoned one is allowed if an agent is guaranteed. */
    unlessAgentGuaranteed: z.boolean().default(false),
  })
  .refine((r) => (r.after === 'cap-reached') === (r.cap !== undefined), {
    message: 'cap is required when after is "cap-reached" (the id of a cap in this policy) and not allowed otherwise',
    path: ['cap'],
  });
export type Rest = z.infer<typeof restSchema>;

/** Rules that apply on top of the base ones for one region or one contact segment. */
export const overlaySchema = z.strictObject({
  description: z.string().optional(),
  windows: z.array(windowSchema).optional(),
  caps: z.array(capSchema).default([]),
  rests: z.array(restSchema).default([]),
});
export type Overlay = z.infer<typeof overlaySchema>;

export const dncListSchema = z.enum(['global', 'campaign']);
export type DncListName = z.infer<typeof dncListSchema>;

const basePolicySchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'must be a lower-case name such as "us-federal"'),
  version: z.int('must be a whole number').min(1, 'must be 1 or more'),
  description: z.string().optional(),
  /** A number whose time zone is unknown is never dialed; not configurable on purpose. */
  unknownTimeZone: z.literal('deny', { error: 'must be "deny": an unknown time zone is never guessed' }).default('deny'),
  /** Calling windows in the callee's local time; absent = no hours restriction from this policy. */
  windows: z.array(windowSchema).optional(),
  holidays: z.array(holidaySchema).default([]),
  blackouts: z.array(blackoutSchema).default([]),
  caps: z.array(capSchema).default([]),
  rests: z.array(restSchema).default([]),
  /** Minimum time between two offers (by default: conversations) of the same product. */
  productOffers: z
    .strictObject({
      minIntervalHours: hours,
      countOutcomes: z.array(z.enum(CALL_OUTCOMES)).min(1).default(['conversation']),
    })
    .optional(),
  /** Stop offering a product (or calling at all, scope 'any') after this many refusals. */
  refusals: z
    .strictObject({
      stopAfter: z.int('must be a whole number').min(1, 'must be at least 1'),
      scope: z.enum(['product', 'any']).default('product'),
    })
    .optional(),
  regions: z.record(regionKey, overlaySchema).default({}),
  segments: z.record(segmentKey, overlaySchema).default({}),
  dnc: z
    .strictObject({
      lists: z.array(dncListSchema).default(['global', 'campaign']),
      /** Carried for the DNC intake process (e.g. TCPA 10 business days); decide() honours entries at once. */
      honourRequestsWithinBusinessDays: z.int().min(0).optional(),
      /** Carried for registry imports: re-scrub at least this often (US: 31 days). */
      registryRescrubDays: z.int().min(1).optional(),
      /** Carried for registry imports: a registration takes effect after this many days (UK TPS: 28). */
      registrationEffectiveAfterDays: z.int().min(0).optional(),
    })
    .default({ lists: ['global', 'campaign'] }),
  protected: z
    .strictObject({
      emergencyNumbers: z.array(z.string().regex(/^\d{2,6}$/, 'must be 2-6 digits, e.g. "911"')).default(DEFAULT_EMERGENCY_NUMBERS),
      types: z.array(z.enum(NUMBER_TYPES)).default(['PREMIUM_RATE']),
      prefixes: z.array(z.string().regex(/^\+\d{1,14}$/, 'must be an E.164 prefix such as "+1900"')).default([]),
      numbers: z.array(z.string().regex(/^\+\d{6,15}$/, 'must be an E.164 number such as "+13055550123"')).default([]),
      /** Protected lists (payphone, protected-person, ...) whose hits deny; "*" = every list. */
      lists: z.array(z.string().min(1)).default(['*']),
    })
    .default({ emergencyNumbers: DEFAULT_EMERGENCY_NUMBERS, types: ['PREMIUM_RATE'], prefixes: [], numbers: [], lists: ['*'] }),
  /** Staff-facing displays hide the middle digits (A.9: 138****5678). */
  maskNumbers: z.boolean().default(false),
  /** Carried for pacing, caller-id selection and call handling; decide() does not evaluate these. */
  dialing: z
    .strictObject({
      maxAbandonedPercent: z.number().min(0).max(100).optional(),
      abandonedMeasurement: z.enum(['rolling-30-days', 'calendar-day']).optional(),
      connectToAgentWithinSeconds: z.number().positive().optional(),
      minRingSeconds: z.number().positive().optional(),
      amdFalsePositivesCountAsAbandoned: z.boolean().optional(),
      presentCallerId: z.boolean().optional(),
      callbackCallerId: z.enum(['called-hotline', 'campaign']).optional(),
      maxCallSeconds: z.number().positive().optional(),
    })
    .optional(),
});

/** Cross-field checks: cap ids are unique and every cap-reached rest names an existing cap. */
export const policySchema = basePolicySchema.superRefine((p, ctx) => {
  const ids = new Set<string>();
  const overlays: [string[], Overlay | typeof p][] = [[[], p]];
  for (const [k, o] of Object.entries(p.regions)) overlays.push([['regions', k], o]);
  for (const [k, o] of Object.entries(p.segments)) overlays.push([['segments', k], o]);
  for (const [path, o] of overlays) {
    o.caps.forEach((c, i) => {
      if (c.id === undefined) return;
      if (ids.has(c.id)) ctx.addIssue({ code: 'custom', path: [...path, 'caps', i, 'id'], message: `cap id "${c.id}" is used twice; ids must be unique in a policy` });
      ids.add(c.id);
    });
  }
  for (const [path, o] of overlays) {
    o.rests.forEach((r, i) => {
      if (r.cap !== undefined && !ids.has(r.cap)) {
        ctx.addIssue({ code: 'custom', path: [...path, 'rests', i, 'cap'], message: `no cap with id "${r.cap}" in this policy (known: ${[...ids].join(', ') || 'none'})` });
      }
    });
  }
});

export type Policy = z.output<typeof policySchema>;
/** What an author writes: defaults may be left out. */
export type PolicyInput = z.input<typeof policySchema>;

export type ParsePolicyResult = { ok: true; policy: Policy } | { ok: false; errors: string[] };

/** Turns zod issues into "field.path: why" lines a policy author can act on. */
export function formatPolicyIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    const path = issue.path
      .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
      .join('');
    let message = issue.message;
    if (issue.code === 'invalid_key' && issue.issues.length > 0) message = `key ${issue.issues.map((i) => i.message).join('; ')}`;
    out.push(`${path || '(policy)'}: ${message}`);
  }
  return out;
}

export function parsePolicy(input: unknown): ParsePolicyResult {
  const r = policySchema.safeParse(input);
  return r.success ? { ok: true, policy: r.data } : { ok: false, errors: formatPolicyIssues(r.error.issues) };
}

/** The longest minimum ring time these policies ask (all apply, so the strictest wins); null when none sets one. */
export function minRingSecondsOf(policies: readonly Policy[]): number | null {
  let min: number | null = null;
  for (const p of policies) {
    const s = p.dialing?.minRingSeconds;
    if (s !== undefined && (min === null || s > min)) min = s;
  }
  return min;
}
