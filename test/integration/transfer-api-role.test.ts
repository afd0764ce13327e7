// Call control from an API process that runs no engine (`dialwell serve --role api`) beside the
// engine process owning the node (`dialwell serve`), on the real stack (Asterisk, PostgreSQL,
// Redis, sipp customer and agent softphones): every action goes over the agent bus to the owner
// and answers with its result: an attended transfer (consult, accept, complete), hold, a refused
// second hold (409) and a bad number (400 with its field) as the engine raised them, the hang-up.
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { createNode } from '../../src/admin/nodes.service.js';
import { nodeLease } from '../../src/app/engine-host.js';
import { systemActor } from '../../src/auth/audit.repository.js';
import { createUser, issueToken } from '../../src/auth/users.repository.js';
import { leaseHolder } from '../../src/cluster/leases.repository.js';
import { savePolicy } from '../../src/compliance/store/policies.repository.js';
import { createDb, type Db } from '../../src/db/database.js';
import type { Sipp } from '../../src/sim/sipp.js';
import { until } from '../helpers/engine-harness.js';
import { randomCallerNumber, testConfig } from '../helpers/env.js';
import { openAllHours } from '../helpers/harness.js';
import { sippInMediaRange } from '../helpers/sipp-ports.js';
import { ServeProcesses } from '../helpers/serve-process.js';

// This file's ports: SIP 7503-7505, sipp media 7560-7589, HTTP 7590-7591.
const CARRIER = 7503;
const AGENT_A = 7504;
const AGENT_B = 7505;
const ENGINE_PORT = 7590;
const API_PORT = 7591;
const startSipp = sippInMediaRange(7560, 7590);

