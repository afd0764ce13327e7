// The state an agent keeps at a takeover (src/dialer/takeover.ts previousState) and the pool's
// restore of that session (AgentPool.restore): pure logic here, with Asterisk faked; the real
// takeover is tested in test/integration/takeover-calls.test.ts.
import { describe, expect, it } from 'vitest';
import { AgentPool } from '../../../src/dialer/agent-pool.js';
import { EventRouter } from '../../../src/dialer/event-router.js';
import { previousState, STATE_UNKNOWN_AFTER_TAKEOVER } from '../../../src/dialer/takeover.js';
import type { CallOnChannel } from '../../../src/dialer/takeover.repository.js';
import { createLogger } from '../../../src/log.js';
import type { AriGateway } from '../../../src/pbx/ari.js';
import type { AriEvent } from '../../../src/pbx/ari-types.js';

const since = '2026-12-07T14:00:00.000Z';
const call = (callId: string): CallOnChannel => ({
  callId, channelId: 'ch', attempt: { id: 'a', phone: '+13055550000', campaignId: 'c', contactId: 'k', contactName: null, calledHotline: null },
  callerId: '+17865550000', createdAt: new Date(since), answeredAt: new Date(since), bridgedAt: new Date('2026-12-07T14:00:01.000Z'), endedAt: null, agentId: 'ag',
});

describe('previousState: what an agent kept at a takeover is', () => {
  it('on the call they are still on, with the published time when it is that call', () => {
    expect(previousState({ state: 'on-call', since, callId: 'x', lastCallId: 'w', pauseReason: null }, undefined, call('x')))
      .toEqual({ state: 'on-call', since: Date.parse(since), callId: 'x', lastCallId: 'w', pauseReason: null });
    // Published ready (the join was not published yet): on the call since the join.
    expect(previousState({ state: 'reserved', since, callId: null, lastCallId: null, pauseReason: null }, undefined, call('x')))
      .toMatchObject({ state: 'on-call', callId: 'x', since: Date.parse('2026-12-07T14:00:01.000Z') });
  });

  it('in wrap-up of the call that ended while no engine listened', () => {
    expect(previousState({ state: 'on-call', since, callId: 'x', lastCallId: null, pauseReason: null }, undefined, null))
      .toMatchObject({ state: 'wrap-up', callId: null, lastCallId: 'x' });
  });

  it('as published otherwise (paused with its reason, its timer going on)', () => {
    expect(previousState({ state: 'paused', since, callId: null, lastCallId: 'w', pauseReason: 'break' }, undefined, null))
      .toEqual({ state: 'paused', since: Date.parse(since), callId: null, lastCallId: 'w', pauseReason: 'break' });
  });

  it('as last recorded when nothing was published, else paused (a state known nowhere is never "ready")', () => {
    expect(previousState(undefined, { state: 'paused', at: new Date(since), reason: 'lunch' }, null)).toMatchObject({ state: 'paused', pauseReason: 'lunch' });
    expect(previousState(undefined, { state: 'on-call', at: new Date(since), reason: null }, null)).toMatchObject({ state: 'wrap-up' });
    expect(previousState(undefined, { state: 'logged-out', at: new Date(since), reason: 'requested' }, null)).toMatchObject({ state: 'paused', pauseReason: STATE_UNKNOWN_AFTER_TAKEOVER });
    expect(previousState(undefined, undefined, null)).toMatchObject({ state: 'paused', pauseReason: STATE_UNKNOWN_AFTER_TAKEOVER });
  });
});

describe('AgentPool.restore', () => {
  const hungUp: string[] = [];
  const ari = { app: 'test', connected: true, destroyBridge: async () => {}, hangup: async (id: string) => void hungUp.push(id) };
  const agent = (id: string) => ({ id, name: id, endpoint: `ep-${id}`, phoneType: 'sip' as const });
  const phone = (id: string) => ({ channelId: `ch-${id}`, bridgeId: `br-${id}` });

  it('keeps the session on the same channel and bridge; a reservation of the dead owner is void', () => {
    const router = new EventRouter();
    const pool = new AgentPool(ari as unknown as AriGateway, router, createLogger('silent'), { autoReadyAfterMs: null, loginTimeoutSeconds: 5 });
    const states: string[] = [];
    pool.on('state', (s) => states.push(`${s.agentId}:${s.state}`));
    pool.restore(agent('a'), phone('a'), { state: 'reserved', since: 1, callId: null, lastCallId: null, pauseReason: null });
    pool.restore(agent('b'), phone('b'), { state: 'paused', since: 1, callId: null, lastCallId: null, pauseReason: 'break' });
    expect(pool.get('a')).toMatchObject({ state: 'ready', channelId: 'ch-a', bridgeId: 'br-a' });
    expect(pool.get('b')).toMatchObject({ state: 'paused', pauseReason: 'break', stateSince: 1 });
    expect(states).toEqual(['a:ready', 'b:paused']);
    // The ready one is the one a call gets.
    expect(pool.reserve()?.agentId).toBe('a');
  });

  it('watches the kept phone: its hang-up logs the agent out', () => {
    const router = new EventRouter();
    const pool = new AgentPool(ari as unknown as AriGateway, router, createLogger('silent'), { autoReadyAfterMs: null, loginTimeoutSeconds: 5 });
    pool.restore(agent('c'), phone('c'), { state: 'ready', since: 1, callId: null, lastCallId: null, pauseReason: null });
    router.dispatch({ type: 'ChannelDestroyed', channel: { id: 'ch-c' }, cause: 16, cause_txt: 'Normal Clearing', timestamp: since, application: 'test' } as unknown as AriEvent);
    expect(pool.get('c')).toMatchObject({ state: 'logged-out', logoutReason: 'softphone-hung-up' });
  });
});
