// The only code that speaks ARI: a small typed client (node:http for requests, `ws` for the event
// stream) with the two guards pbx-notes.md asks for (a bounded HTTP agent, a timeout on every
// request), and one event stream that the dialer routes by channel id.
//
// Why not npm ari-client: it costs the dialer ~0.3-0.4 ms of CPU per request (swagger-client 2.0.26
// and shred build and decode every call) and ~25 us per event (it wraps every channel and bridge of
// every event in a resource object with a closure per ARI operation), against ~0.25 ms and ~3 us here
// (measured: bench/ari-overhead.ts). At 100 concurrent calls that was about a third of the dialer's CPU
// per call, on cores Asterisk needs.
import http from 'node:http';
import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import { ARI_EVENT_TYPES, type AriBridge, type AriChannel, type AriEvent, type AriLiveRecording, type OriginateParams } from './ari-types.js';

export interface AriOptions {
  url: string;
  user: string;
  password: string;
  app: string;
  maxSockets: number;
  timeoutMs: number;
  log: Logger;
}

export class AriError extends Error {
  override readonly name = 'AriError';
  constructor(
    message: string,
    readonly status: number | null,
    readonly operation: string,
  ) {
    super(message);
  }
}

// `ws` (installed with ari-client, which uses it too) ships no types; this is the slice used here.
interface WsSocket {
  on(event: 'open' | 'close', cb: () => void): WsSocket;
  on(event: 'message', cb: (data: string | Buffer) => void): WsSocket;
  on(event: 'error', cb: (err: Error) => void): WsSocket;
  removeAllListeners(): WsSocket;
  close(): void;
  terminate(): void;
}
type WsConstructor = new (url: string, opts: { perMessageDeflate: boolean; handshakeTimeout: number }) => WsSocket;
const WebSocket = createRequire(import.meta.url)('ws') as WsConstructor;

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
  private readonly auth: string;
  private readonly base: URL;
  private ws: WsSocket | null = null;
  private up = false;
  private closed = false;
  private everDown = false;
  private reconnecting = false;

  private constructor(private readonly opts: AriOptions) {
    super();
    // Idle sockets are closed after 10 s, before Asterisk's own 15 s (session_keep_alive) closes them.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets, timeout: 10_000 });
    this.joinAgent = new http.Agent({ keepAlive: true, maxSockets: JOIN_SOCKETS, maxFreeSockets: JOIN_SOCKETS, timeout: 10_000 });
    this.auth = `Basic ${Buffer.from(`${opts.user}:${opts.password}`).toString('base64')}`;
    this.base = new URL(opts.url);
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
    await gw.filterEvents();
    return gw;
  }

  /** Opens the event websocket for the application; resolves once it is open. */
  private openSocket(): Promise<void> {
    const u = new URL('/ari/events', this.base);
    u.protocol = this.base.protocol === 'https:' ? 'wss:' : 'ws:';
    u.searchParams.set('api_key', `${this.opts.user}:${this.opts.password}`);
    u.searchParams.set('app', this.opts.app);
    const ws = new WebSocket(u.toString(), { perMessageDeflate: false, handshakeTimeout: this.opts.timeoutMs * 2 });
    this.ws = ws;
    return new Promise((resolve, reject) => {
      let open = false;
      ws.on('open', () => {
        open = true;
        resolve();
      });
      ws.on('message', (data) => this.onMessage(data));
      ws.on('error', (err) => {
        if (!open) reject(new AriError(`ARI event websocket to ${this.base.origin} failed: ${err.message}${/401/.test(err.message) ? ' (check ARI_USER and ARI_PASSWORD)' : ''}`, null, 'connect'));
        // After an open, 'close' follows and handles the loss.
      });
      ws.on('close', () => {
        if (!open) return;
        if (this.ws === ws) this.ws = null;
        if (this.closed) return;
        this.markDown(undefined);
        void this.reconnectForever();
      });
    });
  }

  private onMessage(data: string | Buffer): void {
    let e: AriEvent;
    try {
      e = JSON.parse(typeof data === 'string' ? data : data.toString('utf8')) as AriEvent;
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'ARI sent an event that is not JSON');
      return;
    }
    this.emit('event', e);
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

  private markDown(err: Error | undefined): void {
    if (this.up) this.opts.log.warn({ err: err?.message }, 'ARI websocket lost: holding dialing, reconnecting');
    const was = this.up;
    this.up = false;
    this.everDown = true;
    if (was) this.emit('disconnected', err);
  }

  private markUp(): void {
    if (this.up || this.closed) return;
    this.up = true;
    if (this.everDown) {
      this.opts.log.warn('ARI websocket back');
      // Asterisk may have restarted and forgotten the application's filter.
      void this.filterEvents()
        .catch((err: unknown) => this.opts.log.warn({ err: (err as Error).message }, 'setting the ARI event filter failed'))
        .finally(() => this.emit('reconnected'));
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
        try {
          await this.openSocket();
          this.markUp();
        } catch (err) {
          if (this.ws) discard(this.ws);
          this.ws = null;
          if (delay >= 1000) this.opts.log.warn({ err: (err as Error).message, retryInMs: delay }, 'ARI still unreachable');
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
      const req = http.request(
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
      const timer = setTimeout(
        () => req.destroy(new AriError(`ARI ${operation} timed out after ${this.opts.timeoutMs} ms`, null, operation)),
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
        reject(err instanceof AriError ? err : new AriError(`ARI ${operation} failed: ${err.message}`, null, operation));
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
        endpoint: p.endpoint, channelId: p.channelId, app: p.app, appArgs: p.appArgs ?? '', timeout: p.timeout ?? 30,
        callerId: p.callerId, otherChannelId: p.otherChannelId,
      },
      p.variables ? { variables: p.variables } : undefined,
    );
  }

  async hangup(channelId: string, reason: 'normal' | 'busy' | 'congestion' | 'no_answer' = 'normal'): Promise<void> {
    await this.ignoreMissing(() => this.request('channels.hangup', 'DELETE', `/channels/${enc(channelId)}`, { reason }));
  }

  async createBridge(bridgeId: string, type = 'mixing'): Promise<AriBridge> {
    return this.request<AriBridge>('bridges.create', 'POST', '/bridges', { type, bridgeId, name: bridgeId });
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

  async recordBridge(bridgeId: string, name: string, maxDurationSeconds: number): Promise<AriLiveRecording> {
    return this.request<AriLiveRecording>('bridges.record', 'POST', `/bridges/${enc(bridgeId)}/record`, {
      name, format: 'wav', maxDurationSeconds, ifExists: 'fail', beep: false, terminateOn: 'none',
    });
  }

  async stopRecording(recordingName: string): Promise<void> {
    await this.ignoreMissing(() => this.request('recordings.stop', 'POST', `/recordings/live/${enc(recordingName)}/stop`));
  }

  async deleteStoredRecording(recordingName: string): Promise<void> {
    await this.ignoreMissing(() => this.request('recordings.deleteStored', 'DELETE', `/recordings/stored/${enc(recordingName)}`));
  }

  /** The stored recording's bytes. */
  async downloadStoredRecording(recordingName: string): Promise<Buffer> {
    return this.request<Buffer>('recordings.getStoredFile', 'GET', `/recordings/stored/${enc(recordingName)}/file`, {}, undefined, true);
  }

  /** Sends a channel in Stasis to the dialplan (it leaves the application until Stasis() again). */
  async continueInDialplan(channelId: string, context: string, extension: string, priority = 1): Promise<void> {
    await this.request('channels.continueInDialplan', 'POST', `/channels/${enc(channelId)}/continue`, { context, extension, priority });
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
    this.removeAllListeners();
    if (this.ws) discard(this.ws);
    this.ws = null;
    this.agent.destroy();
    this.joinAgent.destroy();
  }
}

/** Drops a websocket whatever its state; a late error from it must not be an unhandled 'error'. */
function discard(ws: WsSocket): void {
  ws.removeAllListeners();
  ws.on('error', () => undefined);
  ws.terminate();
}

const enc = encodeURIComponent;
/** Sockets of the join lane, on top of ARI_MAX_SOCKETS (Asterisk's sessionlimit is 1000 here). */
const JOIN_SOCKETS = 10;
