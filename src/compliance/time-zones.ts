// The callee's time zones: the contact's own known zone, else its postal-code zone, else the
// zones libphonenumber's data gives the number (area code, with exchange-level overrides).
// On the dial hot path, so lookups are cached (LRU) per exchange for NANP and per number elsewhere.
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { phoneTimeZones } from './phone-data.js';
import { Lru } from './lru.js';
import { isKnownTimeZone } from './rules/local-time.js';

export { parsePhone, maskPhone, type ParsePhoneResult } from './phone.js';
export { isKnownTimeZone } from './rules/local-time.js';

export interface ContactZones {
  timeZone?: string | null;
  postalTimeZone?: string | null;
}

const cache = new Lru<string, Promise<readonly string[]>>(50_000);

/**
 * libphonenumber's NANP time-zone data goes no finer than NPA-NXX ("1850432"), so every number of
 * one exchange shares an answer; other countries are cached per number (their data goes deeper).
 */
export function zoneCacheKey(e164: string): string {
  return e164.startsWith('+1') ? e164.slice(0, 8) : e164;
}

async function lookup(e164: string): Promise<readonly string[]> {
  const parsed = parsePhoneNumberFromString(e164);
  if (parsed === undefined) return [];
  const zones = phoneTimeZones(parsed.number);
  if (zones.length === 0) return [];
  return Object.freeze([...new Set(zones)].filter(isKnownTimeZone).sort());
}

/** The zones of the number alone; [] when unknown. */
export async function numberTimeZones(phoneE164: string): Promise<string[]> {
  if (!/^\+[1-9]\d{5,14}$/.test(phoneE164)) return [];
  const key = zoneCacheKey(phoneE164);
  let pending = cache.get(key);
  if (pending === undefined) {
    pending = lookup(phoneE164).catch(() => Object.freeze([]) as readonly string[]);
    cache.set(key, pending);
    // An empty answer may be a failed read: do not remember it.
    void pending.then((z) => { if (z.length === 0) cache.delete(key); });
  }
  return [...(await pending)];
}

/** Contact's own zone, then postal zone, then the number's zones; [] = unknown (never dialed). */
export async function resolveTimeZones(phoneE164: string, contact?: ContactZones): Promise<string[]> {
  for (const z of [contact?.timeZone, contact?.postalTimeZone]) {
    if (typeof z === 'string' && isKnownTimeZone(z)) return [z];
  }
  return numberTimeZones(phoneE164);
}
