// Preview dialing and the hang-up of a call by its id from an API process that runs no engine
// (`dialwell serve --role api`) beside the engine process owning the node (`dialwell serve`), on
// the real stack (Asterisk, PostgreSQL, Redis, sipp customer and agent softphone): take, skip,
// dial and the hang-up go over the agent bus to the owner and answer with its result, and its
// errors come back as the engine raised them (not logged in 409, unknown attempt 404, an attempt
// not held 409, no contact due 404, unknown call 404, ended call 409); a call on a node no engine
// drives answers 503 naming the node.
// Node 7 of `scripts/stack.sh node-up 7` (started here if down, stopped after), or DIALWELL_API_ROLE_NODE.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
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

const NODE = Number(process.env.DIALWELL_API_ROLE_NODE ?? '7');
const ARI_PORT = 8088 + 100 * (NODE - 1);
const AMI_PORT = 5038 + 100 * (NODE - 1);
const SIP_PORT = 5060 + 100 * (NODE - 1);
const CEL_FILE = `/var/cache/dialwell/asterisk22-chroot/var/log/asterisk${NODE === 1 ? '' : `-node${NODE}`}/cel-custom/dialwell-cel.jsonl`;
// This file's ports: SIP 7300-7301, sipp media 7320-7369, HTTP 7390-7391.
const CARRIER = 7300;
const AGENT = 7301;
const ENGINE_PORT = 7390;
const API_PORT = 7391;
const startSipp = sippInMediaRange(7320, 7370);
const root = path.resolve(import.meta.dirname, '../..');

