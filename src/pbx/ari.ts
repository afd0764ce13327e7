// The only code that speaks ARI: a typed wrapper around npm ari-client with the two guards
// pbx-notes.md asks for (a bounded HTTP agent, a timeout on every request), and one event
// stream that the dialer routes by channel id.
import http from 'node:http';
import { EventEmitter } from 'node:events';
import ari, { type AriClient } from 'ari-client';
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

/** ari-client (swagger-client 2.0.26 → shred → node:http) uses Node's global agent and offers no
 * way to pass one. Node's default agent has no socket cap, and Asterisk closes connections past
 * its session limit; the request then hangs forever (pbx-notes, trap 1). So the global agent is
 * replaced by a bounded one, once per process. */
let installedMaxSockets = 0;
function boundGlobalAgent(maxSockets: number): void {
  if (installedMaxSockets === maxSockets) return;
  http.globalAgent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  installedMaxSockets = maxSockets;
}

function statusOf(err: unknown): number | null {
  if (err && typeof err === 'object' && 'status' in err && typeof err.status === 'number') return err.status;
  const m = /"?status"?\s*[:=]\s*(\d{3})/.exec(String(err));
  return m ? Number(m[1]) : null;
}

export interface AriEvents {
  event: [AriEvent];
  /** The websocket is back after a loss (events in between were missed: reconcile). */
  reconnected: [];
  /** The websocket was lost; requests will fail until `reconnected`. */
  disconnected: [Error | undefined];
}

export class AriGateway extends EventEmitter<AriEvents> {
  private constructor(
    private readonly client: AriClient,
    private readonly opts: AriOptions,
  ) {
    super();
  }

  static async connect(opts: AriOptions): Promise<AriGateway> {
    boundGlobalAgent(opts.maxSockets);
    // swagger-client 2.0.26 defines a global `log` that console.logs a Swagger 1.1 deprecation
    // notice on every connect; send it to our debug log instead of stdout.
    const g = globalThis as { log?: unknown };
    if (typeof g.log === 'function') g.log = (...args: unknown[]) => opts.log.debug({ swagger: args }, 'swagger-client');
    const client = await withTimeout(ari.connect(opts.url, opts.user, opts.password), opts.timeoutMs * 2, 'connect');
    const gw = new AriGateway(client, opts);
    client.on('*', (event: AriEvent) => gw.emit('event', event));
    client.on('WebSocketConnected', () => gw.markUp());
    client.on('WebSocketReconnecting', (err: Error) => gw.markDown(err));
    // ari-client gives up after ~10 tries (about a minute); Dialwell never does.
    client.on('WebSocketMaxRetries', (err: Error) => {
      gw.markDown(err);
      void gw.reconnectForever();
    });
    await withTimeout(client.start(opts.app), opts.timeoutMs * 2, 'start websocket');
    gw.up = true;
    await gw.filterEvents();
    return gw;
  }

  /**
   * Only the event types Dialwell handles reach it (PUT /applications/{app}/eventFilter): a call
   * otherwise brings ~33 events, 21 of them ChannelVarset, each costing ari-client ~50 us to
   * decorate. Measured in bench/dialer.ts: 3.5 → 2.75 ms of dialer CPU per call.
   */
  private async filterEvents(): Promise<void> {
    const allowed = ARI_EVENT_TYPES.map((type) => ({ type }));
    await this.call('applications.filter', () => this.client.applications.filter({ applicationName: this.opts.app, filter: { allowed } }));
  }

  private up = false;
  private closed = false;
  private everDown = false;

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

