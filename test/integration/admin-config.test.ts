// The admin API configures Asterisk live: a trunk created over HTTP points at a new sipp carrier
// and carries a call at once; an agent created over HTTP gets a PJSIP endpoint a softphone (sipp
// sending REGISTER with digest auth) registers to and then receives the agent's calls on. Changes
// are audited with before and after, and no secret comes back in a response or the audit log.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { savePolicy } from '../../src/compliance/store/policies.repository.js';
import type { Db } from '../../src/db/database.js';
import type { Engine } from '../../src/app/engine.js';
import { trunkObjectId } from '../../src/pbx/pjsip-config.js';
import { Sipp } from '../../src/sim/sipp.js';
import type { Api } from '../helpers/api.js';
import { startEngineHarness, until, type EngineHarness } from '../helpers/engine-harness.js';
import { randomCallerNumber } from '../helpers/env.js';
import { openAllHours } from '../helpers/harness.js';

const CARRIER = 5561;
const SOFTPHONE = 5562;
const ANSWERING = fileURLToPath(new URL('../sipp/agent-softphone.xml', import.meta.url));

describe('admin API: trunks, caller ids and agents live on Asterisk (Asterisk, PostgreSQL, Redis, sipp)', () => {
  let h: EngineHarness;
  let db: Db;
  let engine: Engine;
  let api: Api;
  let tag: string;
  let softphone: Sipp | undefined;

  beforeAll(async () => {
    // The carrier exists before Dialwell knows it: the trunk is created over HTTP below.
    h = await startEngineHarness([{ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 23000, pauseMs: 1500 }]);
    ({ db, engine, api, tag } = h);
  });
  afterAll(async () => {
    await softphone?.stop();
    await h?.close();
  });

  const send = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) => api.inject({ method, url, ...(payload ? { payload } : {}) });

  it('creates a trunk and an agent over HTTP; a registered softphone takes a call placed through the new trunk at once', async () => {
    const trunkPassword = `trunk-secret-${tag}`;
    const sipPassword = `sip-secret-${tag}`;
    const trunk = await send('POST', '/api/v1/trunks', { name: `carrier-${tag}`, host: '127.0.0.1', port: CARRIER, username: 'acct', password: trunkPassword, maxChannels: 10, maxCps: 5 });
    expect(trunk.statusCode, trunk.body).toBe(201);
    expect(trunk.json()).toMatchObject({ name: `carrier-${tag}`, hasPassword: true, maxChannels: 10 });
    expect(trunk.body).not.toContain(trunkPassword);
    const trunkId = trunk.json().id as string;
    // Asterisk has it without a reload.
    const aor = await engine.ari.getConfigObject('res_pjsip', 'aor', trunkObjectId(`carrier-${tag}`));
    expect(aor?.contact).toBe(`sip:127.0.0.1:${CARRIER}`);

    const number = randomCallerNumber();
    const cid = await send('POST', '/api/v1/caller-ids', { number, label: 'main line', dailyCap: 500, trunkIds: [trunkId] });
    expect(cid.statusCode, cid.body).toBe(201);
    expect(cid.json()).toMatchObject({ number, dailyCap: 500, trunkIds: [trunkId] });

    const agent = await send('POST', '/api/v1/agents', { name: 'Registered Agent', endpoint: `reg-${tag}`, sipPassword });
    expect(agent.statusCode, agent.body).toBe(201);
    expect(agent.json()).toMatchObject({ endpoint: `reg-${tag}`, hasSipPassword: true });
    expect(agent.body).not.toContain(sipPassword);
    const agentId = agent.json().id as string;

    // A softphone with the wrong password is refused; with the right one it registers.
    expect(await engine.ari.getConfigObject('res_pjsip', 'aor', `reg-${tag}`)).not.toBeNull();
    const registering = (password: string) => Sipp.start({
      scenario: 'agent-register.xml', port: SOFTPHONE, mediaPort: 23050, maxCalls: 1,
      vars: { user: `reg-${tag}`, password }, extraArgs: ['-oocsf', ANSWERING, '127.0.0.1:5060'],
    });
    // sipp gives up (and may exit at once) when the second REGISTER is refused too.
    const wrong = await registering('not-the-password').catch(() => null);
    await new Promise((r) => setTimeout(r, 1500));
    await wrong?.stop();
    expect((await send('POST', `/api/v1/agents/${agentId}/login`)).statusCode).toBe(409);
    softphone = await registering(sipPassword);
    const login = async () => (await send('POST', `/api/v1/agents/${agentId}/login`)).statusCode === 200;
    await until(login, 10_000, 'the registered softphone to answer the login call');

    const policyName = `open-${tag}`;
    await savePolicy(db, openAllHours(policyName), 'test');
    const camp = await send('POST', '/api/v1/campaigns', { name: `admin ${tag}`, trunkId, callerIdId: cid.json().id, policyName, recordCalls: false, maxConcurrent: 2, maxCps: 2 });
    expect(camp.statusCode, camp.body).toBe(201);
    const campaignId = camp.json().id as string;
    expect((await send('POST', `/api/v1/campaigns/${campaignId}/contacts`, { phone: '+13055557301' })).statusCode).toBe(201);
    expect((await send('POST', `/api/v1/campaigns/${campaignId}/start`)).statusCode).toBe(200);

    const call = async () => db.selectFrom('calls').where('campaign_id', '=', campaignId).selectAll().executeTakeFirst();
    await until(async () => !!(await call())?.ended_at, 25_000, 'the call through the new trunk to end');
    const cdr = (await call())!;
    expect(cdr).toMatchObject({ trunk_id: trunkId, agent_id: agentId, caller_id: number, outcome: 'answered' });
    expect(cdr.bridged_at).toBeInstanceOf(Date);
    expect((await send('POST', `/api/v1/campaigns/${campaignId}/complete`)).statusCode).toBe(200);
    expect((await send('POST', `/api/v1/agents/${agentId}/logout`)).statusCode).toBe(200);

    // Changing the trunk reaches Asterisk; deleting it is refused once calls keep it.
    const patched = await send('PATCH', `/api/v1/trunks/${trunkId}`, { port: CARRIER + 100 });
    expect(patched.statusCode, patched.body).toBe(200);
    expect((await engine.ari.getConfigObject('res_pjsip', 'aor', trunkObjectId(`carrier-${tag}`)))?.contact).toBe(`sip:127.0.0.1:${CARRIER + 100}`);
    expect((await send('DELETE', `/api/v1/trunks/${trunkId}`)).statusCode).toBe(409);
    const disabled = await send('PATCH', `/api/v1/trunks/${trunkId}`, { enabled: false });
    expect(disabled.json()).toMatchObject({ enabled: false });
    expect(await engine.ari.getConfigObject('res_pjsip', 'endpoint', trunkObjectId(`carrier-${tag}`))).toBeNull();

    // The audit log has each change with before and after, and no secret anywhere.
    const audit = await send('GET', `/api/v1/audit?resource=trunk&resourceId=${trunkId}`);
    expect(audit.statusCode).toBe(200);
    const actions = (audit.json().entries as { action: string; before: { port?: number } | null; after: { port?: number } | null }[]).map((e) => e.action);
    expect(actions).toEqual(['trunk.updated', 'trunk.updated', 'trunk.created']);
    const portChange = (audit.json().entries as { before: { port: number }; after: { port: number } }[])[1]!;
    expect([portChange.before.port, portChange.after.port]).toEqual([CARRIER, CARRIER + 100]);
    const everything = JSON.stringify(await db.selectFrom('audit_log').select(['before', 'after', 'details']).execute());
    expect(everything).not.toContain(trunkPassword);
    expect(everything).not.toContain(sipPassword);
  }, 90_000);

  it('validates: bad fields named, duplicates 409, references checked, limits respected', async () => {
    const bad = await send('POST', '/api/v1/trunks', { name: 'Bad Name', host: 'exa mple', port: 70000, codecs: ['mp3'] });
    expect(bad.statusCode).toBe(400);
    const fields = (bad.json().issues as { field: string }[]).map((i) => i.field).sort();
    expect(fields).toEqual(['body.codecs.0', 'body.host', 'body.name', 'body.port']);
    expect((await send('POST', '/api/v1/trunks', { name: `only-user-${tag}`, host: 'h', username: 'u' })).json()).toMatchObject({ issues: [{ field: 'body.password' }] });
    const t = await send('POST', '/api/v1/trunks', { name: `dup-${tag}`, host: '127.0.0.1', maxCps: 3 });
    expect(t.statusCode).toBe(201);
    expect((await send('POST', '/api/v1/trunks', { name: `dup-${tag}`, host: '127.0.0.1' })).statusCode).toBe(409);
    expect((await send('POST', '/api/v1/caller-ids', { number: 'not a number' })).json().issues[0].field).toBe('body.number');
    expect((await send('POST', '/api/v1/caller-ids', { number: randomCallerNumber(), trunkIds: ['00000000-0000-4000-8000-000000000000'] })).statusCode).toBe(400);
    expect((await send('POST', '/api/v1/agents', { name: 'x', endpoint: 'trunk-sneaky', sipPassword: 'longenough' })).json().issues[0].field).toBe('body.endpoint');
    expect((await send('POST', '/api/v1/agents', { name: 'x', endpoint: `nopass-${tag}` })).statusCode).toBe(400);
    const cid = await send('POST', '/api/v1/caller-ids', { number: randomCallerNumber() });
    const camp = await send('POST', '/api/v1/campaigns', { name: `lim ${tag}`, trunkId: t.json().id, callerIdId: cid.json().id, maxCps: 3 });
    expect(camp.statusCode, camp.body).toBe(201);
    // A trunk's limits cannot drop below what its campaigns dial with.
    expect((await send('PATCH', `/api/v1/trunks/${t.json().id}`, { maxCps: 2 })).statusCode).toBe(409);
    expect((await send('DELETE', `/api/v1/caller-ids/${cid.json().id}`)).statusCode).toBe(409);
    expect((await send('DELETE', `/api/v1/campaigns/${camp.json().id}`)).statusCode).toBe(204);
    expect((await send('DELETE', `/api/v1/caller-ids/${cid.json().id}`)).statusCode).toBe(204);
    expect((await send('DELETE', `/api/v1/trunks/${t.json().id}`)).statusCode).toBe(204);
    expect((await send('GET', `/api/v1/trunks/${t.json().id}`)).statusCode).toBe(404);
  });
});
