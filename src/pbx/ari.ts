// The only code that speaks ARI: a small typed client (node:http for requests, `ws` for the event
// stream) with the two guards pbx-notes.md asks for (a bounded HTTP agent, a timeout on every
// request), and one event stream that the dialer routes by channel id.
//
// Why not npm ari-client: it costs the dialer ~0.3-0.4 ms of CPU per request (swagger-client 2.0.26
// and shred build and decode every call) and ~25 us per event (it wraps every channel and bridge of
// every event in a resource object with a closure per ARI operation), against ~0.25 ms and ~3 us here
// (measured: bench/ari-overhead.ts). At 100 concurrent calls that was about a third of the dialer's CPU
// per call, on cores Asterisk needs.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import tls from 'node:tls';
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { ARI_EVENT_TYPES, eventChannelId, type AriBridge, type AriChannel, type AriEvent, type AriLiveRecording, type OriginateParams } from './ari-types.js';

export interface AriOptions {
  url: string;
  user: string;
  password: string;
  app: string;
  maxSockets: number;
  timeoutMs: number;
  log: Logger;
  /** A websocket ping this often: a frozen Asterisk (SIGSTOP, a hung host) keeps the TCP
   * connection open and sends nothing, so only a missing pong reveals it (default 2 s). */
  pingIntervalMs?: number;
  /** Nothing heard (pong or event) for this long: the connection is dead, dropped and reopened (default 4 s). */
  pongTimeoutMs?: number;
  /** With an https: url (requests over node:https, the websocket over wss:): a CA (PEM) to trust
   * besides Node's own, and whether to refuse a certificate that does not verify. */
  tls?: { ca?: string; rejectUnauthorized: boolean };
  /** Whether this process may (re)open the application's websocket now. A second websocket with
   * the application's name takes its events over (pbx-notes), so a node's application belongs to
   * the holder of the node's lease: a stale owner woken from a freeze must not reconnect to it
   * and steal its successor's events. Checked before every reconnect (default: always). */
  mayConnect?: () => boolean;
}

/** The gateway's options from the configuration (ARI_*); `app` for a test's application of its own. */
export function ariOptions(cfg: Config, log: Logger, app = cfg.ARI_APP): AriOptions {
  return {
    url: cfg.ARI_URL, user: cfg.ARI_USER, password: cfg.ARI_PASSWORD, app, maxSockets: cfg.ARI_MAX_SOCKETS, timeoutMs: cfg.ARI_TIMEOUT_MS, log,
    ...(cfg.ARI_URL.startsWith('https:')
      ? { tls: { rejectUnauthorized: cfg.ARI_TLS_REJECT_UNAUTHORIZED, ...(cfg.ARI_CA_FILE ? { ca: readFileSync(cfg.ARI_CA_FILE, 'utf8') } : {}) } }
      : {}),
  };
}

export class AriError extends Error {
  override readonly name = 'AriError';
  constructor(
    message: string,
    readonly status: number | null,
    readonly operation: string,
    /** The request reached Asterisk's socket but no answer came back (a timeout, a reset): Asterisk
     * may have carried it out. An originate in this state is an unknown, not a failure. */
    readonly outcomeUnknown = false,
  ) {
    super(message);
  }
}

/** Which audio of a channel a snoop hears or speaks into. */
export type SnoopDirection = 'none' | 'in' | 'out' | 'both';

type Query = Record<string, string | number | boolean | undefined>;

export interface AriEvents {
  event: [AriEvent];
  /** The websocket is back after a loss (events in between were missed: reconcile). */
  reconnected: [];
  /** The websocket was lost; requests will fail until `reconnected`. */
  disconnected: [Error | undefined];
}

