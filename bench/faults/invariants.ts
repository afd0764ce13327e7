// What must hold after every fault, checked from the three records that outlive the engine:
// PostgreSQL (attempts, calls, recordings, DNC), Asterisk's CEL file (every channel it saw) and
// the recordings store on disk. Each check returns pass/fail with the evidence, never a guess.
import { existsSync, readdirSync } from 'node:fs';
import { sql } from 'kysely';
import { phoneTimeZones } from '../../src/compliance/phone-data.js';
import type { Db } from '../../src/db/database.js';
import { scanCelFile } from '../../src/pbx/cel-records.js';
import type { RecordingsFs } from './services.js';
import type { Site } from './site.js';

export interface Check {
  ok: boolean;
  /** Short evidence for the table ("0 twice", "2 open: …"). */
  detail: string;
}

export interface RowChecks {
  agents: Check;
  dialedOnce: Check;
  cdrs: Check;
  recordings: Check;
  compliance: Check;
  abandonment: Check;
  calls: number;
  answered: number;
}

const pass = (detail: string): Check => ({ ok: true, detail });
const fail = (detail: string): Check => ({ ok: false, detail });

export interface CheckContext {
  db: Db;
  site: Site;
  /** Asterisk's CEL file of the node the engine drives. */
  celFile: string;
  /** Only this trunk's channels are the engine's customers. */
  trunkChannelPrefix: string;
  store: RecordingsFs;
  /** Asterisk's recording spool of that node: a file left there after its call ended was never stored. */
  spoolDir: string | null;
  /** That node's ARI, to count each agent's softphone channels. */
  ari: { url: string; user: string; password: string };
  /** Agents' PJSIP endpoint names. */
  agentEndpoints: string[];
}

