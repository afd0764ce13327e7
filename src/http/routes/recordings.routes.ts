// Recordings: search them (the call filters), read their metadata, and play or download the
// audio with HTTP Range support (206 + Content-Range, 416 on a bad range), so that a browser's
// audio element can seek. Needs recordings.read: agents get no recordings.
// Audit rule: a GET that starts at byte 0 (the whole file, or a range from 0: how a player
// starts) is one "recording.played" entry, and every ?download=1 GET one "recording.downloaded"
// entry; the ranges a player fetches while seeking within a play are not logged one by one.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { writeAudit } from '../../auth/audit.repository.js';
import { callView, getCallRow, searchCalls, type RecordingView } from '../../qa/search.js';
import { RecordingMissingError } from '../../recordings/store.js';
import { actorOf, principalOf } from '../auth.js';
import { HttpError } from '../errors.js';
import { parseRange } from '../range.js';
import type { ApiDeps } from '../server.js';
import { callSearchQuery, scopedSearch } from './qa.routes.js';

const access = { access: { perm: 'recordings.read' } } as const;
const params = z.object({ id: z.uuid('must be a recording id (a UUID)') });

export function recordingRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const db = deps.db;
  const recordingOf = async (id: string) => {
    const rec = await db.selectFrom('recordings').selectAll().where('id', '=', id).executeTakeFirst();
    if (!rec) throw new HttpError(404, `recording ${id} does not exist`);
    return rec;
  };
  return async (app) => {
    app.get('/recordings', { config: access, schema: { querystring: callSearchQuery.omit({ recorded: true }) } }, async (req) => {
      const p = principalOf(req);
      const { rows, more } = await searchCalls(db, { ...scopedSearch(p, req.query), recorded: true });
      return {
        recordings: rows.map((r) => {
          const c = callView(r, true);
          return { ...(c.recording as RecordingView), call: { ...c, recording: undefined } };
        }),
        next: more ? req.query.offset + req.query.limit : null,
      };
    });

    app.get('/recordings/:id', { config: access, schema: { params } }, async (req) => {
      const rec = await recordingOf(req.params.id);
      const call = await getCallRow(db, rec.call_id);
      if (!call) throw new HttpError(404, `recording ${rec.id}'s call ${rec.call_id} does not exist`);
      const c = callView(call, true);
      return { ...(c.recording as RecordingView), name: rec.name, storageKey: rec.storage_key, call: { ...c, recording: undefined } };
    });

    app.get(
      '/recordings/:id/audio',
      { config: access, schema: { params, querystring: z.strictObject({ download: z.enum(['0', '1', 'true', 'false']).optional() }) } },
      async (req, reply) => {
        const store = deps.recordings;
        if (!store) throw new HttpError(503, 'this server has no recordings store configured (RECORDINGS_DIR)');
        const rec = await recordingOf(req.params.id);
        if (rec.purged_at) throw new HttpError(410, `recording ${rec.id} was purged on ${rec.purged_at.toISOString()} (its campaign's retention); only its metadata is kept`);
        const size = await store.size(rec.storage_key);
        if (size === null) throw new HttpError(404, `recording ${rec.id}'s file is missing from the store; run \`dialwell recordings verify\``);
        const download = req.query.download === '1' || req.query.download === 'true';
        const range = parseRange(req.headers.range, size);
        void reply
          .header('accept-ranges', 'bytes')
          .header('etag', `"${rec.sha256}"`)
          .header('cache-control', 'private, no-store')
          .header('content-disposition', `${download ? 'attachment' : 'inline'}; filename="${rec.name}.${rec.format}"`);
        if (range.kind === 'unsatisfiable') {
          return reply.status(416).header('content-range', `bytes */${size}`).send({ error: `${range.reason}; send e.g. "Range: bytes=0-" (the file has ${size} bytes)` });
        }
        if (req.method === 'GET' && (download || range.kind === 'full' || range.start === 0)) {
          await writeAudit(db, actorOf(req), {
            action: download ? 'recording.downloaded' : 'recording.played', resource: 'recording', resourceId: rec.id,
            details: { callId: rec.call_id, range: req.headers.range ?? null },
          });
        }
        void reply.type('audio/wav');
        if (range.kind === 'partial') void reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`);
        const length = range.kind === 'partial' ? range.end - range.start + 1 : size;
        // HEAD (which fastify routes here too) gets the headers without a file being opened.
        if (req.method === 'HEAD') return reply.header('content-length', length).send();
        try {
          const stream = await store.read(rec.storage_key, range.kind === 'partial' ? { start: range.start, end: range.end } : undefined);
          return reply.header('content-length', length).send(stream);
        } catch (err) {
          if (err instanceof RecordingMissingError) throw new HttpError(404, `recording ${rec.id}'s file is missing from the store; run \`dialwell recordings verify\``);
          throw err;
        }
      },
    );
  };
}
