// The dialer's batched call-row writes (CallWriter) in the real PostgreSQL: a close writes the
// CDR's durations and the attempt's outcome, and never closes a call twice: a call the CDR
// reconciler closed first keeps that close and its attempt, also when it shares a batch with
// calls still open.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { createDb, poolOf, type Db } from '../../src/db/database.js';
import { CallWriter, closeCall, type CallEnd } from '../../src/cdr/cdr.repository.js';
import { randomCallerNumber, testConfig } from '../helpers/env.js';

describe('CallWriter: batched call rows (PostgreSQL)', () => {
  let db: Db;
  let calls: CallWriter;
  let campaignId: string;
  let trunkId: string;
  let callerId: string;
  let n = 0;

  beforeAll(async () => {
    db = createDb(testConfig().DATABASE_URL, 5);
    calls = new CallWriter(db);
    const tag = randomUUID().slice(0, 8);
    trunkId = (await createTrunk(db, { name: `cw-${tag}`, host: '127.0.0.1', port: 5501 })).id;
    const cid = await createCallerId(db, randomCallerNumber());
    callerId = cid.number;
    campaignId = (await createCampaign(db, { name: `call writer ${tag}`, trunkId, callerIdId: cid.id })).id;
  });
  afterAll(async () => {
    await db?.destroy();
  });

  async function openCall(): Promise<{ callId: string; attemptId: string }> {
    const phone = `+1305556${String(1000 + n++).padStart(4, '0')}`;
    const contact = await addContact(db, { campaignId, phone });
    const attempt = await createAttempt(db, { campaignId, contactId: contact.id, phone, idempotencyKey: randomUUID() });
    await db.updateTable('attempts').set({ state: 'dialing', dialed_at: new Date() }).where('id', '=', attempt.id).execute();
    const callId = await calls.insert({ attemptId: attempt.id, campaignId, contactId: contact.id, phone, callerId, trunkId, channelId: randomUUID() });
    return { callId, attemptId: attempt.id };
  }

  const end = (c: { callId: string; attemptId: string }, endedAt: Date, ms: number): CallEnd => ({
    callId: c.callId, attemptId: c.attemptId, endedAt, ringingAt: new Date(endedAt.getTime() - 5000), hangupCause: 16, hangupCauseText: 'Normal Clearing',
    outcome: 'answered', attemptState: 'completed', ringMs: ms, talkMs: ms + 1, holdMs: ms + 2, endedBy: 'customer', recordingStatus: 'pending',
  });

  it('closes open calls with their durations, and leaves a call already closed as it was', async () => {
    const open = await Promise.all([openCall(), openCall(), openCall()]);
    const reconciled = await openCall();
    const reconciledAt = new Date('2026-01-05T10:00:00Z');
    // The reconciler closed this one from Asterisk's record first.
    expect(await closeCall(db, reconciled.callId, reconciled.attemptId, { ended_at: reconciledAt, outcome: 'lost', hangup_cause_text: 'from CEL', ring_ms: 7 }, { state: 'failed', outcome: 'lost' })).toBe(true);

    // Pushed together: the first starts a batch at once, the other three gather into the next one,
    // so the call already closed shares a statement with two open calls.
    const at = new Date();
    const results = await Promise.all([...open, reconciled].map((c, i) => calls.close(end(c, at, 100 * (i + 1)))));
    expect(results).toEqual([true, true, true, false]);

    for (const [i, c] of open.entries()) {
      const row = await db.selectFrom('calls').where('id', '=', c.callId).select(['ended_at', 'outcome', 'hangup_cause', 'ring_ms', 'talk_ms', 'hold_ms', 'ended_by', 'recording_status']).executeTakeFirstOrThrow();
      expect(row).toEqual({
        ended_at: at, outcome: 'answered', hangup_cause: 16, ring_ms: 100 * (i + 1), talk_ms: 100 * (i + 1) + 1, hold_ms: 100 * (i + 1) + 2,
        ended_by: 'customer', recording_status: 'pending',
      });
      expect(await db.selectFrom('attempts').where('id', '=', c.attemptId).select(['state', 'outcome']).executeTakeFirstOrThrow()).toEqual({ state: 'completed', outcome: 'answered' });
    }
    const kept = await db.selectFrom('calls').where('id', '=', reconciled.callId).select(['ended_at', 'outcome', 'hangup_cause_text', 'ring_ms', 'talk_ms', 'hold_ms']).executeTakeFirstOrThrow();
    expect(kept).toEqual({ ended_at: reconciledAt, outcome: 'lost', hangup_cause_text: 'from CEL', ring_ms: 7, talk_ms: null, hold_ms: null });
    expect(await db.selectFrom('attempts').where('id', '=', reconciled.attemptId).select(['state', 'outcome']).executeTakeFirstOrThrow()).toEqual({ state: 'failed', outcome: 'lost' });

    // A second close of a call the writer closed changes nothing either.
    expect(await calls.close({ ...end(open[0]!, new Date(at.getTime() + 60_000), 1), outcome: 'failed', attemptState: 'failed' })).toBe(false);
    expect(await db.selectFrom('calls').where('id', '=', open[0]!.callId).select(['ended_at', 'outcome', 'ring_ms']).executeTakeFirstOrThrow()).toEqual({ ended_at: at, outcome: 'answered', ring_ms: 100 });
    expect(await db.selectFrom('attempts').where('id', '=', open[0]!.attemptId).select(['state', 'outcome']).executeTakeFirstOrThrow()).toEqual({ state: 'completed', outcome: 'answered' });
  });

  it('writes new rows, joins and ends of different calls in one batch, and a join with its own end', async () => {
    const [a, b, c] = await Promise.all([openCall(), openCall(), openCall()]);
    const agent = await db.insertInto('agents').values({ name: `cw agent ${randomUUID().slice(0, 8)}`, endpoint: `cw-${randomUUID().slice(0, 8)}` }).returning('id').executeTakeFirstOrThrow();
    const join = (x: { callId: string }, ms: number) => ({ callId: x.callId, answeredAt: new Date(Date.UTC(2026, 0, 5, 10, 0, 0, ms)), agentId: agent.id, bridgeId: `bridge-${ms}`, bridgedAt: new Date(Date.UTC(2026, 0, 5, 10, 0, 1, ms)) });
    const phone = `+1305557${String(1000 + n++).padStart(4, '0')}`;
    const contact = await addContact(db, { campaignId, phone });
    const attempt = await createAttempt(db, { campaignId, contactId: contact.id, phone, idempotencyKey: randomUUID() });
    const at = new Date();
    // All pushed in the same tick: b's join first (held for the gather window), then the new row,
    // which is never held and takes b's join along in one statement; the rest gather into the
    // next one: a join alone (c), a join and its end (a), b's end, which must keep the join
    // written before it.
    const pool = poolOf(db);
    const query = pool.query.bind(pool);
    let statements = 0;
    pool.query = ((...args: Parameters<typeof pool.query>) => {
      if ((args[0] as { name?: string }).name === 'dialwell_call_writes') statements++;
      return query(...args);
    }) as typeof pool.query;
    const [, newId, , , closedA, closedB] = await Promise.all([
      calls.bridged(join(b!, 2)),
      calls.insert({ attemptId: attempt.id, campaignId, contactId: contact.id, phone, callerId, trunkId, channelId: randomUUID() }),
      calls.bridged(join(c!, 3)),
      calls.bridged(join(a!, 1)),
      calls.close(end(a!, at, 10)),
      calls.close(end(b!, at, 20)),
    ]);
    pool.query = query;
    expect(statements).toBe(2);
    expect(closedA).toBe(true);
    expect(closedB).toBe(true);
    const row = (id: string) => db.selectFrom('calls').where('id', '=', id).select(['attempt_id', 'agent_id', 'bridge_id', 'answered_at', 'bridged_at', 'ended_at', 'ring_ms']).executeTakeFirstOrThrow();
    expect(await row(newId)).toMatchObject({ attempt_id: attempt.id, agent_id: null, ended_at: null });
    expect(await row(a!.callId)).toEqual({ attempt_id: a!.attemptId, agent_id: agent.id, bridge_id: 'bridge-1', answered_at: join(a!, 1).answeredAt, bridged_at: join(a!, 1).bridgedAt, ended_at: at, ring_ms: 10 });
    expect(await row(b!.callId)).toEqual({ attempt_id: b!.attemptId, agent_id: agent.id, bridge_id: 'bridge-2', answered_at: join(b!, 2).answeredAt, bridged_at: join(b!, 2).bridgedAt, ended_at: at, ring_ms: 20 });
    expect(await row(c!.callId)).toEqual({ attempt_id: c!.attemptId, agent_id: agent.id, bridge_id: 'bridge-3', answered_at: join(c!, 3).answeredAt, bridged_at: join(c!, 3).bridgedAt, ended_at: null, ring_ms: null });
    expect(await db.selectFrom('attempts').where('id', 'in', [a!.attemptId, b!.attemptId, c!.attemptId]).select(['id', 'state']).orderBy('id').execute())
      .toEqual([a!, b!, c!].map((x) => ({ id: x.attemptId, state: x === c ? 'dialing' : 'completed' })).sort((x, y) => x.id.localeCompare(y.id)));
  });

  it('holds joins and ends for the gather window, never a new row: it takes them along at once', async () => {
    const [a, b] = await Promise.all([openCall(), openCall()]);
    const slow = new CallWriter(db, null, { gatherMs: 400 });
    // An end alone waits the window (nobody is waiting on it) ...
    let t0 = performance.now();
    expect(await slow.close(end(a!, new Date(), 5))).toBe(true);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(390);
    // ... a new row does not, and the end gathered before it goes in its statement.
    const lazy = new CallWriter(db, null, { gatherMs: 60_000 });
    const phone = `+1305559${String(1000 + n++).padStart(4, '0')}`;
    const contact = await addContact(db, { campaignId, phone });
    const attempt = await createAttempt(db, { campaignId, contactId: contact.id, phone, idempotencyKey: randomUUID() });
    t0 = performance.now();
    const [closed, id] = await Promise.all([
      lazy.close(end(b!, new Date(), 6)),
      lazy.insert({ attemptId: attempt.id, campaignId, contactId: contact.id, phone, callerId, trunkId, channelId: randomUUID() }),
    ]);
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect(closed).toBe(true);
    expect(await db.selectFrom('calls').where('id', '=', id).select('attempt_id').executeTakeFirstOrThrow()).toEqual({ attempt_id: attempt.id });
    expect(await db.selectFrom('calls').where('id', '=', b!.callId).select('ring_ms').executeTakeFirstOrThrow()).toEqual({ ring_ms: 6 });
  });

  it('a new row that a stale node owner may not write fails its own caller only', async () => {
    // Fenced by a lease nobody holds (a stale owner's): the row is not written, and the caller is told.
    const fencedWriter = new CallWriter(db, { id: randomUUID(), fence: () => ({ lease: `node:none-${randomUUID()}`, owner: 'nobody', epoch: 1 }) });
    const phone = `+1305558${String(1000 + n++).padStart(4, '0')}`;
    const contact = await addContact(db, { campaignId, phone });
    const attempt = await createAttempt(db, { campaignId, contactId: contact.id, phone, idempotencyKey: randomUUID() });
    await expect(fencedWriter.insert({ attemptId: attempt.id, campaignId, contactId: contact.id, phone, callerId, trunkId, channelId: randomUUID() })).rejects.toThrow(/no call row was written/);
    expect(await db.selectFrom('calls').where('attempt_id', '=', attempt.id).select('id').execute()).toEqual([]);
  });
});
