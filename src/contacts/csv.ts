// Reading contacts CSV with csv-parse (RFC 4180: quoted fields, doubled quotes, commas and line
// breaks inside quotes; CRLF / LF / CR line ends; a leading BOM). Input is fed in chunks (bytes or
// text), so a 1 GB upload never sits in memory, and every record carries the line it starts on,
// so that each problem is reported by line. Ragged rows and quotes inside unquoted fields are kept
// as they are (the importer judges them); a malformed record is one record's problem, never the
// whole file's, except one longer than the limit (a quote never closed in a huge file).
import { parse, type CsvError, type InfoRecord } from 'csv-parse';

/** One record: its fields as written (quotes removed), and where it starts in the file. */
export interface CsvRecord {
  fields: string[];
  /** 1-based physical line the record starts on (a quoted line break makes records span lines). */
  line: number;
  /** Set when the record is malformed (text after a closing quote, a quote never closed). */
  error?: string;
}

/** A problem that makes the rest of the input unreadable (not one bad record). */
export class CsvFormatError extends Error {
  override readonly name = 'CsvFormatError';
  constructor(message: string, readonly line: number) {
    super(message);
  }
}

export interface CsvOptions {
  /** Field separator; one character. Default ",". */
  delimiter?: string;
  /** Drop blank lines. Default true. */
  skipEmptyLines?: boolean;
  /** Longest record, in characters, before the input is declared unreadable. Default 1,000,000. */
  maxRecordChars?: number;
}

const breaks = (s: string): number => {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10 || c === 13) n++;
  }
  return n;
};
const crlfs = (s: string): number => s.split('\r\n').length - 1;

/**
 * One CSV input: a csv-parse parser whose records and per-record errors land, in file order, in
 * `ready`. Line numbers: csv-parse's `info.lines` is the line a record ends on, and it counts a
 * CRLF inside quotes as two lines; `drift` corrects that for every record after one.
 */
class CsvReader {
  readonly ready: CsvRecord[] = [];
  private fatal: CsvFormatError | null = null;
  private failed: Error | null = null;
  /** CRLF pairs inside quoted fields so far (csv-parse counted each as two lines). */
  private drift = 0;
  /** The line the last record ended on. */
  private lastEnd = 0;
  private readonly parser;

  constructor(options: CsvOptions) {
    const d = options.delimiter ?? ',';
    if (d.length !== 1 || d === '"' || d === '\r' || d === '\n') throw new Error('the CSV delimiter must be one character other than a quote or a line break');
    const maxChars = options.maxRecordChars ?? 1_000_000;
    this.parser = parse({
      bom: true,
      delimiter: d,
      record_delimiter: ['\r\n', '\n', '\r'],
      skip_empty_lines: options.skipEmptyLines ?? true,
      relax_column_count: true,
      relax_quotes: true,
      max_record_size: maxChars,
      // raw: a skipped record's text (for its line); records then come as { record, raw }, which
      // csv-parse's types do not model. The second argument is the record's `info`.
      raw: true,
      skip_records_with_error: true,
      on_record: (rec: string[], info: InfoRecord) => {
        this.onRecord((rec as unknown as { record: string[] }).record, info);
        return null; // collected here, in order with the skipped ones; nothing queues in the stream
      },
      on_skip: (err: CsvError | undefined, raw: string | undefined) => {
        this.onSkip(err, raw ?? '', maxChars);
        return undefined;
      },
    });
    this.parser.on('error', (err: Error) => (this.failed ??= err));
  }

  private onRecord(fields: string[], info: InfoRecord): void {
    let inside = 0;
    let pairs = 0;
    for (const f of fields) {
      inside += breaks(f);
      pairs += crlfs(f);
    }
    const line = info.lines - inside - this.drift;
    this.drift += pairs;
    this.lastEnd = line + inside - pairs;
    const rec: CsvRecord = { fields, line };
    // With relax_quotes, `"Al"ex` comes through as written: a field that still opens with a quote
    // had text after its closing quote.
    const bad = fields.findIndex((f) => f.charCodeAt(0) === 34);
    if (bad >= 0) rec.error = `text after the closing quote of field ${bad + 1}: a quote inside a quoted field must be doubled ("")`;
    this.ready.push(rec);
  }

  private onSkip(err: CsvError | undefined, raw: string, maxChars: number): void {
    // The raw text starts with the line ends of blank lines skipped before the record.
    const text = raw.replace(/^[\r\n]+/, '');
    const line = this.lastEnd + 1 + (raw.length - text.length);
    this.lastEnd = line + breaks(text);
    if (err?.code === 'CSV_MAX_RECORD_SIZE') {
      this.fatal ??= new CsvFormatError(`the record starting on line ${line} is longer than ${maxChars.toLocaleString('en-US')} characters: probably a quote that is never closed`, line);
      return;
    }
    const error = err?.code === 'CSV_QUOTE_NOT_CLOSED' ? `a quoted field opened on line ${line} is never closed` : (err?.message ?? 'unreadable record');
    this.ready.push({ fields: [text.replace(/[\r\n]+$/, '')], line, error });
  }

  private check(): void {
    if (this.fatal) throw this.fatal;
    if (this.failed) throw this.failed;
  }

  /** Parses a chunk; its records are in `ready` when this resolves. */
  async push(chunk: Uint8Array | string): Promise<void> {
    this.check();
    await new Promise<void>((resolve) => this.parser.write(chunk, () => resolve()));
    this.check();
  }

  /** Ends the input (the last record may have had no line break). */
  async end(): Promise<void> {
    this.check();
    await new Promise<void>((resolve) => {
      this.parser.once('error', () => resolve());
      this.parser.end(() => resolve());
    });
    this.check();
  }
}

/** Reads records from a byte or text stream, one at a time; `onBytes` sees the size of each chunk read. */
export async function* readCsv(
  source: AsyncIterable<Uint8Array | string>,
  options: CsvOptions & { onBytes?: (n: number) => void } = {},
): AsyncGenerator<CsvRecord> {
  const reader = new CsvReader(options);
  for await (const chunk of source) {
    options.onBytes?.(typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength);
    await reader.push(chunk);
    yield* reader.ready.splice(0);
  }
  await reader.end();
  yield* reader.ready.splice(0);
}

/** Parses a whole string (tests, small inputs). */
export async function parseCsv(text: string, options: CsvOptions = {}): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for await (const r of readCsv((async function* () { yield text; })(), options)) out.push(r);
  return out;
}
