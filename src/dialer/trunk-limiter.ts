// A trunk's limits (calls per second, concurrent calls) held across every engine and node at
// once, on Redis: one Lua script per dial decides both atomically (one round trip), on Redis's
// own clock (engines' clocks do not matter).
//
// - Calls per second: a sliding window, the instants of the trunk's dials in the last 1000 ms
//   (a sorted set); a fixed window would let 2N through across its edge.
// - Concurrent calls: one member per call (its channel id) in a sorted set scored by an expiry.
//   The engine holding the call renews its members every `renewEveryMs`; a call's end removes
//   its member. An engine that dies stops renewing: its calls' slots free themselves after
//   `slotTtlMs` (or are renewed by the engine that takes the calls over, as they are still up).
//   If Redis loses the sets (a restart without persistence), the next renewal puts the live
//   calls back.
//
// Why not rate-limiter-flexible: its Redis limiter is a fixed window per key and has no per-call
// slot that frees itself when its holder dies; with it, a dial would also take two round trips
// (rate, then concurrency) where this takes one.
import type { Redis } from 'ioredis';

export interface TrunkLimits {
  id: string;
  name: string;
  maxCps: number;
  maxChannels: number;
}

export type SlotResult = { ok: true } | { ok: false; limit: 'cps' | 'channels'; retryInMs: number; inUse: number };

export interface TrunkLimiterOptions {
  /** A call's slot lapses this long after its last renewal (the engine that held it died). */
  slotTtlMs: number;
  renewEveryMs: number;
  /** How long a dial waits for a slot before its attempt is put back for later. */
  maxWaitMs: number;
}

export const defaultTrunkLimiterOptions: TrunkLimiterOptions = { slotTtlMs: 15_000, renewEveryMs: 5_000, maxWaitMs: 2_000 };

// KEYS: calls set, dials set. ARGV: max channels, max cps, member, slot ttl ms.
// Returns {0} granted, {1, inUse} channels full, {2, retryInMs, inUse} calls per second reached.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local calls = redis.call('ZCARD', KEYS[1])
if calls >= tonumber(ARGV[1]) then return {1, calls} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 1000)
local dials = redis.call('ZCARD', KEYS[2])
if dials >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {2, tonumber(oldest[2]) + 1000 - now, calls}
end
redis.call('ZADD', KEYS[2], now, ARGV[3])
redis.call('PEXPIRE', KEYS[2], 2000)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return {0}
`;

// KEYS: calls set. ARGV: slot ttl ms, members... (re-added if Redis lost them).
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + ttl, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return #ARGV - 1
`;

// KEYS: calls set, dials set. Returns {calls up, dials in the last second}.
const USAGE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {redis.call('ZCOUNT', KEYS[1], now, '+inf'), redis.call('ZCOUNT', KEYS[2], now - 1000, '+inf')}
`;

type LimiterRedis = Redis & {
  dialwellTrunkAcquire(calls: string, dials: string, maxChannels: number, maxCps: number, member: string, ttl: number): Promise<number[]>;
  dialwellTrunkRenew(calls: string, ttl: number, ...members: string[]): Promise<number>;
  dialwellTrunkUsage(calls: string, dials: string): Promise<number[]>;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class TrunkLimiter {
  private readonly redis: LimiterRedis;
  /** The slots this process holds, by trunk id: renewed until released. */
  private readonly held = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    redis: Redis,
    /** The installation's key prefix (trunks are installation-wide, whatever the node or queue). */
    private readonly prefix: string,
    private readonly opts: TrunkLimiterOptions = defaultTrunkLimiterOptions,
  ) {
    redis.defineCommand('dialwellTrunkAcquire', { numberOfKeys: 2, lua: ACQUIRE });
    redis.defineCommand('dialwellTrunkRenew', { numberOfKeys: 1, lua: RENEW });
    redis.defineCommand('dialwellTrunkUsage', { numberOfKeys: 2, lua: USAGE });
    this.redis = redis as LimiterRedis;
  }

  private keys(trunkId: string): [string, string] {
    return [`${this.prefix}:trunk:${trunkId}:calls`, `${this.prefix}:trunk:${trunkId}:dials`];
  }

  /** One try: a slot for the call (`member`, its channel id) now, or which limit stands in the way. */
  async tryAcquire(trunk: TrunkLimits, member: string): Promise<SlotResult> {
    const [calls, dials] = this.keys(trunk.id);
    const r = await this.redis.dialwellTrunkAcquire(calls, dials, trunk.maxChannels, trunk.maxCps, member, this.opts.slotTtlMs);
    if (r[0] === 0) {
      this.hold(trunk.id, member);
      return { ok: true };
    }
    if (r[0] === 1) return { ok: false, limit: 'channels', retryInMs: 200, inUse: r[1] ?? 0 };
    return { ok: false, limit: 'cps', retryInMs: Math.max(1, r[1] ?? 1), inUse: r[2] ?? 0 };
  }

  /**
   * A slot for the call, waiting up to `maxWaitMs` (a second's dials leave the window within a
   * second; a call slot frees when a call ends); the last refusal when none came in time.
   */
  async acquire(trunk: TrunkLimits, member: string): Promise<SlotResult> {
    const deadline = Date.now() + this.opts.maxWaitMs;
    for (;;) {
      const r = await this.tryAcquire(trunk, member);
      if (r.ok) return r;
      const left = deadline - Date.now();
      if (left <= 0) return r;
      // A little jitter: engines refused at the same instant do not all come back at the same one.
      await sleep(Math.min(left, r.retryInMs + Math.floor(Math.random() * 20)));
    }
  }

  /** Follows a call this process holds (a dial, or a call taken over from another engine): renewed until released. */
  hold(trunkId: string, member: string): void {
    let set = this.held.get(trunkId);
    if (!set) this.held.set(trunkId, (set = new Set()));
    set.add(member);
    if (!this.timer) {
      this.timer = setInterval(() => void this.renew().catch(() => undefined), this.opts.renewEveryMs);
      this.timer.unref();
    }
  }

  /** The call is over: its slot is free for any engine at once. */
  async release(trunkId: string, member: string): Promise<void> {
    const set = this.held.get(trunkId);
    set?.delete(member);
    if (set?.size === 0) this.held.delete(trunkId);
    await this.redis.zrem(this.keys(trunkId)[0], member);
  }

  /** Renews (or puts back) every slot this process holds: one script per trunk, in one pipeline. */
  async renew(): Promise<void> {
    if (this.held.size === 0) return;
    const p = this.redis.pipeline() as unknown as { dialwellTrunkRenew(calls: string, ttl: number, ...m: string[]): void; exec(): Promise<unknown> };
    for (const [trunkId, members] of this.held) p.dialwellTrunkRenew(this.keys(trunkId)[0], this.opts.slotTtlMs, ...members);
    await p.exec();
  }

  /** Calls up and dials in the last second on a trunk, across every engine (for /metrics). */
  async usage(trunkId: string): Promise<{ calls: number; dialsLastSecond: number }> {
    const [calls, dials] = this.keys(trunkId);
    const [c, d] = await this.redis.dialwellTrunkUsage(calls, dials);
    return { calls: c ?? 0, dialsLastSecond: d ?? 0 };
  }

  /** Calls this process holds slots for. */
  get heldCount(): number {
    let n = 0;
    for (const s of this.held.values()) n += s.size;
    return n;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
