// The only code that speaks AMI: a small typed client over node:net, or node:tls where Asterisk
// offers AMI over TLS (manager.conf `tlsenable`), that logs in, narrows the events to the classes
// asked for, reconnects for ever, and turns cdr_manager's `Cdr` events into typed records.
//
// Why not npm asterisk-manager (used until December 2026): it connects with net.createConnection
// only (no TLS, no way to hand it a socket), is callback-only and untyped, its default ActionID is
// Date.now() (repeats within a millisecond), and its reconnect waits 10-60 s and prints to stdout.
// AMI itself is lines of "Key: Value" ending in a blank line: the client below is that and no more.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';

export interface AmiOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  log: Logger;
  /** AMI event classes to receive (the Events action's EventMask): `cdr` for Cdr events, `call`
   * adds Hangup (and every other call event: dozens per call, each parsed here). */
  eventClasses?: string;
  /** First and longest wait between reconnect attempts. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** AMI over TLS: the CA (PEM) to trust besides Node's own, and whether to refuse an unverified certificate. */
  tls?: { ca?: string; rejectUnauthorized: boolean };
}

/** The gateway's options from the configuration (AMI_*). */
export function amiOptions(cfg: Config, log: Logger): AmiOptions {
  return {
    host: cfg.AMI_HOST, port: cfg.AMI_PORT, user: cfg.AMI_USER, password: cfg.AMI_PASSWORD, log,
    ...(cfg.AMI_TLS ? { tls: { rejectUnauthorized: cfg.AMI_TLS_REJECT_UNAUTHORIZED, ...(cfg.AMI_CA_FILE ? { ca: readFileSync(cfg.AMI_CA_FILE, 'utf8') } : {}) } } : {}),
  };
}

/** One AMI message: lower-cased header names; a header repeated (a command's Output lines) is an array. */
export type AmiMessage = Record<string, string | string[]>;

/** Asterisk's CDR for one channel, as cdr_manager sends it. */
export interface AmiCdr {
  /** The channel's uniqueid: for calls Dialwell originates, the channel id it chose. */
  uniqueId: string;
  channel: string;
  destinationChannel: string;
  destination: string;
  callerId: string;
  startTime: Date | null;
  answerTime: Date | null;
  endTime: Date | null;
  durationSeconds: number;
  billableSeconds: number;
  /** ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION. */
  disposition: string;
  userField: string;
  /** Every header as received (lower-case keys), for the record kept of calls without a row. */
  raw: Record<string, string>;
}

/** Asterisk's Hangup event: the channel's Q.850 cause as Asterisk reports it. */
export interface AmiHangup {
  uniqueId: string;
  channel: string;
  cause: number;
  causeText: string;
}

export interface AmiEvents {
  cdr: [AmiCdr];
  hangup: [AmiHangup];
  /** Logged in (the first time and after every reconnect). */
  connected: [];
  disconnected: [Error | undefined];
}

export class AmiError extends Error {
  override readonly name = 'AmiError';
}

/** A header's value; a header repeated (a command's Output lines) is joined with newlines. */
const str = (v: AmiMessage[string] | undefined): string => (typeof v === 'string' ? v : Array.isArray(v) ? v.join('\n') : '');

/** Parses one message (its lines, without the blank line that ends it). */
export function parseAmiMessage(text: string): AmiMessage {
  const m: AmiMessage = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const key = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).replace(/^ /, '');
    const had = m[key];
    m[key] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return m;
}

/** One action as AMI's wire format: CR LF after every header, a blank line at the end. */
export function formatAmiAction(fields: Record<string, string>): string {
  let out = '';
  for (const [k, v] of Object.entries(fields)) {
    if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) throw new AmiError(`AMI header ${k} must be one line`);
    out += `${k}: ${v}\r\n`;
  }
  return `${out}\r\n`;
}

/** cdr_manager prints times as "YYYY-MM-DD HH:MM:SS" in Asterisk's local zone; Dialwell's Asterisk
 * runs in UTC (the chroot and the container have no other zone). Empty for "never" (no answer). */