  private async reconnectForever(): Promise<void> {
    let delay = 1000;
    while (!this.closed && !this.up) {
      await new Promise((r) => setTimeout(r, delay));
      if (this.closed) return;
      try {
        await withTimeout(this.client.start(this.opts.app), this.opts.timeoutMs * 2, 'restart websocket');
        this.markUp();
      } catch (err) {
        this.opts.log.warn({ err: (err as Error).message, retryInMs: delay }, 'ARI still unreachable');
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  get app(): string {
    return this.opts.app;
  }

  private async call<T>(operation: string, run: () => Promise<unknown>): Promise<T> {
    try {
      return (await withTimeout(run(), this.opts.timeoutMs, operation)) as T;
    } catch (err) {
      if (err instanceof AriError) throw err;
      throw new AriError(`ARI ${operation} failed: ${err instanceof Error ? err.message : String(err)}`, statusOf(err), operation);
    }
  }

  /** Strips ari-client's resource objects down to their JSON fields. */
  private static json<T>(v: unknown): T {
    return JSON.parse(JSON.stringify(v, (k, val: unknown) => (k.startsWith('_') || typeof val === 'function' ? undefined : val))) as T;
  }

  async originate(p: OriginateParams): Promise<AriChannel> {
    const params: Record<string, unknown> = {
      endpoint: p.endpoint,
      channelId: p.channelId,
      app: p.app,
      appArgs: p.appArgs ?? '',
      timeout: p.timeout ?? 30,
    };
    if (p.callerId) params.callerId = p.callerId;
    if (p.otherChannelId) params.otherChannelId = p.otherChannelId;
    if (p.variables) params.variables = p.variables;
    return AriGateway.json(await this.call('channels.originate', () => this.client.channels.originate(params)));
  }

  async hangup(channelId: string, reason: 'normal' | 'busy' | 'congestion' | 'no_answer' = 'normal'): Promise<void> {
    await this.ignoreMissing(() => this.call('channels.hangup', () => this.client.channels.hangup({ channelId, reason })));
  }

  async createBridge(bridgeId: string, type = 'mixing'): Promise<AriBridge> {
    return AriGateway.json(await this.call('bridges.create', () => this.client.bridges.create({ bridgeId, type, name: bridgeId })));
  }

  async destroyBridge(bridgeId: string): Promise<void> {
    await this.ignoreMissing(() => this.call('bridges.destroy', () => this.client.bridges.destroy({ bridgeId })));
  }

  async addToBridge(bridgeId: string, channelId: string): Promise<void> {
    await this.call('bridges.addChannel', () => this.client.bridges.addChannel({ bridgeId, channel: channelId }));
  }

  async removeFromBridge(bridgeId: string, channelId: string): Promise<void> {
    await this.ignoreMissing(() => this.call('bridges.removeChannel', () => this.client.bridges.removeChannel({ bridgeId, channel: channelId })));
  }

  async recordBridge(bridgeId: string, name: string, maxDurationSeconds: number): Promise<AriLiveRecording> {
    return AriGateway.json(
      await this.call('bridges.record', () =>
        this.client.bridges.record({ bridgeId, name, format: 'wav', maxDurationSeconds, ifExists: 'fail', beep: false, terminateOn: 'none' }),
      ),
    );
  }

  async stopRecording(recordingName: string): Promise<void> {
    await this.ignoreMissing(() => this.call('recordings.stop', () => this.client.recordings.stop({ recordingName })));
  }

  async deleteStoredRecording(recordingName: string): Promise<void> {
    await this.ignoreMissing(() => this.call('recordings.deleteStored', () => this.client.recordings.deleteStored({ recordingName })));
  }

  /** The stored recording's bytes. Fetched with node:http (same bounded agent, same timeout):
   * ari-client's getStoredFile goes through shred, which decodes bodies as UTF-8 text. */
  async downloadStoredRecording(recordingName: string): Promise<Buffer> {
    const url = new URL(`/ari/recordings/stored/${encodeURIComponent(recordingName)}/file`, this.opts.url);
    return this.call('recordings.getStoredFile', () => httpGetBuffer(url, this.opts.user, this.opts.password, this.opts.timeoutMs));
  }

  /** Sends a channel in Stasis to the dialplan (it leaves the application until Stasis() again). */
  async continueInDialplan(channelId: string, context: string, extension: string, priority = 1): Promise<void> {
    await this.call('channels.continueInDialplan', () => this.client.channels.continueInDialplan({ channelId, context, extension, priority }));
  }

  /** Keeps this channel's events coming while it is outside Stasis (e.g. in AMD). */
  async subscribeChannel(channelId: string): Promise<void> {
    await this.call('applications.subscribe', () => this.client.applications.subscribe({ applicationName: this.opts.app, eventSource: `channel:${channelId}` }));
  }

  /** Queues media on the channel (Asterisk plays a channel's playbacks one after another). */
  async playOnChannel(channelId: string, media: string, playbackId?: string): Promise<void> {
    await this.call('channels.play', () => this.client.channels.play({ channelId, media, ...(playbackId ? { playbackId } : {}) }));
  }

  /** Stops a playback (and drops it from the channel's queue); one already over is no error. */
  async stopPlayback(playbackId: string): Promise<void> {
    await this.ignoreMissing(() => this.call('playbacks.stop', () => this.client.playbacks.stop({ playbackId })));
  }

  /** The ids of every channel Asterisk has now, whatever application (if any) holds it. */
  async channelIds(): Promise<string[]> {
    const list = AriGateway.json<{ id: string }[]>(await this.call('channels.list', () => this.client.channels.list()));
    return list.map((c) => c.id);
  }

  async application(): Promise<{ channel_ids: string[]; bridge_ids: string[] }> {
    return AriGateway.json(await this.call('applications.get', () => this.client.applications.get({ applicationName: this.opts.app })));
  }

  /** Creates or replaces a live configuration object (sorcery must map it to a writable store). */
  async putConfigObject(configClass: string, objectType: string, id: string, fields: Record<string, string>): Promise<void> {
    const body = { fields: Object.entries(fields).map(([attribute, value]) => ({ attribute, value })) };
    await this.call(`asterisk.updateObject ${objectType}/${id}`, () =>
      this.client.asterisk.updateObject({ configClass, objectType, id, fields: body.fields }),
    );
  }

  /** A live configuration object's fields, or null when Asterisk has no such object. */
  async getConfigObject(configClass: string, objectType: string, id: string): Promise<Record<string, string> | null> {
    try {
      const fields = (await this.call(`asterisk.getObject ${objectType}/${id}`, () => this.client.asterisk.getObject({ configClass, objectType, id }))) as { attribute: string; value: string }[];
      return Object.fromEntries(fields.map((f) => [f.attribute, f.value]));
    } catch (err) {
      if (err instanceof AriError && (err.status === 404 || /not found/i.test(err.message))) return null;
      throw err;
    }
  }

  async deleteConfigObject(configClass: string, objectType: string, id: string): Promise<void> {
    await this.ignoreMissing(() =>
      this.call(`asterisk.deleteObject ${objectType}/${id}`, () => this.client.asterisk.deleteObject({ configClass, objectType, id })),
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
    this.removeAllListeners();
    this.client.removeAllListeners();
    this.client.stop();
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AriError(`ARI ${what} timed out after ${ms} ms`, null, what)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function httpGetBuffer(url: URL, user: string, password: string, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { auth: `${user}:${password}`, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        if (res.statusCode === 200) resolve(body);
        else reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body.toString('utf8').slice(0, 200)}`), { status: res.statusCode }));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}
