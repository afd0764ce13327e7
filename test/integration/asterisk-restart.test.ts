// Asterisk crashes with a call up: the dialer holds dialing while it is away (nothing reserved),
// reconnects by itself, closes the lost call out with a CDR, logs the lost agent out, pushes its
// PJSIP configuration again, and dials normally once Asterisk is back.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncAll, syncAgent, syncTrunk } from '../../src/admin/pbx-sync.js';
import { PbxUnavailableError } from '../../src/dialer/dialer.js';
import { Sipp } from '../../src/sim/sipp.js';
import { until } from '../helpers/engine-harness.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';
import { randomCallerNumber } from '../helpers/env.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// DIALWELL_TEST_NODE=N (with ARI_URL and AMI_PORT of node N) crashes and restarts node N of
// `scripts/stack.sh node-up N` instead of the shared Asterisk others may be using.
const NODE = Number(process.env.DIALWELL_TEST_NODE ?? '1');
const stack = (...args: string[]) => spawnSync('bash', [path.join(root, 'scripts/stack.sh'), ...args], { encoding: 'utf8' });
function crashAsterisk(): ReturnType<typeof stack> {
  if (NODE === 1) return stack('crash-asterisk');
  const pid = Number(stack('node-pid', String(NODE)).stdout.trim());
  if (!pid) throw new Error(`Asterisk node ${NODE} is not running`);
  process.kill(pid, 'SIGKILL');
  return { status: 0, stderr: '' } as ReturnType<typeof stack>;
}
const startAsterisk = () => (NODE === 1 ? stack('up') : stack('node-up', String(NODE)));
const CARRIER = 5321;
const AGENT = 5331;

describe('Asterisk crash and restart with a call in flight', () => {
  let h: Harness;
  const sipps: Sipp[] = [];

  beforeAll(async () => {
    h = await startHarness();
    h.dialer.onPbxReconnected = async () => {
      await syncAll(h.db, h.ari);
    };
    sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 17700, pauseMs: 30_000 }));
    sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: AGENT, mediaPort: 17800 }));
  });
  afterAll(async () => {
    await h?.close();
    for (const s of sipps) await s.stop();
  });

  it('holds, reconnects, closes out the lost call and dials again', async () => {
    const { db, ari, dialer } = h;
    const policyName = await saveOpenPolicy(h);
    const trunk = await createTrunk(db, { name: `rs-${h.app}`.slice(0, 40), host: '127.0.0.1', port: CARRIER });
    await syncTrunk(db, ari, trunk.id);
    const cid = await createCallerId(db, randomCallerNumber());
    const agent = await createAgent(db, { name: 'Restart', endpoint: `rs-${h.app}`.slice(0, 40), contactUri: `sip:127.0.0.1:${AGENT}` });
    await syncAgent(db, ari, agent.id);
    const camp = await createCampaign(db, { name: `restart ${h.app}`, trunkId: trunk.id, callerIdId: cid.id, policyName, recordCalls: false, state: 'running' });
    const mk = async (phone: string) => {
      const c = await addContact(db, { campaignId: camp.id, phone });
      return (await createAttempt(db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() })).id;
    };
    const first = await mk('+13055557001');
    const second = await mk('+13055557002');

    await dialer.agents.login(agent);
    expect((await dialer.dialAttempt(first)).status).toBe('dialing');
    await until(async () => !!(await db.selectFrom('calls').where('attempt_id', '=', first).select('bridged_at').executeTakeFirst())?.bridged_at, 10_000, 'bridge');

    // A crash: no hangups, no events; then the stack script starts Asterisk again.
    const crash = crashAsterisk();
    expect(crash.status, crash.stderr).toBe(0);
    await until(() => !dialer.available, 10_000, 'the dialer to notice Asterisk is gone');

    // While Asterisk is away: no reservation, no decision, the attempt stays queued.
    await expect(dialer.dialAttempt(second)).rejects.toBeInstanceOf(PbxUnavailableError);
    const held = await db.selectFrom('attempts').where('id', '=', second).select(['state', 'decision_id']).executeTakeFirstOrThrow();
    expect(held).toEqual({ state: 'queued', decision_id: null });

    const up = startAsterisk();
    expect(up.status, up.stderr).toBe(0);
    await until(() => dialer.available, 90_000, 'ARI to come back');
    const lost = await dialer.callDone(first);
    expect(lost.bridgedAt).toBeInstanceOf(Date);
    const cdr = await db.selectFrom('calls').where('attempt_id', '=', first).selectAll().executeTakeFirstOrThrow();
    expect(cdr.ended_at).toBeInstanceOf(Date);
    expect(cdr.hangup_cause_text).toMatch(/^lost: /);
    expect(cdr.outcome).toBe('answered');
    await until(() => dialer.agents.get(agent.id)?.state === 'logged-out', 10_000, 'the lost agent to be logged out');

    // Back to normal: log in again (the trunk and endpoint were pushed again) and dial.
    await dialer.agents.login(agent);
    expect((await dialer.dialAttempt(second)).status).toBe('dialing');
    await until(async () => !!(await db.selectFrom('calls').where('attempt_id', '=', second).select('bridged_at').executeTakeFirst())?.bridged_at, 15_000, 'the second call to be bridged');
    await dialer.agents.logout(agent.id);
  }, 150_000);
});
