import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';

/**
 * Rows written straight into a freshly migrated database: registering 1,000 users through the API
 * would cost 1,000 PBKDF2 hashes (about 140 ms each). Every user gets one live session (a
 * refresh-token row whose family id is the `sid` of the access tokens the generator mints), so the
 * tokens belong to sessions the API itself could list and end.
 */

export interface SeededTask {
  id: string;
  version: number;
}

export interface SeededUser {
  id: string;
  sessionId: string;
  tasks: SeededTask[];
  categories: string[];
}

const STATUSES = ['todo', 'in_progress', 'done'] as const;
const PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;
const CATEGORY_NAMES = ['Work', 'Home', 'Errands'];
const CATEGORY_COLORS = ['#2563EB', '#16A34A', '#DC2626'];
const DAY = 86_400_000;

/** A password hash in the stored format that no password matches (nobody logs in during the run). */
function unusablePasswordHash(): string {
  const b64 = (n: number) => randomBytes(n).toString('base64').replace(/=+$/, '');
  return `$pbkdf2-sha256$v=1$i=100000,r=6$${b64(16)}$${b64(32)}`;
}

export async function seedDatabase(
  pool: pg.Pool,
  options: { users: number; tasksPerUser: number },
): Promise<SeededUser[]> {
  const now = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  const users: SeededUser[] = [];
  const u = { id: [] as string[], email: [] as string[], hash: [] as string[], name: [] as string[] };
  const s = { id: [] as string[], user: [] as string[], family: [] as string[], hash: [] as string[] };
  const t = {
    id: [] as string[],
    user: [] as string[],
    title: [] as string[],
    description: [] as (string | null)[],
    status: [] as string[],
    priority: [] as string[],
    due: [] as (string | null)[],
    created: [] as string[],
  };
  const c = { id: [] as string[], user: [] as string[], name: [] as string[], color: [] as string[] };
  const link = { task: [] as string[], category: [] as string[] };

  for (let i = 0; i < options.users; i++) {
    const user: SeededUser = { id: uuidv7(), sessionId: uuidv7(), tasks: [], categories: [] };
    users.push(user);
    u.id.push(user.id);
    u.email.push(`load-${i}@bench.invalid`);
    u.hash.push(unusablePasswordHash());
    u.name.push(`Load User ${i}`);
    s.id.push(uuidv7());
    s.user.push(user.id);
    s.family.push(user.sessionId);
    s.hash.push(createHash('sha256').update(randomBytes(32)).digest('hex'));
    // Every other user has categories, and a third of their tasks carry one.
    if (i % 2 === 0) {
      for (const [k, name] of CATEGORY_NAMES.entries()) {
        const id = uuidv7();
        user.categories.push(id);
        c.id.push(id);
        c.user.push(user.id);
        c.name.push(name);
        c.color.push(CATEGORY_COLORS[k]!);
      }
    }
    for (let j = 0; j < options.tasksPerUser; j++) {
      const id = uuidv7();
      user.tasks.push({ id, version: 1 });
      t.id.push(id);
      t.user.push(user.id);
      t.title.push(`Seeded task ${j + 1} of user ${i}`);
      t.description.push(j % 3 === 0 ? `Details for task ${j + 1}: a few words the list carries along.` : null);
      t.status.push(STATUSES[j % STATUSES.length]!);
      t.priority.push(PRIORITIES[(j * 7) % PRIORITIES.length]!);
      t.due.push(j % 4 === 0 ? null : iso(now + ((j % 30) - 10) * DAY));
      t.created.push(iso(now - (options.tasksPerUser - j) * 3_600_000));
      if (user.categories.length > 0 && j % 3 === 0) {
        link.task.push(id);
        link.category.push(user.categories[(j / 3) % user.categories.length]!);
      }
    }
  }

  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(
      `insert into users (id, email, password_hash, full_name, is_active, email_verified_at)
       select id, email, hash, name, true, now()
         from unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) as x(id, email, hash, name)`,
      [u.id, u.email, u.hash, u.name],
    );
    await client.query(
      `insert into refresh_tokens (id, user_id, family_id, token_hash, expires_at, family_expires_at, last_used_at, user_agent)
       select id, user_id, family_id, hash, now() + interval '7 days', now() + interval '30 days', now(), 'edgetask load benchmark'
         from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[]) as x(id, user_id, family_id, hash)`,
      [s.id, s.user, s.family, s.hash],
    );
    await client.query(
      // position: a random key of the manual order's format (docs/decisions/0027), unique in practice.
      `insert into tasks (id, user_id, title, description, status, priority, due_date, created_at, updated_at, position)
       select id, user_id, title, description, status::task_status, priority::task_priority, due, created, created,
              'z' || left(md5(gen_random_uuid()::text), 26)
         from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[])
           as x(id, user_id, title, description, status, priority, due, created)`,
      [t.id, t.user, t.title, t.description, t.status, t.priority, t.due, t.created],
    );
    await client.query(
      `insert into categories (id, user_id, name, color)
       select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[])`,
      [c.id, c.user, c.name, c.color],
    );
    await client.query(
      `insert into task_categories (task_id, category_id)
       select * from unnest($1::uuid[], $2::uuid[])`,
      [link.task, link.category],
    );
    await client.query('commit');
    await client.query('analyze');
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
  return users;
}
