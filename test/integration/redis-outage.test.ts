// A Redis outage as the engine's queue wiring sees it, against a private redis-server this test
// starts, stops for 4 s and starts again (the shared Redis is left alone): the outage is logged
// once when it starts and once when it ends, nothing goes to stderr (ioredis and BullMQ print
// every failed reconnect there unless their 'error' events are listened to), and jobs flow again.
import { spawn, type ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createDialQueue, createDialWorker, enqueueAttempt, redisConnection, watchRedis } from '../../src/dialer/queue.js';
import { until } from '../helpers/engine-harness.js';

const PORT = 6398;

function startRedis(): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)));
  });
}

describe('Redis outage', () => {
  let server: ChildProcess | null = null;
  afterAll(() => {
    if (server && server.exitCode === null) server.kill('SIGKILL');
  });

  it('is logged once at each end, never to stderr, and the queue works again after it', async () => {
    server = await startRedis();
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, new Writable({
      write(chunk: Buffer, _e, done) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    }));
    const printed: string[] = [];
    const realError = console.error;
    const realWrite = process.stderr.write.bind(process.stderr);
    console.error = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      printed.push(String(chunk));
      return (realWrite as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    const url = `redis://127.0.0.1:${PORT}`;
    const connections = [redisConnection(url), redisConnection(url)];
    // A queue of this test's own (its Redis is the test's, no installation shares it).
    const name = { name: `outage-${randomUUID()}`, prefix: 'dialwell-test' };
    const queue = createDialQueue(name, connections[0]!);
    const done: string[] = [];
    const worker = createDialWorker(name, connections[1]!, 1, async (job) => void done.push(job.data.attemptId));
    const redis = watchRedis(connections, { queues: [queue], workers: [worker] }, log);
    try {
      await enqueueAttempt(queue, 'before');
      await until(() => done.includes('before'), 10_000, 'a job before the outage');

      server.kill('SIGTERM');
      await new Promise((r) => server!.once('exit', r));
      await until(() => redis.isDown, 10_000, 'the outage to be noticed');
      await new Promise((r) => setTimeout(r, 4000));
      server = await startRedis();
      await until(() => !redis.isDown, 30_000, 'Redis to be seen back');
      await enqueueAttempt(queue, 'after');
      await until(() => done.includes('after'), 15_000, 'a job after the outage');
    } finally {
      console.error = realError;
      process.stderr.write = realWrite;
      await worker.close();
      await queue.close();
      for (const c of connections) c.disconnect();
    }
    const outage = lines.filter((l) => l.dependency === 'redis');
    expect(outage.map((l) => l.msg)).toEqual(['redis unreachable: outage started', 'redis reachable again: outage over']);
    expect(outage[0]).toMatchObject({ level: 50, code: 'ECONNREFUSED' });
    expect(outage[1]!.downMs as number).toBeGreaterThanOrEqual(4000);
    expect(outage[1]!.failures as number).toBeGreaterThan(1); // many failed reconnects, one line
    expect(printed.filter((p) => /ECONNREFUSED|ioredis|Error/.test(p))).toEqual([]);
  }, 60_000);
});