describe('preview and hang-up by call id through an API process that runs no engine (serve --role api)', () => {
  const cfg = testConfig();
  const tag = randomUUID().slice(0, 8);
  const nodeName = `pvapi-${tag}`;
  const ghostName = `pvghost-${tag}`;
  const ari = `http://127.0.0.1:${ARI_PORT}`;
  let db: Db;
  let token: string;
  let startedNode = false;
  const sipps: Sipp[] = [];
  const procs = new ServeProcesses();

  beforeAll(async () => {
    const ariAuth = `Basic ${Buffer.from(`${cfg.ARI_USER}:${cfg.ARI_PASSWORD}`).toString('base64')}`;
    const up = async () => (await fetch(`${ari}/ari/asterisk/info`, { headers: { authorization: ariAuth } }).catch(() => null))?.ok === true;
    if (NODE !== 1 && !(await up())) {
      execFileSync('bash', [path.join(root, 'scripts/stack.sh'), 'node-up', String(NODE)], { stdio: 'ignore' });
      startedNode = true;
    }
    // Fails loudly when the node cannot be had (never skipped).
    if (!(await up())) throw new Error(`Asterisk node ${NODE} (ARI ${ari}) does not answer: run scripts/stack.sh node-up ${NODE}`);
    db = createDb(cfg.DATABASE_URL, 4);
    sipps.push(await startSipp({ scenario: 'customer-answer.xml', port: CARRIER, pauseMs: 120_000 }));
    sipps.push(await startSipp({ scenario: 'agent-softphone.xml', port: AGENT }));
    const user = await createUser(db, { name: `pvapi-admin-${tag}`, role: 'admin', agentId: null });
    token = (await issueToken(db, user.id, 'preview-hangup-api-role')).token;
    const node = {
      ariUrl: ari, ariUser: cfg.ARI_USER, ariPassword: cfg.ARI_PASSWORD, amiHost: '127.0.0.1', amiPort: AMI_PORT,
      amiUser: cfg.AMI_USER, amiPassword: cfg.AMI_PASSWORD, sipAddress: `127.0.0.1:${SIP_PORT}`, celFile: existsSync(path.dirname(CEL_FILE)) ? CEL_FILE : null,
    };
    await createNode(db, systemActor('system'), { name: nodeName, ...node, enabled: true });
    // A node nobody drives (disabled): a call recorded on it has no engine to hang it up.
    await createNode(db, systemActor('system'), { name: ghostName, ...node, enabled: false });
  }, 120_000);

  afterAll(async () => {
    await procs.stopAll();
    for (const s of sipps) await s.stop();
    // Out of service: other test files' engines (not pinned to a node) must not drive it.
    await db?.updateTable('nodes').set({ enabled: false }).where('name', '=', nodeName).execute();
    await db?.destroy();
    if (startedNode) execFileSync('bash', [path.join(root, 'scripts/stack.sh'), 'node-down', String(NODE)], { stdio: 'ignore' });
  }, 60_000);

  function serve(port: number, role: 'all' | 'api'): ChildProcess {
    return procs.start(role, {
      DATABASE_URL: cfg.DATABASE_URL, PORT: String(port),
      // Both processes on this test's own queue (the agent bus's key prefix), node and ARI application.
      ARI_APP: `dwpv${tag}`, DIAL_QUEUE: `dial-pvapi-${tag}`, ENGINE_NODES: nodeName, NODE_NAME: nodeName,
      ARI_URL: ari, AMI_PORT: String(AMI_PORT),
      RECORDINGS_DIR: mkdtempSync(path.join(tmpdir(), 'dialwell-pvapi-')),
    });
  }

  const api = async (method: string, url: string, body?: unknown) => {
    const r = await fetch(`http://127.0.0.1:${API_PORT}${url}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : null,
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the answers' shapes are what this test checks
    return { status: r.status, body: (await r.json().catch(() => null)) as Record<string, any> };
  };
  const stateOf = async (agentId: string) => (await api('GET', `/api/v1/agents/${agentId}/state`)).body;

  it('preview take, skip, dial and the hang-up by call id, all through the API process, with the engine\'s errors', async () => {
    const id = randomUUID().slice(0, 8);
    const policyName = `open-pvapi-${id}`;
    await savePolicy(db, openAllHours(policyName), 'test');
    const trunk = await createTrunk(db, { name: `pvapi-${id}`, host: '127.0.0.1', port: CARRIER });
    const callerId = await createCallerId(db, randomCallerNumber());
    const a = await createAgent(db, { name: `Preview Api ${id}`, endpoint: `pvapi-${id}`, contactUri: `sip:127.0.0.1:${AGENT}` });
    const camp = await createCampaign(db, { name: `pvapi ${id}`, trunkId: trunk.id, callerIdId: callerId.id, policyName, dialMode: 'preview', recordCalls: false, state: 'running' });
    await db.updateTable('campaigns').set({ settings: JSON.stringify({ script: { opening: 'Hello from the engine' } }) }).where('id', '=', camp.id).execute();
    const attempts: string[] = [];
    for (let i = 0; i < 2; i++) {
      const phone = `+1305557${String(1000 + Math.floor(Math.random() * 8999))}`;
      const c = await addContact(db, { campaignId: camp.id, phone, name: `Preview ${i}` });
      await db.updateTable('contacts').set({ priority: 10 - i }).where('id', '=', c.id).execute();
      attempts.push((await createAttempt(db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() })).id);
    }

    serve(ENGINE_PORT, 'all');
    serve(API_PORT, 'api');
    const healthy = async (port: number) => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok === true;
    await until(async () => (await healthy(ENGINE_PORT)) && (await healthy(API_PORT)), 60_000, 'both processes to serve');
    await until(async () => !!(await leaseHolder(db, nodeLease(nodeName)))?.owner, 20_000, 'the engine to own the node');

    try {
      // Not logged in: the engine's own answer (before, an API-only process answered 503).
      const early = await api('POST', `/api/v1/agents/${a.id}/preview`);
      expect(early.status, JSON.stringify(early.body)).toBe(409);
      expect(early.body.error).toMatch(/logged in and ready/);
      const login = await api('POST', `/api/v1/agents/${a.id}/login`);
      expect(login.status, JSON.stringify(login.body)).toBe(200);
      await until(async () => (await stateOf(a.id)).state === 'ready', 20_000, 'the agent to be ready');

      const first = await api('POST', `/api/v1/agents/${a.id}/preview`);
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(first.body).toMatchObject({ attemptId: attempts[0], contact: { name: 'Preview 0' }, campaign: { id: camp.id, script: { opening: 'Hello from the engine' } } });
      expect(first.body.contact.phone).toMatch(/\*{4}/);
      expect((await stateOf(a.id)).state).toBe('reserved');
      // An attempt that does not exist, and one that is not the preview held for the agent.
      const unknown = await api('POST', `/api/v1/agents/${a.id}/preview/${randomUUID()}/dial`);
      expect(unknown.status).toBe(404);
      expect(unknown.body.error).toMatch(/does not exist/);
      const wrong = await api('POST', `/api/v1/agents/${a.id}/preview/${attempts[1]}/dial`);
      expect(wrong.status).toBe(409);
      expect(wrong.body.error).toMatch(/not a preview held for this agent/);
      expect((await api('POST', `/api/v1/agents/${a.id}/preview/${attempts[1]}/skip`)).status).toBe(409);

      const skip = await api('POST', `/api/v1/agents/${a.id}/preview/${attempts[0]}/skip`);
      expect(skip.status, JSON.stringify(skip.body)).toBe(200);
      expect(skip.body).toEqual({ attemptId: attempts[0], skipped: true, state: 'ready', since: expect.any(String), callId: null, pauseReason: null });
      expect((await db.selectFrom('attempts').where('id', '=', attempts[0]!).select(['state', 'outcome']).executeTakeFirstOrThrow())).toEqual({ state: 'skipped', outcome: 'agent-skipped' });

      const second = await api('POST', `/api/v1/agents/${a.id}/preview`);
      expect(second.body).toMatchObject({ attemptId: attempts[1], contact: { name: 'Preview 1' } });
      const dial = await api('POST', `/api/v1/agents/${a.id}/preview/${attempts[1]}/dial`);
      expect(dial.status, JSON.stringify(dial.body)).toBe(200);
      expect(dial.body).toMatchObject({ attemptId: attempts[1], status: 'dialing', callId: expect.any(String) });
      const callId = dial.body.callId as string;
      await until(async () => !!(await db.selectFrom('calls').where('id', '=', callId).select('bridged_at').executeTakeFirst())?.bridged_at, 20_000, 'the previewed customer with the agent');
      expect(await stateOf(a.id)).toMatchObject({ state: 'on-call', callId });

      // Hung up by its id through the API process: the engine driving the call's node does it.
      const end = await api('POST', `/api/v1/calls/${callId}/hangup`);
      expect(end.status, JSON.stringify(end.body)).toBe(200);
      expect(end.body).toMatchObject({ callId, agentId: a.id, action: 'hangup', ended: { endedBy: 'supervisor', outcome: 'answered' } });
      const row = await db.selectFrom('calls').where('id', '=', callId).select(['ended_at', 'ended_by', 'agent_id']).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ ended_by: 'supervisor', agent_id: a.id });
      expect(row.ended_at).toBeInstanceOf(Date);
      const again = await api('POST', `/api/v1/calls/${callId}/hangup`);
      expect(again.status).toBe(409);
      expect(again.body.error).toMatch(/already ended/);
      const none = await api('POST', `/api/v1/calls/${randomUUID()}/hangup`);
      expect(none.status).toBe(404);
      expect(none.body.error).toMatch(/does not exist/);
      const audit = await db.selectFrom('audit_log').where('resource_id', '=', callId).where('action', '=', 'call.hangup').select('action').execute();
      expect(audit).toHaveLength(1);

      // In wrap-up: not ready, so no preview (409); ready again and nothing left: 404.
      expect(await stateOf(a.id)).toMatchObject({ state: 'wrap-up' });
      expect((await api('POST', `/api/v1/agents/${a.id}/preview`)).status).toBe(409);
      expect((await api('POST', `/api/v1/agents/${a.id}/ready`)).status).toBe(200);
      const empty = await api('POST', `/api/v1/agents/${a.id}/preview`);
      expect(empty.status).toBe(404);
      expect(empty.body).toEqual({ error: 'no contact is due in a running preview campaign' });
      // The preview held nothing: the agent is ready, not left reserved.
      expect((await stateOf(a.id)).state).toBe('ready');

      // A call on a node no engine drives: 503 naming the node, nothing changed.
      const ghost = await db.selectFrom('nodes').where('name', '=', ghostName).select('id').executeTakeFirstOrThrow();
      const phone = `+1305558${String(1000 + Math.floor(Math.random() * 8999))}`;
      const c = await addContact(db, { campaignId: camp.id, phone, name: 'Ghost' });
      const at = await createAttempt(db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() });
      await db.updateTable('attempts').set({ state: 'dialing', node_id: ghost.id }).where('id', '=', at.id).execute();
      const ghostCall = await db.insertInto('calls').values({
        attempt_id: at.id, campaign_id: camp.id, contact_id: c.id, phone, caller_id: callerId.number, trunk_id: trunk.id,
        channel_id: `ghost-${randomUUID()}`, node_id: ghost.id,
      }).returning('id').executeTakeFirstOrThrow();
      try {
        const orphan = await api('POST', `/api/v1/calls/${ghostCall.id}/hangup`);
        expect(orphan.status, JSON.stringify(orphan.body)).toBe(503);
        expect(orphan.body.error).toContain(`is on node ${ghostName}, which no engine drives now`);
        expect((await db.selectFrom('calls').where('id', '=', ghostCall.id).select('ended_at').executeTakeFirstOrThrow()).ended_at).toBeNull();
      } finally {
        await db.updateTable('calls').set({ ended_at: new Date(), outcome: 'failed' }).where('id', '=', ghostCall.id).execute();
        await db.updateTable('attempts').set({ state: 'failed' }).where('id', '=', at.id).execute();
      }
      expect((await api('POST', `/api/v1/agents/${a.id}/logout`)).status).toBe(200);
    } finally {
      await db.updateTable('campaigns').set({ state: 'completed' }).where('id', '=', camp.id).execute();
    }
  }, 180_000);
});
