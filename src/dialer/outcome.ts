// Maps Asterisk's own signals (Dial status, Q.850 hangup cause) to a call outcome.
export type CallOutcome =
  | 'answered'
  | 'abandoned'
  | 'busy'
  | 'no-answer'
  | 'congestion'
  | 'rejected'
  | 'failed'
  | 'machine';

export interface OutcomeSignals {
  answered: boolean;
  abandoned: boolean;
  machine?: boolean;
  /** Last Dial event status for the channel (BUSY, NOANSWER, CONGESTION, CHANUNAVAIL, ANSWER, ...). */
  dialStatus?: string | null;
  /** Q.850 cause from ChannelDestroyed. */
  cause?: number | null;
}

export function outcomeOf(s: OutcomeSignals): CallOutcome {
  if (s.answered) {
    if (s.machine) return 'machine';
    return s.abandoned ? 'abandoned' : 'answered';
  }
  switch (s.dialStatus) {
    case 'BUSY':
      return 'busy';
    case 'NOANSWER':
      return 'no-answer';
    case 'CONGESTION':
      return 'congestion';
    default:
      break;
  }
  switch (s.cause) {
    case 17: // user busy
      return 'busy';
    case 18: // no user responding
    case 19: // no answer from user (user alerted)
      return 'no-answer';
    case 21: // call rejected
      return 'rejected';
    case 34: // no circuit/channel available
    case 38: // network out of order
    case 41: // temporary failure
    case 42: // switching equipment congestion
    case 44: // requested channel not available
      return 'congestion';
    default:
      return 'failed';
  }
}
