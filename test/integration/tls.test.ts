// TLS to Asterisk: ARI over https: (requests through node:https with the bounded agent, events over
// wss:) and AMI over TLS, against Asterisk node 3 (scripts/stack.sh node-up 3) started with a
// certificate this test makes with openssl, signed by a CA of its own. Node 3: ARI over TLS on
// 127.0.0.1:8288 (plain HTTP moved to 8287), AMI on 5238 and AMI over TLS on 5239.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { AmiGateway, amiOptions, type AmiCdr } from '../../src/pbx/ami.js';
import { AriGateway, ariOptions } from '../../src/pbx/ari.js';
import type { AriEvent } from '../../src/pbx/ari-types.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NODE = 3;
const ARI_TLS_PORT = 8288;
const AMI_TLS_PORT = 5239;
const log = createLogger('silent');

function stack(...args: string[]): void {
  const r = spawnSync('bash', [path.join(root, 'scripts/stack.sh'), ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`scripts/stack.sh ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
}

/** A CA, and a server certificate it signs for 127.0.0.1 and localhost; `other`: a CA that signed nothing here. */
function makeCertificates(dir: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Dialwell test CA');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=Some other CA');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName = IP:127.0.0.1, DNS:localhost\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
}

/** http.conf and manager.conf for node 3 with TLS on (rendered by stack.sh: @..@ are the node's values). */
function tlsConfig(conf: string, dir: string): void {
  const cert = `/etc/asterisk-node${NODE}/asterisk-tls.pem`;
  const key = `/etc/asterisk-node${NODE}/asterisk-tls.key`;
  execFileSync('cp', [path.join(dir, 'server.pem'), path.join(conf, 'asterisk-tls.pem')]);
  execFileSync('cp', [path.join(dir, 'server.key'), path.join(conf, 'asterisk-tls.key')]);
  writeFileSync(path.join(conf, 'http.conf'), [
    '[general]', 'enabled = yes', 'bindaddr = 127.0.0.1', `bindport = ${ARI_TLS_PORT - 1}`, 'sessionlimit = 1000', 'session_inactivity = 30000',
    'tlsenable = yes', `tlsbindaddr = 127.0.0.1:${ARI_TLS_PORT}`, `tlscertfile = ${cert}`, `tlsprivatekey = ${key}`, '',
  ].join('\n'));
  writeFileSync(path.join(conf, 'manager.conf'), [
    '[general]', 'enabled = yes', 'bindaddr = 127.0.0.1', 'port = @AMI_PORT@', 'displayconnects = no',
    'tlsenable = yes', `tlsbindaddr = 127.0.0.1:${AMI_TLS_PORT}`, `tlscertfile = ${cert}`, `tlsprivatekey = ${key}`, '',
    '[@AMI_USER@]', 'secret = @AMI_PASSWORD@', 'deny = 0.0.0.0/0.0.0.0', 'permit = 127.0.0.1/255.255.255.255',
    'read = system,call,log,verbose,agent,user,config,dtmf,reporting,cdr,dialplan',
    'write = system,call,agent,user,config,command,reporting,originate', 'writetimeout = 5000', '',
  ].join('\n'));
}

function nextEvent(ari: AriGateway, channelId: string, ms = 10_000): Promise<AriEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ARI event for ${channelId} within ${ms} ms`)), ms);
    const on = (e: AriEvent) => {
      if (!('channel' in e) || e.channel?.id !== channelId) return;
      clearTimeout(timer);
      ari.off('event', on);
      resolve(e);
    };
    ari.on('event', on);
  });
}