export function parseAmiTime(v: string): Date | null {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(v.trim());
  return m ? new Date(`${m[1]}T${m[2]}Z`) : null;
}

export function cdrFromMessage(m: AmiMessage): AmiCdr {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) raw[k] = str(v);
  return {
    uniqueId: raw.uniqueid ?? '',
    channel: raw.channel ?? '',
    destinationChannel: raw.destinationchannel ?? '',
    destination: raw.destination ?? '',
    callerId: raw.callerid ?? '',
    startTime: parseAmiTime(raw.starttime ?? ''),
    answerTime: parseAmiTime(raw.answertime ?? ''),
    endTime: parseAmiTime(raw.endtime ?? ''),
    durationSeconds: Number(raw.duration ?? 0) || 0,
    billableSeconds: Number(raw.billableseconds ?? 0) || 0,
    disposition: raw.disposition ?? '',
    userField: raw.userfield ?? '',
    raw,
  };
}

export class AmiGateway extends EventEmitter<AmiEvents> {
  private socket: net.Socket | null = null;
  private buffer = '';
  private greeted = false;
  private readonly pending = new Map<string, { resolve: (m: AmiMessage) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private up = false;
  private closed = false;
  private delay: number;
  private timer: NodeJS.Timeout | undefined;
  private firstLogin: Promise<void>;
  /** Every AMI event received, of any type (what narrowing the event classes saves). */
  eventsReceived = 0;
  private settleFirst!: (err?: Error) => void;

  private constructor(private readonly opts: AmiOptions) {
    super();
    this.delay = opts.reconnectMinMs ?? 500;
    this.firstLogin = new Promise<void>((resolve, reject) => {
      this.settleFirst = (err) => (err ? reject(err) : resolve());
    });
  }

  /**
   * Starts connecting and keeps at it until close(). The promise settles with the first login:
   * it rejects (and the gateway keeps retrying) when Asterisk does not answer within `waitMs` or
   * refuses the credentials, so a caller may go on without AMI and get it later.
   */
  static start(opts: AmiOptions, waitMs = 5000): { ami: AmiGateway; ready: Promise<void> } {
    const ami = new AmiGateway(opts);
    ami.attempt();
    const ready = Promise.race([
      ami.firstLogin,
      new Promise<void>((_, reject) => setTimeout(() => reject(new AmiError(`AMI at ${ami.where} did not answer within ${waitMs} ms (still retrying)`)), waitMs).unref()),
    ]);
    return { ami, ready };
  }

  get connected(): boolean {
    return this.up;
  }

  private get where(): string {
    return `${this.opts.tls ? 'tls://' : ''}${this.opts.host}:${this.opts.port}`;
  }

  private attempt(): void {
    if (this.closed) return;
    const { host, port } = this.opts;
    const t = this.opts.tls;
    // TLS: the certificate must name the host we dial (an IP address is checked against its IP SANs).
    const socket = t
      ? tls.connect({ host, port, ca: t.ca ? [...tls.rootCertificates, t.ca] : undefined, rejectUnauthorized: t.rejectUnauthorized, ...(net.isIP(host) ? {} : { servername: host }) })
      : net.connect({ host, port });
    this.socket = socket;
    this.buffer = '';
    this.greeted = false;
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err: Error) => {
      this.opts.log.debug({ err: err.message }, 'AMI socket error');
      // A certificate Asterisk's side cannot prove is a setting to fix, not a fault to wait out.
      if (t && /certificate|self[- ]signed|altnames|SSL/i.test(err.message)) {
        this.settleFirst(new AmiError(`AMI over TLS at ${this.where}: ${err.message} (check AMI_CA_FILE, or the certificate's names)`));
      }
    });
    socket.on('close', () => {
      if (this.socket === socket) this.socket = null;
      this.lost();
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    if (!this.greeted) {
      // "Asterisk Call Manager/x.y.z": the one line that is not a message.
      const eol = this.buffer.indexOf('\r\n');
      if (eol < 0) return;
      this.buffer = this.buffer.slice(eol + 2);
      this.greeted = true;
      void this.login();
    }
    for (let end = this.buffer.indexOf('\r\n\r\n'); end >= 0; end = this.buffer.indexOf('\r\n\r\n')) {
      const text = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 4);
      this.onMessage(parseAmiMessage(text));
    }
  }

