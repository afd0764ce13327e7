// What a contact may be: the header of an import file mapped to contact fields, and one row (or one
// API body) checked and normalised — phone to E.164 with the campaign's default country, time zone
// to its IANA name, priority to an integer, everything else to JSON attributes. Pure: no I/O.
import { isSupportedCountry } from 'libphonenumber-js/max';
import { parsePhone } from '../compliance/phone.js';
import { isKnownTimeZone } from '../compliance/rules/local-time.js';

/** The columns an import maps to contact fields; any other column becomes an attribute. */
export const CONTACT_FIELDS = ['phone', 'name', 'segment', 'time_zone', 'priority', 'external_id'] as const;
export type ContactField = (typeof CONTACT_FIELDS)[number];
/** The fields an update may change (the phone is the contact's key within its campaign). */
export type UpdatableField = Exclude<ContactField, 'phone'>;

export type AttributeValue = string | number | boolean;

/** A problem with one value of one row; `line` is added by the import. */
export interface FieldProblem {
  field: string;
  value: string;
  problem: string;
}

/** A contact ready to store. `attributes` holds the non-empty attribute values given. */
export interface ContactValues {
  phone: string;
  name: string | null;
  segment: string | null;
  time_zone: string | null;
  priority: number;
  external_id: string | null;
  attributes: Record<string, AttributeValue>;
}

/** A contact as given: undefined = not given (left alone on update); null or "" = cleared. */
export interface RawContact {
  phone?: string | null;
  name?: string | null;
  segment?: string | null;
  time_zone?: string | null;
  priority?: string | number | null;
  external_id?: string | null;
  attributes?: Record<string, AttributeValue | null>;
}

export type ContactCheck = { ok: true; contact: ContactValues } | { ok: false; problems: FieldProblem[] };

export const LIMITS = { name: 200, externalId: 200, attributeKey: 100, attributeValue: 1000, attributes: 100, priority: 1_000_000 } as const;

const SEGMENT = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const SHOWN = 60;

/** A value as the error report shows it: at most 60 characters. */
export function shown(value: string): string {
  return value.length > SHOWN ? `${value.slice(0, SHOWN)}…` : value;
}

/** Header names are matched without regard to case, spaces or hyphens: "Time Zone" is time_zone. */
export function normaliseHeader(name: string): string {
  return name.trim().toLowerCase().replace(/[\s-]+/g, '_');
}

const ALIASES: Record<string, ContactField> = { timezone: 'time_zone', externalid: 'external_id' };

export type HeaderColumn = { index: number; field: ContactField } | { index: number; attribute: string };

export interface HeaderMap {
  columns: HeaderColumn[];
  width: number;
  /** Contact fields the file has columns for (an update changes only these). */
  fields: ContactField[];
  /** Attribute keys the file has columns for (an update replaces only these). */
  attributeKeys: string[];
}

export class HeaderError extends Error {
  override readonly name = 'HeaderError';
}

/** Maps the header row to fields and attributes; a header without a phone column is unusable. */
export function mapHeader(header: readonly string[]): HeaderMap {
  const columns: HeaderColumn[] = [];
  const seen = new Map<string, number>();
  const fields: ContactField[] = [];
  const attributeKeys: string[] = [];
  header.forEach((raw, index) => {
    const name = raw.trim();
    if (name === '') throw new HeaderError(`column ${index + 1} of the header has no name: name it (e.g. "notes") or remove the column`);
    const norm = normaliseHeader(name);
    const field = (CONTACT_FIELDS as readonly string[]).includes(norm) ? (norm as ContactField) : ALIASES[norm];
    const key = field ?? `attr:${name}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) throw new HeaderError(`columns ${earlier + 1} and ${index + 1} of the header are both "${field ?? name}": keep one`);
    seen.set(key, index);
    if (field) {
      columns.push({ index, field });
      fields.push(field);
    } else {
      if (name.length > LIMITS.attributeKey) throw new HeaderError(`column ${index + 1}'s name is longer than ${LIMITS.attributeKey} characters`);
      columns.push({ index, attribute: name });
      attributeKeys.push(name);
    }
  });
  if (!fields.includes('phone')) {
    const joined = header.join(',');
    const hint = /[;\t|]/.test(joined) && header.length === 1
      ? ' (the header looks separated by ";" or tabs: save the file as comma-separated CSV)'
      : '';
    throw new HeaderError(`the header has no "phone" column${hint}; the first line must name the columns, e.g. phone,name,segment,time_zone,priority,external_id`);
  }
  if (attributeKeys.length > LIMITS.attributes) throw new HeaderError(`the header has ${attributeKeys.length} attribute columns; at most ${LIMITS.attributes} are kept per contact`);
  return { columns, width: header.length, fields, attributeKeys };
}