export class AriGateway extends EventEmitter<AriEvents> {
  /** Asterisk closes connections past http.conf's `sessionlimit`, and a request on such a socket
   * never settles (pbx-notes, trap 1): every ARI request goes through this capped agent. */
  private readonly agent: http.Agent;
  /** Joining an answered customer to an agent has sockets of its own: it never queues behind a
   * burst of originates (a gate batch releases up to 64 at once) while the customer waits. */
  private readonly joinAgent: http.Agent;
  /** node:https for an https: ARI_URL (its agents are https.Agents, bounded the same way). */
  private readonly send: typeof http.request;
  /** TLS settings for the agents and the websocket; empty over plain http. */
  private readonly tlsOptions: { ca?: string[]; rejectUnauthorized?: boolean };
  private readonly auth: string;
  private readonly base: URL;
  private ws: WebSocket | null = null;
  private up = false;
  private closed = false;
  private everDown = false;
  private reconnecting = false;
  /** When the current outage began (null while connected): logged once at its start and end. */
  private downSince: number | null = null;
  private liveness: NodeJS.Timeout | null = null;
  private upAt = 0;
  private lastHeard = 0;

  private constructor(private readonly opts: AriOptions) {
    super();
    this.base = new URL(opts.url);
    const secure = this.base.protocol === 'https:';
    // A CA of our own is added to Node's roots, not put in their place.
    this.tlsOptions = secure ? { rejectUnauthorized: opts.tls?.rejectUnauthorized ?? true, ...(opts.tls?.ca ? { ca: [...tls.rootCertificates, opts.tls.ca] } : {}) } : {};
    const Agent = secure ? https.Agent : http.Agent;
    this.send = secure ? https.request : http.request;
    // Idle sockets are closed after 10 s, before Asterisk's own 15 s (session_keep_alive) closes them.
    this.agent = new Agent({ keepAlive: true, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets, timeout: 10_000, ...this.tlsOptions });
    this.joinAgent = new Agent({ keepAlive: true, maxSockets: JOIN_SOCKETS, maxFreeSockets: JOIN_SOCKETS, timeout: 10_000, ...this.tlsOptions });
    this.auth = `Basic ${Buffer.from(`${opts.user}:${opts.password}`).toString('base64')}`;
    if (secure && !this.tlsOptions.rejectUnauthorized) opts.log.warn({ url: this.base.origin }, 'ARI over TLS without certificate verification (ARI_TLS_REJECT_UNAUTHORIZED=false)');
  }

  static async connect(opts: AriOptions): Promise<AriGateway> {
    const gw = new AriGateway(opts);
    try {
      await gw.openSocket();
    } catch (err) {
      gw.close();
      throw err;
    }
    gw.up = true;
    gw.upAt = Date.now();
    await gw.filterEvents();
    if (!(await gw.appReceivesEvents())) gw.opts.log.warn({ app: opts.app }, 'the ARI application did not echo a probe event at start');
    return gw;
  }

  /**
   * A gateway for requests only, with no event websocket: an API process pushing live
   * configuration to a node it does not drive (the node's engine alone listens to its application).
   */
  static requestsOnly(opts: AriOptions): AriGateway {
    return new AriGateway(opts);
  }

  /** Opens the event websocket for the application; resolves once it is open. */
  private openSocket(): Promise<void> {
    this.endpointSubscriptions.clear();
    const u = new URL('/ari/events', this.base);
    u.protocol = this.base.protocol === 'https:' ? 'wss:' : 'ws:';
    u.searchParams.set('api_key', `${this.opts.user}:${this.opts.password}`);
    u.searchParams.set('app', this.opts.app);
    const ws = new WebSocket(u.toString(), { perMessageDeflate: false, handshakeTimeout: this.opts.timeoutMs * 2, ...this.tlsOptions });
    this.ws = ws;
    return new Promise((resolve, reject) => {
      let open = false;
      ws.on('open', () => {
        open = true;
        this.watch(ws);
        resolve();
      });
      ws.on('message', (data) => {
        this.lastHeard = Date.now();
        this.onMessage(data);
      });
      ws.on('pong', () => (this.lastHeard = Date.now()));
      ws.on('error', (err) => {
        if (!open) reject(new AriError(`ARI event websocket to ${this.base.origin} failed: ${err.message}${hint(err.message)}`, null, 'connect'));
        // After an open, 'close' follows and handles the loss.
      });
      ws.on('close', () => {
        if (!open) return;
        this.lost(ws, new Error('the ARI websocket closed'));
      });
    });
  }

