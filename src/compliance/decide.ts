// The dial-time compliance decision: evaluates every rule of every policy (global + campaign;
// the strictest wins because all must pass) against the facts, synchronously and without I/O,
// explains each rule, and works out the next instant the same facts would be allowed.
import type { Policy } from './policy.js';
import type { ParsePhoneResult } from './phone.js';
import { evaluateCap, evaluateProductInterval, evaluateRest, prepareHistory } from './rules/caps.js';
import { policyView, type PolicyView } from './rules/compile.js';
import { evaluateDnc } from './rules/dnc.js';
import { evaluateCalendar, evaluateHours, type LocalReading } from './rules/hours.js';
import { DAY, isKnownTimeZone, wallAt } from './rules/local-time.js';
import { evaluateProtected } from './rules/protected.js';
import { evaluateRefusals } from './rules/refusals.js';
import type { Decision, DecisionFacts, Reason, RuleResult } from './rules/types.js';
import { combineSchedule, nextOpenInAllZones } from './rules/windows.js';

export type { AttemptRecord, Decision, DecisionFacts, DncHit, ProtectedHit, Reason, RuleName } from './rules/types.js';

/** How far ahead nextAllowedAt looks before answering "never" (null). */
export const NEXT_ALLOWED_HORIZON_DAYS = 400;

interface Evaluation {
  reasons: Reason[];
  zones: string[];
  zonesKnown: boolean;
  views: PolicyView[];
  /** Some failed rule never stops failing (DNC without expiry, protected, refusals, unknown zone). */
  permanent: boolean;
  /** The latest instant at which a failed history or DNC rule stops failing. */
  blockedUntil: number;
}

function evaluate(facts: DecisionFacts, policies: readonly Policy[], t: number): Evaluation {
  if (policies.length === 0) throw new Error('decide() needs at least the global policy; got none');
  const reasons: Reason[] = [];
  let permanent = false;
  let blockedUntil = t;
  const record = (r: RuleResult | null): void => {
    if (r === null) return;
    reasons.push(r.reason);
    if (r.reason.passed || r.blockedUntil === undefined) return;
    if (r.blockedUntil === null) permanent = true;
    else if (r.blockedUntil > blockedUntil) blockedUntil = r.blockedUntil;
  };

  const zones = facts.timeZones.length === 1 ? [facts.timeZones[0]!] : [...new Set(facts.timeZones)];
  const unknown = zones.filter((z) => !isKnownTimeZone(z));
  const zonesKnown = zones.length > 0 && unknown.length === 0;
  record({
    reason: {
      rule: 'time-zone', policy: null, passed: zonesKnown,
      detail: zones.length === 0 ? 'unknown time zone' : zonesKnown ? `callee local time from ${zones.join(', ')}` : `unknown time zone ${unknown.join(', ')}`,
      inputs: { zones, unknown },
    },
    blockedUntil: null,
  });
  const readings: LocalReading[] = zonesKnown ? zones.map((zone) => ({ zone, wall: wallAt(zone, t) })) : [];
  const history = prepareHistory(facts.history);
  const views: PolicyView[] = [];

  for (const p of policies) {
    const view = policyView(p, facts.region, facts.segment);
    views.push(view);
    record(evaluateProtected(p.protected, p.name, facts));
    if (p.dnc.lists.length > 0) record(evaluateDnc(p.dnc.lists, p.name, facts, t));
    if (zonesKnown) {
      record(evaluateHours(view.windowSets, p.name, readings));
      record(evaluateCalendar(view.closed, p.name, facts.region, readings));
    } else if (view.windowSets.length > 0 || view.closed.size > 0) {
      record({ reason: { rule: 'hours', policy: p.name, passed: false, detail: 'cannot check calling hours without the callee time zone', inputs: { zones } } });
    }
    for (const { cap, origin } of view.caps) record(evaluateCap(cap, origin, facts, history, t));
    for (const { rest, cap, origin } of view.rests) record(evaluateRest(rest, cap, origin, facts, history, t));
    if (p.productOffers) record(evaluateProductInterval(p.productOffers.minIntervalHours, p.productOffers.countOutcomes, p.name, facts, history, t));
    if (p.refusals) record(evaluateRefusals(p.refusals.stopAfter, p.refusals.scope, p.name, facts, history));
  }
  return { reasons, zones, zonesKnown, views, permanent, blockedUntil };
}

