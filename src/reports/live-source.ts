// Where the live stream (GET /api/v1/live/stream) reads from: agent state changes as they happen
// and campaign tiles when they change. This process's implementation reads the dialer's agent pool
// and the live view; the shared one (src/cluster/live-board.ts: every node, over Redis) replaces
// it behind the same small interface in `dialwell serve`, without touching the route or the console.
import { EventEmitter } from 'node:events';
import type { Db } from '../db/database.js';
import type { AgentSession } from '../dialer/agent-pool.js';
import type { Dialer } from '../dialer/dialer.js';
import type { Logger } from '../log.js';
import type { ReportSettings } from './figures.js';
import { liveView, type LiveState, type LiveView } from './reports.service.js';

export type LiveAgent = LiveView['agents']['list'][number];
export interface LiveTiles {
  at: string;
  callsInProgress: LiveView['callsInProgress'];
  campaigns: LiveView['campaigns'];
}

export interface LiveSourceEvents {
  /** An agent changed state (state "logged-out" when they left). */
  agent: [LiveAgent];
  /** The campaign tiles changed (sent only when they differ from the last ones sent). */
  tiles: [LiveTiles];
}

export interface LiveSource extends EventEmitter<LiveSourceEvents> {
  /** Everything now, for a client that has just connected. */
  snapshot(): Promise<LiveView>;
  /** Every node's agents and calls (a shared source): what /metrics labels per node. */
  state?(): Promise<LiveState>;
  /** A listener arrived or left: a source does work only while someone listens. */
  retain(): void;
  release(): void;
  close(): void;
}

export const liveAgentOf = (s: AgentSession): LiveAgent => ({
  agentId: s.agentId, name: s.name, state: s.state, since: new Date(s.stateSince).toISOString(), callId: s.callId, pauseReason: s.pauseReason,
});

/**
 * What every live source shares: the campaign tiles, recomputed from its snapshot every
 * tilesEveryMs while someone listens and sent only when they changed.
 */
export abstract class TiledLiveSource extends EventEmitter<LiveSourceEvents> implements LiveSource {
  private retained = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastTiles = '';
  private computing = false;

  constructor(
    protected readonly log: Logger,
    private readonly tilesEveryMs = 1000,
  ) {
    super();
    this.setMaxListeners(0);
  }

  abstract snapshot(): Promise<LiveView>;

  retain(): void {
    if (this.retained++ === 0) this.timer = setInterval(() => void this.tick(), this.tilesEveryMs);
  }

  release(): void {
    if (--this.retained === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
      this.lastTiles = '';
    }
  }

  private async tick(): Promise<void> {
    // One computation at a time: a slow database must not pile queries up.
    if (this.computing) return;
    this.computing = true;
    try {
      const v = await this.snapshot();
      const tiles = { callsInProgress: v.callsInProgress, campaigns: v.campaigns };
      const key = JSON.stringify(tiles);
      if (key !== this.lastTiles) {
        this.lastTiles = key;
        this.emit('tiles', { at: v.at, ...tiles });
      }
    } catch (err) {
      this.log.error({ err }, 'computing live campaign tiles failed (retried next tick)');
    } finally {
      this.computing = false;
    }
  }

  /** Stops the tiles and drops the listeners (a subclass closes what it holds, then calls this). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.removeAllListeners();
  }
}

/** This process's live state: the dialer's agent pool (pushed at once) and tiles recomputed every tilesEveryMs while listened to. */
export class InProcessLiveSource extends TiledLiveSource {
  private readonly onState = (s: AgentSession) => this.emit('agent', liveAgentOf(s));

  constructor(
    private readonly db: Db,
    private dialer: Dialer | undefined,
    private readonly settings: ReportSettings,
    log: Logger,
    tilesEveryMs = 1000,
  ) {
    super(log, tilesEveryMs);
    dialer?.agents.on('state', this.onState);
  }

  /** The dialer whose agents this source follows from now on (an engine host's engine comes and goes with its node's lease). */
  setDialer(dialer: Dialer | undefined): void {
    if (dialer === this.dialer) return;
    this.dialer?.agents.off('state', this.onState);
    this.dialer = dialer;
    dialer?.agents.on('state', this.onState);
  }

  snapshot(): Promise<LiveView> {
    return liveView(this.db, this.dialer, this.settings);
  }

  override close(): void {
    this.dialer?.agents.off('state', this.onState);
    super.close();
  }
}
