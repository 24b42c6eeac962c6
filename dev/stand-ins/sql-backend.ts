import pg from 'pg';

/**
 * Where the Neon front (neon-http.ts) runs SQL: one pg.Pool per database name, so that every
 * connection string's database is its own world (each test file gets a database of its own).
 */
export interface SqlBackend {
  /** For the startup line, e.g. `postgres 127.0.0.1:5432`. */
  readonly description: string;
  /** The pool for a database, created (and the database with it) on first use. */
  pool(database: string): Promise<pg.Pool>;
  /** A client of that pool; a database dropped behind our back is made again. */
  connect(database: string): Promise<pg.PoolClient>;
  /**
   * Makes `database` a copy of `template` (tests migrate one template, then give every test file a
   * copy in a fraction of the time migrations take). Fails if `database` exists.
   */
  clone(template: string, database: string): Promise<void>;
  /** Drops a database the backend created (tests clean up after themselves). */
  dropDatabase(database: string): Promise<void>;
  close(): Promise<void>;
}

/** Neon hands back Postgres' text output untouched; the client parses by dataTypeID. */
export const textTypes = { getTypeParser: () => (value: string) => value };

/** A Neon database name is a Postgres identifier; we accept the portable subset only. */
export const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Real PostgreSQL reached by URL: the admin database creates the others on demand. */
export function createPostgresBackend(adminUrl: string, options: { dropCreatedOnClose?: boolean } = {}): SqlBackend {
  const admin = new URL(adminUrl);
  const adminPool = new pg.Pool({ connectionString: adminUrl, max: 2 });
  // An idle connection ended by the server (a throwaway PostgreSQL stopping at teardown: 57P01) must
  // not crash the process; the next query reconnects or fails on its own. As the database pools do.
  adminPool.on('error', () => {});
  const pools = new Map<string, Promise<pg.Pool>>();
  const created = new Set<string>();
  let cloneQueue: Promise<void> = Promise.resolve();

  async function ensureDatabase(database: string): Promise<void> {
    const exists = await adminPool.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rowCount) return;
    try {
      // Identifiers cannot be bound as parameters; DATABASE_NAME keeps this injection-free.
      await adminPool.query(`create database "${database}"`);
      created.add(database);
    } catch (error) {
      // Two requests racing to create the same database: the loser finds it made.
      if ((error as { code?: string }).code !== '42P04') throw error;
    }
  }

  const backend: SqlBackend = {
    description: `postgres ${admin.hostname}:${admin.port || '5432'}`,
    async connect(database) {
      try {
        return await (await backend.pool(database)).connect();
      } catch (error) {
        // 3D000: the database is gone (dropped by hand or by another process): forget and redo.
        if ((error as { code?: string }).code !== '3D000') throw error;
        const stale = pools.get(database);
        pools.delete(database);
        void stale?.then((p) => p.end()).catch(() => {});
        return (await backend.pool(database)).connect();
      }
    },
    async clone(template, database) {
      // CREATE DATABASE ... TEMPLATE needs the template to have no sessions: close ours first.
      // Clones run one at a time so one never finds the template busy with another's copy.
      const run = cloneQueue.then(async () => {
        const pool = pools.get(template);
        pools.delete(template);
        if (pool) await (await pool.catch(() => null))?.end();
        await adminPool.query(`create database "${database}" template "${template}"`);
        created.add(database);
      });
      cloneQueue = run.catch(() => {});
      await run;
    },
    pool(database) {
      let pool = pools.get(database);
      if (!pool) {
        pool = (async () => {
          await ensureDatabase(database);
          const url = new URL(adminUrl);
          url.pathname = `/${database}`;
          const databasePool = new pg.Pool({
            connectionString: url.toString(),
            max: 10,
            types: textTypes,
            options: '-c TimeZone=UTC -c DateStyle=ISO,MDY -c IntervalStyle=postgres',
          });
          // An idle client dying (server restart) must not crash the stand-ins.
          databasePool.on('error', () => {});
          return databasePool;
        })();
        pools.set(database, pool);
        pool.catch(() => pools.delete(database));
      }
      return pool;
    },
    async dropDatabase(database) {
      const pool = pools.get(database);
      pools.delete(database);
      if (pool) await (await pool.catch(() => null))?.end();
      await adminPool.query(`drop database if exists "${database}" with (force)`);
      created.delete(database);
    },
    async close() {
      await Promise.allSettled([...pools.values()].map(async (p) => (await p).end()));
      pools.clear();
      if (options.dropCreatedOnClose) {
        for (const database of created) {
          await adminPool.query(`drop database if exists "${database}" with (force)`).catch(() => {});
        }
      }
      await adminPool.end();
    },
  };
  return backend;
}
