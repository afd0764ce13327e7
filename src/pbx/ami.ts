// The only code that speaks AMI: a small typed wrapper over npm asterisk-manager that logs in with
// events on, reconnects for ever (the library's own reconnect starts at 10 s, prints to stdout
// and stops at the first login failure), and turns cdr_manager's `Cdr` events into typed records.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import Manager, { type AmiManager, type AmiMessage } from 'asterisk-manager';
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
}

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
const str = (v: AmiMessage[string]): string => (typeof v === 'string' ? v : Array.isArray(v) ? v.join('\n') : '');

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
  private readonly manager: AmiManager;
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
    // No port: the library would connect at once and log in with its own callbacks.
    this.manager = new Manager(undefined, opts.host, opts.user, opts.password, true);
    this.manager.options.port = opts.port;
    this.firstLogin = new Promise<void>((resolve, reject) => {
      this.settleFirst = (err) => (err ? reject(err) : resolve());
    });
    // The library emits 'error' for socket errors; without a listener Node would throw.
    this.manager.on('error', (err: Error) => opts.log.debug({ err: err.message }, 'AMI socket error'));
    this.manager.on('close', () => this.lost());
    this.manager.on('managerevent', (e: AmiMessage) => {
      this.eventsReceived++;
      const type = str(e.event);
      if (type === 'Cdr') this.emit('cdr', cdrFromMessage(e));
      else if (type === 'Hangup') this.emit('hangup', { uniqueId: str(e.uniqueid), channel: str(e.channel), cause: Number(str(e.cause)) || 0, causeText: str(e['cause-txt']) });
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
      new Promise<void>((_, reject) => setTimeout(() => reject(new AmiError(`AMI at ${opts.host}:${opts.port} did not answer within ${waitMs} ms (still retrying)`)), waitMs).unref()),
    ]);
    return { ami, ready };
  }

  get connected(): boolean {
    return this.up;
  }

  private attempt(): void {
    if (this.closed) return;
    this.manager.connect(this.opts.port, this.opts.host, () => {
      this.manager.login((err) => {
        if (this.closed) return;
        if (err) {
          const e = new AmiError(
            `AMI login as "${this.opts.user}" at ${this.opts.host}:${this.opts.port} failed (${str(err.message) || 'refused'}): ` +
              'check AMI_USER and AMI_PASSWORD against the [user] section of manager.conf',
          );
          this.opts.log.error({ err: e.message }, 'AMI login failed');
          this.settleFirst(e);
          this.manager.disconnect();
          this.lost();
          return;
        }
        this.up = true;
        this.delay = this.opts.reconnectMinMs ?? 500;
        // The library's login sends "Event: on", a header Asterisk ignores: every class the AMI
        // user may read would flow (about 30 call events per call). Narrow it.
        this.action({ action: 'Events', eventmask: this.opts.eventClasses ?? 'cdr' })
          .catch((e: unknown) => this.opts.log.warn({ err: (e as Error).message }, 'narrowing AMI events failed: receiving all'))
          .finally(() => {
            if (this.closed || !this.up) return;
            this.settleFirst();
            this.emit('connected');
          });
      });
    });
  }

  private lost(): void {
    const was = this.up;
    this.up = false;
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

  /** Sends one action and resolves with Asterisk's response (rejects on "Response: Error"). */
  action(fields: Record<string, string>, timeoutMs = 5000): Promise<Record<string, string>> {
    if (!this.up) return Promise.reject(new AmiError(`AMI ${fields.action ?? 'action'}: not connected`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new AmiError(`AMI ${fields.action ?? 'action'} timed out after ${timeoutMs} ms`)), timeoutMs);
      // Our own ActionID: the library's default is Date.now(), which repeats within a millisecond.
      this.manager.action({ ...fields, actionid: randomUUID() }, (err, res) => {
        clearTimeout(timer);
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(res ?? err ?? {})) out[k] = str(v);
        if (err) reject(new AmiError(`AMI ${fields.action ?? 'action'} failed: ${out.message ?? 'error'}`));
        else resolve(out);
      });
    });
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
    this.manager.removeAllListeners();
    this.manager.on('error', () => undefined);
    this.manager.disconnect();
  }
}
