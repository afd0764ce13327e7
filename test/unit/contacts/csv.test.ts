// The contacts CSV reader on its own (csv-parse underneath): RFC 4180 quoting, line ends, BOM,
// ragged rows, line numbers, and input split at every possible place (as a network stream splits it).
import { describe, expect, it } from 'vitest';
import { CsvFormatError, parseCsv, readCsv, type CsvOptions, type CsvRecord } from '../../../src/contacts/csv.js';

const fields = (records: CsvRecord[]) => records.map((r) => r.fields);

async function* pieces(chunks: (string | Uint8Array)[]) {
  yield* chunks;
}

async function read(chunks: (string | Uint8Array)[], options: CsvOptions = {}): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for await (const r of readCsv(pieces(chunks), options)) out.push(r);
  return out;
}

/** Feeds the text in pieces of `size` characters (or bytes). */
function chunked(text: string, size: number, asBytes: boolean): Promise<CsvRecord[]> {
  const data = asBytes ? Buffer.from(text, 'utf8') : text;
  const chunks: (string | Uint8Array)[] = [];
  for (let i = 0; i < data.length; i += size) chunks.push(typeof data === 'string' ? data.slice(i, i + size) : data.subarray(i, i + size));
  return read(chunks);
}

describe('readCsv', () => {
  it('reads plain fields, empty fields and a last line without a line break', async () => {
    expect(fields(await parseCsv('phone,name\n+13055550100,Ann\n,\n+13055550101,'))).toEqual([
      ['phone', 'name'],
      ['+13055550100', 'Ann'],
      ['', ''],
      ['+13055550101', ''],
    ]);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks inside', async () => {
    const text = 'a,b,c\r\n"Smith, Ann","say ""hi""","two\r\nlines"\r\n"","x",""\r\n';
    expect(fields(await parseCsv(text))).toEqual([
      ['a', 'b', 'c'],
      ['Smith, Ann', 'say "hi"', 'two\r\nlines'],
      ['', 'x', ''],
    ]);
  });

  it('takes CRLF, LF and lone CR as line ends and numbers records by the line they start on', async () => {
    const recs = await parseCsv('h1,h2\r\n1,"a\nb"\n2,x\r3,y\r\n\r\n4,z');
    expect(fields(recs)).toEqual([['h1', 'h2'], ['1', 'a\nb'], ['2', 'x'], ['3', 'y'], ['4', 'z']]);
    expect(recs.map((r) => r.line)).toEqual([1, 2, 4, 5, 7]);
  });

  it('counts a CRLF inside quotes as one line (csv-parse counts two) for every later record', async () => {
    const recs = await parseCsv('a,b\r\n1,"x\r\ny"\r\n\r\n2,"p\r\nq\r\nr"\r\n3,4\r\n');
    expect(fields(recs)).toEqual([['a', 'b'], ['1', 'x\r\ny'], ['2', 'p\r\nq\r\nr'], ['3', '4']]);
    expect(recs.map((r) => r.line)).toEqual([1, 2, 5, 8]);
  });

  it('drops a UTF-8 byte-order mark from bytes and from text', async () => {
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('phone,name\n1,José\n')]);
    expect(fields(await read([withBom]))).toEqual([['phone', 'name'], ['1', 'José']]);
    expect(fields(await parseCsv('\uFEFFphone\n1\n'))).toEqual([['phone'], ['1']]);
    // Only a leading BOM is special.
    expect(fields(await parseCsv('a\n\uFEFFb\n'))).toEqual([['a'], ['\uFEFFb']]);
  });

  it('keeps ragged rows as they are (the importer judges them)', async () => {
    expect(fields(await parseCsv('a,b,c\n1\n1,2,3,4\n'))).toEqual([['a', 'b', 'c'], ['1'], ['1', '2', '3', '4']]);
  });

  it('skips blank lines unless asked to keep them', async () => {
    expect(fields(await parseCsv('a\n\n\nb\n'))).toEqual([['a'], ['b']]);
    expect(fields(await parseCsv('a\n\nb\n', { skipEmptyLines: false }))).toEqual([['a'], [''], ['b']]);
    // A quoted empty field is a value, not a blank line.
    expect(fields(await parseCsv('a\n""\n'))).toEqual([['a'], ['']]);
  });

  it('marks text after a closing quote and a quote never closed, and keeps going', async () => {
    const recs = await parseCsv('a,b\n"x"y,2\n3,4\n');
    expect(recs[1]).toMatchObject({ fields: ['"x"y', '2'], line: 2 });
    expect(recs[1]!.error).toMatch(/after the closing quote of field 1/);
    expect(recs[2]).toEqual({ fields: ['3', '4'], line: 3 });
    const open = await parseCsv('a,b\n1,2\n\n1,"never closed\n2,3\n');
    expect(open).toHaveLength(3);
    expect(open[2]).toMatchObject({ line: 4 });
    expect(open[2]!.fields.join(',')).toContain('never closed');
    expect(open[2]!.error).toMatch(/opened on line 4 is never closed/);
  });

  it('treats a quote inside an unquoted field as text', async () => {
    expect(fields(await parseCsv('5\'10",x\n'))).toEqual([['5\'10"', 'x']]);
  });

  it('gives the same records however the input is split, multi-byte characters included', async () => {
    const text = '\uFEFFphone,name,notes\r\n"+1 (305) 555-0100","Zoë, ""Z""","line1\r\nline2"\r\n+13055550101,李雷,"a,b"\r\n\r\n+13055550102,x,\r\n';
    const whole = await parseCsv(text);
    expect(whole).toHaveLength(4);
    expect(whole[1]!.fields).toEqual(['+1 (305) 555-0100', 'Zoë, "Z"', 'line1\r\nline2']);
    expect(whole.map((r) => r.line)).toEqual([1, 2, 4, 6]);
    for (const size of [1, 2, 3, 5, 7, 64]) {
      expect(await chunked(text, size, false), `text chunks of ${size}`).toEqual(whole);
      expect(await chunked(text, size, true), `byte chunks of ${size}`).toEqual(whole);
    }
  });

  it('refuses a record longer than the limit (a quote that never closes in a huge file), naming its line', async () => {
    const err = await read(['a\n1\n"', 'x'.repeat(200), '\n2\n'], { maxRecordChars: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsvFormatError);
    expect(err).toMatchObject({ line: 3, message: expect.stringMatching(/line 3 is longer than 100 characters/) });
    await expect(parseCsv('a', { delimiter: '"' })).rejects.toThrow(/delimiter/);
  });

  it('reads from an async stream and counts bytes', async () => {
    let bytes = 0;
    const out: CsvRecord[] = [];
    for await (const r of readCsv(pieces([Buffer.from('phone,na'), Buffer.from('me\n1,Ann\n2,'), 'Bob']), { onBytes: (n) => (bytes += n) })) out.push(r);
    expect(fields(out)).toEqual([['phone', 'name'], ['1', 'Ann'], ['2', 'Bob']]);
    expect(bytes).toBe(22);
  });

  it('supports another delimiter', async () => {
    expect(fields(await parseCsv('a;b\n"x;y";2\n', { delimiter: ';' }))).toEqual([['a', 'b'], ['x;y', '2']]);
  });
});
