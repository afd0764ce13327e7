// One contact at a time (the API's JSON body): the same checks as an import row, the same upsert by
// (campaign, phone), the same single initial attempt.
import type { Db } from '../db/database.js';
import { createInitialAttempts } from '../dialer/attempts.repository.js';
import { findContactId, upsertContacts } from './contacts.repository.js';
import { resolveImportTarget } from './import.js';
import { checkContact, type FieldProblem, type RawContact, type UpdatableField } from './validate.js';

export class ContactInputError extends Error {
  override readonly name = 'ContactInputError';
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.problem}`).join('; '));
  }
}

export interface SavedContact {
  id: string;
  phone: string;
  outcome: 'inserted' | 'updated' | 'unchanged';
  attemptCreated: boolean;
}

const UPDATABLE: readonly UpdatableField[] = ['name', 'segment', 'time_zone', 'priority', 'external_id'];

/**
 * Adds a contact, or updates the one with the same phone: only the fields given change, and of the
 * attributes only the keys given (null removes a key). Throws ContactInputError, or ContactImportError (no such campaign, bad country).
 * `initialAttempt: false` leaves out the contact's initial attempt (code that makes its own
 * attempts: tests, benchmarks).
 */
export async function saveContact(db: Db, campaignId: string, raw: RawContact, country?: string, opts: { initialAttempt?: boolean } = {}): Promise<SavedContact> {
  const target = await resolveImportTarget(db, campaignId, country);
  const checked = checkContact(raw, target.country);
  if (!checked.ok) throw new ContactInputError(checked.problems);
  const c = checked.contact;
  const scope = { fields: UPDATABLE.filter((f) => raw[f] !== undefined), attributeKeys: Object.keys(raw.attributes ?? {}) };
  return db.transaction().execute(async (trx) => {
    const r = await upsertContacts(trx, target.campaignId, [c], scope);
    const attempts = opts.initialAttempt === false ? 0 : await createInitialAttempts(trx, target.campaignId, [c.phone]);
    const written = r.rows[0];
    // An unchanged row is not returned by the upsert: look its id up.
    const id = written?.id ?? (await findContactId(trx, target.campaignId, c.phone));
    if (id === undefined) throw new Error(`contact ${c.phone} of campaign ${target.campaignId} vanished during its upsert`);
    return { id, phone: c.phone, outcome: written?.outcome ?? 'unchanged', attemptCreated: attempts > 0 };
  });
}
