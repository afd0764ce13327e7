// Call control for the agent's current call: hang up, hold/resume, blind or attended transfer.
// The API for them (helper "calls": /api/v1/agents/:id/hangup, /hold, /transfer) is being added
// on another branch; once merged, regenerate api-types.ts and wire the buttons here.
export function CallControls(props: { agentId: string; callId: string; state: string }) {
  void props;
  return <p className="hint">Hang up, hold and transfer: not available in this version.</p>;
}
