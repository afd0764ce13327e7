// The callee's region ("US-FL", "CA-ON", "GB") for regional rules: a contact attribute wins;
// else US/CA numbers are geocoded to a state or province (Florida law presumes a Florida area
// code is a Florida resident), and other numbers give their country.
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { phoneGeocode } from './phone-data.js';
import { CA_PROVINCES, US_STATES } from './data/subdivisions.js';
import { Lru } from './lru.js';
import { REGION_PATTERN } from './policy.js';

const cache = new Lru<string, Promise<string | null>>(50_000);
const US_CODES = new Set(Object.values(US_STATES));
const CA_CODES = new Set(Object.values(CA_PROVINCES));

/** Maps a geocoder answer ("Florida", "Pensacola, FL", "Ontario") to an ISO 3166-2 code. */
export function regionFromGeocode(country: 'US' | 'CA', text: string | null): string | null {
  if (text === null) return null;
  const names = country === 'US' ? US_STATES : CA_PROVINCES;
  const codes = country === 'US' ? US_CODES : CA_CODES;
  const full = names[text.trim()];
  if (full !== undefined) return `${country}-${full}`;
  const abbr = /,\s*([A-Z]{2})$/.exec(text)?.[1];
  return abbr !== undefined && codes.has(abbr) ? `${country}-${abbr}` : null;
}

async function lookup(e164: string): Promise<string | null> {
  const p = parsePhoneNumberFromString(e164);
  if (p === undefined || p.country === undefined) return null;
  if (p.country !== 'US' && p.country !== 'CA') return p.country;
  return regionFromGeocode(p.country, phoneGeocode(p.countryCallingCode, p.nationalNumber));
}

/** Contact's region (validated, e.g. "US-FL") overrides the number's; null when unknown. */
export async function resolveRegion(phoneE164: string, contact?: { region?: string | null }): Promise<string | null> {
  const own = contact?.region?.trim().toUpperCase();
  if (own && REGION_PATTERN.test(own)) return own;
  if (!/^\+[1-9]\d{5,14}$/.test(phoneE164)) return null;
  // NANP geocodes go no finer than the exchange, and area codes do not cross state lines.
  const key = phoneE164.startsWith('+1') ? phoneE164.slice(0, 8) : phoneE164;
  let pending = cache.get(key);
  if (pending === undefined) {
    pending = lookup(phoneE164).catch(() => null);
    cache.set(key, pending);
    void pending.then((r) => { if (r === null) cache.delete(key); });
  }
  return pending;
}
