// Pure helpers for the console's forms (no DOM, unit-tested in test/unit/console/form-data.test.ts):
// where the server's field problems are shown, and scorecard criteria typed one a line.

/**
 * The server's problems keyed by input name: "body.criteria.0.key" is shown by the input named
 * "criteria.0.key", else "criteria.0", else "criteria" (a list typed in one field), prefixed with
 * what is left ("#1 key: …", items counted from 1 as a person counts lines); the first problem of
 * a field wins.
 */
export function errorsByField(issues: { field: string; problem: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of issues) {
    const parts = i.field.replace(/^(body|query|querystring)\./, '').split('.');
    for (let n = parts.length; n >= 1; n--) {
      const k = parts.slice(0, n).join('.');
      const where = parts.slice(n).map((p) => (/^\d+$/.test(p) ? `#${Number(p) + 1}` : p)).join(' ');
      out[k] ??= n === parts.length ? i.problem : `${where}: ${i.problem}`;
    }
  }
  return out;
}

export interface Criterion { key: string; label: string; weight: number; maxScore: number }

/** Criteria as typed: one a line, "key | label | weight | max score" (label defaults to the key, weight 1, max 5). */
export function parseCriteria(text: string): Criterion[] {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const [key = '', label = '', weight = '', maxScore = ''] = l.split('|').map((x) => x.trim());
    return { key, label: label || key, weight: weight === '' ? 1 : Number(weight), maxScore: maxScore === '' ? 5 : Number(maxScore) };
  });
}

export const criteriaText = (cs: Criterion[]): string => cs.map((c) => `${c.key} | ${c.label} | ${c.weight} | ${c.maxScore}`).join('\n');
