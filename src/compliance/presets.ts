// Built-in policies shipped with the product. Each is an ordinary policy document (validated
// against the schema at load), so an administrator can copy one and change it like any other.
import { usFederalHolidays } from './data/us-holidays.js';
import { policySchema, WEEKDAYS, type Policy, type PolicyInput } from './policy.js';

const EVERY_DAY = [...WEEKDAYS];
const MON_SAT = WEEKDAYS.filter((d) => d !== 'sun');

// Florida §501.616 counts calls "on the same subject"; Oklahoma and Maryland likewise. The cap is
// per phone (all campaigns) here: stricter than the statutes; use scope 'product' for the letter.
const THREE_PER_DAY_8_TO_20 = {
  windows: [{ days: EVERY_DAY, start: '08:00', end: '20:00' }],
  caps: [{ scope: 'phone' as const, max: 3, windowHours: 24 }],
};
const NO_SUNDAY_8_TO_20 = { windows: [{ days: MON_SAT, start: '08:00', end: '20:00' }] };

const usFederal: PolicyInput = {
  name: 'us-federal',
  version: 1,
  description: 'TCPA 08:00-21:00 callee local time; FL/OK/MD 08:00-20:00 and 3 calls per 24 h; AL/LA 08:00-20:00, no Sunday or holiday calls. Abandonment (3% per campaign per 30 days) is enforced by pacing.',
  windows: [{ days: EVERY_DAY, start: '08:00', end: '21:00' }],
  holidays: usFederalHolidays(['US-AL', 'US-LA']),
  regions: {
    'US-FL': { description: 'Florida §501.616', ...THREE_PER_DAY_8_TO_20 },
    'US-OK': { description: 'Oklahoma Telephone Solicitation Act', ...THREE_PER_DAY_8_TO_20 },
    'US-MD': { description: 'Maryland Stop the Spam Calls Act', ...THREE_PER_DAY_8_TO_20 },
    'US-AL': { description: 'Alabama: no Sunday or holiday calls', ...NO_SUNDAY_8_TO_20 },
    'US-LA': { description: 'Louisiana: no Sunday or holiday calls', ...NO_SUNDAY_8_TO_20 },
  },
  dnc: { lists: ['global', 'campaign'], honourRequestsWithinBusinessDays: 10, registryRescrubDays: 31 },
  protected: { types: ['PREMIUM_RATE'] },
  dialing: { maxAbandonedPercent: 3, abandonedMeasurement: 'rolling-30-days', connectToAgentWithinSeconds: 2, minRingSeconds: 15 },
};

const ukOfcom: PolicyInput = {
  name: 'uk-ofcom',
  version: 1,
  // Ofcom sets no calling hours; 08:00-21:00 Mon-Sat and 10:00-21:00 Sun is a common industry
  // guideline, not a legal figure.
  description: 'Guideline hours 08:00-21:00 Mon-Sat, 10:00-21:00 Sun; 72 h rest after an abandoned call unless an agent is guaranteed. Abandonment (3% per campaign per day) is enforced by pacing.',
  windows: [
    { days: MON_SAT, start: '08:00', end: '21:00' },
    { days: ['sun'], start: '10:00', end: '21:00' },
  ],
  rests: [{ after: 'abandoned', hours: 72, scope: 'phone', unlessAgentGuaranteed: true }],
  dnc: { lists: ['global', 'campaign'], registrationEffectiveAfterDays: 28 },
  protected: { types: ['PREMIUM_RATE'] },
  dialing: {
    maxAbandonedPercent: 3, abandonedMeasurement: 'calendar-day', connectToAgentWithinSeconds: 2,
    amdFalsePositivesCountAsAbandoned: true, presentCallerId: true,
  },
};

const callcentreDefault: PolicyInput = {
  name: 'callcentre-default',
  version: 1,
  description: 'Section A: at most 2 calls per 30 days then a 90-day rest after the 2nd, 30 calls per 365 days, one offer of a product per 30 days, stop after 3 refusals of a product, masked numbers, 09:00-20:00 callee local time.',
  windows: [{ days: EVERY_DAY, start: '09:00', end: '20:00' }],
  caps: [
    { id: 'month', scope: 'phone', max: 2, windowHours: 30 * 24 },
    { id: 'year', scope: 'phone', max: 30, windowHours: 365 * 24 },
  ],
  rests: [{ after: 'cap-reached', cap: 'month', hours: 90 * 24 }],
  productOffers: { minIntervalHours: 30 * 24, countOutcomes: ['conversation'] },
  refusals: { stopAfter: 3, scope: 'product' },
  dnc: { lists: ['global', 'campaign'] },
  protected: { types: ['PREMIUM_RATE'], lists: ['*'] },
  maskNumbers: true,
  dialing: { callbackCallerId: 'called-hotline' },
};

export const PRESET_INPUTS: Readonly<Record<string, PolicyInput>> = {
  'us-federal': usFederal,
  'uk-ofcom': ukOfcom,
  'callcentre-default': callcentreDefault,
};

export type PresetName = 'us-federal' | 'uk-ofcom' | 'callcentre-default';

export const PRESETS: Readonly<Record<PresetName, Policy>> = {
  'us-federal': policySchema.parse(usFederal),
  'uk-ofcom': policySchema.parse(ukOfcom),
  'callcentre-default': policySchema.parse(callcentreDefault),
};

export const isPresetName = (name: string): name is PresetName => Object.hasOwn(PRESETS, name);