export function decide(facts: DecisionFacts, policies: readonly Policy[], now: Date): Decision {
  const t = now.getTime();
  const e = evaluate(facts, policies, t);
  let allowed = true;
  for (const r of e.reasons) if (!r.passed) { allowed = false; break; }
  let next: number | null = t;
  if (!allowed) {
    if (e.permanent || !e.zonesKnown) next = null;
    else {
      // History and DNC expiries only move forward; from the latest of them, find open hours.
      const schedule = combineSchedule(e.views.flatMap((v) => v.windowSets), e.views.map((v) => v.closed));
      next = nextOpenInAllZones(schedule, e.zones, e.blockedUntil, t + NEXT_ALLOWED_HORIZON_DAYS * DAY);
    }
  }
  return {
    allowed,
    reasons: e.reasons,
    timeZones: e.zones,
    policyVersions: policies.map((p) => ({ name: p.name, version: p.version })),
    nextAllowedAt: next === null ? null : new Date(next),
  };
}

/** The documented JSON form of a decision (HTTP dry run, CLI), for one phone. */
export function decisionJson(phone: string, d: Decision) {
  return {
    phone,
    allowed: d.allowed,
    reasons: d.reasons.map((r) => ({ rule: r.rule, passed: r.passed, detail: r.detail, policy: r.policy, inputs: r.inputs })),
    timeZones: d.timeZones,
    policyVersions: d.policyVersions,
    nextAllowedAt: d.nextAllowedAt?.toISOString() ?? null,
  };
}

/** How many hours of attempt history decide() needs for these policies (bounds the DB fetch). */
export function historyHorizonHours(policies: readonly Policy[]): number {
  let h = 0;
  for (const p of policies) {
    const caps = new Map<string, number>();
    const overlays = [p, ...Object.values(p.regions), ...Object.values(p.segments)];
    for (const o of overlays) for (const c of o.caps) { h = Math.max(h, c.windowHours); if (c.id) caps.set(c.id, c.windowHours); }
    for (const o of overlays) for (const r of o.rests) h = Math.max(h, r.hours + (r.cap ? caps.get(r.cap) ?? 0 : 0));
    if (p.productOffers) h = Math.max(h, p.productOffers.minIntervalHours);
  }
  return h;
}

export type ScrubStatus = 'invalid' | 'protected' | 'dnc' | 'over-caps' | 'unknown-time-zone' | 'eligible';
export interface ScrubResult {
  status: ScrubStatus;
  /** E.164 when the input parsed. */
  phone: string | null;
  detail: string;
}

/** Facts for scrubbing: the phone and its type come from the parse result. */
export type ScrubFacts = Omit<DecisionFacts, 'phone' | 'numberType'>;

const SCRUB_ORDER: [ScrubStatus, readonly string[]][] = [
  ['protected', ['protected']],
  ['dnc', ['dnc']],
  ['unknown-time-zone', ['time-zone']],
  ['over-caps', ['cap', 'rest', 'product-interval', 'refusals']],
];

/**
 * List scrubbing (no dialing): is this number invalid, protected, on DNC, without a known zone,
 * or over caps? Calling hours are ignored: a list is scrubbed once, dialed later.
 */
export function classifyForScrub(parsed: ParsePhoneResult, facts: ScrubFacts, policies: readonly Policy[], now: Date): ScrubResult {
  if (!parsed.ok) return { status: 'invalid', phone: null, detail: parsed.error };
  const e = evaluate({ ...facts, phone: parsed.e164, numberType: parsed.type }, policies, now.getTime());
  return { phone: parsed.e164, ...scrubStatusOf(e.reasons) };
}

/** The scrub status a decision's reasons give (calling hours ignored: a list is scrubbed once, dialed later). */
export function scrubStatusOf(reasons: readonly Reason[]): { status: ScrubStatus; detail: string } {
  for (const [status, rules] of SCRUB_ORDER) {
    const failed = reasons.find((r) => !r.passed && rules.includes(r.rule));
    if (failed) return { status, detail: failed.detail };
  }
  return { status: 'eligible', detail: 'no list, protection or cap stops this number' };
}
