// Header mapping and row checks for contact imports (and the API's single contact).
import { describe, expect, it } from 'vitest';
import { checkContact, HeaderError, isCountryCode, mapHeader, rawFromRow, shown } from '../../../src/contacts/validate.js';

describe('mapHeader', () => {
  it('maps known columns regardless of case and spacing; others become attributes', () => {
    const m = mapHeader(['Phone', ' Name ', 'Time Zone', 'priority', 'External-ID', 'segment', 'product interest', 'postalTimeZone']);
    expect(m.fields).toEqual(['phone', 'name', 'time_zone', 'priority', 'external_id', 'segment']);
    expect(m.attributeKeys).toEqual(['product interest', 'postalTimeZone']);
    expect(m.width).toBe(8);
    expect(mapHeader(['timezone', 'phone']).fields).toEqual(['time_zone', 'phone']);
  });

  it('refuses a header without a phone column, with duplicates, or with a nameless column', () => {
    expect(() => mapHeader(['name', 'segment'])).toThrow(/no "phone" column/);
    expect(() => mapHeader(['phone;name;segment'])).toThrow(/separated by ";"/);
    expect(() => mapHeader(['phone', 'Phone'])).toThrow(/columns 1 and 2 .* both "phone"/);
    expect(() => mapHeader(['phone', 'notes', 'notes'])).toThrow(HeaderError);
    expect(() => mapHeader(['phone', '', 'name'])).toThrow(/column 2 of the header has no name/);
  });
});

describe('rawFromRow', () => {
  const m = mapHeader(['phone', 'name', 'notes']);
  it('takes fields by position; empty attribute cells become null (removed on update)', () => {
    expect(rawFromRow(m, ['+13055550100', 'Ann', ''])).toEqual({ ok: true, raw: { phone: '+13055550100', name: 'Ann', attributes: { notes: null } } });
  });
  it('reports a row with more or fewer fields than the header', () => {
    const short = rawFromRow(m, ['+13055550100']);
    expect(short).toMatchObject({ ok: false, problem: { field: '(row)', problem: expect.stringMatching(/has 1 field but the header has 3/) } });
    const long = rawFromRow(m, ['+13055550100', 'Smith', ' Ann', 'x']);
    expect(long).toMatchObject({ ok: false, problem: { value: '+13055550100,Smith, Ann,x', problem: expect.stringMatching(/has 4 fields.*quote values/) } });
  });
});

describe('checkContact', () => {
  it('normalises a good row: national phone with the default country, zone, segment, priority, attributes', () => {
    const r = checkContact(
      { phone: ' (305) 555-0123 ', name: ' Ann Lee ', segment: 'Owner', time_zone: 'america/new_york', priority: '+5', external_id: 'crm-1', attributes: { product: 'loan ', empty: null } },
      'US',
    );
    expect(r).toEqual({
      ok: true,
      contact: { phone: '+13055550123', name: 'Ann Lee', segment: 'owner', time_zone: 'America/New_York', priority: 5, external_id: 'crm-1', attributes: { product: 'loan' } },
    });
  });

  it('reads national numbers of the campaign country and international ones of any country', () => {
    expect(checkContact({ phone: '020 7946 0123' }, 'GB')).toMatchObject({ ok: true, contact: { phone: '+442079460123' } });
    expect(checkContact({ phone: '+86 138 1234 5678' }, 'US')).toMatchObject({ ok: true, contact: { phone: '+8613812345678' } });
    expect(checkContact({ phone: '138 1234 5678' }, 'CN')).toMatchObject({ ok: true, contact: { phone: '+8613812345678' } });
  });

  it('empty optional fields are null and priority defaults to 0', () => {
    expect(checkContact({ phone: '+13055550123', name: '  ', segment: '', time_zone: '', priority: '', external_id: '' }, 'US')).toEqual({
      ok: true,
      contact: { phone: '+13055550123', name: null, segment: null, time_zone: null, priority: 0, external_id: null, attributes: {} },
    });
  });

  it('reports every problem of a row, each with its field, the value and what is wrong', () => {
    const r = checkContact({ phone: 'call me', time_zone: 'Mars/Olympus', priority: '1.5', segment: 'small business', name: 'x'.repeat(201) }, 'US');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const byField = Object.fromEntries(r.problems.map((p) => [p.field, p]));
    expect(Object.keys(byField).sort()).toEqual(['name', 'phone', 'priority', 'segment', 'time_zone']);
    expect(byField.phone!.problem).toMatch(/is not a phone number/);
    expect(byField.time_zone).toEqual({ field: 'time_zone', value: 'Mars/Olympus', problem: expect.stringMatching(/not an IANA time zone/) });
    expect(byField.priority!.problem).toMatch(/whole number/);
    expect(byField.segment!.problem).toMatch(/segment name/);
    expect(byField.name!.problem).toMatch(/longer than 200/);
    expect(byField.name!.value).toHaveLength(61); // shortened for the report
  });

  it.each([
    [{ phone: '' }, /every contact needs a phone/],
    [{}, /every contact needs a phone/],
    [{ phone: '911' }, /emergency number/],
    [{ phone: '555-01' }, /too short|not a valid number/],
    [{ phone: '+1 305 555 0123', priority: '99999999' }, /whole number/],
    [{ phone: '+1 305 555 0123', priority: 2.5 }, /whole number/],
    [{ phone: '+1 305 555 0123', time_zone: 'EST5EDT-nope' }, /IANA/],
    [{ phone: '+1 305 555 0123', name: 'Jos\uFFFD' }, /not UTF-8/],
    [{ phone: '+1 305 555 0123', attributes: { notes: 'x'.repeat(1001) } }, /longer than 1000/],
  ])('rejects %j', (raw, problem) => {
    const r = checkContact(raw, 'US');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.problem).join(' | ')).toMatch(problem);
  });

  it('keeps JSON attribute types from the API', () => {
    expect(checkContact({ phone: '+13055550123', attributes: { vip: true, score: 7, note: 'hi' } }, 'US')).toMatchObject({
      ok: true, contact: { attributes: { vip: true, score: 7, note: 'hi' } },
    });
  });

  it('knows country codes and shortens long values', () => {
    expect(isCountryCode('US')).toBe(true);
    expect(isCountryCode('XX')).toBe(false);
    expect(isCountryCode('us')).toBe(false);
    expect(shown('a'.repeat(100))).toBe(`${'a'.repeat(60)}…`);
    expect(shown('short')).toBe('short');
  });
});
