// Contact data handed to an agent is taken back after a set period (10 months unless configured):
// the cutoff is calendar months back from now, in UTC, so the rule reads as people say it.
import type { Db } from '../db/database.js';
import { clearAssignmentsUntil } from './contacts.repository.js';

export const DEFAULT_RECLAIM_MONTHS = 10;

/**
 * The instant `months` calendar months before `now` (UTC). A day the earlier month lacks becomes
 * its last day: 10 months before 2026-12-31 is 2026-02-28, not 2026-03-03.
 */
export function reclaimCutoff(now: Date, months: number): Date {
  if (!Number.isInteger(months) || months < 1 || months > 1200) {
    throw new RangeError(`the reclaim period must be a whole number of months from 1 to 1200, not ${months}`);
  }
  if (Number.isNaN(now.getTime())) throw new RangeError('now is not a valid date');
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth() - months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const day = Math.min(now.getUTCDate(), lastDay);
  return new Date(Date.UTC(y, m, day, now.getUTCHours(), now.getUTCMinutes(), now.getUTCSeconds(), now.getUTCMilliseconds()));
}

/** Whether an assignment made at `assignedAt` is due to be taken back at `now`. */
export function isDueForReclaim(assignedAt: Date, now: Date, months = DEFAULT_RECLAIM_MONTHS): boolean {
  return assignedAt.getTime() <= reclaimCutoff(now, months).getTime();
}

/** Clears every assignment `maxAgeMonths` old or older at `now`; returns how many contacts were taken back. */
export async function reclaimContacts(db: Db, now: Date, maxAgeMonths = DEFAULT_RECLAIM_MONTHS): Promise<number> {
  return clearAssignmentsUntil(db, reclaimCutoff(now, maxAgeMonths));
}
