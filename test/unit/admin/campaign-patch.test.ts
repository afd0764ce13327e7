// A campaign PATCH changes only what it names: the create schema's defaults never fill in the rest.
import { describe, expect, it } from 'vitest';
import { campaignInputSchema, campaignPatchSchema } from '../../../src/admin/campaigns.service.js';

describe('campaignPatchSchema', () => {
  it('keeps only the fields sent (no default policy, dial mode, limits, recording or retry rules)', () => {
    expect(campaignPatchSchema.parse({ recordingRetentionDays: 20 })).toEqual({ recordingRetentionDays: 20 });
    expect(campaignPatchSchema.parse({ policyName: null, retry: { busy: { maxAttempts: 2, afterMinutes: 10 } } })).toEqual({
      policyName: null, retry: { busy: { maxAttempts: 2, afterMinutes: 10 } },
    });
    // The create schema still fills its defaults.
    expect(campaignInputSchema.parse({ name: 'x', trunkId: '00000000-0000-4000-8000-000000000001', callerIdId: '00000000-0000-4000-8000-000000000002' }))
      .toMatchObject({ policyName: null, dialMode: 'progressive', maxConcurrent: 10, recordCalls: true, retry: {} });
  });

  it('still validates every field it is given, and refuses unknown ones', () => {
    expect(campaignPatchSchema.safeParse({ recordingRetentionDays: 0 }).success).toBe(false);
    expect(campaignPatchSchema.safeParse({ dialMode: 'robot' }).success).toBe(false);
    expect(campaignPatchSchema.safeParse({ nope: 1 }).success).toBe(false);
  });
});
