import { defineConfig } from 'drizzle-kit';

// drizzle-kit generates SQL from the schema; it never talks to a database here (see drizzle/migrate.ts).
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './migrations',
  casing: 'snake_case',
});
