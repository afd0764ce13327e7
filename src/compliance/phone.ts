// Phone numbers at the edge: parse any input (national format with the campaign's default
// country, or international) into E.164 with a clear error, and mask numbers for staff displays.
import { isSupportedCountry, parsePhoneNumberFromString, parsePhoneNumberWithError, ParseError, validatePhoneNumberLength, type CountryCode } from 'libphonenumber-js/max';
import { DEFAULT_EMERGENCY_NUMBERS, type NumberTypeName } from './policy.js';

export type ParsePhoneResult =
  | { ok: true; e164: string; country: string | null; type: NumberTypeName | null }
  | { ok: false; error: string };

const PARSE_ERRORS: Record<string, string> = {
  INVALID_COUNTRY: 'has no country: write it in international form (+<country code>...) or set a default country',
  NOT_A_NUMBER: 'is not a phone number',
  TOO_SHORT: 'is too short to be a phone number',
  TOO_LONG: 'is too long to be a phone number',
  INVALID_LENGTH: 'has a length no number of its country has',
};

/** Uses libphonenumber's "max" metadata so number types (premium rate, toll free, ...) are known. */
export function parsePhone(input: string, defaultCountry?: string): ParsePhoneResult {
  const shown = JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input);
  if (defaultCountry !== undefined && !isSupportedCountry(defaultCountry)) {
    return { ok: false, error: `default country ${JSON.stringify(defaultCountry)} is not an ISO 3166 country code libphonenumber knows (e.g. "US", "GB", "CN")` };
  }
  if (DEFAULT_EMERGENCY_NUMBERS.includes(input.replace(/[\s()+-]/g, ''))) {
    return { ok: false, error: `${shown} is an emergency number and is never dialed` };
  }
  try {
    const p = parsePhoneNumberWithError(input, defaultCountry as CountryCode | undefined);
    if (!p.isValid()) {
      const length = validatePhoneNumberLength(input, defaultCountry as CountryCode | undefined);
      if (length !== undefined) return { ok: false, error: `${shown} ${PARSE_ERRORS[length] ?? length}` };
      return { ok: false, error: `${shown} is not a valid number in ${p.country ?? `country code +${p.countryCallingCode}`}: no such number range` };
    }
    return { ok: true, e164: p.number, country: p.country ?? null, type: p.getType() ?? null };
  } catch (err) {
    if (err instanceof ParseError) return { ok: false, error: `${shown} ${PARSE_ERRORS[err.message] ?? err.message}` };
    throw err;
  }
}

/**
 * The type of a number already in E.164 (the dial path's numbers were validated at import): null
 * when libphonenumber finds it invalid or of no known type, as parsePhone's `type` would be for it.
 * One pattern match (getType) where parsePhone runs two (isValid, then getType): the decision
 * profiles every number it dials.
 */
export function numberTypeOf(e164: string): NumberTypeName | null {
  if (DEFAULT_EMERGENCY_NUMBERS.includes(e164.replace(/[\s()+-]/g, ''))) return null;
  return (parsePhoneNumberFromString(e164)?.getType() as NumberTypeName | undefined) ?? null;
}

/**
 * Hides the middle four digits of the national number (A.9: +86 13812345678 → +86 138****5678),
 * keeping the country code so staff still see where the callee is.
 */
export function maskPhone(phone: string): string {
  const p = parsePhoneNumberFromString(phone);
  const national = p?.nationalNumber ?? phone.replace(/\D/g, '');
  const prefix = p ? `+${p.countryCallingCode} ` : '';
  if (national.length <= 4) return `${prefix}${'*'.repeat(national.length)}`;
  const start = Math.max(0, Math.floor((national.length - 4) / 2));
  return `${prefix}${national.slice(0, start)}****${national.slice(start + 4)}`;
}