function nextCdr(ami: AmiGateway, uniqueId: string, ms = 10_000): Promise<AmiCdr> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no Cdr event for ${uniqueId} within ${ms} ms`)), ms);
    ami.on('cdr', (c) => {
      if (c.uniqueId !== uniqueId) return;
      clearTimeout(timer);
      resolve(c);
    });
  });
}

describe('TLS to Asterisk (node 3 with a certificate made here)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dialwell-tls-'));
  const closers: Array<() => void> = [];
  const env = (over: Record<string, string>) => loadConfig({ ...process.env, ARI_URL: `https://127.0.0.1:${ARI_TLS_PORT}`, AMI_PORT: String(AMI_TLS_PORT), AMI_TLS: 'true', ...over });

  beforeAll(() => {
    // A test needing openssl and a second Asterisk fails loudly without them.
    makeCertificates(dir);
    const conf = path.join(dir, 'conf');
    mkdirSync(conf);
    tlsConfig(conf, dir);
    stack('node-up', String(NODE), conf);
  }, 180_000);
  afterAll(() => {
    for (const c of closers) c();
    stack('node-down', String(NODE));
  }, 60_000);

  it('ARI over https: requests through node:https, events over wss:, trusting ARI_CA_FILE', async () => {
    const cfg = env({ ARI_CA_FILE: path.join(dir, 'ca.pem'), AMI_CA_FILE: path.join(dir, 'ca.pem') });
    const ari = await AriGateway.connect(ariOptions(cfg, log, `dialwell-tls-${randomUUID().slice(0, 8)}`));
    closers.push(() => ari.close());
    expect(ari.connected).toBe(true);
    expect(Array.isArray(await ari.channelIds())).toBe(true);
    // A channel that fails at once: its ChannelDestroyed comes over the wss: event stream.
    const id = randomUUID();
    const destroyed = nextEvent(ari, id);
    await ari.originate({ endpoint: 'Local/s@dialwell-tls-probe-missing', channelId: id, app: ari.app });
    expect((await destroyed).type).toBe('ChannelDestroyed');
  });

  it('refuses a certificate it cannot verify, and says what to check', async () => {
    await expect(AriGateway.connect(ariOptions(env({}), log, `dialwell-tls-${randomUUID().slice(0, 8)}`))).rejects.toThrow(/certificate.*check ARI_CA_FILE/);
    await expect(AriGateway.connect(ariOptions(env({ ARI_CA_FILE: path.join(dir, 'other-ca.pem') }), log, `dialwell-tls-${randomUUID().slice(0, 8)}`))).rejects.toThrow(/check ARI_CA_FILE/);
    // A lab may switch verification off (logged as a warning).
    const lab = await AriGateway.connect(ariOptions(env({ ARI_TLS_REJECT_UNAUTHORIZED: 'false' }), log, `dialwell-tls-${randomUUID().slice(0, 8)}`));
    closers.push(() => lab.close());
    expect(lab.connected).toBe(true);
  });

  it('AMI over TLS (manager.conf tlsenable): login, actions and Cdr events', async () => {
    const cfg = env({ ARI_CA_FILE: path.join(dir, 'ca.pem'), AMI_CA_FILE: path.join(dir, 'ca.pem') });
    const { ami, ready } = AmiGateway.start(amiOptions(cfg, log));
    closers.push(() => ami.close());
    await ready;
    expect((await ami.action({ action: 'Ping' })).response).toBe('Success');
    expect(await ami.command('core show version')).toMatch(/^Asterisk 22\./);
    const ari = await AriGateway.connect(ariOptions(cfg, log, `dialwell-tls-${randomUUID().slice(0, 8)}`));
    closers.push(() => ari.close());
    const id = randomUUID();
    const cdr = nextCdr(ami, id);
    await ari.originate({ endpoint: 'Local/s@dialwell-tls-probe-missing', channelId: id, app: ari.app });
    expect((await cdr).disposition).toBe('FAILED');
  });

  it('AMI over TLS refuses an unverified certificate and names AMI_CA_FILE', async () => {
    const { ami, ready } = AmiGateway.start(amiOptions(env({ ARI_CA_FILE: path.join(dir, 'ca.pem') }), log), 10_000);
    closers.push(() => ami.close());
    await expect(ready).rejects.toThrow(/AMI_CA_FILE/);
    expect(ami.connected).toBe(false);
  });
});
