// The trunk limiter's cost per call on the dial path: one acquire (one Lua script, one round trip)
// and one release (ZREM), against the local Redis. `npx tsx bench/trunk-limiter.ts`
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { TrunkLimiter } from '../src/dialer/trunk-limiter.js';
const r = new Redis('redis://127.0.0.1:6379');
const l = new TrunkLimiter(r, `dialwell:bench-${randomUUID()}`);
const t = { id: randomUUID(), name: 'b', maxCps: 1_000_000, maxChannels: 1_000_000 };
for (let i = 0; i < 200; i++) { const m = randomUUID(); await l.tryAcquire(t, m); await l.release(t.id, m); }
const n = 3000; const t0 = process.hrtime.bigint(); const c0 = process.cpuUsage();
for (let i = 0; i < n; i++) { const m = randomUUID(); await l.tryAcquire(t, m); await l.release(t.id, m); }
const ms = Number(process.hrtime.bigint() - t0) / 1e6; const cpu = process.cpuUsage(c0);
console.log(`acquire+release: ${(ms / n * 1000).toFixed(0)} us wall, ${((cpu.user + cpu.system) / n).toFixed(0)} us CPU (client) per call, ${n} calls`);
l.close(); r.disconnect();
