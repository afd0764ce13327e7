// Complaints against calls: each links the call's recording, is due within 2 working days (Mon-Fri
// less the holidays of the chosen calendar, src/qa/holidays.ts; UTC calendar days) unless given a
// date, and moves open → in-review → resolved or rejected (open may be closed at once; closed
// complaints stay closed). Every change is audited.
import { writeAudit, type Actor } from '../auth/audit.repository.js';
import type { Db } from '../db/database.js';
import type { Complaint, ComplaintStatus } from '../db/schema.js';
import { QaError } from './scorecards.js';
import { complaintWorkingCalendar } from './holidays.js';
import { addWorkingDays, isOverdue } from './working-days.js';

export const COMPLAINT_DUE_WORKING_DAYS = 2;
export const complaintStatuses = ['open', 'in-review', 'resolved', 'rejected'] as const satisfies readonly ComplaintStatus[];

const NEXT: Record<ComplaintStatus, readonly ComplaintStatus[]> = {
  open: ['in-review', 'resolved', 'rejected'],
  'in-review': ['resolved', 'rejected', 'open'],
  resolved: [],
  rejected: [],
};

export function complaintView(c: Complaint, now = new Date()) {
  const closed = c.status === 'resolved' || c.status === 'rejected';
  return {
    id: c.id, callId: c.call_id, recordingId: c.recording_id, summary: c.summary, status: c.status, dueOn: c.due_on,
    overdue: !closed && isOverdue(c.due_on, now), resolution: c.resolution, openedBy: c.opened_by,
    createdAt: c.created_at.toISOString(), updatedAt: c.updated_at.toISOString(),
  };
}

export async function fileComplaint(db: Db, actor: Actor, callId: string, input: { summary: string; dueOn?: string }, now = new Date()): Promise<Complaint> {
  const call = await db
    .selectFrom('calls as c')
    .leftJoin('recordings as r', 'r.call_id', 'c.id')
    .select(['c.id', 'r.id as recording_id'])
    .where('c.id', '=', callId)
    .executeTakeFirst();
  if (!call) throw new QaError(`call ${callId} does not exist`, 404);
  const dueOn = input.dueOn ?? addWorkingDays(now, COMPLAINT_DUE_WORKING_DAYS, (await complaintWorkingCalendar(db)).calendar);
  if (dueOn < now.toISOString().slice(0, 10)) throw new QaError(`dueOn ${dueOn} is in the past`, 400, 'dueOn');
  return db.transaction().execute(async (trx) => {
    const c = await trx
      .insertInto('complaints')
      .values({ call_id: call.id, recording_id: call.recording_id, summary: input.summary, due_on: dueOn, opened_by: actor.name })
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeAudit(trx, actor, { action: 'complaint.filed', resource: 'complaint', resourceId: c.id, after: complaintView(c, now) });
    return c;
  });
}

export async function getComplaint(db: Db, id: string): Promise<Complaint> {
  const c = await db.selectFrom('complaints').selectAll().where('id', '=', id).executeTakeFirst();
  if (!c) throw new QaError(`complaint ${id} does not exist`, 404);
  return c;
}

export async function updateComplaint(
  db: Db,
  actor: Actor,
  id: string,
  patch: { status?: ComplaintStatus; resolution?: string; summary?: string; dueOn?: string },
): Promise<Complaint> {
  return db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom('complaints').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    if (!before) throw new QaError(`complaint ${id} does not exist`, 404);
    if (patch.status && patch.status !== before.status && !NEXT[before.status].includes(patch.status)) {
      const allowed = NEXT[before.status];
      throw new QaError(`complaint ${id} is ${before.status}; it ${allowed.length ? `can move to ${allowed.join(', ')}` : 'is closed and can no longer change'}`, 409, 'status');
    }
    const closing = patch.status === 'resolved' || patch.status === 'rejected';
    const resolution = patch.resolution ?? before.resolution;
    if (closing && !resolution) throw new QaError(`say how the complaint was ${patch.status} (resolution)`, 400, 'resolution');
    if ((before.status === 'resolved' || before.status === 'rejected') && (patch.summary || patch.dueOn || patch.resolution)) {
      throw new QaError(`complaint ${id} is ${before.status} and can no longer change`, 409);
    }
    const after = await trx
      .updateTable('complaints')
      .set({
        status: patch.status ?? before.status, resolution, summary: patch.summary ?? before.summary, due_on: patch.dueOn ?? before.due_on,
        updated_at: new Date(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeAudit(trx, actor, { action: 'complaint.updated', resource: 'complaint', resourceId: id, before: complaintView(before), after: complaintView(after) });
    return after;
  });
}

export async function listComplaints(db: Db, q: { status?: ComplaintStatus; callId?: string; overdue?: boolean; limit: number; offset: number }, now = new Date()) {
  let s = db.selectFrom('complaints').selectAll().orderBy('due_on').orderBy('created_at').limit(q.limit).offset(q.offset);
  if (q.status) s = s.where('status', '=', q.status);
  if (q.callId) s = s.where('call_id', '=', q.callId);
  if (q.overdue) s = s.where('status', 'in', ['open', 'in-review']).where('due_on', '<', now.toISOString().slice(0, 10));
  return s.execute();
}
