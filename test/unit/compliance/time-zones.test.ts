// Where the callee is: time zones from libphonenumber's data (area code and exchange precision),
// overridden by the contact's own or postal zone; regions; and parsing at the edge.
import { describe, expect, it } from 'vitest';
import { numberTimeZones, parsePhone, regionFromGeocode, resolveRegion, resolveTimeZones } from '../../../src/compliance/index.js';
import { zoneCacheKey } from '../../../src/compliance/time-zones.js';

describe('resolveTimeZones', () => {
  it.each([
    ['+18504321234', ['America/Chicago']], // Pensacola exchange of 850
    ['+18502221234', ['America/New_York']], // Tallahassee exchange of 850
    ['+19075551234', ['America/Adak', 'America/Anchorage']],
    ['+17015551234', ['America/Denver', 'America/North_Dakota/Center']],
    ['+13055550123', ['America/New_York']],
    ['+12055550123', ['America/Chicago']],
    ['+442071234567', ['Europe/London']],
    ['+8613812345678', ['Asia/Shanghai']],
  ])('%s → %j', async (phone, zones) => {
    expect(await resolveTimeZones(phone)).toEqual(zones);
  });

  it.each([
    ['contact zone wins', { timeZone: 'America/Los_Angeles', postalTimeZone: 'America/Denver' }, ['America/Los_Angeles']],
    ['postal zone next', { timeZone: null, postalTimeZone: 'America/Denver' }, ['America/Denver']],
    ['invalid contact zone ignored', { timeZone: 'Mars/Olympus', postalTimeZone: null }, ['America/Adak', 'America/Anchorage']],
    ['Etc/Unknown ignored', { timeZone: 'Etc/Unknown' }, ['America/Adak', 'America/Anchorage']],
  ])('%s', async (_l, contact, zones) => {
    expect(await resolveTimeZones('+19075551234', contact)).toEqual(zones);
  });

  it.each(['', '12345', '+0123456789', 'not a number'])('unknown for %j', async (phone) => {
    expect(await resolveTimeZones(phone)).toEqual([]);
  });

  it('caches per NANP exchange, per number elsewhere, and hands out copies', async () => {
    expect(zoneCacheKey('+18504321234')).toBe('+1850432');
    expect(zoneCacheKey('+442071234567')).toBe('+442071234567');
    const a = await numberTimeZones('+18504320000');
    a.push('mutated');
    const t0 = performance.now();
    const b = await numberTimeZones('+18504329999');
    expect(performance.now() - t0).toBeLessThan(5);
    expect(b).toEqual(['America/Chicago']);
  });
});

describe('resolveRegion', () => {
  it.each([
    ['+13055550123', undefined, 'US-FL'],
    ['+18504321234', undefined, 'US-FL'], // "Pensacola, FL"
    ['+12055550123', undefined, 'US-AL'],
    ['+14055550123', undefined, 'US-OK'],
    ['+14105550123', undefined, 'US-MD'],
    ['+15045550123', undefined, 'US-LA'],
    ['+12025550123', undefined, 'US-DC'],
    ['+14165550123', undefined, 'CA-ON'],
    ['+442071234567', undefined, 'GB'],
    ['+13055550123', { region: 'us-ga' }, 'US-GA'], // the contact's attribute overrides the number
    ['+13055550123', { region: 'Georgia' }, 'US-FL'], // not an ISO code: ignored
  ])('%s %j → %s', async (phone, contact, region) => {
    expect(await resolveRegion(phone, contact)).toBe(region);
  });

  it.each([
    ['US', 'Florida', 'US-FL'], ['US', 'Miami, FL', 'US-FL'], ['US', 'Washington D.C.', 'US-DC'],
    ['CA', 'North York, ON', 'CA-ON'], ['CA', 'Quebec', 'CA-QC'], ['US', 'Nowhere, ZZ', null], ['US', null, null],
  ] as const)('geocode %s %j → %s', (country, text, region) => {
    expect(regionFromGeocode(country, text)).toBe(region);
  });
});

describe('parsePhone', () => {
  it.each([
    ['(305) 555-0123', 'US', { ok: true, e164: '+13055550123', country: 'US', type: 'FIXED_LINE_OR_MOBILE' }],
    ['+44 20 7123 4567', undefined, { ok: true, e164: '+442071234567', country: 'GB', type: 'FIXED_LINE' }],
    ['138 1234 5678', 'CN', { ok: true, e164: '+8613812345678', country: 'CN', type: 'MOBILE' }],
    ['+1 900 555 1234', undefined, { ok: true, e164: '+19005551234', country: 'US', type: 'PREMIUM_RATE' }],
    ['+1 800 555 1234', undefined, { ok: true, e164: '+18005551234', country: 'US', type: 'TOLL_FREE' }],
  ])('%s (%s) parses', (input, country, result) => {
    expect(parsePhone(input, country)).toEqual(result);
  });

  it.each([
    ['3055550123', undefined, '"3055550123" has no country: write it in international form (+<country code>...) or set a default country'],
    ['hello', 'US', '"hello" is not a phone number'],
    ['+1 555 555 0123', undefined, '"+1 555 555 0123" is not a valid number in country code +1: no such number range'],
    ['911', 'US', '"911" is an emergency number and is never dialed'],
    ['305', 'US', '"305" is too short to be a phone number'],
    ['3055550123', 'USA', 'default country "USA" is not an ISO 3166 country code libphonenumber knows (e.g. "US", "GB", "CN")'],
  ])('%s (%s) → error', (input, country, error) => {
    expect(parsePhone(input, country)).toEqual({ ok: false, error });
  });
});
