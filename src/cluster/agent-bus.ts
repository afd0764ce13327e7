// Agent sessions across processes, over Redis (already the installation's transport). Engines
// mirror every session change into one hash (the board) that any API process reads; a command
// sent to any API process is published to the engine that owns the agent's node (the holder of
// the node's lease) and answered on the sender's own reply channel, or fails at its deadline.
// Supervision (listen, whisper, stop) travels the same way, to the engine holding the agent's
// call; the engines also mirror their live supervisions into a hash of their own for any process.
// A hang-up by call id goes to the engine driving the node that placed the call.
// Redis pub/sub rather than PostgreSQL NOTIFY: LISTEN needs a session connection of its own,
// which a transaction pooler does not give (the reason leases are rows, not advisory locks).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { AgentSession } from '../dialer/agent-pool.js';
import { agentView, AgentCommandError, loggedOut, type AgentCommand, type AgentCommandResult, type AgentView } from '../dialer/agent-commands.js';
import { SupervisionError, type SupervisionCommand, type SupervisionView } from '../dialer/supervision.js';
import { CallControlError } from '../dialer/call-session.js';
import type { CallControlResult } from '../dialer/call-control.js';
import type { Actor } from '../auth/audit.repository.js';
import { ClientError } from '../errors.js';
import type { Logger } from '../log.js';
import { redisOutage, watchRedis } from '../dialer/queue.js';
import { agentNode } from '../admin/nodes.service.js';

interface BoardEntry extends AgentView {
  node: string;
  engine: string;
}

/** A live call hung up by its id (a supervisor's), on the engine driving the call's node. */
interface CallCommand {
  kind: 'hangup-call';
  callId: string;
  actor: Actor;
}

interface CommandRequest {
  id: string;
  /** The agent commanded (null for a call command). */
  agentId: string | null;
  node: string;
  engine: string;
  command: AgentCommand | SupervisionCommand | CallCommand;
  replyTo: string;
}

type CommandReply = { id: string; ok: true; view: AgentCommandResult | SupervisionView | CallControlResult } | { id: string; ok: false; status: ClientError['status']; message: string; field?: string };

/** Carries a command out on the engine driving the node. */
export type AgentCommandHandler = (agentId: string, command: AgentCommand) => Promise<AgentCommandResult>;
/** Carries a supervision request out on the engine driving the node. */
export type SupervisionHandler = (agentId: string, command: SupervisionCommand) => Promise<SupervisionView>;
/** Hangs a call of the node up by its id, on the engine driving the node. */
export type CallHangupHandler = (callId: string, actor: Actor) => Promise<CallControlResult>;

/** What an engine carries out beside agent commands (without one: 503, it cannot now). */
export interface MoreHandlers {
  supervise?: SupervisionHandler;
  hangupCall?: CallHangupHandler;
}

