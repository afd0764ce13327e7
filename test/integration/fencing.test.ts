// Fencing on the real stack (Asterisk, PostgreSQL, sipp): a dialer that owns its node by a lease
// dials and writes while it holds the lease; once another engine took the lease over (this one
// stalled past its expiry), it reserves nothing, dials nothing and closes no call: its successor
// owns those rows now.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { createNode } from '../../src/admin/nodes.service.js';
import { syncTrunk } from '../../src/admin/pbx-sync.js';
import { systemActor } from '../../src/auth/audit.repository.js';
import { acquireLeases, type Fence } from '../../src/cluster/leases.repository.js';
import { Dialer, defaultDialerOptions } from '../../src/dialer/dialer.js';
import { createLogger } from '../../src/log.js';
import { AriGateway, ariOptions } from '../../src/pbx/ari.js';
import { LocalRecordingStore } from '../../src/recordings/store.js';
import { Sipp } from '../../src/sim/sipp.js';
import { randomCallerNumber } from '../helpers/env.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';

const CARRIER = 6720;

describe('writes fenced by the node lease', () => {
  let h: Harness;
  let sipp: Sipp;

  beforeAll(async () => {
    h = await startHarness();
    await h.worker.close();
    sipp = await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 19500, pauseMs: 1500 });
  });
  afterAll(async () => {
    await h?.close();
    await sipp?.stop();
  });

  it('a stale owner reserves, dials and closes nothing', async () => {
    const tag = randomUUID().slice(0, 8);
    const node = await createNode(h.db, systemActor('system'), {
      name: `fence-${tag}`, ariUrl: h.cfg.ARI_URL, ariUser: h.cfg.ARI_USER, ariPassword: h.cfg.ARI_PASSWORD, amiHost: '127.0.0.1', amiPort: 5038,
      amiUser: 'x', amiPassword: 'x', sipAddress: '127.0.0.1:5060', celFile: null, enabled: true,
    });
    const lease = `node:${node.name}`;
    const [held] = await acquireLeases(h.db, [lease], 'engine-a', 60_000);
    let fence: Fence = { lease, owner: 'engine-a', epoch: held!.epoch };
    // Its own ARI application: on the harness's, the harness's dialer would take its customers
    // over (adoptChannel: answered channels with no session of its own), unfenced.
    const ari = await AriGateway.connect(ariOptions(h.cfg, createLogger('silent'), `${h.cfg.ARI_APP}-fence-${tag}`));
    const dialer = new Dialer(h.db, ari, h.policies, new LocalRecordingStore(h.recordingsDir), createLogger('silent'), {
      ...defaultDialerOptions, node: { id: node.id, fence: () => fence },
    });

    const policyName = await saveOpenPolicy(h);
    const trunk = await createTrunk(h.db, { name: `fe-${tag}`, host: '127.0.0.1', port: CARRIER });
    await syncTrunk(h.db, h.ari, trunk.id);
    const callerId = await createCallerId(h.db, randomCallerNumber());
    const camp = await createCampaign(h.db, { name: `fence ${tag}`, trunkId: trunk.id, callerIdId: callerId.id, policyName, recordCalls: false, state: 'running' });
    const ids: string[] = [];
    for (const phone of ['+13055579001', '+13055579002']) {
      const c = await addContact(h.db, { campaignId: camp.id, phone });
      ids.push((await createAttempt(h.db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() })).id);
    }
    const callOf = (attemptId: string) => h.db.selectFrom('calls').where('attempt_id', '=', attemptId).select(['node_id', 'ended_at', 'outcome']).executeTakeFirst();
    const stateOf = async (attemptId: string) => (await h.db.selectFrom('attempts').where('id', '=', attemptId).select('state').executeTakeFirstOrThrow()).state;

    // While it holds the lease: dialed, and the call row names the node.
    expect((await dialer.dialAttempt(ids[0]!)).status).toBe('dialing');
    expect(await callOf(ids[0]!)).toMatchObject({ node_id: node.id, ended_at: null });

    // This engine stalls past its lease; engine B takes the node (epoch + 1).
    await h.db.updateTable('leases').set({ expires_at: new Date(Date.now() - 1000) }).where('name', '=', lease).execute();
    const [taken] = await acquireLeases(h.db, [lease], 'engine-b', 60_000);
    expect(taken!.epoch).toBe(held!.epoch + 1);

    // Waking up, it still believes it holds epoch N: no reservation, no dial, no call row.
    expect((await dialer.dialAttempt(ids[1]!)).status).toBe('already-claimed');
    expect(await stateOf(ids[1]!)).toBe('queued');
    expect(await callOf(ids[1]!)).toBeUndefined();
    // The call it had up ends (the customer hangs up): its close is not written; B's reconciler owns it.
    const summary = await dialer.callDone(ids[0]!);
    expect(summary.endedAt).toBeInstanceOf(Date);
    expect(await callOf(ids[0]!)).toMatchObject({ ended_at: null, outcome: null });
    expect(await stateOf(ids[0]!)).toBe('dialing');

    // The owner at the new epoch writes as usual.
    fence = { lease, owner: 'engine-b', epoch: taken!.epoch };
    expect((await dialer.dialAttempt(ids[1]!)).status).toBe('dialing');
    await dialer.callDone(ids[1]!);
    expect(await callOf(ids[1]!)).toMatchObject({ node_id: node.id, outcome: 'abandoned' });
    expect((await callOf(ids[1]!))!.ended_at).not.toBeNull();
    await dialer.close();
    ari.close();
  }, 60_000);
});
