import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { isoTimestamp, rendered, TASK_JSON, taskJsonWith } from '../../src/db/sql.ts';

const dialect = new PgDialect();

describe('rendered fragments (src/db/sql.ts)', () => {
  it('render to exactly the text of the fragment they replace, parameters numbered around them', () => {
    const nested = sql`json_build_object('due_date', ${isoTimestamp(sql`t.due_date`)}, 'title', t.title)`;
    const before = dialect.sqlToQuery(sql`select ${nested} from tasks t where t.id = ${'a'} and t.user_id = ${'b'}`);
    const after = dialect.sqlToQuery(
      sql`select ${rendered(nested)} from tasks t where t.id = ${'a'} and t.user_id = ${'b'}`,
    );
    expect(after).toEqual(before);
    expect(after.sql).toContain(`to_char(t.due_date at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
    expect(after.params).toEqual(['a', 'b']);
  });

  it('refuse a fragment with a parameter: its value would be lost', () => {
    expect(() => rendered(sql`t.id = ${'a'}`)).toThrow(/without parameters/);
  });

  it('TASK_JSON is the task JSON with the stored reminders, as one chunk', () => {
    expect(TASK_JSON.queryChunks).toHaveLength(1);
    const text = dialect.sqlToQuery(TASK_JSON).sql;
    expect(text).toContain("'reminders', coalesce((select json_agg(");
    expect(text).toContain("'subtask_count', (select count(*) from tasks sub");
    // With reminders a write just stored, the parameters of those stay parameters.
    const withStored = dialect.sqlToQuery(taskJsonWith(sql`(select json_agg(${'x'}))`));
    expect(withStored.params).toEqual(['x']);
  });
});
