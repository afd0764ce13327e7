// The import's progress line and summary as the CLI prints them.
import { describe, expect, it } from 'vitest';
import { renderProgress, summaryLine } from '../../../src/cli/contacts.js';

describe('renderProgress', () => {
  it('shows percent, a bar, rows and rows/s when the size is known', () => {
    expect(renderProgress({ rowsRead: 42_000, bytesRead: 50, totalBytes: 100, elapsedMs: 2000 }, 10)).toBe(' 50% [#####.....] 42,000 rows  21,000 rows/s');
    expect(renderProgress({ rowsRead: 10, bytesRead: 100, totalBytes: 100, elapsedMs: 0 }, 4)).toBe('100% [####] 10 rows  0 rows/s');
  });
  it('shows rows and rate only when reading a stream of unknown size', () => {
    expect(renderProgress({ rowsRead: 1500, bytesRead: 9999, elapsedMs: 500 })).toBe('importing  1,500 rows  3,000 rows/s');
  });
});

describe('summaryLine', () => {
  it('says what happened in one line', () => {
    const line = summaryLine({
      campaignId: 'c', rows: 10, imported: 8, inserted: 5, updated: 2, unchanged: 1, rejected: 2, attemptsCreated: 5,
      errorCount: 3, errors: [], errorsTruncated: false, durationMs: 1234, rowsPerSecond: 8,
    });
    expect(line).toBe('imported 8 of 10 rows (5 new, 2 updated, 1 unchanged), 2 rejected, 5 attempts queued, in 1.2 s (8 rows/s)');
  });
});
