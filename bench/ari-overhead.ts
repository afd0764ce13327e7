// npx tsx bench/ari-overhead.ts — the dialer process's CPU per ARI request and per ARI event, npm
// ari-client against Dialwell's own client (src/pbx/ari.ts: node:http with a capped agent, `ws`,
// JSON.parse), on the real Asterisk. Why src/pbx/ari.ts no longer uses ari-client.
//  - requests: GET /applications/{app} in a loop, one at a time (CPU of this process per request);
//  - events: a call's typical events (StasisStart, Dial, ChannelLeftBridge, ChannelDestroyed, with
//    Asterisk's full channel and bridge objects) fed to each client's websocket message handler.
import http from 'node:http';
import ari from 'ari-client';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { AriGateway } from '../src/pbx/ari.js';

const N = Number(process.env.BENCH_N ?? '2000');
const cfg = loadConfig(process.env);
const log = pino({ level: 'warn' });
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
async function perOp(n: number, op: () => Promise<unknown> | void): Promise<number> {
  for (let i = 0; i < Math.min(200, n); i++) await op(); // warm-up (JIT, sockets)
  const t = cpuMs();
  for (let i = 0; i < n; i++) await op();
  return (cpuMs() - t) / n;
}

async function main(): Promise<void> {
  const app = `dialwell-ari-overhead-${process.pid}`;
  // ari-client uses Node's global agent: capped as it was in Dialwell (pbx-notes, trap 1).
  http.globalAgent = new http.Agent({ keepAlive: true, maxSockets: cfg.ARI_MAX_SOCKETS });
  const g = globalThis as { log?: unknown };
  const client = await ari.connect(cfg.ARI_URL, cfg.ARI_USER, cfg.ARI_PASSWORD);
  if (typeof g.log === 'function') g.log = () => undefined; // swagger-client's deprecation notice
  await client.start(`${app}-ari-client`);
  const gw = await AriGateway.connect({
    url: cfg.ARI_URL, user: cfg.ARI_USER, password: cfg.ARI_PASSWORD, app: `${app}-gateway`,
    maxSockets: cfg.ARI_MAX_SOCKETS, timeoutMs: cfg.ARI_TIMEOUT_MS, log,
  });
  try {
    const reqClient = await perOp(N, () => client.applications.get({ applicationName: `${app}-ari-client` }));
    const reqGateway = await perOp(N, () => gw.application());

    const at = new Date().toISOString().replace('Z', '+0000');
    const channel = {
      id: '1795398043.1234', name: 'PJSIP/trunk-bench-00000001', state: 'Up', protocol_id: 'a84b4c76e66710@127.0.0.1',
      caller: { name: 'bench', number: '+15550100001' }, connected: { name: '', number: '' }, accountcode: '',
      dialplan: { context: 'dialwell', exten: 's', priority: 1, app_name: 'Stasis', app_data: 'dialwell,customer' },
      creationtime: at, language: 'en',
    };
    const bridge = { id: 'b1', technology: 'simple_bridge', bridge_type: 'mixing', bridge_class: 'stasis', creator: 'Stasis', name: 'b1', channels: ['a'], creationtime: at, video_mode: 'none' };
    const events = [
      { type: 'StasisStart', timestamp: at, args: ['customer', 'x'], channel },
      { type: 'Dial', timestamp: at, peer: channel, dialstatus: 'ANSWER', dialstring: '+13055550100@trunk-bench' },
      { type: 'ChannelLeftBridge', timestamp: at, channel, bridge },
      { type: 'ChannelDestroyed', timestamp: at, channel, cause: 16, cause_txt: 'Normal Clearing' },
    ].map((e) => JSON.stringify({ ...e, application: app, asterisk_id: '00:00:00:00:00:00' }));
    let k = 0;
    // Both clients handle a websocket message in their 'message' listener: feed the same text to it.
    const clientWs = (client as unknown as { _ws: { emit(ev: 'message', data: string): void } })._ws;
    const gwWs = (gw as unknown as { ws: { emit(ev: 'message', data: string): void } }).ws;
    let seen = 0;
    client.on('*', () => seen++);
    gw.on('event', () => seen++);
    const evClient = await perOp(N * 5, () => clientWs.emit('message', events[k++ % events.length]!));
    const evGateway = await perOp(N * 5, () => gwWs.emit('message', events[k++ % events.length]!));
    if (seen < N * 10) throw new Error(`only ${seen} events were delivered`);

    const us = (ms: number) => (ms * 1000).toFixed(0);
    console.log(`\n## bench:ari-overhead — ${new Date().toISOString()}\n`);
    console.log(`CPU of this process, ${N} requests (one at a time) and ${N * 5} events per client:\n`);
    console.log('| client | per request (GET /applications/{app}) us | per event us |');
    console.log('|---|---:|---:|');
    console.log(`| npm ari-client 2.2 (swagger-client 2.0.26, shred, resource objects) | ${us(reqClient)} | ${us(evClient)} |`);
    console.log(`| Dialwell AriGateway (node:http, ws, JSON.parse) | ${us(reqGateway)} | ${us(evGateway)} |`);
  } finally {
    client.removeAllListeners();
    client.stop();
    gw.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
