// Many concurrent dial workers against the same numbers (real PostgreSQL): caps are never exceeded,
// a number is never dialed twice at the same moment, and a DNC entry committed before a decision
// is always seen by it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { DialGate } from '../../src/compliance/store/dial-gate.js';
import { addDncEntry } from '../../src/compliance/store/dnc.repository.js';
import { PolicyResolver, savePolicy } from '../../src/compliance/store/policies.repository.js';
import { createDb, type Db } from '../../src/db/database.js';
import { testConfig, randomCallerNumber } from '../helpers/env.js';
import { openAllHours } from '../helpers/harness.js';

const WORKERS = 24;
const CAP = 3;

describe('atomic dial-time decisions under concurrency', () => {
  let db: Db;
  const tag = randomUUID().slice(0, 8);

  beforeAll(async () => {
    db = createDb(testConfig().DATABASE_URL, WORKERS + 2);
  });
  afterAll(async () => db?.destroy());

  async function setup(phones: string[], attemptsPerPhone: number, campaigns = 2) {
    const policyName = `cap-${tag}-${randomUUID().slice(0, 4)}`;
    await savePolicy(db, { ...openAllHours(policyName), caps: [{ scope: 'phone', max: CAP, windowHours: 24 }] }, 'test');
    const trunk = await createTrunk(db, { name: `t-${randomUUID().slice(0, 12)}`, host: '127.0.0.1', port: 5999 });
    const cid = await createCallerId(db, randomCallerNumber());
    const attempts: { id: string; phone: string }[] = [];
    for (let c = 0; c < campaigns; c++) {
      const camp = await createCampaign(db, { name: `conc ${tag} ${randomUUID()}`, trunkId: trunk.id, callerIdId: cid.id, policyName, state: 'running' });
      for (const phone of phones) {
        const contact = await addContact(db, { campaignId: camp.id, phone });
        for (let i = 0; i < attemptsPerPhone / campaigns; i++) {
          const a = await createAttempt(db, { campaignId: camp.id, contactId: contact.id, phone, idempotencyKey: randomUUID() });
          attempts.push({ id: a.id, phone });
        }
      }
    }
    return attempts.sort(() => Math.random() - 0.5);
  }

  it(`${WORKERS} workers never exceed a cap of ${CAP} per number and never dial a number twice at once`, async () => {
    const phones = Array.from({ length: 6 }, (_, i) => `+1305555${String(2000 + i + Math.floor(Math.random() * 5000)).padStart(4, '0')}`);
    const attempts = await setup(phones, 20);
    // Three dial gates stand for three dialer processes; each coalesces its workers' calls.
    const gates = [0, 1, 2].map(() => new DialGate({ db, policies: new PolicyResolver(db, 0) }, { maxBatch: 8, maxParallel: 3 }));
    const live = new Map<string, number>();
    const allowed = new Map<string, number>();
    let maxLive = 0;
    let next = 0;
    const worker = async (_: unknown, w: number) => {
      const gate = gates[w % gates.length]!;
      while (next < attempts.length) {
        const a = attempts[next++]!;
        const r = await gate.decideAndReserve(a.id);
        if (r.status !== 'allowed') continue;
        const n = (live.get(a.phone) ?? 0) + 1;
        live.set(a.phone, n);
        maxLive = Math.max(maxLive, n);
        allowed.set(a.phone, (allowed.get(a.phone) ?? 0) + 1);
        // The "call": short, then its outcome is written, as the call session does.
        await new Promise((res) => setTimeout(res, Math.random() * 5));
        live.set(a.phone, (live.get(a.phone) ?? 1) - 1);
        await db.updateTable('attempts').set({ state: 'completed', outcome: 'no-answer' }).where('id', '=', a.id).execute();
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));

    expect(maxLive).toBe(1);
    for (const p of phones) expect(allowed.get(p) ?? 0).toBeLessThanOrEqual(CAP);
    // And in the store: never more than CAP dialed per number, each with an allowed decision.
    const rows = await db
      .selectFrom('attempts')
      .where('phone', 'in', phones)
      .where('dialed_at', 'is not', null)
      .select(['phone', (eb) => eb.fn.countAll<string>().as('n')])
      .groupBy('phone')
      .execute();
    for (const r of rows) expect(Number(r.n)).toBeLessThanOrEqual(CAP);
    const total = rows.reduce((s, r) => s + Number(r.n), 0);
    expect(total).toBeGreaterThan(0);
    const decisions = await db.selectFrom('decisions').where('phone', 'in', phones).select(['allowed', 'reasons']).execute();
    expect(decisions.filter((d) => d.allowed)).toHaveLength(total);
    // Every denial says why: the cap or a call in progress.
    for (const d of decisions.filter((x) => !x.allowed)) {
      const failed = (d.reasons as { rule: string; passed: boolean }[]).filter((r) => !r.passed).map((r) => r.rule);
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.every((r) => r === 'cap' || r === 'in-progress')).toBe(true);
    }
  });

  it('a DNC entry committed before a decision is always honoured, even mid-burst', async () => {
    const phone = `+1305556${String(Math.floor(Math.random() * 9000) + 1000)}`;
    // No cap here: only DNC can stop these.
    const policyName = `open-${tag}-dnc`;
    await savePolicy(db, openAllHours(policyName), 'test');
    const trunk = await createTrunk(db, { name: `t-${randomUUID().slice(0, 12)}`, host: '127.0.0.1', port: 5999 });
    const cid = await createCallerId(db, randomCallerNumber());
    const camp = await createCampaign(db, { name: `dnc ${tag}`, trunkId: trunk.id, callerIdId: cid.id, policyName, state: 'running' });
    const contact = await addContact(db, { campaignId: camp.id, phone });
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) ids.push((await createAttempt(db, { campaignId: camp.id, contactId: contact.id, phone, idempotencyKey: randomUUID() })).id);
    const gates = [0, 1].map(() => new DialGate({ db, policies: new PolicyResolver(db, 0) }));
    let next = 0;
    let dncCommittedAt = Infinity;
    const worker = async (_: unknown, w: number) => {
      const gate = gates[w % gates.length]!;
      while (next < ids.length) {
        const id = ids[next++]!;
        if (next === 100) {
          await addDncEntry(db, { phone, source: 'complaint', reason: 'complained about repeated calls', actor: 'test' });
          dncCommittedAt = Date.now();
        }
        const r = await gate.decideAndReserve(id);
        if (r.status === 'allowed') await db.updateTable('attempts').set({ state: 'completed', outcome: 'no-answer' }).where('id', '=', id).execute();
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    expect(dncCommittedAt).toBeLessThan(Infinity);
    const decisions = await db.selectFrom('decisions').where('phone', '=', phone).select(['allowed', 'decided_at', 'reasons']).execute();
    expect(decisions.length).toBeGreaterThan(250);
    const after = decisions.filter((d) => d.decided_at.getTime() > dncCommittedAt);
    expect(after.length).toBeGreaterThan(100);
    for (const d of after) {
      expect(d.allowed).toBe(false);
      const dnc = (d.reasons as { rule: string; passed: boolean }[]).find((r) => r.rule === 'dnc');
      expect(dnc?.passed).toBe(false);
    }
    expect(decisions.some((d) => d.allowed)).toBe(true);
  });
});
