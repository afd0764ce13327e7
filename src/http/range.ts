// HTTP Range requests (RFC 9110 §14) for audio: one byte range per request, which is what a
// browser's audio element asks for when it seeks. Several ranges in one header are answered with
// the whole file (the RFC lets a server ignore Range); a malformed or unsatisfiable byte range is
// a 416 so that a client bug shows instead of silently downloading everything.
export type RangeRequest =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable'; reason: string };

export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined || header.trim() === '') return { kind: 'full' };
  const m = /^\s*([A-Za-z]+)\s*=\s*(.*)$/.exec(header);
  if (!m) return { kind: 'unsatisfiable', reason: `Range "${header}" is not "bytes=start-end"` };
  // Units other than bytes are ignored, as the RFC requires.
  if (m[1]!.toLowerCase() !== 'bytes') return { kind: 'full' };
  const specs = m[2]!.split(',').map((s) => s.trim());
  if (specs.length > 1) return { kind: 'full' };
  const spec = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (!spec || (spec[1] === '' && spec[2] === '')) return { kind: 'unsatisfiable', reason: `Range "${header}" is not "bytes=start-end", "bytes=start-" or "bytes=-suffix"` };
  if (spec[1] === '') {
    const suffix = Number(spec[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable', reason: `Range "${header}" asks for no bytes of a ${size}-byte file` };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(spec[1]);
  const end = spec[2] === '' ? size - 1 : Math.min(Number(spec[2]), size - 1);
  if (spec[2] !== '' && Number(spec[2]) < start) return { kind: 'unsatisfiable', reason: `Range "${header}" ends before it starts` };
  if (start >= size) return { kind: 'unsatisfiable', reason: `Range "${header}" starts at or after the end of the ${size}-byte file` };
  return { kind: 'partial', start, end };
}
