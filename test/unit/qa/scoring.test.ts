// Scorecard arithmetic: every criterion scored once within its maximum, weights into a total %;
// time marks within the recording.
import { describe, expect, it } from 'vitest';
import { checkMarks, QaError, scoreReview, scorecardInputSchema } from '../../../src/qa/scorecards.js';

const criteria = [
  { key: 'attitude', label: 'Service attitude', weight: 30, maxScore: 5 },
  { key: 'script', label: 'Script adherence', weight: 20, maxScore: 10 },
  { key: 'accuracy', label: 'Accuracy', weight: 20, maxScore: 5 },
  { key: 'confidentiality', label: 'Confidentiality', weight: 20, maxScore: 1 },
  { key: 'discipline', label: 'Discipline', weight: 10, maxScore: 5 },
];

describe('scoreReview', () => {
  it('weighs each criterion by score/max and weight', () => {
    const r = scoreReview(criteria, [
      { criterion: 'attitude', score: 4 }, // 0.8 * 30 = 24
      { criterion: 'script', score: 5 }, // 0.5 * 20 = 10
      { criterion: 'accuracy', score: 5 }, // 1 * 20 = 20
      { criterion: 'confidentiality', score: 0 }, // 0
      { criterion: 'discipline', score: 3, comment: 'late to wrap up' }, // 0.6 * 10 = 6
    ]);
    expect(r.totalPct).toBe(60);
    expect(r.scores.find((s) => s.key === 'discipline')).toEqual({ ...criteria[4], score: 3, comment: 'late to wrap up' });
  });

  it('normalises weights that do not add up to 100 and rounds to 0.01', () => {
    const r = scoreReview(
      [{ key: 'a', label: 'A', weight: 1, maxScore: 3 }, { key: 'b', label: 'B', weight: 2, maxScore: 3 }],
      [{ criterion: 'a', score: 1 }, { criterion: 'b', score: 3 }],
    );
    // (1/3 * 1 + 1 * 2) / 3 = 0.7777...
    expect(r.totalPct).toBe(77.78);
  });

  it('refuses a score above the maximum, a missing, unknown or repeated criterion', () => {
    const full = criteria.map((c) => ({ criterion: c.key, score: 1 }));
    expect(() => scoreReview(criteria, full.map((s) => (s.criterion === 'script' ? { ...s, score: 11 } : s)))).toThrow(/above its maximum of 10/);
    expect(() => scoreReview(criteria, full.slice(1))).toThrow(/"attitude" \(Service attitude\) is not scored/);
    expect(() => scoreReview(criteria, [...full, { criterion: 'humour', score: 1 }])).toThrow(/no criterion "humour"/);
    expect(() => scoreReview(criteria, [...full, { criterion: 'script', score: 2 }])).toThrow(QaError);
  });
});

describe('checkMarks', () => {
  it('keeps marks within the recording, in time order', () => {
    expect(checkMarks([{ atMs: 900, note: 'b' }, { atMs: 100, note: 'a' }], 1000)).toEqual([{ atMs: 100, note: 'a' }, { atMs: 900, note: 'b' }]);
    expect(checkMarks([{ atMs: 1000, note: 'end' }], 1000)).toHaveLength(1);
  });
  it('refuses a mark past the end, or any mark on an unrecorded call', () => {
    expect(() => checkMarks([{ atMs: 1001, note: 'x' }], 1000)).toThrow(/past the end of the 1000 ms recording/);
    expect(() => checkMarks([{ atMs: 0, note: 'x' }], null)).toThrow(/no recording/);
    expect(checkMarks([], null)).toEqual([]);
  });
});

describe('scorecardInputSchema', () => {
  it('refuses duplicate keys, no criteria, zero weights and fractional maxima', () => {
    const ok = { name: 'Outbound sales', criteria };
    expect(scorecardInputSchema.safeParse(ok).success).toBe(true);
    expect(scorecardInputSchema.safeParse({ ...ok, criteria: [...criteria, criteria[0]] }).success).toBe(false);
    expect(scorecardInputSchema.safeParse({ ...ok, criteria: [] }).success).toBe(false);
    expect(scorecardInputSchema.safeParse({ ...ok, criteria: [{ ...criteria[0], weight: 0 }] }).success).toBe(false);
    expect(scorecardInputSchema.safeParse({ ...ok, criteria: [{ ...criteria[0], maxScore: 2.5 }] }).success).toBe(false);
  });
});
