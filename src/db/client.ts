import { neon, neonConfig, type NeonQueryFunction } from '@neondatabase/serverless';
import { drizzle, type NeonHttpDatabase } from 'drizzle-orm/neon-http';
import * as schema from './schema.ts';

export type Database = NeonHttpDatabase<typeof schema>;

export interface DatabaseClients {
  /** drizzle over the Neon HTTP driver: one HTTP round trip per query or per db.batch. */
  db: Database;
  /** The raw driver, for the few statements drizzle does not express (readiness, migrations). */
  sql: NeonQueryFunction<false, false>;
}

const clients = new Map<string, DatabaseClients>();

/**
 * One client per connection string per isolate: the driver is stateless over HTTP, so sharing is
 * safe, and building drizzle's session on every request would be waste.
 */
export function createDatabase(databaseUrl: string, fetchEndpoint?: string): DatabaseClients {
  // A global of the driver: set it only when configured, before the first query (local stand-in).
  if (fetchEndpoint) neonConfig.fetchEndpoint = fetchEndpoint;
  let entry = clients.get(databaseUrl);
  if (!entry) {
    const sql = neon(databaseUrl);
    entry = { sql, db: drizzle({ client: sql, schema, casing: 'snake_case' }) };
    clients.set(databaseUrl, entry);
  }
  return entry;
}
