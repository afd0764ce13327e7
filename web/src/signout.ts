// What must happen before the session ends, registered by the views that own it (the agent's
// browser phone logs the agent out, then unregisters); main.tsx runs them all on "Sign out".
type Step = () => Promise<void>;
const steps = new Set<Step>();

/** Registers a step to run before sign-out; returns its removal. */
export function onSignOut(step: Step): () => void {
  steps.add(step);
  return () => void steps.delete(step);
}

/** Runs every registered step (each failure ignored: signing out must not be blocked). */
export async function beforeSignOut(): Promise<void> {
  await Promise.all([...steps].map((s) => s().catch(() => undefined)));
}
