// A campaign's progress and a contact's page, assembled from the read queries of
// progress.repository.ts with the stored decisions in plain words (compliance/explain.ts).
import { describeGroup, explainDecision, localInstant } from '../compliance/explain.js';
import { isKnownTimeZone } from '../compliance/rules/local-time.js';
import type { Db } from '../db/database.js';
import type { AttemptState } from '../db/schema.js';
import { ProgressError, idleState, idleUntil, listAttempts, progressGroups, type AttemptRow, type ContactBucket, type ProgressGroup } from './progress.repository.js';

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

function groupsOf(groups: ProgressGroup[], bucket: ContactBucket) {
  const mine = groups.filter((g) => g.bucket === bucket);
  return { contacts: mine.reduce((n, g) => n + g.contacts, 0), groups: mine };
}

const earliest = (gs: ProgressGroup[]): Date | null =>
  gs.reduce<Date | null>((m, g) => (g.firstAt && (!m || g.firstAt < m) ? g.firstAt : m), null);

export async function campaignProgress(db: Db, campaignId: string, now: Date) {
  const c = await db.selectFrom('campaigns').where('id', '=', campaignId).select(['id', 'name', 'state', 'settings']).executeTakeFirst();
  if (!c) throw new ProgressError(`campaign ${campaignId} does not exist`, 404);
  const [groups, idle] = await Promise.all([progressGroups(db, campaignId, now), idleState(db, campaignId, now)]);
  const waiting = groupsOf(groups, 'waiting');
  const scheduled = groupsOf(groups, 'scheduled');
  const done = groupsOf(groups, 'done');
  const skipped = groupsOf(groups, 'skipped');
  const { idleUntil: until, nothingLeft } = idleUntil(idle);
  const days = typeof c.settings.completeWhenIdleDays === 'number' ? c.settings.completeWhenIdleDays : null;
  const byReason = (gs: ProgressGroup[], withTimes: boolean) =>
    gs.map((g) => ({
      reason: g.key ?? 'unknown', rules: (g.key ?? '').split('+').filter(Boolean), description: describeGroup(g.key ?? 'unknown'), contacts: g.contacts,
      ...(withTimes ? { nextAt: iso(g.firstAt), lastAt: iso(g.lastAt) } : {}),
    })).sort((a, b) => b.contacts - a.contacts);
  return {
    campaignId: c.id,
    name: c.name,
    state: c.state,
    at: now.toISOString(),
    contacts: groups.reduce((n, g) => n + g.contacts, 0),
    notStarted: groupsOf(groups, 'not-started').contacts,
    waiting: {
      contacts: waiting.contacts,
      dueSince: iso(earliest(waiting.groups)),
      handedToDialer: waiting.groups.find((g) => g.key === 'handed-to-dialer')?.contacts ?? 0,
    },
    scheduledLater: { contacts: scheduled.contacts, nextAt: iso(earliest(scheduled.groups)), byReason: byReason(scheduled.groups, true) },
    dialing: { contacts: groupsOf(groups, 'dialing').contacts },
    done: {
      contacts: done.contacts,
      byOutcome: done.groups.map((g) => ({ outcome: g.key ?? 'unknown', contacts: g.contacts })).sort((a, b) => b.contacts - a.contacts),
    },
    skipped: { contacts: skipped.contacts, byReason: byReason(skipped.groups, false) },
    cancelled: { contacts: groupsOf(groups, 'cancelled').contacts },
    /** Nothing due and nothing being dialed: the instant the next attempt falls due. */
    idleUntil: iso(until),
    nothingLeft,
    completeWhenIdleDays: days,
    /** When the runner will complete it by itself (the campaign running, idle beyond its limit). */
    completesByItself: c.state === 'running' && days !== null && idle.attempts > 0 && (nothingLeft || (until !== null && until.getTime() >= now.getTime() + days * 86_400_000)),
  };
}

