// Prometheus text format and the reports' CSV: escaping is where both go wrong.
import { describe, expect, it } from 'vitest';
import { csvCell, toCsv } from '../../../src/reports/csv.js';
import { escapeLabelValue, Exposition } from '../../../src/reports/prometheus.js';

describe('Prometheus exposition', () => {
  it.each([
    ['plain', 'plain'],
    ['say "hi"', 'say \\"hi\\"'],
    ['back\\slash', 'back\\\\slash'],
    ['two\nlines', 'two\\nlines'],
    ['\\"\n', '\\\\\\"\\n'],
  ])('escapes the label value %j', (v, e) => expect(escapeLabelValue(v)).toBe(e));

  it('writes HELP, TYPE and one line per sample; null samples are left out', () => {
    const text = new Exposition()
      .family('dialwell_calls_total', 'counter', 'Calls\nplaced', [
        { labels: { campaign: 'A "b"', outcome: 'answered' }, value: 3 },
        { labels: { campaign: 'c', outcome: 'busy' }, value: null },
      ])
      .family('dialwell_up', 'gauge', 'one', [{ value: 0.25 }, { value: Number.NaN }])
      .toString();
    expect(text).toBe(
      '# HELP dialwell_calls_total Calls\\nplaced\n# TYPE dialwell_calls_total counter\n' +
        'dialwell_calls_total{campaign="A \\"b\\"",outcome="answered"} 3\n' +
        '# HELP dialwell_up one\n# TYPE dialwell_up gauge\ndialwell_up 0.25\ndialwell_up NaN\n',
    );
  });

  it('refuses names the format does not allow', () => {
    expect(() => new Exposition().family('dialwell-calls', 'gauge', 'x', [])).toThrow(/metric name/);
    expect(() => new Exposition().family('dialwell_calls', 'gauge', 'x', [{ labels: { 'bad-label': 'v' }, value: 1 }])).toThrow(/label name/);
  });
});

describe('CSV', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=HYPERLINK("x")', '"\'=HYPERLINK(""x"")"'],
    ['+1 formula', "'+1 formula"],
    ['-2', "'-2"],
    ['@cmd', "'@cmd"],
  ])('quotes %j', (v, e) => expect(csvCell(v)).toBe(e));

  it('numbers stay numbers, negative ones too; null is empty', () => {
    expect(csvCell(-2)).toBe('-2');
    expect(csvCell(0.125)).toBe('0.125');
    expect(csvCell(null)).toBe('');
  });

  it('one header line and one line per row, CRLF', () => {
    expect(toCsv(['a', 'b'], [{ a: 1, b: 'x' }, { a: 2 }])).toBe('a,b\r\n1,x\r\n2,\r\n');
  });
});
