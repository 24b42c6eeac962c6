/**
 * Applies the migrations in migrations/ to DATABASE_URL: Neon in production, or the local stand-in
 * when NEON_FETCH_ENDPOINT points at it. Safe to rerun.
 *
 *   DATABASE_URL=postgresql://... [NEON_FETCH_ENDPOINT=http://127.0.0.1:PORT/sql] npm run db:migrate
 */
import { neon, neonConfig } from '@neondatabase/serverless';
import { applyMigrations } from './migrator.ts';

const url = process.env.DATABASE_URL;
if (!url) {
  process.stderr.write('db:migrate: DATABASE_URL is not set\n');
  process.exit(1);
}
if (process.env.NEON_FETCH_ENDPOINT) neonConfig.fetchEndpoint = process.env.NEON_FETCH_ENDPOINT;

try {
  const { applied, total } = await applyMigrations(neon(url));
  process.stdout.write(`db:migrate: ${applied} applied, ${total - applied} already there\n`);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`db:migrate: failed: ${message}\n`);
  process.exit(1);
}
