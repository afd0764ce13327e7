// The agent pool's handling of a phone that goes away: a SIP phone's hang-up logs the agent out;
// a browser phone (webrtc) is called again with the session kept, with deadlines for the customer
// on the line and for the agent. Asterisk is a fake here: this is the pool's own state logic (the
// real thing is in test/integration/webrtc-phone.test.ts).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AgentPool, PHONE_RECONNECTING, type PhoneType } from '../../../src/dialer/agent-pool.js';
import { EventRouter } from '../../../src/dialer/event-router.js';
import { createLogger } from '../../../src/log.js';
import type { AriGateway } from '../../../src/pbx/ari.js';
import type { AriEvent, OriginateParams } from '../../../src/pbx/ari-types.js';

const event = (type: 'StasisStart' | 'ChannelDestroyed', id: string): AriEvent =>
  ({ type, channel: { id }, args: [], cause: 16, cause_txt: 'Normal Clearing', timestamp: new Date().toISOString(), application: 'test' }) as unknown as AriEvent;

/** Asterisk as the pool sees it: an originate is answered at once while the phone is there, refused otherwise. */
class FakeAri {
  readonly app = 'test';
  readonly connected = true;
  phoneThere = true;
  readonly originates: OriginateParams[] = [];
  readonly bridged: string[] = [];
  constructor(private readonly router: EventRouter) {}
  async createBridge(): Promise<void> {}
  /** Nothing left from before: no stale softphone channel to clear at login. */
  async application(): Promise<{ channel_ids: string[] }> {
    return { channel_ids: [] };
  }
  async listChannels(): Promise<[]> {
    return [];
  }
  async destroyBridge(): Promise<void> {}
  async addToBridge(_bridge: string, channel: string): Promise<void> {
    this.bridged.push(channel);
  }
  async hangup(channel: string): Promise<void> {
    queueMicrotask(() => this.router.dispatch(event('ChannelDestroyed', channel)));
  }
  async originate(p: OriginateParams): Promise<{ id: string }> {
    this.originates.push(p);
    if (!this.phoneThere) throw new Error('ARI channels.originate failed: HTTP 500: Allocation failed');
    queueMicrotask(() => this.router.dispatch(event('StasisStart', p.channelId)));
    return { id: p.channelId };
  }
  /** The phone's channel ends by itself (a reload's BYE, a SIP phone hung up). */
  phoneGone(channel: string): void {
    this.router.dispatch(event('ChannelDestroyed', channel));
  }
}

describe('AgentPool: a phone that goes away', () => {
  let router: EventRouter;
  let ari: FakeAri;
  let pool: AgentPool;
  const lost: string[] = [];

  beforeEach(() => {
    vi.useFakeTimers();
    router = new EventRouter();
    ari = new FakeAri(router);
    pool = new AgentPool(ari as unknown as AriGateway, router, createLogger('silent'), {
      autoReadyAfterMs: null, loginTimeoutSeconds: 5, phoneRecallSeconds: 10, phoneRecallCustomerSeconds: 4,
    });
    lost.length = 0;
    pool.on('agent-lost', (_s, callId) => lost.push(callId));
  });
  afterEach(() => vi.useRealTimers());

  const login = (phoneType: PhoneType) => pool.login({ id: 'a1', name: 'Ann', endpoint: 'agent-a1', phoneType });

  it('logs the agent out when a SIP phone hangs up, and calls it no more', async () => {
    const s = await login('sip');
    expect(ari.originates[0]!.formats).toBeUndefined();
    ari.phoneGone(s.channelId);
    expect(pool.get('a1')?.state).toBe('logged-out');
    await vi.advanceTimersByTimeAsync(5000);
    expect(ari.originates).toHaveLength(1);
  });

  it('keeps a browser phone\'s session, pauses the agent, and calls the phone again until it answers', async () => {
    const s = await login('webrtc');
    expect(ari.originates[0]!.formats).toBe('opus,ulaw');
    const first = s.channelId;
    ari.phoneThere = false;
    ari.phoneGone(first);
    expect(pool.get('a1')).toMatchObject({ state: 'paused', pauseReason: PHONE_RECONNECTING });
    // Nobody gets a call meanwhile, even an agent who asks to be ready.
    pool.setReady('a1');
    expect(pool.get('a1')).toMatchObject({ state: 'paused', pauseReason: PHONE_RECONNECTING });
    expect(pool.reserve()).toBeNull();
    await vi.advanceTimersByTimeAsync(3000);
    const refused = ari.originates.length - 1;
    expect(refused).toBeGreaterThanOrEqual(2);
    ari.phoneThere = true;
    await vi.advanceTimersByTimeAsync(1100);
    expect(pool.get('a1')).toMatchObject({ state: 'ready', pauseReason: null });
    expect(s.channelId).not.toBe(first);
    expect(ari.bridged.at(-1)).toBe(s.channelId);
    expect(ari.originates.every((o) => o.formats === 'opus,ulaw' && o.endpoint === 'PJSIP/agent-a1')).toBe(true);
    // Back and watched again: no more calls, and a second reload is recalled too.
    const calls = ari.originates.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(ari.originates).toHaveLength(calls);
    ari.phoneGone(s.channelId);
    await vi.advanceTimersByTimeAsync(600);
    expect(pool.get('a1')?.state).toBe('ready');
  });

  it('leaves an agent paused for their own reason paused when the phone is back', async () => {
    const s = await login('webrtc');
    pool.pause('a1', 'lunch');
    ari.phoneGone(s.channelId);
    await vi.advanceTimersByTimeAsync(600);
    expect(pool.get('a1')).toMatchObject({ state: 'paused', pauseReason: 'lunch' });
  });

  it('ends the customer\'s call when the phone is not back in time, then logs the agent out at the deadline', async () => {
    const s = await login('webrtc');
    expect(pool.reserve()).toBe(s);
    pool.connected('a1', 'call-1');
    ari.phoneThere = false;
    ari.phoneGone(s.channelId);
    // The customer waits in the bridge for the phone to come back...
    expect(pool.get('a1')?.state).toBe('on-call');
    await vi.advanceTimersByTimeAsync(3500);
    expect(lost).toEqual([]);
    // ...until phoneRecallCustomerSeconds.
    await vi.advanceTimersByTimeAsync(1000);
    expect(lost).toEqual(['call-1']);
    pool.callEnded('a1');
    expect(pool.get('a1')?.state).toBe('wrap-up');
    await vi.advanceTimersByTimeAsync(7000);
    expect(pool.get('a1')?.state).toBe('logged-out');
    const calls = ari.originates.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(ari.originates).toHaveLength(calls);
  });

  it('stops calling the phone when the agent logs out meanwhile', async () => {
    const s = await login('webrtc');
    ari.phoneThere = false;
    ari.phoneGone(s.channelId);
    await vi.advanceTimersByTimeAsync(1600);
    await pool.logout('a1');
    expect(pool.get('a1')?.state).toBe('logged-out');
    const calls = ari.originates.length;
    ari.phoneThere = true;
    await vi.advanceTimersByTimeAsync(5000);
    expect(ari.originates).toHaveLength(calls);
  });
});