  /** Pings the open websocket every pingIntervalMs; nothing heard (no pong, no event) for
   * pongTimeoutMs, i.e. about two pongs missed, ends it as dead. */
  private watch(ws: WebSocket): void {
    if (this.liveness) clearInterval(this.liveness);
    this.lastHeard = Date.now();
    const every = this.opts.pingIntervalMs ?? 2_000;
    const deadAfter = this.opts.pongTimeoutMs ?? 4_000;
    let lastPing = 0;
    // Checked more often than pinged, so a freeze is noticed soon after the deadline passes.
    this.liveness = setInterval(() => {
      if (this.ws !== ws) return;
      const now = Date.now();
      const silentMs = now - this.lastHeard;
      if (silentMs > deadAfter) {
        discard(ws);
        this.lost(ws, new Error(`no pong from Asterisk for ${silentMs} ms (frozen or unreachable)`));
        return;
      }
      if (now - lastPing < every) return;
      lastPing = now;
      try {
        ws.ping();
      } catch {
        // not open any more: its 'close' handles the loss
      }
    }, Math.min(every, 500));
    this.liveness.unref();
  }

  /** The websocket is gone (closed, or silent past the pong deadline): hold and reconnect. */
  private lost(ws: WebSocket, err: Error): void {
    if (this.ws !== ws) return;
    this.ws = null;
    if (this.liveness) clearInterval(this.liveness);
    this.liveness = null;
    if (this.closed) return;
    this.markDown(err);
    void this.reconnectForever();
  }