export class AgentBus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly replyChannel: string;
  private readonly pending = new Map<string, (r: CommandReply) => void>();
  /** Per node driven here: the engine (lease owner id) and its handler. */
  private readonly handlers = new Map<string, { engine: string; handle: AgentCommandHandler } & MoreHandlers>();

  constructor(
    redisUrl: string,
    private readonly prefix: string,
    private readonly db: Db,
    private readonly log: Logger,
    private readonly deadlineMs = 30_000,
  ) {
    this.pub = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
    this.sub = new Redis(redisUrl, { maxRetriesPerRequest: null });
    // Errors go to the process's one Redis outage (logged once when it starts and ends), not stderr.
    watchRedis([this.pub, this.sub], { queues: [], workers: [] }, log, redisOutage(redisUrl, log));
    this.replyChannel = `${prefix}:agent-replies:${randomUUID()}`;
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === this.replyChannel) this.onReply(message);
      else if (channel === this.commandChannel) void this.onCommand(message);
    });
  }

  private get boardKey(): string {
    return `${this.prefix}:agents`;
  }

  private get supervisionsKey(): string {
    return `${this.prefix}:supervisions`;
  }

  private get commandChannel(): string {
    return `${this.prefix}:agent-commands`;
  }

  async start(): Promise<void> {
    await this.sub.subscribe(this.replyChannel, this.commandChannel);
  }

  async close(): Promise<void> {
    for (const resolve of this.pending.values()) resolve({ id: '', ok: false, status: 503, message: 'shutting down' });
    this.pending.clear();
    this.sub.disconnect();
    this.pub.disconnect();
  }

  // Engine side.

  /** Mirrors a session of a node driven here onto the board. */
  publish(node: string, engine: string, s: AgentSession): void {
    const entry: BoardEntry = { ...agentView(s), node, engine };
    void this.pub.hset(this.boardKey, s.agentId, JSON.stringify(entry)).catch((err: unknown) => this.log.warn({ err, agentId: s.agentId }, 'publishing the agent state failed'));
  }

  /** Takes the commands for a node this process drives (until the returned function is called). */
  handle(node: string, engine: string, handle: AgentCommandHandler, more: MoreHandlers = {}): () => void {
    this.handlers.set(node, { engine, handle, ...more });
    return () => {
      if (this.handlers.get(node)?.handle === handle) this.handlers.delete(node);
    };
  }

  private async onCommand(message: string): Promise<void> {
    const req = JSON.parse(message) as CommandRequest;
    const h = this.handlers.get(req.node);
    if (!h || h.engine !== req.engine) return;
    let reply: CommandReply;
    try {
      const c = req.command;
      let view: AgentView | SupervisionView | CallControlResult;
      if (c.kind === 'hangup-call') {
        if (!h.hangupCall) throw new CallControlError(`the engine driving node ${req.node} cannot control calls now; try again in a moment`, 503);
        view = await h.hangupCall(c.callId, c.actor);
      } else if (c.kind !== 'supervise') view = await h.handle(req.agentId!, c);
      else if (h.supervise) view = await h.supervise(req.agentId!, c);
      else throw new SupervisionError(`the engine driving node ${req.node} cannot supervise calls now; try again in a moment`, 503);
      reply = { id: req.id, ok: true, view };
    } catch (err) {
      // Any client error (a call-control one too) goes back as the engine raised it.
      reply = err instanceof ClientError
        ? { id: req.id, ok: false, status: err.status, message: err.message, ...(err.field ? { field: err.field } : {}) }
        : { id: req.id, ok: false, status: 502, message: `the engine failed: ${(err as Error).message}` };
    }
    await this.pub.publish(req.replyTo, JSON.stringify(reply));
  }

  // API side.

  /** The engine (lease owner) driving each node now. */
  private async owners(): Promise<Map<string, string>> {
    const rows = await this.db
      .selectFrom('nodes as n')
      // The lease named as nodeLease() names it.
      .innerJoin('leases as l', (j) => j.on(sql<boolean>`l.name = 'node:' || n.name`))
      .where('n.enabled', '=', true)
      .where('l.expires_at', '>', sql<Date>`now()`)
      .select(['n.name', 'l.owner'])
      // The first is the default node (the first created), where agents with no node log in.
      .orderBy('n.created_at')
      .orderBy('n.name')
      .execute();
    return new Map(rows.map((r) => [r.name, r.owner]));
  }

  private async entry(agentId: string): Promise<BoardEntry | null> {
    const raw = await this.pub.hget(this.boardKey, agentId);
    return raw ? (JSON.parse(raw) as BoardEntry) : null;
  }

  /** An agent's session as its engine last reported it; logged out when that engine no longer drives the node. */
  async view(agentId: string): Promise<AgentView> {
    const e = await this.entry(agentId);
    if (!e) return loggedOut;
    const owners = await this.owners();
    return owners.get(e.node) === e.engine ? strip(e) : loggedOut;
  }

  /** Every logged-in session on the board with its node, for a pacer splitting calls across nodes (engines gone left out). */
  async sessions(): Promise<{ agentId: string; node: string; state: AgentView['state']; sinceMs: number }[]> {
    const [all, owners] = await Promise.all([this.pub.hgetall(this.boardKey), this.owners()]);
    const out: { agentId: string; node: string; state: AgentView['state']; sinceMs: number }[] = [];
    for (const [agentId, raw] of Object.entries(all)) {
      const e = JSON.parse(raw) as BoardEntry;
      if (owners.get(e.node) !== e.engine || e.state === 'logged-out') continue;
      out.push({ agentId, node: e.node, state: e.state, sinceMs: e.since ? Date.parse(e.since) : Date.now() });
    }
    return out;
  }

  /** Every session on the board, by agent id (sessions of engines gone are left out). */
  async views(): Promise<Map<string, AgentView>> {
    const [all, owners] = await Promise.all([this.pub.hgetall(this.boardKey), this.owners()]);
    const out = new Map<string, AgentView>();
    for (const [agentId, raw] of Object.entries(all)) {
      const e = JSON.parse(raw) as BoardEntry;
      if (owners.get(e.node) === e.engine) out.set(agentId, strip(e));
    }
    return out;
  }

  /**
   * The sessions last published for a node, whatever engine published them (a takeover reads the
   * dead owner's: src/dialer/takeover.ts), by agent id; logged-out ones left out.
   */
  async lastSessions(node: string): Promise<Map<string, AgentView>> {
    const out = new Map<string, AgentView>();
    for (const [agentId, raw] of Object.entries(await this.pub.hgetall(this.boardKey))) {
      const e = JSON.parse(raw) as BoardEntry;
      if (e.node === node && e.state !== 'logged-out') out.set(agentId, strip(e));
    }
    return out;
  }

  /**
   * Sends the command to the engine driving the agent's node (a login: the agent's node,
   * `agents.node_id`, else the default node, the first created that an engine drives) and answers its result; an AgentCommandError as the engine raised it, or 503 when no
   * engine drives the node or none answered by the deadline.
   */
  async command(agentId: string, command: AgentCommand): Promise<AgentCommandResult> {
    const [e, owners, home] = await Promise.all([this.entry(agentId), this.owners(), agentNode(this.db, agentId)]);
    const live = e && owners.get(e.node) === e.engine && e.state !== 'logged-out' ? e : null;
    // A login goes to the agent's own node (their softphone is called from it); so does a preview
    // for an agent logged in nowhere, whose engine answers with the preview's own reason (409).
    const node = live?.node ?? home ?? [...owners.keys()][0];
    const engine = node ? owners.get(node) : undefined;
    if (!node || !engine) {
      throw new AgentCommandError(node ? `no engine drives node ${node} (the agent's) now: try again once one takes it over` : 'no engine drives a node now: agent sessions are held until one takes over', 503);
    }
    if (!live && command.kind !== 'login' && !command.kind.startsWith('preview-')) {
      if (command.kind === 'logout' || command.kind === 'wrapped-up') return loggedOut;
      throw new AgentCommandError(`agent ${agentId} is not logged in`, 409);
    }
    const r = await this.send(agentId, node, engine, command);
    if (!r.ok) throw new AgentCommandError(r.message, r.status < 500 || r.status === 502 ? r.status : 503, r.field);
    return r.view as AgentCommandResult;
  }

  /**
   * Sends a supervision request to the engine holding the agent's session and answers its
   * result, or its SupervisionError as it raised it (409 when the agent is logged out, 503 when
   * no engine answered by the deadline).
   */
  async supervise(agentId: string, agentName: string, command: SupervisionCommand): Promise<SupervisionView> {
    const [e, owners] = await Promise.all([this.entry(agentId), this.owners()]);
    if (!e || owners.get(e.node) !== e.engine || e.state === 'logged-out') {
      throw new SupervisionError(command.action === 'stop'
        ? `${command.actor.name} is not listening to agent ${agentName} (who is logged out)`
        : `agent ${agentName} has no call in progress (logged-out); listen or whisper during a call`, 409);
    }
    const r = await this.send(agentId, e.node, e.engine, command);
    if (!r.ok) throw new SupervisionError(r.message, supervisionStatus(r.status));
    return r.view as SupervisionView;
  }

  /**
   * Hangs a live call up on the engine driving the node that placed it (null: placed before nodes
   * existed, the default node) and answers its result, or its CallControlError as it raised it;
   * 503 when no engine drives that node or none answered by the deadline.
   */
  async hangupCall(callId: string, node: string | null, actor: Actor): Promise<CallControlResult> {
    const owners = await this.owners();
    const at = node ?? [...owners.keys()][0];
    const engine = at ? owners.get(at) : undefined;
    if (!at || !engine) {
      throw new CallControlError(at
        ? `call ${callId} is on node ${at}, which no engine drives now (its engine died or the node is disabled): try again once one takes it over`
        : `no engine drives a node now: call ${callId} cannot be hung up until one takes over`, 503);
    }
    const r = await this.send(null, at, engine, { kind: 'hangup-call', callId, actor });
    if (!r.ok) throw new CallControlError(r.message, r.status < 500 || r.status === 502 ? r.status : 503, r.field);
    return r.view as CallControlResult;
  }

  /** Mirrors a supervision of a node driven here (null: it ended) for every process. */
  publishSupervision(node: string, engine: string, id: string, v: SupervisionView | null): void {
    const done = v ? this.pub.hset(this.supervisionsKey, id, JSON.stringify({ ...v, node, engine })) : this.pub.hdel(this.supervisionsKey, id);
    void done.catch((err: unknown) => this.log.warn({ err, supervisionId: id }, 'publishing the supervision failed'));
  }

  /** Live supervisions of every engine (those of engines that no longer drive their node are left out). */
  async supervisions(): Promise<SupervisionView[]> {
    const [all, owners] = await Promise.all([this.pub.hgetall(this.supervisionsKey), this.owners()]);
    return Object.values(all)
      .map((raw) => JSON.parse(raw) as SupervisionView & { node: string; engine: string })
      .filter((x) => owners.get(x.node) === x.engine)
      .map(({ node: _node, engine: _engine, ...v }) => v);
  }

  /** Publishes a request to the engine and waits for its reply (or the deadline). */
  private async send(agentId: string | null, node: string, engine: string, command: AgentCommand | SupervisionCommand | CallCommand): Promise<CommandReply> {
    const id = randomUUID();
    const reply = new Promise<CommandReply>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ id, ok: false, status: 503, message: `the engine driving node ${node} did not answer within ${this.deadlineMs / 1000} s` });
      }, this.deadlineMs);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    const req: CommandRequest = { id, agentId, node, engine, command, replyTo: this.replyChannel };
    await this.pub.publish(this.commandChannel, JSON.stringify(req));
    return reply;
  }

  private onReply(message: string): void {
    const r = JSON.parse(message) as CommandReply;
    const resolve = this.pending.get(r.id);
    if (!resolve) return;
    this.pending.delete(r.id);
    resolve(r);
  }
}

/** The statuses a supervision answers with, as the engine raised them (else 503). */
function supervisionStatus(status: number): 403 | 404 | 409 | 502 | 503 {
  return status === 403 || status === 404 || status === 409 || status === 502 ? status : 503;
}

function strip(e: BoardEntry): AgentView {
  return { state: e.state, since: e.since, callId: e.callId, lastCallId: e.lastCallId, pauseReason: e.pauseReason };
}

