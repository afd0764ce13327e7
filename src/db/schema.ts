// Kysely table types: the shape of every table as the database stores it.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json = ColumnType<Record<string, unknown>, string | undefined, string>;
/** pg returns bigint as a string; we read sizes as numbers via a type parser (see database.ts). */
type BigIntColumn = ColumnType<number, number | bigint, number | bigint>;

export interface TrunkTable {
  id: Generated<string>;
  name: string;
  host: string;
  port: Generated<number>;
  transport: Generated<'udp' | 'tcp' | 'tls'>;
  username: string | null;
  password: string | null;
  codecs: ColumnType<string[], string[] | undefined, string[]>;
  max_channels: Generated<number>;
  max_cps: Generated<number>;
  enabled: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface CallerIdTable {
  id: Generated<string>;
  number: string;
  label: Generated<string>;
  is_hotline: Generated<boolean>;
  daily_cap: number | null;
  created_at: Generated<Date>;
}

export interface AgentTable {
  id: Generated<string>;
  name: string;
  endpoint: string;
  sip_password: string | null;
  contact_uri: string | null;
  /** 'sip': a softphone or desk phone; 'webrtc': the browser (JsSIP over Asterisk's websocket). */
  phone_type: Generated<PhoneType>;
  /** The node whose Asterisk calls this agent's softphone; null = the default node (the first enabled one). */
  node_id: string | null;
  created_at: Generated<Date>;
}

export type PhoneType = 'sip' | 'webrtc';

export type CampaignState = 'draft' | 'running' | 'paused' | 'completed';
export type DialMode = 'preview' | 'progressive' | 'predictive';

export interface CampaignTable {
  id: Generated<string>;
  name: string;
  state: Generated<CampaignState>;
  dial_mode: Generated<DialMode>;
  trunk_id: string | null;
  caller_id_id: string | null;
  default_country: Generated<string>;
  max_concurrent: Generated<number>;
  max_cps: Generated<number>;
  record_calls: Generated<boolean>;
  /** The compliance policy (by name; its latest version applies) on top of the global one. */
  policy_name: string | null;
  /** What this campaign offers; product caps and refusals count per product. */
  product: string | null;
  abandon_cap: Generated<number>;
  settings: Json;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ContactTable {
  id: Generated<string>;
  campaign_id: string;
  phone: string;
  name: string | null;
  segment: string | null;
  time_zone: string | null;
  attributes: Json;
  priority: Generated<number>;
  created_at: Generated<Date>;
  /** The contact's id in the system it was imported from. */
  external_id: string | null;
  updated_at: Generated<Date>;
  /** The agent holding this contact's data, and since when; taken back after a set period. */
  assigned_agent_id: string | null;
  assigned_at: NullableTimestamp;
  /** The hotline this contact called in on: a call back shows that number (rule A.8). */
  called_hotline: string | null;
}

export type AttemptState = 'queued' | 'dialing' | 'completed' | 'skipped' | 'failed' | 'cancelled';

export interface AttemptTable {
  id: Generated<string>;
  campaign_id: string;
  contact_id: string;
  phone: string;
  state: Generated<AttemptState>;
  idempotency_key: string;
  scheduled_at: Generated<Date>;
  dialed_at: NullableTimestamp;
  outcome: string | null;
  product: string | null;
  refused: Generated<boolean>;
  decision_id: string | null;
  /** When the pacer handed the attempt to the dial queue; null while it waits for the pacer. */
  enqueued_at: NullableTimestamp;
  /** The node whose dial queue the attempt was handed to (its customer is originated there). */
  node_id: string | null;
  /** The agent this attempt is for (a preview taken, a callback scheduled for them); null = any. */
  agent_id: string | null;
  is_callback: Generated<boolean>;
  note: string | null;
  /** The agent's wrap-up result (sale, not-interested, ...) and when it was recorded; wrap-up ends then. */
  disposition_result: string | null;
  disposed_at: NullableTimestamp;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface CallTable {
  id: Generated<string>;
  attempt_id: string;
  campaign_id: string;
  contact_id: string;
  phone: string;
  caller_id: string;
  trunk_id: string;
  agent_id: string | null;
  channel_id: string;
  bridge_id: string | null;
  created_at: Generated<Date>;
  ringing_at: NullableTimestamp;
  answered_at: NullableTimestamp;
  bridged_at: NullableTimestamp;
  ended_at: NullableTimestamp;
  hangup_cause: number | null;
  hangup_cause_text: string | null;
  outcome: string | null;
  /** Ringing → answered (or → ended when never answered); null when no ringing was signalled. */
  ring_ms: number | null;
  /** Joined to an agent → ended; null when never joined. Includes hold. */
  talk_ms: number | null;
  /** Time the customer was on hold; null when it could not be observed (closed from Asterisk's record). */
  hold_ms: number | null;
  /** Ended → the agent's disposition; null until there is one. */
  wrapup_ms: number | null;
  disposition: string | null;
  disposition_at: NullableTimestamp;
  recording_id: string | null;
  /** Set when the call was closed from Asterisk's record instead of Dialwell's live events. */
  reconciled_from: CallReconciledFrom | null;
  reconciled_at: NullableTimestamp;
  /** From Asterisk's own record (CEL or AMI Cdr): null until one was matched to the call. */
  asterisk_uniqueid: string | null;
  asterisk_linkedid: string | null;
  asterisk_disposition: string | null;
  /** Who or what ended the call (CallEndedBy); null when closed from Asterisk's record. */
  ended_by: string | null;
  /** pending (being fetched), stored (recording_id set), missing or failed (flagged); null = not recorded. */
  recording_status: RecordingStatus | null;
  /** The node that placed the call (null before nodes existed). */
  node_id: string | null;
}

export type RecordingStatus = 'pending' | 'stored' | 'missing' | 'failed';

/** What happened during a call that the CDR keeps beside its columns: holds, transfers, hang-ups asked for. */
export interface CallEventTable {
  id: Generated<string>;
  call_id: string;
  at: Timestamp;
  kind: 'hold' | 'resume' | 'transfer' | 'consult' | 'hangup' | 'closing-message';
  actor: string;
  agent_id: string | null;
  details: ColumnType<unknown, string | null, never>;
}

/** asterisk-cel / asterisk-cdr: closed from that record; no-record: Asterisk has no trace of the channel. */
export type CallReconciledFrom = 'asterisk-cel' | 'asterisk-cdr' | 'no-record';

/** A call Asterisk saw on a Dialwell trunk that has no call row. */
export interface AsteriskOrphanCallTable {
  uniqueid: string;
  linkedid: string | null;
  channel: string;
  trunk_id: string | null;
  destination: string | null;
  started_at: NullableTimestamp;
  answered_at: NullableTimestamp;
  ended_at: NullableTimestamp;
  disposition: string | null;
  source: 'asterisk-cel' | 'asterisk-cdr';
  record: ColumnType<Record<string, unknown>, string, string>;
  seen_at: Generated<Date>;
}

export interface RecordingTable {
  id: Generated<string>;
  call_id: string;
  name: string;
  format: string;
  storage_key: string;
  started_at: Timestamp;
  duration_ms: number;
  size_bytes: BigIntColumn;
  sha256: string;
  created_at: Generated<Date>;
  /** When retention deleted the file; the metadata stays. */
  purged_at: NullableTimestamp;
}

export interface PolicyTable {
  id: Generated<string>;
  name: string;
  version: number;
  document: ColumnType<Record<string, unknown>, string, never>;
  created_by: string | null;
  created_at: Generated<Date>;
  retired_at: NullableTimestamp;
}

export interface SettingTable {
  key: string;
  value: ColumnType<unknown, string, string>;
  updated_at: Generated<Date>;
}

export type DncSource = 'manual' | 'api' | 'complaint' | 'disposition' | 'import';

export interface DncEntryTable {
  id: Generated<string>;
  phone: string;
  campaign_id: string | null;
  source: DncSource;
  reason: string | null;
  expires_at: NullableTimestamp;
  created_by: string | null;
  created_at: Generated<Date>;
}

export interface DncRegistryTable {
  phone: ColumnType<string, string | bigint, string | bigint>;
  registry: string;
  expires_at: NullableTimestamp;
}

export interface DncAuditTable {
  id: Generated<string>;
  at: Generated<Date>;
  actor: string;
  action: 'add' | 'remove' | 'import';
  phone: string | null;
  campaign_id: string | null;
  detail: ColumnType<Record<string, unknown>, string | undefined, never>;
}

export interface ProtectedNumberTable {
  phone: string;
  list: string;
  note: string | null;
  created_at: Generated<Date>;
}

export interface DecisionTable {
  id: Generated<string>;
  attempt_id: string | null;
  phone: string;
  campaign_id: string | null;
  decided_at: Timestamp;
  allowed: boolean;
  reasons: ColumnType<unknown[], string, never>;
  time_zones: ColumnType<string[], string[], never>;
  policy_versions: ColumnType<{ name: string; version: number }[], string, never>;
  next_allowed_at: NullableTimestamp;
  /** The failed rules, "+"-joined in name order ("cap+hours"), '' when allowed; written by the dial gate from reasons. */
  failed_rules: ColumnType<string | null, string | null | undefined, never>;
}

/** A holiday calendar an admin keeps; built-in calendars live in code (src/qa/holidays.ts). */
export interface HolidayCalendarTable {
  name: string;
  description: Generated<string>;
  base: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type HolidayKind = 'holiday' | 'workday';

export interface HolidayDateTable {
  calendar: string;
  /** "YYYY-MM-DD" (see database.ts). */
  date: ColumnType<string, string, string>;
  name: string;
  kind: Generated<HolidayKind>;
}

export interface CampaignAgentTable {
  campaign_id: string;
  agent_id: string;
}

export interface CampaignCallerIdTable {
  campaign_id: string;
  caller_id_id: string;
}

export type Role = 'admin' | 'supervisor' | 'agent' | 'qa';

export interface UserTable {
  id: Generated<string>;
  name: string;
  role: Role;
  agent_id: string | null;
  view_numbers: Generated<boolean>;
  disabled: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  /** scrypt hash (src/auth/passwords.ts); null: the user cannot sign in to the console. */
  password_hash: ColumnType<string | null, string | null | undefined, string | null>;
  password_changed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface SessionTable {
  id: Generated<string>;
  user_id: string;
  secret_hash: string;
  csrf_hash: string;
  created_at: Generated<Date>;
  expires_at: Date;
  last_seen_at: Generated<Date>;
  revoked_at: Date | null;
  client_ip: string;
  user_agent: string | null;
}

export interface ApiTokenTable {
  id: Generated<string>;
  user_id: string;
  name: string;
  token_hash: string;
  prefix: string;
  created_at: Generated<Date>;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: Generated<Date>;
  user_id: string | null;
  actor: string;
  action: string;
  resource: string;
  resource_id: string | null;
  before: ColumnType<unknown, string | null, never>;
  after: ColumnType<unknown, string | null, never>;
  details: ColumnType<unknown, string | null, never>;
}

export interface CallerIdTrunkTable {
  caller_id_id: string;
  trunk_id: string;
}

/** Every agent state change (login to logout), written by the agent pool's listener; reports read logged-in time. */
export interface AgentStateChangeTable {
  id: Generated<string>;
  agent_id: string;
  state: string;
  at: Timestamp;
  /** The logout or pause reason, when the state has one. */
  reason: string | null;
}

/** A scorecard criterion: what is scored, its weight in the total, and the highest score. */
export interface ScorecardCriterion {
  key: string;
  label: string;
  weight: number;
  maxScore: number;
}

export interface ScorecardTable {
  id: Generated<string>;
  name: string;
  description: Generated<string>;
  criteria: ColumnType<ScorecardCriterion[], string, string>;
  active: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** One criterion's score in a review, with the weight and maximum it was scored under. */
export interface ReviewScore extends ScorecardCriterion {
  score: number;
  comment?: string;
}

export interface ReviewMark {
  atMs: number;
  note: string;
}

export interface ReviewTable {
  id: Generated<string>;
  call_id: string;
  recording_id: string | null;
  scorecard_id: string;
  agent_id: string | null;
  reviewer_id: string | null;
  reviewer: string;
  scores: ColumnType<ReviewScore[], string, string>;
  total_pct: number;
  comment: string | null;
  marks: ColumnType<ReviewMark[], string | undefined, string>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type ComplaintStatus = 'open' | 'in-review' | 'resolved' | 'rejected';

export interface ComplaintTable {
  id: Generated<string>;
  call_id: string;
  recording_id: string | null;
  summary: string;
  status: Generated<ComplaintStatus>;
  /** A UTC calendar date, read as "YYYY-MM-DD" (see database.ts). */
  due_on: ColumnType<string, string, string>;
  resolution: string | null;
  opened_by: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** Who holds a named lease (a node, a singleton, a campaign's pacer) until when; epoch fences writes. */
export interface LeaseTable {
  name: string;
  owner: string;
  epoch: BigIntColumn;
  expires_at: Timestamp;
  acquired_at: Generated<Date>;
  renewed_at: Generated<Date>;
}

/** One Asterisk: where its ARI and AMI listen, its SIP address, its CEL record. */
export interface NodeTable {
  id: Generated<string>;
  name: string;
  ari_url: string;
  ari_user: string;
  ari_password: string;
  ami_host: string;
  ami_port: Generated<number>;
  ami_user: string;
  ami_password: string;
  sip_address: string;
  cel_file: string | null;
  enabled: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  /** The latest trunk or agent change this node did not take (it was unreachable); its engine syncs it. */
  config_pending_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  config_pending_reason: ColumnType<string | null, string | null | undefined, string | null>;
  /** Trunks and agents deleted while the node was unreachable: removed from it at its next sync. */
  config_pending_removals: ColumnType<PendingRemoval[], string | undefined, string>;
  drain_state: ColumnType<'draining' | 'drained' | null, 'draining' | 'drained' | null | undefined, 'draining' | 'drained' | null>;
  drain_requested_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  drained_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** How long a drain lets live calls run before ending them. */
  drain_call_limit_ms: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface PendingRemoval {
  kind: 'trunk' | 'agent';
  name: string;
}

export interface Database {
  leases: LeaseTable;
  nodes: NodeTable;
  agent_state_changes: AgentStateChangeTable;
  scorecards: ScorecardTable;
  reviews: ReviewTable;
  complaints: ComplaintTable;
  users: UserTable;
  api_tokens: ApiTokenTable;
  sessions: SessionTable;
  audit_log: AuditLogTable;
  caller_id_trunks: CallerIdTrunkTable;
  campaign_caller_ids: CampaignCallerIdTable;
  campaign_agents: CampaignAgentTable;
  policies: PolicyTable;
  settings: SettingTable;
  dnc_entries: DncEntryTable;
  dnc_registry: DncRegistryTable;
  dnc_audit: DncAuditTable;
  protected_numbers: ProtectedNumberTable;
  decisions: DecisionTable;
  holiday_calendars: HolidayCalendarTable;
  holiday_dates: HolidayDateTable;
  trunks: TrunkTable;
  caller_ids: CallerIdTable;
  agents: AgentTable;
  campaigns: CampaignTable;
  contacts: ContactTable;
  attempts: AttemptTable;
  calls: CallTable;
  call_events: CallEventTable;
  recordings: RecordingTable;
  asterisk_orphan_calls: AsteriskOrphanCallTable;
}

export type Trunk = Selectable<TrunkTable>;
export type NewTrunk = Insertable<TrunkTable>;
export type Agent = Selectable<AgentTable>;
export type Campaign = Selectable<CampaignTable>;
export type Contact = Selectable<ContactTable>;
export type Attempt = Selectable<AttemptTable>;
export type Call = Selectable<CallTable>;
export type CallUpdate = Updateable<CallTable>;
export type Recording = Selectable<RecordingTable>;
export type Scorecard = Selectable<ScorecardTable>;
export type Review = Selectable<ReviewTable>;
export type Complaint = Selectable<ComplaintTable>;
