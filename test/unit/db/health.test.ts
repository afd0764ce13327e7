// Which errors mean "no database" (an outage: wait and retry) and which are the statement's own
// fault (never retried); and an outage logged once at each end however many failures it has.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { isConnectionError } from '../../../src/db/health.js';
import { Outage } from '../../../src/health/outage.js';

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('isConnectionError', () => {
  it.each([
    ['refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['refused on every address', new AggregateError([Object.assign(new Error(''), { code: 'ECONNREFUSED' })], '')],
    ['backend terminated', pgError('57P01', 'terminating connection due to administrator command')],
    ['server starting', pgError('57P03', 'the database system is starting up')],
    ['connection exception class', pgError('08006', 'connection failure')],
    ['ALLOW_CONNECTIONS false', pgError('55000', 'database "x" is not currently accepting connections')],
    ['socket closed under a query', new Error('Connection terminated unexpectedly')],
    ['pool connect timeout', new Error('timeout exceeded when trying to connect')],
  ])('%s: an outage', (_name, err) => expect(isConnectionError(err)).toBe(true));

  it.each([
    ['unique violation', pgError('23505', 'duplicate key value violates unique constraint')],
    ['syntax', pgError('42601', 'syntax error at or near "selec"')],
    ['other 55000', pgError('55000', 'cannot update view')],
    ['not an error', 'ECONNREFUSED'],
  ])('%s: not an outage', (_name, err) => expect(isConnectionError(err)).toBe(false));
});

describe('Outage', () => {
  it('logs one line when it starts and one when it ends, with its duration and failure count', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, done) => (lines.push(JSON.parse(c.toString()) as Record<string, unknown>), done()) }));
    const o = new Outage('postgresql', log);
    const events: string[] = [];
    o.on('down', () => events.push('down'));
    o.on('up', () => events.push('up'));
    o.recover(); // not down: nothing
    for (let i = 0; i < 63; i++) o.fail(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    expect(o.isDown).toBe(true);
    expect(o.reason).toBe('connect ECONNREFUSED');
    await new Promise((r) => setTimeout(r, 30));
    o.recover();
    o.recover();
    expect(events).toEqual(['down', 'up']);
    expect(lines.map((l) => l.msg)).toEqual(['postgresql unreachable: outage started', 'postgresql reachable again: outage over']);
    expect(lines[0]).toMatchObject({ level: 50, dependency: 'postgresql', code: 'ECONNREFUSED' });
    expect(lines[1]).toMatchObject({ level: 40, dependency: 'postgresql', failures: 63 });
    expect(lines[1]!.downMs as number).toBeGreaterThanOrEqual(25);
    expect(o.isDown).toBe(false);
    expect(o.reason).toBe('');
  });
});
