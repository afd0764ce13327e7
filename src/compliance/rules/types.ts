// The contract between the dial path and the rule engine: the facts a decision is made from and
// the explained decision it returns. Plain data only, so decisions can be stored as JSON.
import type { CallOutcome, DncListName, NumberTypeName } from '../policy.js';

/** One past dial attempt to this phone number, from any campaign. */
export interface AttemptRecord {
  at: Date;
  campaignId: string;
  product: string | null;
  outcome: CallOutcome;
  /** The callee declined the offer (counts towards "stop after N refusals"). */
  refused: boolean;
}

/** An active do-not-call entry for this number (the caller drops removed entries). */
export interface DncHit {
  list: DncListName;
  /** Where the entry came from: manual, api, complaint, registry import... */
  source: string;
  expiresAt: Date | null;
}

/** A hit on a configured protected list (payphone, protected-person, ...). */
export interface ProtectedHit {
  list: string;
  source?: string;
}

export interface DecisionFacts {
  /** E.164. */
  phone: string;
  /** From parsePhone(); null when the metadata does not say. */
  numberType: NumberTypeName | null;
  /** From resolveTimeZones(); [] = unknown (always denied). */
  timeZones: readonly string[];
  /** ISO 3166 region ("US-FL", "GB") from the number or the contact; null = unknown. */
  region: string | null;
  segment: string | null;
  campaignId: string | null;
  product: string | null;
  /** Past attempts, at least historyHorizonHours() deep; any order. */
  history: readonly AttemptRecord[];
  /** All-time refusals per product for this phone, when the caller keeps that tally; else counted in history. */
  refusalsByProduct?: Readonly<Record<string, number>>;
  dncHits: readonly DncHit[];
  protectedHits: readonly ProtectedHit[];
  /** An agent is reserved for this call (Ofcom's exception to the 72 h rest after an abandoned call). */
  agentGuaranteed?: boolean;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type ReasonInputs = { [key: string]: JsonValue };

export type RuleName =
  | 'time-zone' | 'hours' | 'calendar' | 'cap' | 'rest' | 'product-interval' | 'refusals' | 'dnc' | 'protected'
  // Added by the dial gate, not by policies: no policy applies; a call to the number is live.
  | 'policy' | 'in-progress';

export interface Reason {
  rule: RuleName;
  /** The policy this rule comes from; null for engine-wide rules (time-zone). */
  policy: string | null;
  passed: boolean;
  /** A sentence a supervisor can read. */
  detail: string;
  /** The figures the rule looked at (local times and zones, counts in window, list hits). */
  inputs: ReasonInputs;
}

export interface Decision {
  allowed: boolean;
  reasons: Reason[];
  timeZones: string[];
  policyVersions: { name: string; version: number }[];
  /** Earliest instant ≥ now at which the same facts would be allowed; null = never. */
  nextAllowedAt: Date | null;
}

/** What a rule returns besides its reason: when it stops blocking. */
export interface RuleResult {
  reason: Reason;
  /** For a failed rule: the instant it stops failing (history only ages), or null = never. */
  blockedUntil?: number | null;
}
