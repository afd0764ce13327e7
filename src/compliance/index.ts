// The compliance room's public surface: policy documents and presets, phone parsing, time-zone
// and region resolution (async, cached) and the pure, synchronous dial-time decision.
export * from './policy.js';
export * from './presets.js';
export * from './decide.js';
export { parsePhone, maskPhone, type ParsePhoneResult } from './phone.js';
export { resolveTimeZones, numberTimeZones, isKnownTimeZone, type ContactZones } from './time-zones.js';
export { resolveRegion, regionFromGeocode } from './regions.js';
