// Environment → typed configuration, validated with zod at start. The only module that reads
// process.env; every other module receives the parts it needs.
import { accessSync, constants } from 'node:fs';
import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65535);
const url = (protocols: string[]) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);

/** true/false (also 1/0, yes/no), as environment variables write them. */
const flag = z.enum(['true', 'false', '1', '0', 'yes', 'no'], 'must be true or false').transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A file this process can read (a CA certificate in PEM). */
const readableFile = z.string().min(1).refine((f) => {
  try {
    accessSync(f, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}, 'must be a readable file (a PEM certificate)');

export const configSchema = z.object({
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/dialwell'),
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  ARI_URL: url(['http:', 'https:']).default('http://127.0.0.1:8088'),
  ARI_USER: z.string().min(1).default('dialwell'),
  ARI_PASSWORD: z.string().min(1).default('dialwell-local-ari'),
  ARI_APP: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only').default('dialwell'),
  /** Sockets to ARI at most: Asterisk closes connections past http.conf's sessionlimit. */
  ARI_MAX_SOCKETS: z.coerce.number().int().min(1).max(500).default(40),
  ARI_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /** With an https: ARI_URL: a CA certificate (PEM) to trust besides Node's own, e.g. the one that signed Asterisk's. */
  ARI_CA_FILE: readableFile.optional(),
  /** With an https: ARI_URL: refuse a certificate that does not verify (false only for a lab). */
  ARI_TLS_REJECT_UNAUTHORIZED: flag.default(true),
  /** The name of the Asterisk node this process drives (ARI_URL, AMI_*): the `node` label of per-node metrics. */
  PBX_NODE: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . and - only (at most 64)').default('default'),
  AMI_HOST: z.string().min(1).default('127.0.0.1'),
  AMI_PORT: port.default(5038),
  AMI_USER: z.string().min(1).default('dialwell'),
  AMI_PASSWORD: z.string().min(1).default('dialwell-local-ami'),
  /** AMI over TLS (manager.conf `tlsenable`, Asterisk's usual port 5039): AMI_PORT is then the TLS port. */
  AMI_TLS: flag.default(false),
  AMI_CA_FILE: readableFile.optional(),
  AMI_TLS_REJECT_UNAUTHORIZED: flag.default(true),
  /** cel_custom's record of every channel's answer and hangup (asterisk-config/cel_custom.conf), read to
   * close calls whose end the dialer missed; empty to go without (AMI Cdr events only). */
  ASTERISK_CEL_FILE: z.string().default('/var/cache/dialwell/asterisk22-chroot/var/log/asterisk/cel-custom/dialwell-cel.jsonl'),
  CDR_RECONCILE_EVERY_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
  /** A call row younger than this may still be on its way to Asterisk: never closed as "no record". */
  CDR_RECONCILE_GRACE_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  /** A call is closed from Asterisk's record only this long after its end: its own process may still be closing it. */
  CDR_RECONCILE_SETTLE_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  /** Where agents' browsers reach Asterisk's websocket transport (the node's public address, as the
   * browser sees it), e.g. ws://10.0.0.5:8088/ws or wss://pbx.example.com:8089/ws. */
  WEBRTC_WS_URL: url(['ws:', 'wss:']).default('ws://127.0.0.1:8088/ws'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The JSON log is appended to this file (created with its directory) instead of going to stdout. */
  LOG_FILE: z.string().min(1).optional(),
  PORT: port.default(8080),
  RECORDINGS_DIR: z.string().min(1).default('/var/lib/dialwell/recordings'),
  DIAL_QUEUE: z.string().regex(/^[A-Za-z0-9_-]+$/).default('dialwell-dial'),
  /** How long the dialer's batch of call-row joins and ends alone may wait for more writes (one
   * statement for several calls at any rate); new rows are never held. 0: sent at once. */
  CALL_WRITE_GATHER_MS: z.coerce.number().int().min(0).max(1000).default(15),
  DIAL_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(50),
  /** How long a worker holds a job's lock: a dead worker's jobs are taken over after about this. */
  DIAL_JOB_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** On SIGTERM, how long the calls up may go on before each is ended with a closing message
   * (systemd's TimeoutStopSec must exceed this plus ~30 s: deploy/dialwell.service). */
  SHUTDOWN_CALL_LIMIT_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  /** This box's node: created from the ARI_*, AMI_* and CEL settings when the nodes table is empty. */
  NODE_NAME: z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/, 'lower-case letters, digits or - (at most 31)').default('node1'),
  /** Where this box's Asterisk takes SIP (host:port), for the default node. */
  NODE_SIP_ADDRESS: z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'host:port').default('127.0.0.1:5060'),
  /** The nodes this engine may own, comma-separated names; empty: every enabled node. */
  ENGINE_NODES: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((n) => n.trim()).filter(Boolean)),
  /** A driven node whose Asterisk (ARI) stays unreachable this long is down: its agents are logged out
   * (reason node-down) and its calls closed from its record; the campaigns go on on the other nodes. */
  NODE_DOWN_AFTER_MS: z.coerce.number().int().min(1000).max(3_600_000).default(10_000),
  /** How long a lease (node owner, campaign pacer, singleton) lasts unrenewed: a dead engine's work moves after about this. */
  LEASE_TTL_MS: z.coerce.number().int().min(500).max(600_000).default(3000),
  /** How often an engine renews its leases and asks for free ones (at most half LEASE_TTL_MS). */
  LEASE_BEAT_MS: z.coerce.number().int().min(100).max(300_000).default(1000),
  /** Contact data an agent has held this many months is taken back (the engine checks hourly). */
  CONTACT_RECLAIM_MONTHS: z.coerce.number().int().min(1).max(1200).default(10),
  /** Bearer token Prometheus sends to GET /metrics; unset: /metrics answers loopback clients only. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters (or unset it: /metrics then answers loopback clients only)').optional(),
  /** Reports: a connected call with at least this much talk is an effective conversation. */
  REPORT_EFFECTIVE_TALK_SECONDS: z.coerce.number().min(0).max(3600).default(30),
  /** Reports: disposition results that count as a success, comma-separated. */
  REPORT_SUCCESS_RESULTS: z
    .string()
    .default('sale')
    .transform((v) => v.split(',').map((r) => r.trim()).filter(Boolean))
    .refine((l) => l.length > 0 && l.every((r) => /^[a-z][a-z0-9-]{0,39}$/.test(r)), 'must be comma-separated disposition results such as "sale,appointment"'),
}).superRefine((c, ctx) => {
  // TLS settings that would silently do nothing are mistakes: say so.
  const https = c.ARI_URL.startsWith('https:');
  if (!https && c.ARI_CA_FILE) ctx.addIssue({ code: 'custom', path: ['ARI_CA_FILE'], message: 'applies to an https: ARI_URL only (ARI_URL is http:)' });
  if (!https && !c.ARI_TLS_REJECT_UNAUTHORIZED) ctx.addIssue({ code: 'custom', path: ['ARI_TLS_REJECT_UNAUTHORIZED'], message: 'applies to an https: ARI_URL only (ARI_URL is http:)' });
  if (!c.AMI_TLS && c.AMI_CA_FILE) ctx.addIssue({ code: 'custom', path: ['AMI_CA_FILE'], message: 'applies with AMI_TLS=true only' });
  if (!c.AMI_TLS && !c.AMI_TLS_REJECT_UNAUTHORIZED) ctx.addIssue({ code: 'custom', path: ['AMI_TLS_REJECT_UNAUTHORIZED'], message: 'applies with AMI_TLS=true only' });
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment; a bad variable throws a ConfigError that names it and says why. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
  throw new ConfigError(`invalid environment:\n${lines.join('\n')}`);
}