describe('call control through an API process that runs no engine (serve --role api)', () => {
  const cfg = testConfig();
  const tag = randomUUID().slice(0, 8);
  const nodeName = `xapi-${tag}`;
  let db: Db;
  let token: string;
  const sipps: Sipp[] = [];
  const procs = new ServeProcesses();

  beforeAll(async () => {
    db = createDb(cfg.DATABASE_URL, 4);
    sipps.push(await startSipp({ scenario: 'customer-answer.xml', port: CARRIER, pauseMs: 120_000 }));
    sipps.push(await startSipp({ scenario: 'agent-softphone.xml', port: AGENT_A }));
    sipps.push(await startSipp({ scenario: 'agent-softphone.xml', port: AGENT_B }));
    const user = await createUser(db, { name: `xapi-admin-${tag}`, role: 'admin', agentId: null });
    token = (await issueToken(db, user.id, 'transfer-api-role')).token;
    await createNode(db, systemActor('system'), {
      name: nodeName, ariUrl: cfg.ARI_URL, ariUser: cfg.ARI_USER, ariPassword: cfg.ARI_PASSWORD, amiHost: cfg.AMI_HOST, amiPort: cfg.AMI_PORT,
      amiUser: cfg.AMI_USER, amiPassword: cfg.AMI_PASSWORD, sipAddress: '127.0.0.1:5060', celFile: cfg.ASTERISK_CEL_FILE || null, enabled: true,
    });
  }, 60_000);

  afterAll(async () => {
    await procs.stopAll();
    for (const s of sipps) await s.stop();
    // Out of service: other test files' engines (not pinned to a node) must not drive it.
    await db?.updateTable('nodes').set({ enabled: false }).where('name', '=', nodeName).execute();
    await db?.destroy();
  }, 60_000);

  function serve(port: number, role: 'all' | 'api'): ChildProcess {
    return procs.start(role, {
      DATABASE_URL: cfg.DATABASE_URL, PORT: String(port),
      // Both processes on this test's own queue (the agent bus's key prefix), node and ARI application.
      ARI_APP: `dwxa${tag}`, DIAL_QUEUE: `dial-xapi-${tag}`, ENGINE_NODES: nodeName, NODE_NAME: nodeName,
      RECORDINGS_DIR: mkdtempSync(path.join(tmpdir(), 'dialwell-xapi-')),
    });
  }

  const http = async (port: number, method: string, url: string, body?: unknown) => {
    const r = await fetch(`http://127.0.0.1:${port}${url}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : null,
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the answers' shapes are what this test checks
    return { status: r.status, body: (await r.json().catch(() => null)) as Record<string, any> };
  };
  const api = (method: string, url: string, body?: unknown) => http(API_PORT, method, url, body);
  const stateOf = async (agentId: string) => (await api('GET', `/api/v1/agents/${agentId}/state`)).body;

  it('consult, accept, complete, hold and hang up, all through the API process', async () => {
    const id = randomUUID().slice(0, 8);
    const policyName = `open-xapi-${id}`;
    await savePolicy(db, openAllHours(policyName), 'test');
    const trunk = await createTrunk(db, { name: `xapi-${id}`, host: '127.0.0.1', port: CARRIER });
    const callerId = await createCallerId(db, randomCallerNumber());
    const a = await createAgent(db, { name: `Api A ${id}`, endpoint: `xapi-a-${id}`, contactUri: `sip:127.0.0.1:${AGENT_A}` });
    const b = await createAgent(db, { name: `Api B ${id}`, endpoint: `xapi-b-${id}`, contactUri: `sip:127.0.0.1:${AGENT_B}` });
    const camp = await createCampaign(db, { name: `xapi ${id}`, trunkId: trunk.id, callerIdId: callerId.id, policyName, dialMode: 'progressive', recordCalls: true, state: 'draft' });
    const phone = `+1305556${String(1000 + Math.floor(Math.random() * 8999))}`;
    const contact = await addContact(db, { campaignId: camp.id, phone });
    await createAttempt(db, { campaignId: camp.id, contactId: contact.id, phone, idempotencyKey: randomUUID() });
    await db.insertInto('campaign_agents').values([{ campaign_id: camp.id, agent_id: a.id }, { campaign_id: camp.id, agent_id: b.id }]).execute();

    serve(ENGINE_PORT, 'all');
    serve(API_PORT, 'api');
    const healthy = async (port: number) => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok === true;
    await until(async () => (await healthy(ENGINE_PORT)) && (await healthy(API_PORT)), 60_000, 'both processes to serve');
    await until(async () => !!(await leaseHolder(db, nodeLease(nodeName)))?.owner, 20_000, 'the engine to own the node');

    // Both agents log in through the API process; B paused while the customer comes to A.
    const loginB = await api('POST', `/api/v1/agents/${b.id}/login`);
    expect(loginB.status, JSON.stringify(loginB.body)).toBe(200);
    expect((await api('POST', `/api/v1/agents/${b.id}/pause`, { reason: 'break' })).status).toBe(200);
    expect((await api('POST', `/api/v1/agents/${a.id}/login`)).status).toBe(200);
    await db.updateTable('campaigns').set({ state: 'running' }).where('id', '=', camp.id).execute();
    try {
      let onCall: Awaited<ReturnType<typeof stateOf>> = {};
      await until(async () => {
        onCall = await stateOf(a.id);
        return onCall.state === 'on-call';
      }, 30_000, 'the customer with agent A');
      const callId = onCall.callId as string;
      expect((await api('POST', `/api/v1/agents/${b.id}/ready`)).status).toBe(200);
      // The screen, read over the bus: B is a transfer target.
      expect((await stateOf(a.id)).transferTargets).toEqual([{ agentId: b.id, name: b.name }]);

      const c = await api('POST', `/api/v1/agents/${a.id}/call/consult`, { toAgentId: b.id });
      expect(c.status, JSON.stringify(c.body)).toBe(200);
      expect(c.body).toMatchObject({ callId, action: 'consult', consult: { to: b.id, phase: 'offered' } });
      expect((await stateOf(b.id)).consult).toMatchObject({ role: 'target', phase: 'offered' });
      expect((await api('POST', `/api/v1/agents/${b.id}/call/consult/accept`)).status).toBe(200);
      expect((await stateOf(a.id)).consult).toMatchObject({ role: 'from', phase: 'talking' });
      const done = await api('POST', `/api/v1/agents/${a.id}/call/consult/complete`);
      expect(done.status, JSON.stringify(done.body)).toBe(200);
      expect(done.body).toMatchObject({ callId, transferredTo: b.id });
      expect(await stateOf(a.id)).toMatchObject({ state: 'wrap-up', current: { callId, disposesHere: false } });
      expect(await stateOf(b.id)).toMatchObject({ state: 'on-call', callId, current: { disposesHere: true } });

      // Client errors raised on the engine come back as they were: 409, 400 with the field.
      expect((await api('POST', `/api/v1/agents/${b.id}/call/hold`)).status).toBe(200);
      expect((await stateOf(b.id)).onHold).toBe(true);
      const again = await api('POST', `/api/v1/agents/${b.id}/call/hold`);
      expect(again.status).toBe(409);
      expect(again.body.error).toMatch(/already on hold/);
      const bad = await api('POST', `/api/v1/agents/${b.id}/call/transfer`, { number: '12345' });
      expect(bad.status).toBe(400);
      expect(bad.body.issues?.[0]?.field).toBe('body.number');
      expect((await api('POST', `/api/v1/agents/${b.id}/call/resume`)).status).toBe(200);
      const end = await api('POST', `/api/v1/agents/${b.id}/call/hangup`);
      expect(end.status, JSON.stringify(end.body)).toBe(200);
      // An admin (not the agent themselves) hung up: the CDR says supervisor.
      expect(end.body).toMatchObject({ callId, action: 'hangup', ended: { endedBy: 'supervisor' } });

      const events = await db.selectFrom('call_events').where('call_id', '=', callId).orderBy('id').select(['kind', 'details']).execute();
      expect(events.map((e) => e.kind)).toEqual(['consult', 'consult', 'transfer', 'hold', 'resume', 'hangup']);
      expect(events[2]!.details).toMatchObject({ from: a.id, to: b.id, kind: 'attended', target: 'agent' });
      const disp = await api('POST', `/api/v1/attempts/${onCall.current.attemptId}/disposition`, { result: 'sale' });
      expect(disp.status, JSON.stringify(disp.body)).toBe(200);
    } finally {
      await db.updateTable('campaigns').set({ state: 'completed' }).where('id', '=', camp.id).execute();
    }
  }, 180_000);
});
