// Every migration, by name (names sort by timestamp). Listed statically so that the migrator
// works the same under tsx, vitest and compiled JavaScript.
import type { Migration } from 'kysely';
import * as m0001 from './20261122_0001_initial.js';
import * as m0002 from './20261122_0002_compliance.js';
import * as m0003 from './20261123_0003_dialer.js';
import * as m0004 from './20261123_0004_contacts.js';
import * as m0005 from './20261123_0005_agent_attempts.js';
import * as m0006 from './20261123_0006_caller_id_pools.js';
import * as m0007 from './20261123_0007_users_audit.js';
import * as m0008 from './20261123_0008_cdr.js';
import * as m0009 from './20261123_0009_qa.js';
import * as m0010 from './20261123_0010_reports.js';
import * as m0011 from './20261123_0011_campaign_agents.js';
import * as m0012 from './20261207_0012_call_endings.js';
import * as m0013 from './20261207_0013_progress_holidays.js';
import * as m0014 from './20261207_0014_cluster.js';
import * as m0015 from './20261207_0015_sessions.js';
import * as m0017 from './20261207_0017_agent_state_reason.js';
import * as m0018 from './20261207_0018_agent_phone_type.js';
import * as m0019 from './20261207_0019_agent_nodes.js';
import * as m0020 from './20261207_0020_node_sync_drain.js';

export const migrations: Record<string, Migration> = {
  '20261122_0001_initial': m0001,
  '20261122_0002_compliance': m0002,
  '20261123_0003_dialer': m0003,
  '20261123_0004_contacts': m0004,
  '20261123_0005_agent_attempts': m0005,
  '20261123_0006_caller_id_pools': m0006,
  '20261123_0007_users_audit': m0007,
  '20261123_0008_cdr': m0008,
  '20261123_0009_qa': m0009,
  '20261123_0010_reports': m0010,
  '20261123_0011_campaign_agents': m0011,
  '20261207_0012_call_endings': m0012,
  '20261207_0013_progress_holidays': m0013,
  '20261207_0014_cluster': m0014,
  '20261207_0015_sessions': m0015,
  '20261207_0017_agent_state_reason': m0017,
  '20261207_0018_agent_phone_type': m0018,
  '20261207_0019_agent_nodes': m0019,
  '20261207_0020_node_sync_drain': m0020,
};
