// This installation's identity: a random id made by the first migrate and kept in `settings`.
// Everything an installation keeps in shared infrastructure (its BullMQ keys in a Redis that other
// installations may use too) is named after it, so two installations never see each other's data.
import type { Db } from '../db/database.js';

export async function installationId(db: Db): Promise<string> {
  const row = await db.selectFrom('settings').where('key', '=', 'installation_id').select('value').executeTakeFirst();
  if (typeof row?.value !== 'string') throw new Error('this database has no installation id: run `dialwell migrate` first');
  return row.value;
}