  private onMessage(data: WebSocket.RawData): void {
    let e: AriEvent;
    try {
      // Asterisk sends text frames; ws hands each over as one Buffer (binaryType 'nodebuffer').
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      e = JSON.parse(bytes.toString('utf8')) as AriEvent;
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'ARI sent an event that is not JSON');
      return;
    }
    if (e.type === 'ChannelUserevent' && e.eventname.startsWith(PROBE_PREFIX)) {
      this.probes.get(e.eventname)?.();
      return;
    }
    if (this.isRepeat(e)) return;
    this.emit('event', e);
  }

  /** Keys of the latest events that may come twice (isRepeat), oldest first. */
  private readonly recentKeys = new Set<string>();

  /**
   * Whether the event is a second copy of one just handed on. A customer's channel in Stasis is
   * subscribed twice (as a channel of the application, and through its trunk's endpoint, see
   * subscribeEndpoint): Asterisk then sends its playback and hold events twice, identical
   * (measured, 22.10); channel snapshots (StasisStart, ChannelDestroyed) and Dial come once, and
   * are let through without a look.
   */
  private isRepeat(e: AriEvent): boolean {
    if (e.type === 'Dial' || e.type === 'StasisStart' || e.type === 'ChannelDestroyed') return false;
    const id = e.type === 'PlaybackFinished' ? e.playback.id
      : e.type === 'RecordingStarted' || e.type === 'RecordingFinished' || e.type === 'RecordingFailed' ? e.recording.name
        : (eventChannelId(e) ?? '');
    const key = `${e.type}|${e.timestamp}|${id}`;
    if (this.recentKeys.has(key)) return true;
    this.recentKeys.add(key);
    if (this.recentKeys.size > 512) this.recentKeys.delete(this.recentKeys.values().next().value!);
    return false;
  }

  private readonly probes = new Map<string, () => void>();

  /**
   * Whether events of the application reach this websocket: a user event sent to it comes back.
   * An open websocket is not enough. After a frozen Asterisk resumes, the teardown of the old
   * websocket can run after the new one registered and leave the application inactive ("Stasis
   * app '<app>' not active": every new call's Stasis() fails, no event comes), while pings are
   * still answered (measured on Asterisk 22.10, see docs/pbx-faults.md).
   */
  private async appReceivesEvents(waitMs = 2_000): Promise<boolean> {
    const name = `${PROBE_PREFIX}${randomUUID()}`;
    let timer: NodeJS.Timeout | undefined;
    const echoed = new Promise<boolean>((resolve) => {
      this.probes.set(name, () => resolve(true));
      timer = setTimeout(() => resolve(false), waitMs);
    });
    try {
      await this.request('events.userEvent', 'POST', `/events/user/${enc(name)}`, { application: this.opts.app });
      return await echoed;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
      this.probes.delete(name);
    }
  }

  /**
   * Only the event types Dialwell handles reach it (PUT /applications/{app}/eventFilter): a call
   * otherwise brings ~33 events, 21 of them ChannelVarset.
   */
  private async filterEvents(): Promise<void> {
    await this.request('applications.filter', 'PUT', `/applications/${enc(this.opts.app)}/eventFilter`, {}, { allowed: ARI_EVENT_TYPES.map((type) => ({ type })) });
  }

  /** Whether the event websocket is connected: the dialer holds dialing while it is not. */
  get connected(): boolean {
    return this.up;
  }

  /** When the websocket last (re)connected, in ms since the epoch. */
  get connectedSince(): number {
    return this.upAt;
  }

  /** Since when Asterisk has been unreachable, or null. */
  get outageSince(): Date | null {
    return this.downSince === null ? null : new Date(this.downSince);
  }

  private markDown(err: Error | undefined): void {
    const was = this.up;
    this.up = false;
    this.everDown = true;
    if (!was) return;
    // Logged once per outage (and once at its end), not per failed request.
    this.downSince = Date.now();
    this.opts.log.warn({ outage: 'ari', state: 'started', url: this.base.origin, app: this.opts.app, reason: err?.message }, 'ARI connection lost: dialing held, reconnecting');
    this.emit('disconnected', err);
  }

  private markUp(): void {
    if (this.up || this.closed) return;
    this.up = true;
    this.upAt = Date.now();
    if (this.everDown) {
      const since = this.downSince;
      this.downSince = null;
      this.opts.log.warn(
        { outage: 'ari', state: 'ended', url: this.base.origin, app: this.opts.app, outageMs: since === null ? null : Date.now() - since },
        'ARI connection back: dialing resumes',
      );
      this.emit('reconnected');
    }
  }

  /** Retries the websocket until it is back (or the gateway is closed): Dialwell never gives up. */
  private async reconnectForever(): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    let delay = 100;
    try {
      while (!this.closed && !this.up) {
        await new Promise((r) => setTimeout(r, delay));
        if (this.closed) return;
        if (this.opts.mayConnect && !this.opts.mayConnect()) {
          // Not ours to open now (the node's lease is not held): asked again shortly.
          delay = Math.min(delay * 2, 1_000);
          continue;
        }
        try {
          await this.openSocket();
          // Asterisk may have restarted and forgotten the application's filter (which must let
          // the probe through before it is sent).
          await this.filterEvents();
          if (!(await this.appReceivesEvents())) {
            this.opts.log.warn({ app: this.opts.app }, 'the ARI application receives no events on the new websocket (left inactive): reopening it');
            throw new Error('the ARI application is not active on the new websocket');
          }
          if (!this.ws) throw new Error('the new ARI websocket closed while it was being checked');
          this.markUp();
        } catch (err) {
          if (this.ws) discard(this.ws);
          this.ws = null;
          if (this.liveness) clearInterval(this.liveness);
          this.liveness = null;
          // The outage was logged when it began; each retry only at debug level.
          this.opts.log.debug({ err: (err as Error).message, retryInMs: delay }, 'ARI still unreachable');
          delay = Math.min(delay * 2, 5_000);
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }

  get app(): string {
    return this.opts.app;
  }

  /**
   * One ARI request: query parameters in the URL, `body` as JSON. Resolves with the parsed JSON
   * (undefined for an empty body) or the raw bytes; rejects with an AriError carrying the HTTP
   * status and Asterisk's message, or after timeoutMs (time queued for a socket included).
   */
  private request<T>(operation: string, method: string, path: string, query: Query = {}, body?: unknown, binary = false, agent = this.agent): Promise<T> {
    // A closed gateway (its engine lost the node to another) must not act on channels it no longer owns.
    if (this.closed) return Promise.reject(new Error(`ARI ${operation}: the gateway is closed`));
    let search = '';
    for (const k in query) {
      const v = query[k];
      if (v !== undefined) search += `${search ? '&' : '?'}${k}=${encodeURIComponent(String(v))}`;
    }
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = { authorization: this.auth };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const deadline = Date.now() + this.opts.timeoutMs;
    const attempt = (retried: boolean): Promise<T> => new Promise<T>((resolve, reject) => {
      const req = this.send(
        { protocol: this.base.protocol, hostname: this.base.hostname, port: this.base.port, path: `/ari${path}${search}`, method, headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () => {
            clearTimeout(timer);
            const status = res.statusCode ?? 0;
            const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
            if (status >= 200 && status < 300) {
              if (binary) return resolve(buf as T);
              if (buf.length === 0) return resolve(undefined as T);
              try {
                resolve(JSON.parse(buf.toString('utf8')) as T);
              } catch {
                reject(new AriError(`ARI ${operation}: HTTP ${status} with a body that is not JSON`, status, operation));
              }
              return;
            }
            const text = buf.toString('utf8');
            let message = text;
            try {
              message = (JSON.parse(text) as { message?: string }).message ?? text;
            } catch {
              // not JSON: the text as it is
            }
            reject(new AriError(`ARI ${operation} failed: HTTP ${status}: ${message.slice(0, 300)}`, status, operation));
          });
        },
      );
      // Whether the request was handed to the socket: after that, no answer leaves its outcome unknown.
      let sent = false;
      req.on('finish', () => (sent = true));
      const timer = setTimeout(
        () => req.destroy(new AriError(`ARI ${operation} timed out after ${this.opts.timeoutMs} ms`, null, operation, sent)),
        Math.max(1, deadline - Date.now()),
      );
      function fail(err: Error): void {
        clearTimeout(timer);
        // A kept-alive socket the server closed as it was reused (Asterisk drops idle sessions after
        // http.conf's session_keep_alive): the request never reached Asterisk; sent again once.
        // Even were it to have reached it, an originate carries the channel id Dialwell chose, so a
        // second one is refused by Asterisk rather than dialed twice.
        const code = (err as NodeJS.ErrnoException).code;
        if (!retried && req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE')) {
          attempt(true).then(resolve, reject);
          return;
        }
        reject(err instanceof AriError ? err : new AriError(`ARI ${operation} failed: ${err.message}`, null, operation, sent && code !== 'ECONNREFUSED'));
      }
      req.on('error', fail);
      req.end(payload);
    });
    return attempt(false);
  }

  async originate(p: OriginateParams): Promise<AriChannel> {
    return this.request<AriChannel>(
      'channels.originate', 'POST', '/channels',
      {
        endpoint: p.endpoint, channelId: p.channelId, timeout: p.timeout ?? 30,
        ...(p.dialplan
          ? { context: p.dialplan.context, extension: p.dialplan.extension, priority: p.dialplan.priority ?? 1 }
          : { app: p.app, appArgs: p.appArgs ?? '' }),
        callerId: p.callerId, otherChannelId: p.otherChannelId, formats: p.formats,
      },
      p.variables ? { variables: p.variables } : undefined,
    );
  }

  /**
   * A snoop channel on `channelId` (POST /channels/{id}/snoop/{snoopId}): `spy` is the audio of
   * the channel it hands over (in: what the channel sends, out: what it is sent), `whisper` where
   * its own audio goes (out: to the channel's phone alone, never into the channel's bridge). It
   * enters this application's Stasis with `appArgs`.
   */
  async snoop(channelId: string, snoopId: string, spy: SnoopDirection, whisper: SnoopDirection, appArgs: string): Promise<AriChannel> {
    return this.request<AriChannel>('channels.snoop', 'POST', `/channels/${enc(channelId)}/snoop/${enc(snoopId)}`, { spy, whisper, app: this.opts.app, appArgs });
  }

  async hangup(channelId: string, reason: 'normal' | 'busy' | 'congestion' | 'no_answer' = 'normal'): Promise<void> {
    await this.ignoreMissing(() => this.request('channels.hangup', 'DELETE', `/channels/${enc(channelId)}`, { reason }));
  }

  async createBridge(bridgeId: string, type = 'mixing', name = bridgeId): Promise<AriBridge> {
    return this.request<AriBridge>('bridges.create', 'POST', '/bridges', { type, bridgeId, name });
  }

  async destroyBridge(bridgeId: string): Promise<void> {
    await this.ignoreMissing(() => this.request('bridges.destroy', 'DELETE', `/bridges/${enc(bridgeId)}`));
  }

  async addToBridge(bridgeId: string, channelId: string): Promise<void> {
    await this.request('bridges.addChannel', 'POST', `/bridges/${enc(bridgeId)}/addChannel`, { channel: channelId }, undefined, false, this.joinAgent);
  }

  async removeFromBridge(bridgeId: string, channelId: string): Promise<void> {
    await this.ignoreMissing(() => this.request('bridges.removeChannel', 'POST', `/bridges/${enc(bridgeId)}/removeChannel`, { channel: channelId }));
  }

  /** Records the bridge's mix; `append` continues a file of the same name (a call moved to another bridge). */
  async recordBridge(bridgeId: string, name: string, maxDurationSeconds: number, ifExists: 'fail' | 'append' = 'fail'): Promise<AriLiveRecording> {
    return this.request<AriLiveRecording>('bridges.record', 'POST', `/bridges/${enc(bridgeId)}/record`, {
      name, format: 'wav', maxDurationSeconds, ifExists, beep: false, terminateOn: 'none',
    });
  }

  async stopRecording(recordingName: string): Promise<void> {
    await this.ignoreMissing(() => this.request('recordings.stop', 'POST', `/recordings/live/${enc(recordingName)}/stop`));
  }

  async deleteStoredRecording(recordingName: string): Promise<void> {
    await this.ignoreMissing(() => this.request('recordings.deleteStored', 'DELETE', `/recordings/stored/${enc(recordingName)}`));
  }

  /** The live recording, or null when Asterisk is no longer writing it (or never was). */
  async liveRecording(recordingName: string): Promise<AriLiveRecording | null> {
    return this.orNull(() => this.request<AriLiveRecording>('recordings.getLive', 'GET', `/recordings/live/${enc(recordingName)}`));
  }

  /** Whether Asterisk holds a stored recording of this name (its file is in the recording spool). */
  async storedRecordingExists(recordingName: string): Promise<boolean> {
    return (await this.orNull(() => this.request<{ name: string }>('recordings.getStored', 'GET', `/recordings/stored/${enc(recordingName)}`))) !== null;
  }

  /** Names of every recording Asterisk holds in its spool (finished files). */
  async storedRecordingNames(): Promise<string[]> {
    return (await this.request<{ name: string }[]>('recordings.listStored', 'GET', '/recordings/stored')).map((r) => r.name);
  }

  /** The stored recording's bytes. */
  async downloadStoredRecording(recordingName: string): Promise<Buffer> {
    return this.request<Buffer>('recordings.getStoredFile', 'GET', `/recordings/stored/${enc(recordingName)}/file`, {}, undefined, true);
  }

  /** Sends a channel in Stasis to the dialplan (it leaves the application until Stasis() again). */
  async continueInDialplan(channelId: string, context: string, extension: string, priority = 1): Promise<void> {
    await this.request('channels.continueInDialplan', 'POST', `/channels/${enc(channelId)}/continue`, { context, extension, priority });
  }

  /** Moves a channel in Stasis (of any application) into this one, with these arguments. */
  async moveChannel(channelId: string, appArgs: string): Promise<void> {
    await this.request('channels.move', 'POST', `/channels/${enc(channelId)}/move`, { app: this.opts.app, appArgs });
  }

  /**
   * Subscribes the application to every channel of an endpoint (POST /applications/{app}/
   * subscription?eventSource=endpoint:<tech>/<resource>): a customer originated into the dialplan
   * (not into the application) reports its Dial events and its end from its creation on, the
   * application's event filter applying as to its own channels (measured). Asterisk keeps the
   * subscription while the application exists, across websockets, but not across a delete and
   * re-creation of the endpoint (measured, 22.10). False when the application does not exist
   * (no engine ever connected to it): its engine subscribes once it does.
   */
  async subscribeEndpoint(tech: string, resource: string): Promise<boolean> {
    try {
      await this.request('applications.subscribe', 'POST', `/applications/${enc(this.opts.app)}/subscription`, { eventSource: `endpoint:${tech}/${resource}` });
      return true;
    } catch (err) {
      if (err instanceof AriError && err.status === 404) return false;
      throw err;
    }
  }

  /** Endpoints subscribed to on this websocket (subscribeEndpoint), by `<tech>/<resource>`. */
  private readonly endpointSubscriptions = new Map<string, Promise<void>>();

  /**
   * The endpoint's channels report to the application: subscribed once per endpoint per websocket
   * (again after a reconnect: Asterisk may have restarted), so a call costs no request for it.
   */
  endpointEvents(tech: string, resource: string): Promise<void> {
    const key = `${tech}/${resource}`;
    let sub = this.endpointSubscriptions.get(key);
    if (!sub) {
      sub = this.subscribeEndpoint(tech, resource).then(() => undefined);
      sub.catch(() => this.endpointSubscriptions.delete(key));
      this.endpointSubscriptions.set(key, sub);
    }
    return sub;
  }

  /** Keeps this channel's events coming while it is outside Stasis (e.g. in AMD). */
  async subscribeChannel(channelId: string): Promise<void> {
    await this.request('applications.subscribe', 'POST', `/applications/${enc(this.opts.app)}/subscription`, { eventSource: `channel:${channelId}` });
  }

  /** Queues media on the channel (Asterisk plays a channel's playbacks one after another). */
  async playOnChannel(channelId: string, media: string, playbackId?: string): Promise<void> {
    await this.request('channels.play', 'POST', `/channels/${enc(channelId)}/play`, { media, playbackId });
  }

  /** Stops a playback (and drops it from the channel's queue); one already over is no error. */
  async stopPlayback(playbackId: string): Promise<void> {
    await this.ignoreMissing(() => this.request('playbacks.stop', 'DELETE', `/playbacks/${enc(playbackId)}`));
  }

  /** The channel, or null when Asterisk has no channel with this id. */
  async getChannel(channelId: string): Promise<AriChannel | null> {
    try {
      return await this.request<AriChannel>('channels.get', 'GET', `/channels/${enc(channelId)}`);
    } catch (err) {
      if (err instanceof AriError && err.status === 404) return null;
      throw err;
    }
  }

  /**
   * Whether Asterisk can reach an endpoint now (GET /endpoints/{tech}/{resource}): `online` once a
   * contact is there (a browser phone registered), `offline` without one; null for no such endpoint.
   */
  async endpointState(tech: string, resource: string): Promise<string | null> {
    const e = await this.orNull(() => this.request<{ state?: string }>('endpoints.get', 'GET', `/endpoints/${enc(tech)}/${enc(resource)}`));
    return e ? (e.state ?? 'unknown') : null;
  }

  /** Every channel Asterisk has now, with its state and where it is in the dialplan. */
  async listChannels(): Promise<AriChannel[]> {
    return this.request<AriChannel[]>('channels.list', 'GET', '/channels');
  }

  /** Every bridge Asterisk has now, with the channels in it. */
  async listBridges(): Promise<AriBridge[]> {
    return this.request<AriBridge[]>('bridges.list', 'GET', '/bridges');
  }

  /** The ids of every channel Asterisk has now, whatever application (if any) holds it. */
  async channelIds(): Promise<string[]> {
    const list = await this.request<{ id: string }[]>('channels.list', 'GET', '/channels');
    return list.map((c) => c.id);
  }

  async application(): Promise<{ channel_ids: string[]; bridge_ids: string[] }> {
    return this.request('applications.get', 'GET', `/applications/${enc(this.opts.app)}`);
  }

  /** Creates or replaces a live configuration object (sorcery must map it to a writable store). */
  async putConfigObject(configClass: string, objectType: string, id: string, fields: Record<string, string>): Promise<void> {
    const body = { fields: Object.entries(fields).map(([attribute, value]) => ({ attribute, value })) };
    await this.request(`asterisk.updateObject ${objectType}/${id}`, 'PUT', `/asterisk/config/dynamic/${enc(configClass)}/${enc(objectType)}/${enc(id)}`, {}, body);
  }

  /** A live configuration object's fields, or null when Asterisk has no such object. */
  async getConfigObject(configClass: string, objectType: string, id: string): Promise<Record<string, string> | null> {
    try {
      const fields = await this.request<{ attribute: string; value: string }[]>(
        `asterisk.getObject ${objectType}/${id}`, 'GET', `/asterisk/config/dynamic/${enc(configClass)}/${enc(objectType)}/${enc(id)}`,
      );
      return Object.fromEntries(fields.map((f) => [f.attribute, f.value]));
    } catch (err) {
      if (err instanceof AriError && (err.status === 404 || /not found/i.test(err.message))) return null;
      throw err;
    }
  }

  async deleteConfigObject(configClass: string, objectType: string, id: string): Promise<void> {
    await this.ignoreMissing(() =>
      this.request(`asterisk.deleteObject ${objectType}/${id}`, 'DELETE', `/asterisk/config/dynamic/${enc(configClass)}/${enc(objectType)}/${enc(id)}`),
    );
  }

  /** Plays music on hold to the channel (the customer hears it while held out of the agent's bridge). */
  async startMoh(channelId: string, mohClass?: string): Promise<void> {
    await this.request('channels.startMoh', 'POST', `/channels/${enc(channelId)}/moh`, { mohClass });
  }

  async stopMoh(channelId: string): Promise<void> {
    await this.ignoreMissing(() => this.request('channels.stopMoh', 'DELETE', `/channels/${enc(channelId)}/moh`));
  }

  private async orNull<T>(run: () => Promise<T>): Promise<T | null> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof AriError && err.status === 404) return null;
      throw err;
    }
  }

  private async ignoreMissing(run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (err) {
      if (err instanceof AriError && (err.status === 404 || /not found|does not exist|not in stasis/i.test(err.message))) return;
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    this.up = false;
    if (this.liveness) clearInterval(this.liveness);
    this.liveness = null;
    this.removeAllListeners();
    if (this.ws) discard(this.ws);
    this.ws = null;
    this.agent.destroy();
    this.joinAgent.destroy();
  }
}

/** Drops a websocket whatever its state; a late error from it must not be an unhandled 'error'. */
function discard(ws: WebSocket): void {
  ws.removeAllListeners();
  ws.on('error', () => undefined);
  ws.terminate();
}

/** What to check for the usual reasons a connection to ARI is refused. */
function hint(message: string): string {
  if (/401/.test(message)) return ' (check ARI_USER and ARI_PASSWORD)';
  if (/certificate|self[- ]signed|altnames|SSL|TLS/i.test(message)) return ' (check ARI_CA_FILE, or the certificate\'s names against ARI_URL\'s host)';
  return '';
}

const enc = encodeURIComponent;
/** Names of the user events sent to check that the application's events arrive. */
const PROBE_PREFIX = 'dialwell-probe-';
/** Sockets of the join lane, on top of ARI_MAX_SOCKETS (Asterisk's sessionlimit is 1000 here). */
const JOIN_SOCKETS = 10;
