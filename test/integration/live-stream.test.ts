// The live stream (Server-Sent Events) with the dialer engine in the process, as `dialwell serve`
// runs it: a snapshot on connect, an agent's state change pushed within a second, campaign tiles
// when they change; an agent follows only their own agent; a session cookie works as a token does.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { syncAgent } from '../../src/admin/pbx-sync.js';
import { createUser } from '../../src/auth/users.repository.js';
import { setPassword } from '../../src/auth/sessions.repository.js';
import { apiAs } from '../helpers/api.js';
import { startEngineHarness, type EngineHarness } from '../helpers/engine-harness.js';
import { randomCallerNumber } from '../helpers/env.js';
import { openSse, type SseEvent, type SseStream } from '../helpers/sse.js';

// This file's own sipp ports (console helper's range).
const AGENT_A = 6801;
const AGENT_B = 6802;

describe('live stream (Asterisk, PostgreSQL, Redis, sipp)', () => {
  let h: EngineHarness;
  let base: string;
  const streams: SseStream[] = [];

  beforeAll(async () => {
    h = await startEngineHarness([
      { scenario: 'agent-softphone.xml', port: AGENT_A, mediaPort: 9000 },
      { scenario: 'agent-softphone.xml', port: AGENT_B, mediaPort: 9010 },
    ]);
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await h?.close();
  });

  const open = async (headers: Record<string, string>) => {
    const s = await openSse(`${base}/api/v1/live/stream`, headers);
    streams.push(s);
    return s;
  };
  const agentEvent = (agentId: string, state: string) => (e: SseEvent) =>
    e.event === 'agent' && (e.data as { agentId: string }).agentId === agentId && (e.data as { state: string }).state === state;

  it('pushes a snapshot, then agent state changes within a second, and tiles of running campaigns', async () => {
    const { db, tag } = h;
    const a = await createAgent(db, { name: `Live A ${tag}`, endpoint: `la-${tag}`, contactUri: `sip:127.0.0.1:${AGENT_A}` });
    const b = await createAgent(db, { name: `Live B ${tag}`, endpoint: `lb-${tag}`, contactUri: `sip:127.0.0.1:${AGENT_B}` });
    await syncAgent(db, h.engine.ari, a.id);
    await syncAgent(db, h.engine.ari, b.id);
    const sup = await apiAs(h.app, db, 'supervisor');
    const agentUser = await apiAs(h.app, db, 'agent', { agentId: a.id });

    const supStream = await open({ authorization: `Bearer ${sup.token}` });
    expect(supStream.status).toBe(200);
    expect(supStream.contentType).toMatch(/^text\/event-stream/);
    const snap = await supStream.next((e) => e.event === 'snapshot', 5000, 'the snapshot');
    expect(snap.data).toMatchObject({ dialer: true, agents: { list: [] } });
    const mine = await open({ authorization: `Bearer ${agentUser.token}` });
    await mine.next((e) => e.event === 'snapshot', 5000, "the agent's snapshot");

    // Both agents log in; the supervisor sees both, the agent only themself.
    for (const id of [a.id, b.id]) expect((await h.api.inject({ method: 'POST', url: `/api/v1/agents/${id}/login` })).statusCode).toBe(200);
    await supStream.next(agentEvent(a.id, 'ready'), 5000, 'agent A ready');
    await supStream.next(agentEvent(b.id, 'ready'), 5000, 'agent B ready');
    await mine.next(agentEvent(a.id, 'ready'), 5000, 'agent A ready on their own stream');

    const sent = Date.now();
    const paused = await agentUser.inject({ method: 'POST', url: `/api/v1/agents/${a.id}/pause`, payload: { reason: 'coffee' } });
    expect(paused.statusCode, paused.body).toBe(200);
    const seen = await supStream.next(agentEvent(a.id, 'paused'), 3000, 'agent A paused');
    expect(seen.data).toMatchObject({ name: `Live A ${tag}`, pauseReason: 'coffee' });
    // Tolerant under load; the console's promise is "within 1 s".
    expect(seen.at - sent).toBeLessThan(1000);

    // A campaign starts: a tile appears.
    const trunk = await createTrunk(db, { name: `lt-${tag}`, host: '127.0.0.1', port: 6899 });
    const cid = await createCallerId(db, randomCallerNumber());
    const camp = await createCampaign(db, { name: `live ${tag}`, trunkId: trunk.id, callerIdId: cid.id, state: 'draft' });
    expect((await sup.inject({ method: 'POST', url: `/api/v1/campaigns/${camp.id}/start`, payload: {} })).statusCode).toBe(200);
    const tiles = await supStream.next((e) => e.event === 'tiles' && JSON.stringify(e.data).includes(camp.id), 5000, 'the new campaign tile');
    expect((tiles.data as { campaigns: { campaignId: string; campaign: string }[] }).campaigns).toContainEqual(expect.objectContaining({ campaignId: camp.id, campaign: `live ${tag}` }));
    await sup.inject({ method: 'POST', url: `/api/v1/campaigns/${camp.id}/complete`, payload: {} });

    for (const id of [a.id, b.id]) await h.api.inject({ method: 'POST', url: `/api/v1/agents/${id}/logout` });
    await supStream.next(agentEvent(b.id, 'logged-out'), 5000, 'agent B logged out');
    await new Promise((r) => setTimeout(r, 300));
    // The agent's stream never carried another agent, nor tiles.
    expect(mine.events.filter((e) => e.event === 'tiles')).toEqual([]);
    expect(mine.events.filter((e) => e.event === 'agent' && (e.data as { agentId: string }).agentId !== a.id)).toEqual([]);
    expect(mine.events.some(agentEvent(a.id, 'paused'))).toBe(true);
  });

  it('serves a console session cookie, refuses a QA user and anonymous callers', async () => {
    const { db, tag } = h;
    const u = await createUser(db, { name: `live-sup-${tag}`, role: 'supervisor' });
    await setPassword(db, u.id, `live password ${tag}`);
    const signIn = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: u.name, password: `live password ${tag}` }) });
    expect(signIn.status).toBe(201);
    const cookie = signIn.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const s = await open({ cookie });
    expect(s.status).toBe(200);
    await s.next((e) => e.event === 'snapshot', 5000, 'the snapshot over a session');
    const qa = await apiAs(h.app, db, 'qa');
    expect((await fetch(`${base}/api/v1/live/stream`, { headers: { authorization: `Bearer ${qa.token}` } })).status).toBe(403);
    expect((await fetch(`${base}/api/v1/live/stream`)).status).toBe(401);
  });
});