/** One CSV row as a raw contact; a row with more or fewer fields than the header is a problem of its own. */
export function rawFromRow(map: HeaderMap, fields: readonly string[]): { ok: true; raw: RawContact } | { ok: false; problem: FieldProblem } {
  if (fields.length !== map.width) {
    return {
      ok: false,
      problem: {
        field: '(row)',
        value: shown(fields.join(',')),
        problem: `has ${fields.length} field${fields.length === 1 ? '' : 's'} but the header has ${map.width}: quote values that contain commas or line breaks`,
      },
    };
  }
  const raw: RawContact = {};
  const attributes: Record<string, string | null> = {};
  for (const col of map.columns) {
    const value = fields[col.index] ?? '';
    if ('field' in col) raw[col.field] = value;
    else attributes[col.attribute] = value.trim() === '' ? null : value;
  }
  if (map.attributeKeys.length > 0) raw.attributes = attributes;
  return { ok: true, raw };
}

/** Whether `country` can be a default country for parsing phones ("US", "GB", ...). */
export function isCountryCode(country: string): boolean {
  return /^[A-Z]{2}$/.test(country) && isSupportedCountry(country);
}

/** Zone as written → its IANA spelling. Building an Intl formatter costs ~0.1 ms; a file has few zones. */
const zoneNames = new Map<string, string>();

function canonicalZone(zone: string): string | null {
  const known = zoneNames.get(zone);
  if (known !== undefined) return known;
  if (!isKnownTimeZone(zone)) return null;
  const canonical = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  if (zoneNames.size < 5000) zoneNames.set(zone, canonical);
  return canonical;
}

const NOT_UTF8 = 'has bytes that are not UTF-8 text: save the file as "CSV UTF-8"';

/** Checks and normalises one contact; every problem of the row is reported, not just the first. */
export function checkContact(raw: RawContact, defaultCountry: string | undefined): ContactCheck {
  const problems: FieldProblem[] = [];
  const bad = (field: string, value: string, problem: string) => problems.push({ field, value: shown(value), problem });
  const text = (field: ContactField, max: number): string | null => {
    const v = raw[field];
    if (v === undefined || v === null) return null;
    const s = String(v).trim();
    if (s === '') return null;
    if (s.includes('\uFFFD')) bad(field, s, NOT_UTF8);
    else if (s.length > max) bad(field, s, `is longer than ${max} characters`);
    return s;
  };

  let phone = '';
  const phoneIn = raw.phone?.trim() ?? '';
  if (phoneIn === '') bad('phone', phoneIn, 'is empty: every contact needs a phone number');
  else {
    const p = parsePhone(phoneIn, defaultCountry);
    if (p.ok) phone = p.e164;
    else bad('phone', phoneIn, p.error);
  }

  const name = text('name', LIMITS.name);
  const externalId = text('external_id', LIMITS.externalId);

  let segment = text('segment', 64);
  if (segment !== null) {
    const lower = segment.toLowerCase();
    if (!SEGMENT.test(lower)) {
      if (!problems.some((p) => p.field === 'segment')) {
        bad('segment', segment, 'must be a short segment name such as "owner" or "small-business" (letters, digits, _ and -; policies match segments by this name)');
      }
    }
    segment = lower;
  }

  let timeZone = text('time_zone', 64);
  if (timeZone !== null && !problems.some((p) => p.field === 'time_zone')) {
    const canonical = canonicalZone(timeZone);
    if (canonical === null) bad('time_zone', timeZone, 'is not an IANA time zone: write it like "America/New_York" or "Europe/London"');
    timeZone = canonical;
  }

  let priority = 0;
  const pr = raw.priority;
  if (typeof pr === 'number') {
    if (!Number.isInteger(pr) || Math.abs(pr) > LIMITS.priority) bad('priority', String(pr), `must be a whole number from -${LIMITS.priority} to ${LIMITS.priority}`);
    else priority = pr;
  } else if (typeof pr === 'string' && pr.trim() !== '') {
    const s = pr.trim();
    const n = /^[+-]?\d{1,7}$/.test(s) ? Number(s) : Number.NaN;
    if (!Number.isInteger(n) || Math.abs(n) > LIMITS.priority) bad('priority', s, `must be a whole number from -${LIMITS.priority} to ${LIMITS.priority} (higher is dialed first)`);
    else priority = n;
  }

  const attributes: Record<string, AttributeValue> = {};
  const given = Object.entries(raw.attributes ?? {});
  if (given.length > LIMITS.attributes) bad('attributes', `${given.length} keys`, `has more than ${LIMITS.attributes} keys`);
  for (const [key, value] of given) {
    if (key.trim() === '' || key.length > LIMITS.attributeKey) {
      bad('attributes', key, `attribute names must be 1 to ${LIMITS.attributeKey} characters`);
      continue;
    }
    if (value === null) continue;
    if (typeof value === 'string') {
      if (value.includes('\uFFFD')) bad(key, value, NOT_UTF8);
      else if (value.length > LIMITS.attributeValue) bad(key, value, `is longer than ${LIMITS.attributeValue} characters`);
      else if (value.trim() !== '') attributes[key] = value.trim();
    } else if (typeof value === 'number' && !Number.isFinite(value)) {
      bad(key, String(value), 'must be a finite number');
    } else attributes[key] = value;
  }

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, contact: { phone, name, segment, time_zone: timeZone, priority, external_id: externalId, attributes } };
}
