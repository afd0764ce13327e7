// `dialwell eligibility <phone> --policy <preset|file> [--at <ISO>] [--country CC] [--json]`:
// the dry-run decision without a database (no history, no DNC: the rules of the policy alone).
// Exit 0 allowed, 1 denied, 2 bad input.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decide, decisionJson } from '../compliance/decide.js';
import { parsePhone } from '../compliance/phone.js';
import { parsePolicy, type Policy } from '../compliance/policy.js';
import { isPresetName, PRESETS } from '../compliance/presets.js';
import { profileNumber } from '../compliance/store/dial-gate.js';
import { CliInputError } from './errors.js';

function loadPolicyArg(arg: string): Policy {
  if (isPresetName(arg)) return PRESETS[arg];
  let text: string;
  try {
    text = readFileSync(arg, 'utf8');
  } catch {
    throw new CliInputError(`--policy "${arg}" is neither a built-in preset (${Object.keys(PRESETS).join(', ')}) nor a readable file`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CliInputError(`--policy ${arg} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = parsePolicy(json);
  if (!parsed.ok) throw new CliInputError(`--policy ${arg} is not a valid policy:\n  ${parsed.errors.join('\n  ')}`);
  return parsed.policy;
}

export async function runEligibility(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      policy: { type: 'string', multiple: true },
      at: { type: 'string' },
      country: { type: 'string' },
      'time-zone': { type: 'string' },
      segment: { type: 'string' },
      region: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new CliInputError('give exactly one phone number, e.g. dialwell eligibility +13055550123 --policy us-federal');
  if (!values.policy?.length) throw new CliInputError(`--policy is required: a preset (${Object.keys(PRESETS).join(', ')}) or a policy JSON file`);
  const policies = values.policy.map(loadPolicyArg);
  const at = values.at ? new Date(values.at) : new Date();
  if (values.at && (Number.isNaN(at.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(values.at))) {
    throw new CliInputError(`--at "${values.at}" is not an ISO 8601 instant such as 2026-03-08T12:30:00Z`);
  }
  const parsed = parsePhone(positionals[0]!, values.country);
  if (!parsed.ok) throw new CliInputError(`phone: ${parsed.error}`);
  const profile = await profileNumber(parsed.e164, { timeZone: values['time-zone'] ?? null, region: values.region ?? null });
  const d = decide(
    {
      phone: parsed.e164, numberType: profile.numberType, timeZones: profile.timeZones, region: profile.region,
      segment: values.segment ?? null, campaignId: null, product: null, history: [], dncHits: [], protectedHits: [],
    },
    policies,
    at,
  );
  const out = decisionJson(parsed.e164, d);
  if (values.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  else {
    process.stdout.write(`${out.phone} at ${at.toISOString()}: ${out.allowed ? 'ALLOWED' : 'DENIED'} (zones ${out.timeZones.join(', ') || 'unknown'})\n`);
    for (const r of out.reasons) process.stdout.write(`  ${r.passed ? 'pass' : 'FAIL'}  ${r.rule.padEnd(16)} ${r.policy ?? ''}  ${r.detail}\n`);
    if (!out.allowed) process.stdout.write(`  next allowed: ${out.nextAllowedAt ?? 'never'}\n`);
  }
  return out.allowed ? 0 : 1;
}
