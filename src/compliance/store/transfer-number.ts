// The check a number passes before an agent transfers a live customer to it (an attended or blind
// transfer to an outside number). The customer asked to be put through, so it is not a marketing
// call to that number: calling hours, caps and the national registry do not apply. What does:
// the number is valid E.164 (never an emergency or premium-rate number: a transfer must not run
// up a premium line or tie up an emergency service), and it is on no do-not-call entry (global,
// or of the call's campaign) and no protected list: those numbers are never called by Dialwell,
// whoever asks.
import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import { parsePhone } from '../phone.js';

export type TransferNumberCheck = { ok: true; e164: string } | { ok: false; reason: string };

export async function checkTransferNumber(db: Db, input: string, campaignId: string, now = new Date()): Promise<TransferNumberCheck> {
  if (!/^\+[1-9]\d{6,14}$/.test(input)) return { ok: false, reason: `${JSON.stringify(input.slice(0, 40))} is not an E.164 number: write it as + country code and number, digits only (e.g. +442071234567)` };
  const p = parsePhone(input);
  if (!p.ok) return { ok: false, reason: p.error };
  if (p.type === 'PREMIUM_RATE' || p.type === 'SHARED_COST') return { ok: false, reason: `${p.e164} is a ${p.type === 'PREMIUM_RATE' ? 'premium-rate' : 'shared-cost'} number: calls are never transferred to one` };
  const row = await sql<{ dnc: string | null; protected: string | null }>`
    select
      (select d.source from dnc_entries d
        where d.phone = ${p.e164} and (d.campaign_id is null or d.campaign_id = ${campaignId}::uuid)
          and (d.expires_at is null or d.expires_at > ${now}) limit 1) as dnc,
      (select pn.list from protected_numbers pn where pn.phone = ${p.e164} limit 1) as protected`.execute(db);
  const r = row.rows[0];
  if (r?.protected) return { ok: false, reason: `${p.e164} is on the protected list "${r.protected}": never called` };
  if (r?.dnc) return { ok: false, reason: `${p.e164} is on the do-not-call list (${r.dnc}): never called` };
  return { ok: true, e164: p.e164 };
}
