import { describe, expect, it } from 'vitest';
import type { AriChannel } from '../../../src/pbx/ari-types.js';
import { agentOfChannel, isCustomerInStasis } from '../../../src/dialer/stasis-channels.js';

const channel = (appName: string, appData: string): AriChannel => ({
  id: 'c1', name: 'PJSIP/a-00000001', state: 'Up', creationtime: '2026-12-07T10:00:00.000+0000',
  dialplan: { context: 'default', exten: 's', priority: 1, app_name: appName, app_data: appData },
});

describe('channels told apart by their Stasis arguments', () => {
  it('finds the agent of a softphone channel of this application only', () => {
    expect(agentOfChannel(channel('Stasis', 'dialwell,agent,7c0e'), 'dialwell')).toBe('7c0e');
    expect(agentOfChannel(channel('Stasis', 'other,agent,7c0e'), 'dialwell')).toBeNull();
    expect(agentOfChannel(channel('Stasis', 'dialwell-2,agent,7c0e'), 'dialwell')).toBeNull();
    expect(agentOfChannel(channel('Stasis', 'dialwell,customer,9'), 'dialwell')).toBeNull();
    expect(agentOfChannel(channel('AppDial2', '(Outgoing Line)'), 'dialwell')).toBeNull();
    expect(agentOfChannel({ ...channel('Stasis', ''), dialplan: undefined }, 'dialwell')).toBeNull();
  });
  it('recognises a customer in this application, also back from answering-machine detection', () => {
    expect(isCustomerInStasis(channel('Stasis', 'dialwell,customer,9'), 'dialwell')).toBe(true);
    expect(isCustomerInStasis(channel('Stasis', 'dialwell,customer-amd,9,HUMAN,'), 'dialwell')).toBe(true);
    expect(isCustomerInStasis(channel('Stasis', 'dialwell,agent,9'), 'dialwell')).toBe(false);
    expect(isCustomerInStasis(channel('Stasis', 'dialwell-x,customer,9'), 'dialwell')).toBe(false);
    expect(isCustomerInStasis(channel('Dial', 'PJSIP/x'), 'dialwell')).toBe(false);
  });
});
