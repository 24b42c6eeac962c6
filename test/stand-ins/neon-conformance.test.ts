import { neon, neonConfig, type NeonQueryFunction } from '@neondatabase/serverless';
import { eq, sql as dsql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/neon-http';
import { bigint, boolean, integer, jsonb, numeric, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StandIns } from '../../dev/stand-ins/server.ts';
import {
  availableBackends,
  connectionString,
  control,
  counters,
  startForTest,
  uniqueName,
  type Kind,
} from './helpers.ts';

/**
 * The Neon driver and drizzle's neon-http session, unmodified, against the stand-in on each
 * backend: what passes here is what the Worker can rely on.
 */

// Each backend gets its own host name in the connection string; the driver's endpoint hook routes by it.
const endpoints = new Map<string, string>();
neonConfig.fetchEndpoint = (host) => {
  const endpoint = endpoints.get(host);
  if (!endpoint) throw new Error(`no stand-in registered for ${host}`);
  return endpoint;
};

const users = pgTable('users', {
  id: uuid().primaryKey().defaultRandom(),
  email: text().notNull().unique(),
  age: integer(),
  active: boolean().notNull().default(true),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});
const notes = pgTable('notes', {
  id: bigint({ mode: 'bigint' }).primaryKey().generatedAlwaysAsIdentity(),
  userId: uuid('user_id')
    .notNull()
    .references(() => users.id),
  body: text().notNull(),
  amount: numeric({ precision: 12, scale: 2 }),
  meta: jsonb().$type<{ tags: string[] }>(),
});

const SCHEMA = [
  `create table users (id uuid primary key default gen_random_uuid(), email text not null unique, age integer,
     active boolean not null default true, created_at timestamptz not null default now())`,
  `create table notes (id bigint primary key generated always as identity, user_id uuid not null references users(id),
     body text not null, amount numeric(12,2), meta jsonb)`,
];

describe.each(availableBackends())('Neon protocol on the %s backend', (kind: Kind) => {
  let standIns: StandIns;
  let database: string;
  let sql: NeonQueryFunction<false, false>;

  beforeAll(async () => {
    standIns = await startForTest(kind);
    endpoints.set(`neon-${kind}.local`, standIns.neonFetchEndpoint);
    database = uniqueName('conf');
    sql = neon(connectionFor(database));
    for (const statement of SCHEMA) await sql.query(statement);
  });
  afterAll(async () => {
    await standIns?.close();
  });

  function connectionFor(db: string): string {
    return connectionString(db).replace('stand-in.local', `neon-${kind}.local`);
  }

  it('runs a parameterised query and parses types by OID', async () => {
    const rows = await sql`select ${41}::int + 1 as answer, ${'héllo ✓'}::text as greeting, ${true}::bool as yes`;
    expect(rows).toEqual([{ answer: 42, greeting: 'héllo ✓', yes: true }]);
  });

  it('gives full results: fields, command and rowCount', async () => {
    const result = await sql.query('select 1 as one union all select 2', [], { fullResults: true, arrayMode: true });
    expect(result.rows).toEqual([[1], [2]]);
    expect(result.command).toBe('SELECT');
    expect(result.rowCount).toBe(2);
    expect(result.fields[0]).toMatchObject({ name: 'one', dataTypeID: 23 });
  });

  it('round-trips int8, numeric, bool, jsonb, arrays, bytea, timestamptz, date, uuid and null', async () => {
    const [row] = await sql.query(
      `select $1::int8 as big, $2::numeric as num, $3::bool as flag, $4::jsonb as doc, $5::int4[] as ints,
              $6::text[] as texts, $7::bytea as bytes, $8::timestamptz as at, $9::date as day,
              $10::uuid as id, $11::text as nothing`,
      [
        '9007199254740993',
        '12345678901234567890.123456789',
        false,
        JSON.stringify({ a: [1, 'two', null], 'quote"': true }),
        [1, 2, 3],
        ['a,b', 'c"d', ''],
        Buffer.from([0, 1, 254, 255]),
        new Date('2024-05-06T07:08:09.123Z'),
        '2024-02-29',
        '7c2f0f3e-5b0e-4b8a-9a53-4d1f3f0f6c11',
        null,
      ],
    );
    // drizzle() swaps the driver's global parsers so dates come back as text (local-services.md):
    // once any drizzle test has run, these two are strings. Either way they must be these instants.
    const { at, day, ...rest } = row as { at: Date | string; day: Date | string };
    expect(new Date(at).toISOString()).toBe('2024-05-06T07:08:09.123Z');
    expect(day instanceof Date ? day.toISOString().slice(0, 10) : day).toBe('2024-02-29');
    expect(rest).toEqual({
      big: '9007199254740993',
      num: '12345678901234567890.123456789',
      flag: false,
      doc: { a: [1, 'two', null], 'quote"': true },
      ints: [1, 2, 3],
      texts: ['a,b', 'c"d', ''],
      bytes: Buffer.from([0, 1, 254, 255]),
      id: '7c2f0f3e-5b0e-4b8a-9a53-4d1f3f0f6c11',
      nothing: null,
    });
  });

  it('returns texts exactly, a leading U+FEFF (BOM) included, as PostgreSQL does', async () => {
    // PGlite's own message parser decodes with a default TextDecoder, which drops a leading BOM;
    // the stand-in must hand back what PostgreSQL sent (issue #12).
    const bom = '\uFEFF';
    const [row] = await sql.query(
      `select $1::text as param, E'\\uFEFFliteral' as literal, length($1::text) as n,
              array[$1::text, 'x'] as arr, jsonb_build_object('k', $1::text) as doc, $1::text as "\uFEFFcolumn"`,
      [`${bom}title`],
    );
    expect(row).toEqual({
      param: `${bom}title`,
      literal: `${bom}literal`,
      n: 6,
      arr: [`${bom}title`, 'x'],
      doc: { k: `${bom}title` },
      [`${bom}column`]: `${bom}title`,
    });
    const [stored] = await sql.transaction((tx) => [
      tx`insert into users (email) values (${`${bom}${uniqueName('bom')}@example.com`}) returning email`,
    ]);
    expect((stored as { email: string }[])[0]!.email.startsWith(bom)).toBe(true);
    // Error texts come through the same parser.
    await expect(sql.query(`do $$ begin raise exception E'\\uFEFFboom'; end $$`)).rejects.toMatchObject({
      message: `${bom}boom`,
      code: 'P0001',
    });
  });

  it('answers in UTC whatever the server zone', async () => {
    const [row] = await sql.query(
      `select '2024-01-01 12:00:00+05'::timestamptz::text as t, current_setting('TimeZone') as tz`,
    );
    expect(row).toEqual({ t: '2024-01-01 07:00:00+00', tz: 'UTC' });
  });

  it('reports Postgres errors with every field, as NeonDbError', async () => {
    const error = await sql.query('select * from no_such_table').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'NeonDbError', code: '42P01', severity: 'ERROR', position: '15' });
    expect((error as Error).message).toBe('relation "no_such_table" does not exist');
  });

  it('refuses two statements in one query (extended protocol), like Neon', async () => {
    await expect(sql.query('select 1; select 2')).rejects.toMatchObject({ code: '42601' });
  });

  it('refuses a NUL byte in text with 22021, not a server failure', async () => {
    await expect(sql.query('select $1::text', ['a\u0000b'])).rejects.toMatchObject({ code: '22021' });
  });

  it('runs sql.transaction atomically and rolls back on error', async () => {
    const email = `${uniqueName('tx')}@example.com`;
    const [inserted, counted] = await sql.transaction((tx) => [
      tx`insert into users (email, age) values (${email}, 30) returning email, age`,
      tx`select count(*)::int as n from users where email = ${email}`,
    ]);
    expect(inserted).toEqual([{ email, age: 30 }]);
    expect(counted).toEqual([{ n: 1 }]);

    const other = `${uniqueName('tx')}@example.com`;
    await expect(
      sql.transaction((tx) => [
        tx`insert into users (email) values (${other})`,
        tx`insert into users (email) values (${email})`,
      ]),
    ).rejects.toMatchObject({ code: '23505', constraint: 'users_email_key' });
    expect(await sql`select 1 from users where email = ${other}`).toEqual([]);
  });

  it('honours the batch isolation and read-only headers', async () => {
    const [[level]] = (await sql.transaction((tx) => [tx`show transaction_isolation`], {
      isolationLevel: 'Serializable',
    })) as [[{ transaction_isolation: string }]];
    expect(level.transaction_isolation).toBe('serializable');
    await expect(
      sql.transaction((tx) => [tx`insert into users (email) values (${uniqueName('ro')})`], { readOnly: true }),
    ).rejects.toMatchObject({ code: '25006' });
  });

  it('serves drizzle insert, update, select, delete and returning', async () => {
    const db = drizzle({ client: sql, casing: 'snake_case' });
    const email = `${uniqueName('dz')}@example.com`;
    const [user] = await db.insert(users).values({ email, age: 20 }).returning();
    expect(user).toMatchObject({ email, age: 20, active: true });
    expect(user!.createdAt).toBeInstanceOf(Date);

    const [note] = await db
      .insert(notes)
      .values({ userId: user!.id, body: 'first', amount: '19.90', meta: { tags: ['x', 'ü'] } })
      .returning();
    expect(note).toMatchObject({ body: 'first', amount: '19.90', meta: { tags: ['x', 'ü'] } });
    expect(typeof note!.id).toBe('bigint');

    const [updated] = await db
      .update(users)
      .set({ age: dsql`${users.age} + 1`, active: false })
      .where(eq(users.id, user!.id))
      .returning();
    expect(updated).toMatchObject({ age: 21, active: false });

    const joined = await db
      .select({ email: users.email, body: notes.body })
      .from(notes)
      .innerJoin(users, eq(users.id, notes.userId))
      .where(eq(users.id, user!.id));
    expect(joined).toEqual([{ email, body: 'first' }]);

    await db.delete(notes).where(eq(notes.userId, user!.id));
    const deleted = await db.delete(users).where(eq(users.id, user!.id)).returning({ id: users.id });
    expect(deleted).toEqual([{ id: user!.id }]);
  });

  it('runs db.batch in one request and one transaction, rolling back all of it on error', async () => {
    const db = drizzle({ client: sql, casing: 'snake_case' });
    const email = `${uniqueName('batch')}@example.com`;
    const before = await counters(standIns, database);
    const [inserted, all] = await db.batch([
      db.insert(users).values({ email }).returning({ email: users.email }),
      db
        .select({ n: dsql<number>`count(*)::int` })
        .from(users)
        .where(eq(users.email, email)),
    ]);
    const after = await counters(standIns, database);
    expect(inserted).toEqual([{ email }]);
    expect(all).toEqual([{ n: 1 }]);
    expect(after.neon.requests - before.neon.requests).toBe(1);
    expect(after.neon.statements - before.neon.statements).toBe(2);

    const fresh = `${uniqueName('batch')}@example.com`;
    const error = await db
      .batch([db.insert(users).values({ email: fresh }), db.insert(users).values({ email })])
      .catch((e: unknown) => e as { cause?: { code?: string } });
    // drizzle 0.45 wraps the driver's error: the Postgres code is on the cause.
    expect((error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code).toBe('23505');
    expect(await db.select().from(users).where(eq(users.email, fresh))).toEqual([]);
  });

  it('shows a unique violation as 23505 through the drizzle error cause', async () => {
    const db = drizzle({ client: sql, casing: 'snake_case' });
    const email = `${uniqueName('dup')}@example.com`;
    await db.insert(users).values({ email });
    const error = (await db
      .insert(users)
      .values({ email })
      .catch((e: unknown) => e)) as Error & { cause?: { code?: string; constraint?: string } };
    expect(error.cause).toMatchObject({ code: '23505', constraint: 'users_email_key' });
  });

  it('shows a foreign key violation as 23503', async () => {
    await expect(
      sql.query('insert into notes (user_id, body) values ($1, $2)', [
        '00000000-0000-4000-8000-000000000000',
        'orphan',
      ]),
    ).rejects.toMatchObject({ code: '23503', constraint: 'notes_user_id_fkey' });
  });

  it('gives each database name its own database', async () => {
    const other = uniqueName('conf_other');
    const sqlOther = neon(connectionFor(other));
    await sqlOther.query('create table only_here (x int)');
    await expect(sql.query('select * from only_here')).rejects.toMatchObject({ code: '42P01' });
    await expect(sqlOther.query('select count(*)::int as n from only_here')).resolves.toEqual([{ n: 0 }]);
    await control(standIns, 'DELETE', `databases/${other}`);
  });

  it('counts requests and statements per database', async () => {
    const before = await counters(standIns, database);
    await sql`select 1`;
    await sql.transaction((tx) => [tx`select 1`, tx`select 2`, tx`select 3`]);
    const after = await counters(standIns, database);
    expect(after.neon.requests - before.neon.requests).toBe(2);
    expect(after.neon.statements - before.neon.statements).toBe(4);
  });

  it('injects latency per namespace', async () => {
    await control(standIns, 'PUT', `latency?ns=${database}`, { neon: 60 });
    const started = performance.now();
    await sql`select 1`;
    const elapsed = performance.now() - started;
    await control(standIns, 'PUT', `latency?ns=${database}`, { neon: 0 });
    expect(elapsed).toBeGreaterThanOrEqual(55);
  });

  it('can play a database that is down: the driver sees a connection error', async () => {
    await control(standIns, 'PUT', `faults?ns=${database}`, { neon: 'down' });
    const error = (await sql`select 1`.catch((e: unknown) => e)) as Error;
    await control(standIns, 'PUT', `faults?ns=${database}`, { neon: 'none' });
    expect(error.message).toMatch(/^Error connecting to database/);
    await expect(sql`select 1 as ok`).resolves.toEqual([{ ok: 1 }]);
  });

  it('answers malformed protocol input with 400, never a crash', async () => {
    const post = (headers: Record<string, string>, body: string) =>
      fetch(standIns.neonFetchEndpoint, { method: 'POST', headers, body }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { message: string },
      }));
    const conn = { 'Neon-Connection-String': connectionFor(database) };
    expect((await post({}, '{"query":"select 1","params":[]}')).status).toBe(400);
    expect((await post({ 'Neon-Connection-String': 'not a url' }, '{"query":"select 1"}')).status).toBe(400);
    expect(
      (await post({ 'Neon-Connection-String': connectionFor('bad-name;drop') }, '{"query":"select 1"}')).status,
    ).toBe(400);
    expect(await post(conn, '{not json')).toMatchObject({
      status: 400,
      body: { message: 'request body is not valid JSON' },
    });
    expect((await post(conn, '{"query":42}')).status).toBe(400);
    expect((await post(conn, '{"queries":[{"query":"select 1"},{"nope":1}]}')).status).toBe(400);
    expect((await post({ ...conn, 'Neon-Batch-Isolation-Level': 'Chaos' }, '{"queries":[]}')).status).toBe(400);
    const wrongMethod = await fetch(standIns.neonFetchEndpoint, { method: 'GET' });
    expect(wrongMethod.status).toBe(404);
  });
});
