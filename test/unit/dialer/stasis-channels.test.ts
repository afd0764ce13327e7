import { describe, expect, it } from 'vitest';
import type { AriChannel, AriEventOf } from '../../../src/pbx/ari-types.js';
import { agentOfChannel, answeredBeforeStasis, isCustomerInStasis } from '../../../src/dialer/stasis-channels.js';
import { dialplanMedia } from '../../../src/dialer/dialer.js';

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

describe('a customer who answered while no engine listened', () => {
  const start = (args: string[]) => ({ type: 'StasisStart', timestamp: '2026-12-07T10:00:05.000+0000', args, channel: channel('Stasis', `dialwell,${args.join(',')}`) }) as AriEventOf<'StasisStart'>;
  it('takes the answer time the dialplan passed (ms since the epoch), else none', () => {
    expect(answeredBeforeStasis(start(['customer', 'c1', '1796664136118']))?.getTime()).toBe(1796664136118);
    expect(answeredBeforeStasis(start(['customer', 'c1']))).toBeNull();
    expect(answeredBeforeStasis(start(['customer', 'c1', '']))).toBeNull();
    expect(answeredBeforeStasis(start(['customer', 'c1', 'x']))).toBeNull();
    // Back from answering-machine detection the third argument is the verdict.
    expect(answeredBeforeStasis(start(['customer-amd', 'c1', 'HUMAN', '']))).toBeNull();
  });
  it('gives the dialplan the information message Playback() can play, only when not the default', () => {
    expect(dialplanMedia(['sound:im-sorry', 'sound:telephone-number'])).toBeNull();
    expect(dialplanMedia(['sound:beep'])).toBe('beep');
    expect(dialplanMedia(['sound:custom/closed', 'sound:beep'])).toBe('custom/closed&beep');
    expect(dialplanMedia(['recording:info'])).toBeNull();
    expect(dialplanMedia(['sound:a,b'])).toBeNull();
    expect(dialplanMedia([])).toBeNull();
  });
});
