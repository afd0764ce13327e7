// Versioned policies in PostgreSQL: saving a policy writes a new version (rows are never
// changed, so past decisions keep pointing at what they were decided under). Names that are not
// stored resolve to the built-in presets. The global policy is a setting.
import type { Db } from '../../db/database.js';
import { parsePolicy, type Policy } from '../policy.js';
import { isPresetName, PRESETS } from '../presets.js';

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    message: string,
    readonly errors: string[] = [],
  ) {
    super(message);
  }
}

/** Validates and stores a new version of the named policy; returns the stored document. */
export async function savePolicy(db: Db, input: unknown, actor: string): Promise<Policy> {
  const parsed = parsePolicy({ version: 1, ...(input as object) });
  if (!parsed.ok) throw new PolicyError('the policy is not valid', parsed.errors);
  const name = parsed.policy.name;
  return db.transaction().execute(async (trx) => {
    // One writer per policy name at a time, so versions are gap-free and unique.
    await trx.selectFrom('policies').select('id').where('name', '=', name).forUpdate().execute();
    const last = await trx.selectFrom('policies').where('name', '=', name).select((eb) => eb.fn.max('version').as('v')).executeTakeFirst();
    const floor = isPresetName(name) ? PRESETS[name].version : 0;
    const version = Math.max(Number(last?.v ?? 0), floor) + 1;
    const policy: Policy = { ...parsed.policy, version };
    await trx.insertInto('policies').values({ name, version, document: JSON.stringify(policy), created_by: actor }).execute();
    return policy;
  });
}

/** The latest (or a given) version of a policy: stored first, else the built-in preset. */
export async function loadPolicy(db: Db, name: string, version?: number): Promise<Policy | null> {
  let q = db.selectFrom('policies').where('name', '=', name).select(['document', 'retired_at']).orderBy('version', 'desc').limit(1);
  if (version !== undefined) q = q.where('version', '=', version);
  const row = await q.executeTakeFirst();
  // A retired policy is gone for new use; its versions stay readable by number, for the decisions made under them.
  if (row?.retired_at && version === undefined) return null;
  if (row) {
    const parsed = parsePolicy(row.document);
    if (!parsed.ok) throw new PolicyError(`stored policy ${name} no longer validates`, parsed.errors);
    return parsed.policy;
  }
  if (isPresetName(name) && (version === undefined || version === PRESETS[name].version)) return PRESETS[name];
  return null;
}

export async function listPolicies(db: Db): Promise<{ name: string; version: number; builtIn: boolean }[]> {
  const rows = await db
    .selectFrom('policies')
    .select(['name', (eb) => eb.fn.max('version').as('version')])
    .where('retired_at', 'is', null)
    .groupBy('name')
    .execute();
  const out = rows.map((r) => ({ name: r.name, version: Number(r.version), builtIn: false }));
  for (const p of Object.values(PRESETS)) if (!out.some((o) => o.name === p.name)) out.push({ name: p.name, version: p.version, builtIn: true });
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Retires a stored policy (every version); refused while a campaign or the global setting uses it. */
export async function retirePolicy(db: Db, name: string): Promise<void> {
  if (isPresetName(name)) throw new PolicyError(`"${name}" is a built-in preset and cannot be deleted`);
  const inUse = await db.selectFrom('campaigns').select('name').where('policy_name', '=', name).where('state', '!=', 'completed').executeTakeFirst();
  if (inUse) throw new PolicyError(`campaign "${inUse.name}" uses policy "${name}"; give it another policy first`);
  if ((await getGlobalPolicyName(db)) === name) throw new PolicyError(`"${name}" is the global policy; choose another global policy first`);
  const r = await db.updateTable('policies').set({ retired_at: new Date() }).where('name', '=', name).where('retired_at', 'is', null).executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) throw new PolicyError(`no policy named "${name}"`);
}

export async function setGlobalPolicy(db: Db, name: string | null): Promise<void> {
  if (name !== null && !(await loadPolicy(db, name))) throw new PolicyError(`no policy named "${name}"`);
  await db
    .insertInto('settings')
    .values({ key: 'global_policy', value: JSON.stringify(name) })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(name), updated_at: new Date() }))
    .execute();
}

export async function getGlobalPolicyName(db: Db): Promise<string | null> {
  const row = await db.selectFrom('settings').where('key', '=', 'global_policy').select('value').executeTakeFirst();
  return typeof row?.value === 'string' ? row.value : null;
}

/**
 * The policies that apply to a dial: the global one and the campaign's, latest versions, cached
 * for a short time (the dial path reads them on every decision). A change takes effect within
 * ttlMs; invalidate() makes it immediate in this process. Concurrent readers of an expired entry
 * share one load (at 100 dials in flight, each used to send its own queries when the entry expired).
 */
export class PolicyResolver {
  private cache = new Map<string, { at: number; policy: Promise<Policy | null> }>();
  private global: { at: number; name: Promise<string | null> } | null = null;

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 1000,
  ) {}

  invalidate(): void {
    this.cache.clear();
    this.global = null;
  }

  private byName(name: string): Promise<Policy | null> {
    const hit = this.cache.get(name);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.policy;
    const entry = { at: Date.now(), policy: loadPolicy(this.db, name) };
    this.cache.set(name, entry);
    // A failed load is not kept: the next reader asks again.
    entry.policy.catch(() => {
      if (this.cache.get(name) === entry) this.cache.delete(name);
    });
    return entry.policy;
  }

  private globalName(): Promise<string | null> {
    const g = this.global;
    if (g && Date.now() - g.at < this.ttlMs) return g.name;
    const entry = { at: Date.now(), name: getGlobalPolicyName(this.db) };
    this.global = entry;
    entry.name.catch(() => {
      if (this.global === entry) this.global = null;
    });
    return entry.name;
  }

  /** Global then campaign policy. Throws when a named policy does not exist (fail closed). */
  async forCampaign(campaignPolicyName: string | null): Promise<Policy[]> {
    const globalName = await this.globalName();
    const out: Policy[] = [];
    for (const name of [globalName, campaignPolicyName]) {
      if (name === null) continue;
      const p = await this.byName(name);
      if (!p) throw new PolicyError(`policy "${name}" does not exist`);
      if (!out.some((o) => o.name === p.name)) out.push(p);
    }
    return out;
  }
}