  private onMessage(m: AmiMessage): void {
    const id = str(m.actionid);
    const waiting = id ? this.pending.get(id) : undefined;
    if (waiting && m.response !== undefined) {
      this.pending.delete(id);
      clearTimeout(waiting.timer);
      waiting.resolve(m);
      return;
    }
    if (m.event === undefined) return;
    this.eventsReceived++;
    const type = str(m.event);
    if (type === 'Cdr') this.emit('cdr', cdrFromMessage(m));
    else if (type === 'Hangup') this.emit('hangup', { uniqueId: str(m.uniqueid), channel: str(m.channel), cause: Number(str(m.cause)) || 0, causeText: str(m['cause-txt']) });
  }

  private async login(): Promise<void> {
    let res: AmiMessage;
    try {
      // Events off at login, then exactly the classes asked for (Events action below).
      res = await this.send({ action: 'Login', username: this.opts.user, secret: this.opts.password, events: 'off' });
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message }, 'AMI login got no answer');
      this.socket?.destroy();
      return;
    }
    if (this.closed) return;
    if (str(res.response).toLowerCase() !== 'success') {
      const e = new AmiError(
        `AMI login as "${this.opts.user}" at ${this.where} failed (${str(res.message) || 'refused'}): ` +
          'check AMI_USER and AMI_PASSWORD against the [user] section of manager.conf',
      );
      this.opts.log.error({ err: e.message }, 'AMI login failed');
      this.settleFirst(e);
      this.socket?.destroy();
      return;
    }
    this.up = true;
    this.delay = this.opts.reconnectMinMs ?? 500;
    await this.action({ action: 'Events', eventmask: this.opts.eventClasses ?? 'cdr' })
      .catch((err: unknown) => this.opts.log.warn({ err: (err as Error).message }, 'asking AMI for events failed'));
    if (this.closed || !this.up) return;
    this.settleFirst();
    this.emit('connected');
  }

  private lost(): void {
    const was = this.up;
    this.up = false;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new AmiError('AMI connection lost before the answer'));
      this.pending.delete(id);
    }
    if (was) {
      this.opts.log.warn('AMI connection lost: reconnecting (Cdr events until then are lost; the CDR reconciler covers them)');
      this.emit('disconnected', undefined);
    }
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.attempt();
    }, this.delay);
    this.timer.unref();
    this.delay = Math.min(this.delay * 2, this.opts.reconnectMaxMs ?? 30_000);
  }

  /** Writes one action with an ActionID of ours and resolves with its response, whatever it says. */
  private send(fields: Record<string, string>, timeoutMs = 5000): Promise<AmiMessage> {
    const socket = this.socket;
    const name = fields.action ?? 'action';
    if (!socket) return Promise.reject(new AmiError(`AMI ${name}: not connected`));
    const actionid = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(actionid);
        reject(new AmiError(`AMI ${name} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(actionid, { resolve, reject, timer });
      socket.write(formatAmiAction({ ...fields, actionid }));
    });
  }

  /** Sends one action and resolves with Asterisk's response (rejects on "Response: Error"). */
  async action(fields: Record<string, string>, timeoutMs = 5000): Promise<Record<string, string>> {
    if (!this.up) throw new AmiError(`AMI ${fields.action ?? 'action'}: not connected`);
    const res = await this.send(fields, timeoutMs);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(res)) out[k] = str(v);
    if (out.response?.toLowerCase() === 'error') throw new AmiError(`AMI ${fields.action ?? 'action'} failed: ${out.message ?? 'error'}`);
    return out;
  }

  /** Runs an Asterisk CLI command (the AMI user needs the `command` write permission); its output. */
  async command(command: string): Promise<string> {
    const r = await this.action({ action: 'Command', command });
    return r.output ?? r.content ?? '';
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.up = false;
    this.removeAllListeners();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
    }
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new AmiError('AMI gateway closed'));
    }
    this.pending.clear();
  }
}