/** Softphone channels in Asterisk beyond one per agent (an old one never hung up is a leak). */
export async function extraSoftphones(ctx: CheckContext): Promise<number> {
  const res = await fetch(`${ctx.ari.url}/ari/channels`, {
    headers: { authorization: `Basic ${Buffer.from(`${ctx.ari.user}:${ctx.ari.password}`).toString('base64')}` },
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`ARI /channels: HTTP ${res.status}`);
  const channels = (await res.json()) as { name: string }[];
  return ctx.agentEndpoints.reduce((n, e) => n + Math.max(0, channels.filter((c) => c.name.startsWith(`PJSIP/${e}-`)).length - 1), 0);
}

/** Agents after the fault: no new leaked softphone channel since the row began, none logged out. */
async function checkAgents(ctx: CheckContext, states: Map<string, string>, extraBefore: number): Promise<Check> {
  const extra = await extraSoftphones(ctx);
  const out = [...states.values()].filter((s) => s === 'logged-out').length;
  const problems = [];
  if (extra > extraBefore) problems.push(`${extra - extraBefore} softphone channels left behind`);
  if (out) problems.push(`${out} logged out`);
  const earlier = extraBefore ? ` (${extraBefore} leaked earlier)` : '';
  return problems.length ? fail(problems.join('; ') + earlier) : pass(extraBefore ? `none left behind${earlier}` : `${ctx.agentEndpoints.length} × 1 softphone`);
}

/** Calls of the campaign created in [from, to): closed ones, and how many are still open. */
export async function openCalls(db: Db, campaignId: string, from: Date): Promise<number> {
  const r = await db.selectFrom('calls').where('campaign_id', '=', campaignId).where('created_at', '>=', from).where('ended_at', 'is', null)
    .select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Columns another change may add to flag a recording that could not be stored (e.g. disk full). */
async function recordingFlagColumns(db: Db): Promise<{ calls: string[]; recordings: string[] }> {
  const cols = await sql<{ table_name: string; column_name: string }>`
    select table_name, column_name from information_schema.columns
    where table_schema = 'public' and table_name in ('calls', 'recordings')`.execute(db);
  const calls = cols.rows.filter((c) => c.table_name === 'calls' && /^recording_/.test(c.column_name) && c.column_name !== 'recording_id').map((c) => c.column_name);
  const recordings = cols.rows.filter((c) => c.table_name === 'recordings' && /^(status|state|missing|missing_at|missing_reason|error|failed_at|flag)/.test(c.column_name)).map((c) => c.column_name);
  return { calls, recordings };
}

// 'pending' is not a flag: a recording still pending once the calls have settled is lost.
const OK_STATUS = new Set(['stored', 'ok', 'complete', 'completed', 'present', 'pending']);
const flagged = (v: unknown) => v !== null && v !== undefined && v !== false && !OK_STATUS.has(String(v));

export async function checkRow(ctx: CheckContext, from: Date, to: Date, agentStates: Map<string, string>, extraBefore: number): Promise<RowChecks> {
  const { db, site } = ctx;
  const agents = await checkAgents(ctx, agentStates, extraBefore).catch((err: unknown) => fail(`agents not checked: ${(err as Error).message}`));
  const calls = await db.selectFrom('calls').where('campaign_id', '=', site.campaignId).where('created_at', '>=', from).where('created_at', '<', to)
    .select(['id', 'attempt_id', 'phone', 'channel_id', 'created_at', 'answered_at', 'bridged_at', 'ended_at', 'outcome', 'recording_id']).execute();

  // 1. No attempt dialed twice: one call row per attempt, and Asterisk saw one channel per call row.
  const twice = await db.selectFrom('calls').where('campaign_id', '=', site.campaignId).where('attempt_id', 'in', calls.length ? calls.map((c) => c.attempt_id) : ['00000000-0000-0000-0000-000000000000'])
    .groupBy('attempt_id').having((eb) => eb.fn.countAll(), '>', 1).select('attempt_id').execute();
  const dialedOnce = twice.length === 0 ? pass('0 twice') : fail(`${twice.length} attempts dialed twice`);

  // 2. CDRs against Asterisk's record: every trunk channel it saw has exactly one closed call row
  // that agrees on whether it was answered; every call row that Asterisk did not see never rang.
  const scan = await scanCelFile(ctx.celFile, new Date(from.getTime() - 2000), (_u, ch) => ch.startsWith(ctx.trunkChannelPrefix));
  const seen = [...scan.records.values()].filter((r) => r.startedAt && r.startedAt < to && r.startedAt >= new Date(from.getTime() - 1000));
  const byChannel = new Map<string, typeof calls>();
  for (const c of calls) byChannel.set(c.channel_id, [...(byChannel.get(c.channel_id) ?? []), c]);
  const allRows = seen.length
    ? await db.selectFrom('calls').where('channel_id', 'in', seen.map((r) => r.uniqueId)).select(['channel_id', 'ended_at', 'answered_at']).execute()
    : [];
  const rowsOf = new Map<string, typeof allRows>();
  for (const r of allRows) rowsOf.set(r.channel_id, [...(rowsOf.get(r.channel_id) ?? []), r]);
  const problems: string[] = [];
  let noRow = 0, dupRow = 0, open = 0, answerDisagrees = 0, noChannel = 0;
  for (const r of seen) {
    const rows = rowsOf.get(r.uniqueId) ?? [];
    if (rows.length === 0) noRow++;
    else if (rows.length > 1) dupRow++;
    else if (!rows[0]!.ended_at) open++;
    else if (Boolean(rows[0]!.answered_at) !== Boolean(r.answeredAt)) answerDisagrees++;
  }
  const seenIds = new Set(seen.map((r) => r.uniqueId));
  for (const c of calls) {
    if (!c.ended_at && !seenIds.has(c.channel_id)) open++;
    // A row for a channel Asterisk never had: it may only say the dial failed before ringing.
    else if (!seenIds.has(c.channel_id) && (c.answered_at || c.outcome !== 'failed')) noChannel++;
  }
  if (noRow) problems.push(`${noRow} channels without a CDR`);
  if (dupRow) problems.push(`${dupRow} with 2+ CDRs`);
  if (open) problems.push(`${open} CDRs never closed`);
  if (answerDisagrees) problems.push(`${answerDisagrees} answered in Asterisk, not in the CDR (or back)`);
  if (noChannel) problems.push(`${noChannel} CDRs Asterisk never saw`);
  const cdrs = problems.length ? fail(problems.join('; ')) : pass(`${seen.length} channels = ${calls.length} CDRs`);

  // 3. Recordings: each bridged call of a recorded campaign has its stored file (same size) or a
  // flag saying it is missing; each file in the store has its row; nothing left in Asterisk's spool.
  const flags = await recordingFlagColumns(db);
  const recs = await db.selectFrom('recordings').selectAll().execute();
  const recByCall = new Map(recs.map((r) => [r.call_id, r as Record<string, unknown> & (typeof recs)[number]]));
  const callFlags = new Map<string, boolean>();
  if (flags.calls.length && calls.length) {
    const rows = await sql<Record<string, unknown> & { id: string }>`select id, ${sql.join(flags.calls.map((c) => sql.ref(c)))} from calls where id in (${sql.join(calls.map((c) => c.id))})`.execute(db);
    for (const r of rows.rows) callFlags.set(r.id, flags.calls.some((c) => flagged(r[c])));
  }
  const files = ctx.store.files();
  const keys = new Set(recs.map((r) => r.storage_key));
  let badFile = 0, flaggedN = 0;
  const lost: string[] = [];
  for (const c of calls.filter((x) => x.bridged_at)) {
    const r = recByCall.get(c.id);
    const isFlagged = callFlags.get(c.id) === true || (r !== undefined && flags.recordings.some((f) => flagged(r[f])));
    if (isFlagged) flaggedN++;
    else if (!r) lost.push(c.id);
    else if (files.get(r.storage_key)?.size !== Number(r.size_bytes) && !r.purged_at) badFile++;
  }
  // Files and spool leftovers written since this row began (earlier rows' count there).
  const orphanFiles = [...files].filter(([k, f]) => !keys.has(k) && f.mtime >= from).length;
  // Asterisk names the file after the call (call-<id>.wav): how many lost ones it still holds.
  const spool = new Set(ctx.spoolDir && existsSync(ctx.spoolDir) ? readdirSync(ctx.spoolDir) : []);
  const inSpool = lost.filter((id) => spool.has(`call-${id}.wav`)).length;
  const recProblems: string[] = [];
  if (lost.length) recProblems.push(`${lost.length} bridged calls without recording or flag${inSpool ? ` (${inSpool} still in Asterisk's spool)` : ''}`);
  if (badFile) recProblems.push(`${badFile} rows whose file is missing or short`);
  if (orphanFiles) recProblems.push(`${orphanFiles} files without a row`);
  const bridged = calls.filter((x) => x.bridged_at).length;
  const recordings = recProblems.length ? fail(recProblems.join('; ')) : pass(`${bridged - flaggedN}/${bridged} stored${flaggedN ? `, ${flaggedN} flagged` : ''}`);

  // 4. Compliance, from the record: no call to a number on the DNC list at the time, outside the
  // window in the callee's time zone, or over the per-number cap.
  const comp: string[] = [];
  if (calls.length) {
    const dnc = await db.selectFrom('dnc_entries').where('phone', 'in', [...new Set(calls.map((c) => c.phone))])
      .where((eb) => eb.or([eb('campaign_id', 'is', null), eb('campaign_id', '=', site.campaignId)])).select(['phone', 'created_at', 'expires_at']).execute();
    const toDnc = calls.filter((c) => dnc.some((d) => d.phone === c.phone && d.created_at <= c.created_at && (!d.expires_at || d.expires_at > c.created_at)));
    if (toDnc.length) comp.push(`${toDnc.length} to DNC numbers`);
    const outside = calls.filter((c) => !phoneTimeZones(c.phone).every((z) => insideWindow(z, c.created_at, site.window)));
    if (outside.length) comp.push(`${outside.length} outside hours`);
    const perPhone = await db.selectFrom('calls').where('phone', 'in', [...new Set(calls.map((c) => c.phone))])
      .where('created_at', '>', new Date(to.getTime() - 24 * 3_600_000)).groupBy('phone').having((eb) => eb.fn.countAll(), '>', site.capPerPhone).select('phone').execute();
    if (perPhone.length) comp.push(`${perPhone.length} numbers over the cap`);
  }
  // Evidence the gate was exercised: the refusals it recorded in this row, by failing rule.
  const refused = await db.selectFrom('decisions').where('campaign_id', '=', site.campaignId).where('allowed', '=', false)
    .where('decided_at', '>=', from).where('decided_at', '<', to).select('reasons').execute();
  const byRule = new Map<string, number>();
  for (const d of refused) {
    for (const r of d.reasons as { rule?: string; passed?: boolean }[]) {
      if (r.passed === false && r.rule) byRule.set(r.rule, (byRule.get(r.rule) ?? 0) + 1);
    }
  }
  const gate = byRule.size ? ` (refused: ${[...byRule].map(([k, v]) => `${k} ${v}`).join(', ')})` : '';
  const compliance = comp.length ? fail(comp.join('; ') + gate) : pass(`0 DNC/hours/cap${gate}`);

  // 5. Abandonment over the campaign so far (as regulators count it: abandoned / live answered).
  const ab = await db.selectFrom('calls').where('campaign_id', '=', site.campaignId)
    .select([sql<string>`count(*) filter (where outcome = 'abandoned')`.as('abandoned'), sql<string>`count(*) filter (where outcome in ('answered', 'abandoned'))`.as('live')])
    .executeTakeFirstOrThrow();
  const cap = (await db.selectFrom('campaigns').where('id', '=', site.campaignId).select('abandon_cap').executeTakeFirstOrThrow()).abandon_cap;
  const rate = Number(ab.live) ? Number(ab.abandoned) / Number(ab.live) : 0;
  const abandonment = (rate <= cap ? pass : fail)(`${(rate * 100).toFixed(1)}% (${ab.abandoned}/${ab.live})`);

  return { agents, dialedOnce, cdrs, recordings, compliance, abandonment, calls: calls.length, answered: calls.filter((c) => c.answered_at).length };
}

/** Whether instant t falls inside the window (callee's local time of day; the window covers every day). */
export function insideWindow(zone: string, t: Date, w: { start: string; end: string }): boolean {
  const hm = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(t);
  return hm >= w.start && (w.end === '24:00' || hm < w.end);
}

/** Seconds from `after` to the first call the campaign placed at or after it; null if none yet. */
export async function dialingResumed(db: Db, campaignId: string, after: Date): Promise<number | null> {
  const r = await db.selectFrom('calls').where('campaign_id', '=', campaignId).where('created_at', '>=', after).select('created_at').orderBy('created_at').limit(1).executeTakeFirst();
  return r ? (r.created_at.getTime() - after.getTime()) / 1000 : null;
}

/** Calls the campaign placed in [from, to). */
export async function callsBetween(db: Db, campaignId: string, from: Date, to: Date): Promise<number> {
  const r = await db.selectFrom('calls').where('campaign_id', '=', campaignId).where('created_at', '>=', from).where('created_at', '<', to)
    .select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}