/** Where a contact stands, from its current attempt (as progressGroups counts it). */
function bucketOf(a: Pick<AttemptRow, 'state' | 'scheduledAt'> | undefined, now: Date): ContactBucket {
  if (!a) return 'not-started';
  const state: AttemptState = a.state;
  if (state === 'queued') return new Date(a.scheduledAt) <= now ? 'waiting' : 'scheduled';
  if (state === 'completed' || state === 'failed') return 'done';
  return state === 'dialing' ? 'dialing' : state === 'skipped' ? 'skipped' : 'cancelled';
}

/** The attempts a contact page lists (newest first). */
const CONTACT_ATTEMPTS = 500;

export async function contactOverview(db: Db, contactId: string, now: Date) {
  const ct = await db
    .selectFrom('contacts as ct')
    .innerJoin('campaigns as c', 'c.id', 'ct.campaign_id')
    .where('ct.id', '=', contactId)
    .select(['ct.id', 'ct.campaign_id', 'c.name as campaign_name', 'c.state as campaign_state', 'ct.phone', 'ct.name', 'ct.segment', 'ct.time_zone',
      'ct.priority', 'ct.external_id', 'ct.created_at'])
    .executeTakeFirst();
  if (!ct) throw new ProgressError(`contact ${contactId} does not exist`, 404);
  const { attempts } = await listAttempts(db, { contactId }, {}, { limit: CONTACT_ATTEMPTS });
  const ids = attempts.map((a) => a.id);
  const decisions = ids.length === 0 ? [] : await db.selectFrom('decisions').where('attempt_id', 'in', ids).selectAll().orderBy('decided_at', 'desc').execute();
  const current = attempts.find((a) => a.state === 'queued' || a.state === 'dialing') ?? attempts[0];
  const bucket = bucketOf(current, now);
  const latest = current ? decisions.find((d) => d.attempt_id === current.id) : undefined;
  const zone = [...(latest?.time_zones ?? []), ...(ct.time_zone ? [ct.time_zone] : [])].find(isKnownTimeZone) ?? null;
  const nextAllowedAt = bucket === 'scheduled' || bucket === 'waiting' ? current!.scheduledAt : null;
  const when = (at: string) => (zone ? `${localInstant(new Date(at), zone, now)} in ${zone} (${at})` : at);
  const NEXT: Record<ContactBucket, () => string> = {
    'not-started': () => 'No attempt has been made for this contact yet',
    waiting: () => 'Due now: waiting for the dialer (free agents, the campaign running, its limits)',
    scheduled: () => `Next allowed ${when(nextAllowedAt!)}`,
    dialing: () => 'Being dialed now',
    done: () => `Done (${current?.outcome ?? current?.state ?? 'ended'}); no further attempt is scheduled`,
    skipped: () => 'Skipped: not called again in this campaign',
    cancelled: () => 'Cancelled (the campaign was completed)',
  };
  return {
    contact: {
      id: ct.id, campaignId: ct.campaign_id, campaignName: ct.campaign_name, campaignState: ct.campaign_state, phone: ct.phone, name: ct.name,
      segment: ct.segment, timeZone: ct.time_zone, priority: ct.priority, externalId: ct.external_id, createdAt: ct.created_at.toISOString(),
    },
    state: bucket,
    nextAllowedAt,
    next: NEXT[bucket](),
    attempts: attempts.map((a) => ({
      ...a,
      decisions: decisions.filter((d) => d.attempt_id === a.id).map((d) => ({
        id: d.id, decidedAt: d.decided_at.toISOString(), allowed: d.allowed, nextAllowedAt: iso(d.next_allowed_at),
        timeZones: d.time_zones, policyVersions: d.policy_versions,
        explanation: explainDecision({ allowed: d.allowed, reasons: d.reasons, timeZones: d.time_zones, nextAllowedAt: d.next_allowed_at }, now),
      })),
    })),
  };
}
