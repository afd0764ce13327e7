import { describe, expect, it } from 'vitest';
import { outcomeOf } from '../../../src/dialer/outcome.js';

describe('outcomeOf: Asterisk signals → call outcome', () => {
  it.each([
    [{ answered: true, abandoned: false }, 'answered'],
    [{ answered: true, abandoned: true }, 'abandoned'],
    [{ answered: true, abandoned: false, machine: true }, 'machine'],
    [{ answered: false, abandoned: false, dialStatus: 'BUSY' }, 'busy'],
    [{ answered: false, abandoned: false, dialStatus: 'NOANSWER' }, 'no-answer'],
    [{ answered: false, abandoned: false, dialStatus: 'CONGESTION' }, 'congestion'],
    [{ answered: false, abandoned: false, cause: 17 }, 'busy'],
    [{ answered: false, abandoned: false, cause: 19 }, 'no-answer'],
    [{ answered: false, abandoned: false, cause: 21 }, 'rejected'],
    [{ answered: false, abandoned: false, cause: 34 }, 'congestion'],
    [{ answered: false, abandoned: false, cause: 1 }, 'failed'],
    [{ answered: false, abandoned: false, cause: null }, 'failed'],
    // Asterisk reports 603 Decline with Dial status NOANSWER but cause 21.
    [{ answered: false, abandoned: false, cause: 21, dialStatus: 'NOANSWER' }, 'rejected'],
    [{ answered: false, abandoned: false, cause: 19, ringSeconds: 16 }, 'no-answer'],
    [{ answered: false, abandoned: false, cause: 19, ringSeconds: 14.9 }, 'failed'],
    [{ answered: false, abandoned: false, dialStatus: 'NOANSWER', ringSeconds: 3 }, 'failed'],
  ] as const)('%j → %s', (signals, want) => {
    expect(outcomeOf(signals)).toBe(want);
  });
});
