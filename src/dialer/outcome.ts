// Maps Asterisk's own signals (Q.850 hangup cause, Dial status, how long it rang) to a call outcome.
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
  /** Seconds from ringing (or from the dial when no ringing was signalled) to the end. */
  ringSeconds?: number;
}

/** "No answer" only after ringing at least this long (FTC/FCC: 15 s or four rings). */
export const MIN_NO_ANSWER_RING_SECONDS = 15;

export function outcomeOf(s: OutcomeSignals): CallOutcome {
  if (s.answered) {
    if (s.machine) return 'machine';
    return s.abandoned ? 'abandoned' : 'answered';
  }
  // A specific cause says more than the Dial status (Asterisk reports 603 Decline as NOANSWER).
  switch (s.cause) {
    case 17: // user busy
      return 'busy';
    case 21: // call rejected
      return 'rejected';
    case 34: // no circuit/channel available
    case 38: // network out of order
    case 41: // temporary failure
    case 42: // switching equipment congestion
    case 44: // requested channel not available
      return 'congestion';
    default:
      break;
  }
  let outcome: CallOutcome = 'failed';
  if (s.dialStatus === 'BUSY') outcome = 'busy';
  else if (s.dialStatus === 'CONGESTION') outcome = 'congestion';
  else if (s.dialStatus === 'NOANSWER' || s.cause === 18 || s.cause === 19) outcome = 'no-answer';
  // A call that failed before it could ring for long (early media, then 480) did not go unanswered.
  if (outcome === 'no-answer' && s.ringSeconds !== undefined && s.ringSeconds < MIN_NO_ANSWER_RING_SECONDS) return 'failed';
  return outcome;
}
