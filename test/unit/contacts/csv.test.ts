// The CSV parser on its own: RFC 4180 quoting, line ends, BOM, ragged rows, and input split at
// every possible place (as a network stream splits it).
import { describe, expect, it } from 'vitest';
import { CsvFormatError, CsvParser, parseCsv, readCsv, type CsvRecord } from '../../../src/contacts/csv.js';

const fields = (records: CsvRecord[]) => records.map((r) => r.fields);

/** Feeds the text in pieces of `size` characters (or bytes). */
function chunked(text: string, size: number, asBytes: boolean): CsvRecord[] {
  const p = new CsvParser();
  const out: CsvRecord[] = [];
  const data = asBytes ? Buffer.from(text, 'utf8') : text;
  for (let i = 0; i < data.length; i += size) {
    out.push(...p.push(typeof data === 'string' ? data.slice(i, i + size) : data.subarray(i, i + size)));
  }
  out.push(...p.end());
  return out;
}

describe('CsvParser', () => {
  it('reads plain fields, empty fields and a last line without a line break', () => {
    expect(fields(parseCsv('phone,name\n+13055550100,Ann\n,\n+13055550101,'))).toEqual([
      ['phone', 'name'],
      ['+13055550100', 'Ann'],
      ['', ''],
      ['+13055550101', ''],
    ]);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks inside', () => {
    const text = 'a,b,c\r\n"Smith, Ann","say ""hi""","two\r\nlines"\r\n"","x",""\r\n';
    expect(fields(parseCsv(text))).toEqual([
      ['a', 'b', 'c'],
      ['Smith, Ann', 'say "hi"', 'two\r\nlines'],
      ['', 'x', ''],
    ]);
  });

  it('takes CRLF, LF and lone CR as line ends and numbers records by the line they start on', () => {
    const recs = parseCsv('h1,h2\r\n1,"a\nb"\n2,x\r3,y\r\n\r\n4,z');
    expect(fields(recs)).toEqual([['h1', 'h2'], ['1', 'a\nb'], ['2', 'x'], ['3', 'y'], ['4', 'z']]);
    expect(recs.map((r) => r.line)).toEqual([1, 2, 4, 5, 7]);
  });

  it('drops a UTF-8 byte-order mark from bytes and from text', () => {
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('phone,name\n1,José\n')]);
    const p = new CsvParser();
    expect(fields([...p.push(withBom), ...p.end()])).toEqual([['phone', 'name'], ['1', 'José']]);
    expect(fields(parseCsv('\uFEFFphone\n1\n'))).toEqual([['phone'], ['1']]);
    // Only a leading BOM is special.
    expect(fields(parseCsv('a\n\uFEFFb\n'))).toEqual([['a'], ['\uFEFFb']]);
  });

  it('keeps ragged rows as they are (the importer judges them)', () => {
    expect(fields(parseCsv('a,b,c\n1\n1,2,3,4\n'))).toEqual([['a', 'b', 'c'], ['1'], ['1', '2', '3', '4']]);
  });

  it('skips blank lines unless asked to keep them', () => {
    expect(fields(parseCsv('a\n\n\nb\n'))).toEqual([['a'], ['b']]);
    expect(fields(parseCsv('a\n\nb\n', { skipEmptyLines: false }))).toEqual([['a'], [''], ['b']]);
    // A quoted empty field is a value, not a blank line.
    expect(fields(parseCsv('a\n""\n'))).toEqual([['a'], ['']]);
  });

  it('marks text after a closing quote and a quote never closed, and keeps going', () => {
    const recs = parseCsv('a,b\n"x"y,2\n3,4\n');
    expect(recs[1]).toMatchObject({ fields: ['xy', '2'], line: 2 });
    expect(recs[1]!.error).toMatch(/after the closing quote of field 1/);
    expect(recs[2]).toEqual({ fields: ['3', '4'], line: 3 });
    const open = parseCsv('a,b\n1,"never closed\n2,3\n');
    expect(open).toHaveLength(2);
    expect(open[1]).toMatchObject({ line: 2, fields: ['1', 'never closed\n2,3\n'] });
    expect(open[1]!.error).toMatch(/opened on line 2 is never closed/);
  });

  it('treats a quote inside an unquoted field as text', () => {
    expect(fields(parseCsv('5\'10",x\n'))).toEqual([['5\'10"', 'x']]);
  });

  it('gives the same records however the input is split, multi-byte characters included', () => {
    const text = '\uFEFFphone,name,notes\r\n"+1 (305) 555-0100","Zoë, ""Z""","line1\r\nline2"\r\n+13055550101,李雷,"a,b"\r\n\r\n+13055550102,x,\r\n';
    const whole = parseCsv(text);
    expect(whole).toHaveLength(4);
    expect(whole[1]!.fields).toEqual(['+1 (305) 555-0100', 'Zoë, "Z"', 'line1\r\nline2']);
    expect(whole.map((r) => r.line)).toEqual([1, 2, 4, 6]);
    for (const size of [1, 2, 3, 5, 7, 64]) {
      expect(chunked(text, size, false), `text chunks of ${size}`).toEqual(whole);
      expect(chunked(text, size, true), `byte chunks of ${size}`).toEqual(whole);
    }
  });

  it('refuses a record longer than the limit (a quote that never closes in a huge file)', () => {
    const p = new CsvParser({ maxRecordChars: 100 });
    p.push('a\n"');
    expect(() => p.push('x'.repeat(200))).toThrow(CsvFormatError);
    expect(() => new CsvParser({ delimiter: '"' })).toThrow(/delimiter/);
  });

  it('reads from an async stream and counts bytes', async () => {
    async function* source() {
      yield Buffer.from('phone,na');
      yield Buffer.from('me\n1,Ann\n2,');
      yield 'Bob';
    }
    let bytes = 0;
    const out: CsvRecord[] = [];
    for await (const r of readCsv(source(), { onBytes: (n) => (bytes += n) })) out.push(r);
    expect(fields(out)).toEqual([['phone', 'name'], ['1', 'Ann'], ['2', 'Bob']]);
    expect(bytes).toBe(22);
  });

  it('supports another delimiter', () => {
    expect(fields(parseCsv('a;b\n"x;y";2\n', { delimiter: ';' }))).toEqual([['a', 'b'], ['x;y', '2']]);
  });
});
