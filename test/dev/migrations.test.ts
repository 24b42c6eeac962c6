import { readFileSync } from 'node:fs';
import { neon, neonConfig } from '@neondatabase/serverless';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StandIns } from '../../dev/stand-ins/server.ts';
import { applyMigrations, MIGRATIONS_FOLDER, readMigrations } from '../../drizzle/migrator.ts';
import { availableBackends, connectionString, startForTest, uniqueName } from '../stand-ins/helpers.ts';

/**
 * Migrations that change existing rows, run on a database that has some: the test suites start
 * from an empty one, where a backfill has nothing to do.
 */

const journal = JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/meta/_journal.json`, 'utf8')) as {
  entries: { idx: number; tag: string }[];
};
const migrationIndex = (tag: string) => {
  const entry = journal.entries.find((e) => e.tag === tag);
  if (!entry) throw new Error(`no migration ${tag}`);
  return entry.idx;
};

describe.each(availableBackends())('on the %s backend', (kind) => {
  let standIns: StandIns;
  beforeAll(async () => {
    standIns = await startForTest(kind);
  }, 120_000);
  afterAll(async () => {
    await standIns?.close();
  });

  it('0009 gives existing tasks position keys in creation order, per parent, and makes them unique', async () => {
    neonConfig.fetchEndpoint = standIns.neonFetchEndpoint;
    const sql = neon(connectionString(uniqueName('migrate_positions')));
    const migrations = readMigrations();
    await applyMigrations(sql, migrations.slice(0, migrationIndex('0009_task_positions')));

    const [ann, bob] = [crypto.randomUUID(), crypto.randomUUID()];
    await sql`insert into users (id, email, password_hash, full_name)
              values (${ann}, 'ann@example.com', 'x', 'Ann'), (${bob}, 'bob@example.com', 'x', 'Bob')`;
    // Ann: 70 top-level tasks, the oldest last inserted (the keys cross from a.. to b..), one
    // with two subtasks; Bob: one task, deleted.
    await sql`insert into tasks (user_id, title, created_at)
              select ${ann}, 'Task ' || g, now() - g * interval '1 minute' from generate_series(1, 70) g`;
    await sql`insert into tasks (user_id, parent_id, title, created_at)
              select ${ann}, (select id from tasks where title = 'Task 1'), 'Subtask ' || g, now() + g * interval '1 second'
                from generate_series(1, 2) g`;
    await sql`insert into tasks (user_id, title, deleted_at) values (${bob}, 'Bob''s task', now())`;

    await applyMigrations(sql, migrations);
    const rows = (await sql`
      select t.title, t.position, t.user_id = ${ann} as ann, t.parent_id is not null as sub
        from tasks t order by t.user_id = ${ann} desc, t.parent_id nulls first, t.position collate "C"`) as {
      title: string;
      position: string;
      ann: boolean;
      sub: boolean;
    }[];
    const top = rows.filter((r) => r.ann && !r.sub);
    expect(top.map((r) => r.title)).toEqual(Array.from({ length: 70 }, (_, i) => `Task ${70 - i}`));
    expect(top.slice(0, 2).map((r) => r.position)).toEqual(['a0', 'a1']);
    expect(top.at(-1)?.position).toBe('b07');
    expect(rows.filter((r) => r.sub).map((r) => [r.title, r.position])).toEqual([
      ['Subtask 1', 'a0'],
      ['Subtask 2', 'a1'],
    ]);
    expect(rows.find((r) => !r.ann)?.position).toBe('a0');

    // Live siblings cannot share a key from now on.
    await expect(sql`update tasks set position = 'a0' where title = 'Task 69'`).rejects.toMatchObject({
      code: '23505',
      constraint: 'tasks_top_position_idx',
    });
  }, 60_000);
});
