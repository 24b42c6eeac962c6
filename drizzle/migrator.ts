import type { NeonQueryFunction } from '@neondatabase/serverless';
import { readMigrationFiles, type MigrationMeta } from 'drizzle-orm/migrator';

/**
 * Applies drizzle-kit's migrations over Neon's HTTP protocol. Each migration is ONE statement, a
 * `DO` block that takes an advisory lock, checks drizzle's bookkeeping table and only then runs the
 * migration's statements and records it. So a migration is atomic (drizzle's own neon-http migrator
 * sends each statement alone, and a failure halfway leaves a database a rerun cannot fix), a rerun
 * applies nothing, and two migrators at once serialise instead of colliding. The bookkeeping is
 * drizzle's own (`drizzle.__drizzle_migrations`: hash, folder time), so drizzle-kit agrees.
 * Limit: statements that cannot run inside a transaction (CREATE INDEX CONCURRENTLY) are refused.
 */

export const MIGRATIONS_FOLDER = new URL('../migrations', import.meta.url).pathname;

// An arbitrary constant: the advisory lock that every migrator of this project takes.
const MIGRATION_LOCK = 73_621_004;

export function readMigrations(folder = MIGRATIONS_FOLDER): MigrationMeta[] {
  return readMigrationFiles({ migrationsFolder: folder });
}

/** The DO block that applies one migration if it has not been applied yet. */
export function migrationBlock(migration: MigrationMeta): string {
  const statements = migration.sql.map((s) => s.trim()).filter((s) => s !== '');
  if (statements.some((s) => /\bconcurrently\b/i.test(s))) {
    throw new Error(`migration ${migration.folderMillis} uses CONCURRENTLY, which cannot run inside a transaction`);
  }
  const tag = (i: number | 'outer') => {
    const t = `$m${i}_${migration.hash.slice(0, 12)}$`;
    // A dollar-quote tag must not appear inside what it quotes.
    if (statements.some((s) => s.includes(t))) throw new Error(`dollar-quote tag ${t} occurs in migration`);
    return t;
  };
  const hash = migration.hash.replace(/[^0-9a-f]/gi, '');
  const millis = Math.trunc(migration.folderMillis);
  return [
    `DO ${tag('outer')}`,
    'BEGIN',
    `  PERFORM pg_advisory_xact_lock(${MIGRATION_LOCK});`,
    '  CREATE SCHEMA IF NOT EXISTS drizzle;',
    '  CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id serial PRIMARY KEY, hash text NOT NULL, created_at bigint);',
    `  IF NOT EXISTS (SELECT 1 FROM drizzle.__drizzle_migrations WHERE created_at >= ${millis}) THEN`,
    ...statements.map((s, i) => `    EXECUTE ${tag(i)}${s}${tag(i)};`),
    `    INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('${hash}', ${millis});`,
    '  END IF;',
    'END',
    tag('outer'),
  ].join('\n');
}

export async function applyMigrations(
  sql: NeonQueryFunction<false, false>,
  migrations: MigrationMeta[] = readMigrations(),
): Promise<{ applied: number; total: number }> {
  const count = async () => {
    const rows = await sql.query(
      `select count(*)::int as n from pg_tables where schemaname = 'drizzle' and tablename = '__drizzle_migrations'`,
    );
    if (rows[0]?.n === 0) return 0;
    const applied = await sql.query('select count(*)::int as n from drizzle.__drizzle_migrations');
    return Number(applied[0]?.n ?? 0);
  };
  const before = await count();
  for (const migration of migrations) await sql.query(migrationBlock(migration));
  const after = await count();
  return { applied: after - before, total: migrations.length };
}
