// Which of Dialwell's roles a channel Asterisk holds plays, read from where it sits in the
// dialplan (Stasis(<app>,<args>)): after the ARI connection came back, or in a process that did not
// place the call, this is how customers' and agents' channels are told apart.
import type { AriChannel, AriEventOf } from '../pbx/ari-types.js';

function stasisArgs(c: AriChannel, app: string): string[] | null {
  if (c.dialplan?.app_name !== 'Stasis') return null;
  const [name, ...args] = (c.dialplan.app_data ?? '').split(',');
  return name === app ? args : null;
}

/** The agent whose softphone this channel is (in this application's Stasis with `agent,<id>`), or null. */
export function agentOfChannel(c: AriChannel, app: string): string | null {
  const args = stasisArgs(c, app);
  return args?.length === 2 && args[0] === 'agent' && args[1] ? args[1] : null;
}

/** Whether the channel sits in this application's Stasis as a customer's call (`customer,<call id>`,
 * or back from answering-machine detection). */
export function isCustomerInStasis(c: AriChannel, app: string): boolean {
  const kind = stasisArgs(c, app)?.[0];
  return kind === 'customer' || kind === 'customer-amd';
}

/** What a channel in this application's Stasis is there for (its first Stasis argument:
 * customer, customer-amd, agent, supervisor, snoop), or null when it is not in it. */
export function roleOfChannel(c: AriChannel, app: string): string | null {
  return stasisArgs(c, app)?.[0] ?? null;
}

/**
 * When a customer entering Stasis answered, if the dialplan kept them waiting for an engine to
 * listen (no websocket on the application when they answered, asterisk-config/extensions.conf):
 * the answer time it passes as the third argument (`customer,<call id>,<ms since the epoch>`),
 * which the connect rule applies to. Null for a StasisStart at the answer itself.
 */
export function answeredBeforeStasis(e: AriEventOf<'StasisStart'>): Date | null {
  const ms = e.args[0] === 'customer' && e.args[2] ? Number(e.args[2]) : NaN;
  return Number.isFinite(ms) && ms > 0 ? new Date(ms) : null;
}
