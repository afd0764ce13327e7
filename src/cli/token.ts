// `dialwell token create|revoke|list|password`: API tokens from the command line. `create` makes the
// user when no user has that name (this is how the first admin gets in) and prints the token once;
// `password` sets a user's console password, read from standard input (never from the arguments,
// which other users of the machine can see).
import { parseArgs } from 'node:util';
import { writeAudit } from '../auth/audit.repository.js';
import { roles } from '../auth/permissions.js';
import { setPassword } from '../auth/sessions.repository.js';
import { createUser, issueToken, revokeToken, UserError } from '../auth/users.repository.js';
import { ClientError } from '../errors.js';
import { loadConfig } from '../config.js';
import { createDb, ensureDatabase, type Db } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import type { Role } from '../db/schema.js';
import { CliInputError } from './errors.js';

const actor = { userId: null, name: `cli:${process.env.USER ?? 'unknown'}` };

async function create(db: Db, v: { role?: string; name?: string; agent?: string; 'view-numbers'?: boolean; label?: string }): Promise<number> {
  if (!v.name) throw new CliInputError('give --name <user name>');
  if (!v.role || !(roles as readonly string[]).includes(v.role)) throw new CliInputError(`give --role, one of ${roles.join(', ')}`);
  const role = v.role as Role;
  let user = await db.selectFrom('users').selectAll().where('name', '=', v.name).executeTakeFirst();
  if (user && user.role !== role) throw new CliInputError(`user "${v.name}" exists with role ${user.role}, not ${role}`);
  if (user?.disabled) throw new CliInputError(`user "${v.name}" is disabled`);
  if (!user) {
    try {
      user = await createUser(db, { name: v.name, role, agentId: v.agent ?? null, viewNumbers: v['view-numbers'] || undefined });
    } catch (err) {
      if (err instanceof UserError) throw new CliInputError(err.message);
      throw err;
    }
    await writeAudit(db, actor, { action: 'user.created', resource: 'user', resourceId: user.id, after: { name: user.name, role } });
  }
  const t = await issueToken(db, user.id, v.label ?? 'cli');
  await writeAudit(db, actor, { action: 'token.created', resource: 'token', resourceId: t.id, after: { userId: user.id, prefix: t.prefix } });
  process.stderr.write(`token ${t.id} for ${user.name} (${role}); it is shown once, keep it now:\n`);
  process.stdout.write(`${t.token}\n`);
  return 0;
}

/** The first line of standard input (a password typed or piped in). */
async function readLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += (chunk as Buffer).toString('utf8');
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

async function password(db: Db, v: { name?: string }): Promise<number> {
  if (!v.name) throw new CliInputError('give --name <user name>, and the password on standard input');
  const user = await db.selectFrom('users').select(['id', 'name', 'disabled']).where('name', '=', v.name).executeTakeFirst();
  if (!user) throw new CliInputError(`no user "${v.name}": create it first (dialwell token create --role R --name ${v.name})`);
  if (user.disabled) throw new CliInputError(`user "${v.name}" is disabled`);
  if (process.stdin.isTTY) process.stderr.write(`password for ${user.name}: `);
  const secret = await readLine();
  try {
    await setPassword(db, user.id, secret);
  } catch (err) {
    if (err instanceof ClientError) throw new CliInputError(err.message);
    throw err;
  }
  await writeAudit(db, actor, { action: 'user.password-set', resource: 'user', resourceId: user.id });
  process.stderr.write(`password set for ${user.name}; their sessions ended\n`);
  return 0;
}

export async function runToken(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      role: { type: 'string' },
      name: { type: 'string' },
      agent: { type: 'string' },
      label: { type: 'string' },
      'view-numbers': { type: 'boolean', default: false },
    },
  });
  if (!['create', 'revoke', 'list', 'password'].includes(sub ?? '')) {
    throw new CliInputError('usage: dialwell token create --role <admin|supervisor|agent|qa> --name <name> [--agent <agent id>] [--view-numbers] [--label L] | token revoke <token id> | token list | token password --name <name> (the password on standard input)');
  }
  const cfg = loadConfig();
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL, 2);
  try {
    await migrateToLatest(db);
    if (sub === 'create') return await create(db, values);
    if (sub === 'password') return await password(db, values);
    if (sub === 'revoke') {
      const id = positionals[0];
      if (!id || !/^[0-9a-f-]{36}$/i.test(id)) throw new CliInputError('give the token id (a UUID) to revoke: dialwell token list shows them');
      if (!(await revokeToken(db, id))) throw new CliInputError(`token ${id} does not exist or is already revoked`);
      await writeAudit(db, actor, { action: 'token.revoked', resource: 'token', resourceId: id });
      console.log(`token ${id} revoked`);
      return 0;
    }
    const rows = await db
      .selectFrom('api_tokens as t')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .select(['t.id', 't.prefix', 't.name as label', 't.created_at', 't.last_used_at', 't.revoked_at', 'u.name', 'u.role'])
      .orderBy('t.created_at')
      .execute();
    for (const r of rows) {
      console.log(`${r.id}  ${r.prefix}…  ${r.name} (${r.role})  ${r.label}  created ${r.created_at.toISOString()}  ${r.revoked_at ? `revoked ${r.revoked_at.toISOString()}` : r.last_used_at ? `last used ${r.last_used_at.toISOString()}` : 'never used'}`);
    }
    return 0;
  } finally {
    await db.destroy();
  }
}
