// A small streaming CSV parser (RFC 4180): quoted fields, doubled quotes inside them, commas and
// line breaks inside quotes, CRLF / LF / CR line ends, a leading UTF-8 byte-order mark. It is fed
// chunks (bytes or text) and hands back whole records with the line each one starts on, so that a
// 1 GB upload never sits in memory and every problem can be reported by line.
// Kept over npm csv-parse: with the options this importer needs, csv-parse took about 10 times the
// CPU to parse 100,000 rows (0.70-0.75 s against 0.07 s) and the whole import 21% more process CPU
// (bench/csv.ts; docs/performance.md), and its line count is off after a CRLF inside quotes.

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
  /** Drop records that are one empty field (blank lines). Default true. */
  skipEmptyLines?: boolean;
  /** Longest record, in characters, before the input is declared unreadable. Default 1,000,000. */
  maxRecordChars?: number;
}

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  /** A quote seen inside a quoted field: either the first of a doubled quote or the closing one. */
  QuoteInQuoted,
}

const QUOTE = 34; // "
const CR = 13;
const LF = 10;

export class CsvParser {
  private readonly delimiter: number;
  private readonly skipEmpty: boolean;
  private readonly maxChars: number;
  private state = State.FieldStart;
  private field = '';
  private fields: string[] = [];
  private recordChars = 0;
  private recordError: string | undefined;
  /** The record had a quoted field: `""` alone on a line is a value, not a blank line. */
  private recordQuoted = false;
  /** Line the current record started on, and the line the parser is on now. */
  private recordLine = 1;
  private line = 1;
  /** The previous character was a CR: an LF right after it belongs to the same line end. */
  private afterCr = false;
  private started = false;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(options: CsvOptions = {}) {
    const d = options.delimiter ?? ',';
    if (d.length !== 1 || d === '"' || d === '\r' || d === '\n') throw new Error('the CSV delimiter must be one character other than a quote or a line break');
    this.delimiter = d.charCodeAt(0);
    this.skipEmpty = options.skipEmptyLines ?? true;
    this.maxChars = options.maxRecordChars ?? 1_000_000;
  }

  /** Parses a chunk; returns the records it completed. Bytes are decoded as UTF-8 (split characters are kept for the next chunk). */
  push(chunk: Uint8Array | string): CsvRecord[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    return this.parse(text);
  }

  /** Ends the input; returns the last record if the input did not end with a line break. */
  end(): CsvRecord[] {
    const out = this.parse(this.decoder.decode());
    if (this.state === State.Quoted) {
      this.recordError ??= `a quoted field opened on line ${this.recordLine} is never closed`;
    }
    if (this.state !== State.FieldStart || this.fields.length > 0) {
      this.endField();
      this.endRecord(out);
    }
    return out;
  }

  private parse(input: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    let text = input;
    if (!this.started && text.length > 0) {
      this.started = true;
      // TextDecoder drops a BOM from bytes; text handed in directly may still carry one.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const n = text.length;
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (this.afterCr) {
        this.afterCr = false;
        if (c === LF) {
          // The LF of a CRLF: inside quotes it is part of the value, outside it was consumed with the CR.
          if (this.state === State.Quoted) this.field += '\n';
          i++;
          continue;
        }
      }
      switch (this.state) {
        case State.FieldStart:
          if (c === QUOTE) {
            this.state = State.Quoted;
            this.recordQuoted = true;
            i++;
          } else if (c === this.delimiter) {
            this.endField();
            i++;
          } else if (c === CR || c === LF) {
            this.lineBreak(c);
            this.endField();
            this.endRecord(out);
            i++;
          } else {
            this.state = State.Unquoted;
          }
          break;
        case State.Unquoted: {
          // Take the run of ordinary characters in one slice.
          let j = i;
          while (j < n) {
            const d = text.charCodeAt(j);
            if (d === this.delimiter || d === CR || d === LF) break;
            j++;
          }
          this.append(text, i, j);
          i = j;
          if (i < n) {
            const d = text.charCodeAt(i);
            this.endField();
            this.state = State.FieldStart;
            if (d === CR || d === LF) {
              this.lineBreak(d);
              this.endRecord(out);
            }
            i++;
          }
          break;
        }
        case State.Quoted: {
          let j = i;
          while (j < n) {
            const d = text.charCodeAt(j);
            if (d === QUOTE || d === CR || d === LF) break;
            j++;
          }
          this.append(text, i, j);
          i = j;
          if (i < n) {
            const d = text.charCodeAt(i);
            if (d === QUOTE) this.state = State.QuoteInQuoted;
            else {
              // A line break inside quotes is part of the value; it still moves the line count.
              this.field += d === CR ? '\r' : '\n';
              this.lineBreak(d);
            }
            i++;
          }
          break;
        }
        case State.QuoteInQuoted:
          if (c === QUOTE) {
            this.field += '"';
            this.state = State.Quoted;
            i++;
          } else if (c === this.delimiter) {
            this.endField();
            this.state = State.FieldStart;
            i++;
          } else if (c === CR || c === LF) {
            this.lineBreak(c);
            this.endField();
            this.state = State.FieldStart;
            this.endRecord(out);
            i++;
          } else {
            // "abc"def: keep the text (as most readers do) but mark the record.
            this.recordError ??= `text after the closing quote of field ${this.fields.length + 1}: a quote inside a quoted field must be doubled ("")`;
            this.state = State.Unquoted;
          }
          break;
      }
    }
    return out;
  }

  private append(text: string, from: number, to: number): void {
    if (to <= from) return;
    this.recordChars += to - from;
    if (this.recordChars > this.maxChars) {
      throw new CsvFormatError(
        `the record starting on line ${this.recordLine} is longer than ${this.maxChars.toLocaleString('en-US')} characters: probably a quote that is never closed`,
        this.recordLine,
      );
    }
    this.field += from === 0 && to === text.length ? text : text.slice(from, to);
  }

  private lineBreak(c: number): void {
    this.line++;
    if (c === CR) this.afterCr = true;
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = '';
  }

  private endRecord(out: CsvRecord[]): void {
    const fields = this.fields;
    const blank = fields.length === 1 && fields[0] === '' && !this.recordQuoted && this.recordError === undefined;
    if (!(blank && this.skipEmpty)) {
      const rec: CsvRecord = { fields, line: this.recordLine };
      if (this.recordError !== undefined) rec.error = this.recordError;
      out.push(rec);
    }
    this.fields = [];
    this.recordChars = 0;
    this.recordError = undefined;
    this.recordQuoted = false;
    this.recordLine = this.line;
    this.state = State.FieldStart;
  }
}

/** Reads records from a byte or text stream, one at a time; `onBytes` sees the size of each chunk read. */
export async function* readCsv(
  source: AsyncIterable<Uint8Array | string>,
  options: CsvOptions & { onBytes?: (n: number) => void } = {},
): AsyncGenerator<CsvRecord> {
  const parser = new CsvParser(options);
  for await (const chunk of source) {
    options.onBytes?.(typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength);
    yield* parser.push(chunk);
  }
  yield* parser.end();
}

/** Parses a whole string (tests, small inputs). */
export function parseCsv(text: string, options: CsvOptions = {}): CsvRecord[] {
  const p = new CsvParser(options);
  return [...p.push(text), ...p.end()];
}
