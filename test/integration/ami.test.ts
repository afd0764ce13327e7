// The AMI wrapper against the real Asterisk: cdr_manager's Cdr event arrives for a channel
// originated through ARI, keyed by the channel id we chose; the wrapper reconnects after the TCP
// connection is cut (through a proxy, so the shared Asterisk is left alone) and events flow again;
// refused credentials say which settings to check.
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { AmiGateway, type AmiCdr } from '../../src/pbx/ami.js';
import { AriGateway } from '../../src/pbx/ari.js';
import { testConfig } from '../helpers/env.js';

const cfg = testConfig();
const log = createLogger('silent');

function nextCdr(ami: AmiGateway, uniqueId: string, ms = 10_000): Promise<AmiCdr> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no Cdr event for ${uniqueId} within ${ms} ms`)), ms);
    const on = (c: AmiCdr) => {
      if (c.uniqueId !== uniqueId) return;
      clearTimeout(timer);
      ami.off('cdr', on);
      resolve(c);
    };
    ami.on('cdr', on);
  });
}

describe('AMI gateway', () => {
  let ari: AriGateway;
  const closers: Array<() => void> = [];

  beforeAll(async () => {
    ari = await AriGateway.connect({
      url: cfg.ARI_URL, user: cfg.ARI_USER, password: cfg.ARI_PASSWORD, app: `dialwell-ami-${randomUUID().slice(0, 8)}`,
      maxSockets: cfg.ARI_MAX_SOCKETS, timeoutMs: cfg.ARI_TIMEOUT_MS, log,
    });
  });
  afterAll(() => {
    for (const c of closers) c();
    ari?.close();
  });

  /** A channel that fails at once (a Local channel into a context that does not exist): one CDR. */
  async function probeChannel(channelId = randomUUID()): Promise<string> {
    await ari.originate({ endpoint: 'Local/s@dialwell-ami-probe-missing', channelId, app: ari.app });
    return channelId;
  }

  it('receives the Cdr event of a channel, keyed by the channel id set on originate', async () => {
    const { ami, ready } = AmiGateway.start({ host: cfg.AMI_HOST, port: cfg.AMI_PORT, user: cfg.AMI_USER, password: cfg.AMI_PASSWORD, log });
    closers.push(() => ami.close());
    await ready;
    // With `call` events too (the way an unnarrowed login gets everything), for comparison.
    const wide = AmiGateway.start({ host: cfg.AMI_HOST, port: cfg.AMI_PORT, user: cfg.AMI_USER, password: cfg.AMI_PASSWORD, log, eventClasses: 'cdr,call' });
    closers.push(() => wide.ami.close());
    await wide.ready;
    const hangups: string[] = [];
    wide.ami.on('hangup', (e) => hangups.push(e.uniqueId));
    const [before, wideBefore] = [ami.eventsReceived, wide.ami.eventsReceived];
    const id = randomUUID();
    const cdrs = Promise.all([nextCdr(ami, id), nextCdr(wide.ami, id)]);
    await probeChannel(id);
    const [cdr] = await cdrs;
    expect(cdr.uniqueId).toBe(id);
    // Asterisk publishes Cdr and Hangup on different topics: under load the Hangup can come second.
    for (let waited = 0; !hangups.includes(id) && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(hangups).toContain(id);
    // Narrowed to Cdr events: only the probe's two Cdrs (its Local channel pair), unless other calls ran meanwhile.
    const narrow = ami.eventsReceived - before;
    const all = wide.ami.eventsReceived - wideBefore;
    expect(narrow).toBeGreaterThanOrEqual(2);
    expect(narrow).toBeLessThan(all);
    expect(cdr.channel).toMatch(/^Local\/s@dialwell-ami-probe-missing-/);
    expect(cdr.disposition).toBe('FAILED');
    expect(cdr.endTime).toBeInstanceOf(Date);
    expect(Math.abs(cdr.endTime!.getTime() - Date.now())).toBeLessThan(10_000);
    const pong = await ami.action({ action: 'Ping' });
    expect(pong.response).toBe('Success');
    expect(await ami.command('core show version')).toMatch(/^Asterisk 22\./);
  });

  it('reconnects after the connection is cut and receives events again', async () => {
    // A TCP proxy in front of AMI: destroying its sockets cuts the connection as a network fault would.
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(cfg.AMI_PORT, cfg.AMI_HOST);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => { client.destroy(); upstream.destroy(); };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    closers.push(() => proxy.close());
    const port = (proxy.address() as net.AddressInfo).port;
    const { ami, ready } = AmiGateway.start({ host: '127.0.0.1', port, user: cfg.AMI_USER, password: cfg.AMI_PASSWORD, log, reconnectMinMs: 100 });
    closers.push(() => ami.close());
    await ready;
    let disconnects = 0;
    ami.on('disconnected', () => disconnects++);
    const back = new Promise<void>((r) => ami.once('connected', r));
    const cutAt = Date.now();
    for (const s of sockets) s.destroy();
    sockets.clear();
    await back;
    const reconnectMs = Date.now() - cutAt;
    expect(disconnects).toBe(1);
    expect(ami.connected).toBe(true);
    expect(reconnectMs).toBeLessThan(3000);
    const id = randomUUID();
    const cdr = nextCdr(ami, id);
    await probeChannel(id);
    expect((await cdr).uniqueId).toBe(id);
  });

  it('says which settings to check when Asterisk refuses the login', async () => {
    const { ami, ready } = AmiGateway.start({ host: cfg.AMI_HOST, port: cfg.AMI_PORT, user: cfg.AMI_USER, password: 'not-the-password', log });
    closers.push(() => ami.close());
    await expect(ready).rejects.toThrow(/AMI_USER and AMI_PASSWORD/);
    expect(ami.connected).toBe(false);
  });
});
