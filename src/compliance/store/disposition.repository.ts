// What the agent records at wrap-up feeds compliance at once: the outcome and whether the customer
// refused (for "stop after N refusals" and product intervals), and a do-not-call request or a
// complaint, which puts the number on the do-not-call list before the transaction commits.
import type { Db } from '../../db/database.js';
import { recordCallDisposition } from '../../cdr/cdr.repository.js';
import { setAttemptDisposition } from '../../dialer/attempts.repository.js';
import { addDncEntryIn } from './dnc.repository.js';

export interface Disposition {
  attemptId: string;
  /** The call's result in the call centre's words (sale, callback, not-interested, ...). */
  result: string;
  refused: boolean;
  product?: string | null;
  feedback?: string | null;
  doNotCall: boolean;
  complaint?: string | null;
  actor: string;
  /** When the agent recorded it (ends wrap-up in reports); default now. */
  at?: Date;
}

export class DispositionError extends Error {
  override readonly name = 'DispositionError';
  constructor(
    message: string,
    readonly status: 404 | 409,
  ) {
    super(message);
  }
}

export async function recordDisposition(db: Db, d: Disposition): Promise<{ phone: string; addedToDnc: boolean }> {
  return db.transaction().execute(async (trx) => {
    const a = await trx.selectFrom('attempts').where('id', '=', d.attemptId).select(['id', 'phone', 'state', 'dialed_at']).forUpdate().executeTakeFirst();
    if (!a) throw new DispositionError(`attempt ${d.attemptId} does not exist`, 404);
    if (!a.dialed_at) throw new DispositionError(`attempt ${d.attemptId} was never dialed (state ${a.state}); only dialed calls take a disposition`, 409);
    const at = d.at ?? new Date();
    await setAttemptDisposition(trx, a.id, { refused: d.refused, result: d.result, at, product: d.product ?? null });
    // The CDR keeps the result and the wrap-up time (call end → this disposition).
    await recordCallDisposition(trx, a.id, d.result, at);
    let addedToDnc = false;
    if (d.doNotCall || d.complaint) {
      await addDncEntryIn(trx, {
        phone: a.phone,
        source: d.complaint ? 'complaint' : 'disposition',
        reason: d.complaint ?? `asked not to be called (disposition ${d.result})`,
        actor: d.actor,
      });
      addedToDnc = true;
    }
    return { phone: a.phone, addedToDnc };
  });
}

