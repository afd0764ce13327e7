// Caller ID by rule on real calls: local presence from the campaign's pool, the hotline a contact
// called in on, the default, and daily caps. The CDR records the number presented.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncTrunk } from '../../src/admin/pbx-sync.js';
import { Sipp } from '../../src/sim/sipp.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';

const CARRIER = 5381;

describe('caller id rules on real calls', () => {
  let h: Harness;
  const sipps: Sipp[] = [];
  beforeAll(async () => {
    h = await startHarness();
    sipps.push(await Sipp.start({ scenario: 'customer-reject.xml', port: CARRIER, mediaPort: 18200, vars: { status: '486', reason: 'Busy Here' } }));
  });
  afterAll(async () => {
    await h?.close();
    for (const s of sipps) await s.stop();
  });

  it('presents the local number, the called hotline, or the default; skips numbers at their daily cap', async () => {
    const { db, ari, dialer } = h;
    const policyName = await saveOpenPolicy(h);
    const trunk = await createTrunk(db, { name: `cid-${h.app}`.slice(0, 40), host: '127.0.0.1', port: CARRIER });
    await syncTrunk(db, ari, trunk.id);
    const r = () => String(Math.floor(Math.random() * 90) + 10);
    const def = await createCallerId(db, `+121255501${r()}`, 'default');
    const local = await createCallerId(db, `+130555501${r()}`, 'Miami');
    const hotline = await db.insertInto('caller_ids').values({ number: `+180055501${r()}`, label: 'hotline', is_hotline: true, daily_cap: null }).returning(['id', 'number']).executeTakeFirstOrThrow();
    const camp = await createCampaign(db, { name: `cid ${h.app}`, trunkId: trunk.id, callerIdId: def.id, policyName, recordCalls: false, state: 'running' });
    await db.updateTable('campaigns').set({ settings: JSON.stringify({ callerId: { localPresence: true } }) }).where('id', '=', camp.id).execute();
    await db.insertInto('campaign_caller_ids').values([{ campaign_id: camp.id, caller_id_id: local.id }, { campaign_id: camp.id, caller_id_id: hotline.id }]).execute();

    const callWith = async (phone: string, calledHotline: string | null = null) => {
      const c = await addContact(db, { campaignId: camp.id, phone });
      if (calledHotline) await db.updateTable('contacts').set({ called_hotline: calledHotline }).where('id', '=', c.id).execute();
      const a = await createAttempt(db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() });
      expect((await dialer.dialAttempt(a.id)).status).toBe('dialing');
      await dialer.callDone(a.id);
      return (await db.selectFrom('calls').where('attempt_id', '=', a.id).select('caller_id').executeTakeFirstOrThrow()).caller_id;
    };
    expect(await callWith('+13055557501')).toBe(local.number);
    expect(await callWith('+14155557502')).toBe(def.number);
    expect(await callWith('+13055557503', hotline.number)).toBe(hotline.number);
    // The local number reaches its cap for today: the next Miami call shows the default.
    await db.updateTable('caller_ids').set({ daily_cap: 1 }).where('id', '=', local.id).execute();
    // A campaign's dial setup is cached for a second.
    await new Promise((r) => setTimeout(r, 1100));
    expect(await callWith('+13055557504')).toBe(def.number);
  }, 60_000);
});
