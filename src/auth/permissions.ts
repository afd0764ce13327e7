// Who may do what: the permission matrix. Every HTTP route names exactly one permission (see
// src/http/auth.ts); a role holds a fixed set of them. "numbers.view" is also granted per user.
import type { Role } from '../db/schema.js';

export const roles = ['admin', 'supervisor', 'agent', 'qa'] as const satisfies readonly Role[];

export const permissions = [
  /** Read trunks, caller ids, agents, campaigns, policies, scorecards. */
  'config.read',
  /** Change trunks, caller ids, agents, compliance policies, protected numbers. */
  'config.write',
  /** Create and change campaigns and their contacts. */
  'campaigns.write',
  /** Start, pause and complete campaigns. */
  'campaigns.control',
  /** Read and change the do-not-call lists; dry-run eligibility checks. */
  'compliance.read',
  'compliance.write',
  /** Search and read every call (CDR) and its decision. Agents read only their own (agent.self). */
  'calls.read',
  /** Play and download recordings. */
  'recordings.read',
  /** Score calls, file and work complaints. */
  'qa.write',
  /** Live figures, agent states, reports. */
  'live.read',
  /** An agent's own session: login, ready, pause, preview, wrap-up, own calls; on their own agent only. */
  'agent.self',
  /** Drive any agent's session (supervisors log agents out, admins test). */
  'agents.control',
  /** Hang up, hold, resume or transfer any live call (supervisors); an agent controls their own call with agent.self. */
  'calls.control',
  /** Listen to and whisper to an agent's live call from one's own phone (each use audited). */
  'calls.supervise',
  /** Add, change and remove Asterisk nodes (their ARI and AMI credentials). */
  'nodes.manage',
  /** Users, tokens and the audit log. */
  'users.manage',
  /** See phone numbers unmasked. */
  'numbers.view',
] as const;
export type Permission = (typeof permissions)[number];

const matrix: Record<Role, readonly Permission[]> = {
  admin: [
    'config.read', 'config.write', 'campaigns.write', 'campaigns.control', 'compliance.read', 'compliance.write',
    'calls.read', 'recordings.read', 'qa.write', 'live.read', 'agents.control', 'calls.control', 'calls.supervise', 'nodes.manage', 'users.manage', 'numbers.view',
  ],
  supervisor: [
    'config.read', 'campaigns.control', 'compliance.read', 'compliance.write', 'calls.read', 'recordings.read', 'live.read', 'agents.control', 'calls.control', 'calls.supervise',
  ],
  qa: ['config.read', 'calls.read', 'recordings.read', 'qa.write'],
  agent: ['agent.self'],
};

export function permissionsOf(role: Role, viewNumbers: boolean): ReadonlySet<Permission> {
  const set = new Set<Permission>(matrix[role]);
  if (viewNumbers) set.add('numbers.view');
  return set;
}

/** Whether a role, by its matrix alone, holds a permission (the per-user grant aside). */
export function roleHas(role: Role, permission: Permission): boolean {
  return matrix[role].includes(permission);
}
