// The console's form helpers: which input shows a server problem, and scorecard criteria as typed.
import { describe, expect, it } from 'vitest';
import { criteriaText, errorsByField, parseCriteria } from '../../../web/src/form-data.js';

describe('errorsByField', () => {
  it('shows a problem by its own input, and by each enclosing name with what is left', () => {
    const e = errorsByField([{ field: 'body.criteria.0.maxScore', problem: 'must be at least 1' }]);
    expect(e['criteria.0.maxScore']).toBe('must be at least 1');
    expect(e['criteria.0']).toBe('maxScore: must be at least 1');
    expect(e.criteria).toBe('#1 maxScore: must be at least 1');
  });
  it('keeps the first problem of a field, and strips body./query.', () => {
    const e = errorsByField([
      { field: 'body.callback.at', problem: 'must be in the future' },
      { field: 'body.callback.agent', problem: 'unknown agent' },
      { field: 'query.to', problem: 'must be after from' },
    ]);
    expect(e).toEqual({ 'callback.at': 'must be in the future', callback: 'at: must be in the future', 'callback.agent': 'unknown agent', to: 'must be after from' });
  });
});

describe('scorecard criteria as typed', () => {
  it('reads one a line with defaults, and writes back what it reads', () => {
    const cs = parseCriteria(' greeting | Greeting | 1 | 5 \n\nscript|Script adherence|2|10\nclosing\n');
    expect(cs).toEqual([
      { key: 'greeting', label: 'Greeting', weight: 1, maxScore: 5 },
      { key: 'script', label: 'Script adherence', weight: 2, maxScore: 10 },
      { key: 'closing', label: 'closing', weight: 1, maxScore: 5 },
    ]);
    expect(parseCriteria(criteriaText(cs))).toEqual(cs);
  });
  it('leaves a non-number as NaN for the server to refuse by its field', () => {
    expect(parseCriteria('a | A | x | 5')[0]!.weight).toBeNaN();
  });
});
