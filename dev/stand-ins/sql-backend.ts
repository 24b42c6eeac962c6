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

/**
 * Ends a pool once nothing of ours uses it. pg.Pool.end() waits for checked-out clients to come
 * back, but never serves the requests already queued for one (they would wait forever), so those
 * get their turn first.
 */
export async function endPoolWhenIdle(pool: pg.Pool): Promise<void> {
  while (pool.waitingCount > 0 && !pool.ending) await new Promise((r) => setTimeout(r, 5));
  if (!pool.ending) await pool.end();
}

/**
 * Runs `work` on a database while no pool of ours is open on it: earlier work on the same database
 * finishes first, the database's pool is ended (in-flight requests finish) before `work` starts,
 * and `pool()` calls made meanwhile wait (`active`) instead of opening a new one. Those waiters
 * hold no pool of their own while they wait, so closing the pool never waits on them.
 */
export function createDatabaseGates(closePool: (database: string) => Promise<void>) {
  const gates = new Map<string, Promise<void>>();
  return {
    /** While a drop or copy of `database` is under way: settles when it is done. */
    active(database: string): Promise<void> | undefined {
      return gates.get(database);
    },
    exclusive<T>(database: string, work: () => Promise<T>): Promise<T> {
      const run = (gates.get(database) ?? Promise.resolve()).then(async () => {
        await closePool(database);
        return work();
      });
      const gate = run.then(
        () => {},
        () => {},
      );
      gates.set(database, gate);
      void gate.then(() => {
        if (gates.get(database) === gate) gates.delete(database);
      });
      return run;
    },
    all(): Promise<unknown> {
      return Promise.allSettled(gates.values());
    },
  };
}

/** A Neon database name is a Postgres identifier; we accept the portable subset only. */
export const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Real PostgreSQL reached by URL: the admin database creates the others on demand. */
export function createPostgresBackend(adminUrl: string, options: { dropCreatedOnClose?: boolean } = {}): SqlBackend {
  const admin = new URL(adminUrl);
  const adminPool = new pg.Pool({ connectionString: adminUrl, max: 2 });
  // An idle admin session ended (server restart, pg_terminate_backend) must not crash the stand-ins.
  adminPool.on('error', () => {});
  const pools = new Map<string, Promise<pg.Pool>>();
  const created = new Set<string>();
  let cloneQueue: Promise<void> = Promise.resolve();
  let closed = false;

  async function closePool(database: string): Promise<void> {
    const pool = pools.get(database);
    pools.delete(database);
    const open = await pool?.catch(() => null);
    if (open) await endPoolWhenIdle(open);
  }
  const gates = createDatabaseGates(closePool);

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

  /**
   * No `with (force)`: our own sessions are closed by now (the gate), and ending anyone else's is
   * not ours to do. DROP DATABASE itself waits up to 5 s for sessions that are closing.
   */
  async function drop(database: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await adminPool.query(`drop database if exists "${database}"`);
        created.delete(database);
        return;
      } catch (error) {
        // 55006: someone else is connected (a psql, another tool). PostgreSQL has waited 5 s for
        // them; after three tries the caller hears why.
        if ((error as { code?: string }).code !== '55006' || attempt >= 3) throw error;
      }
    }
  }

  const backend: SqlBackend = {
    description: `postgres ${admin.hostname}:${admin.port || '5432'}`,
    async connect(database) {
      for (let attempt = 1; ; attempt++) {
        const pool = await backend.pool(database);
        try {
          return await pool.connect();
        } catch (error) {
          if (attempt >= 3) throw error;
          // Ended by a drop or a copy meanwhile: the next pool() waits for that to finish.
          if (pool.ending) continue;
          // 3D000: the database is gone (dropped by hand or by another process): forget and redo.
          if ((error as { code?: string }).code !== '3D000') throw error;
          if ((await pools.get(database)?.catch(() => null)) === pool) {
            pools.delete(database);
            void endPoolWhenIdle(pool).catch(() => {});
          }
        }
      }
    },
    async clone(template, database) {
      // CREATE DATABASE ... TEMPLATE needs the template to have no sessions: the gate closes ours.
      // Clones run one at a time so one never finds the template busy with another's copy.
      const run = cloneQueue.then(() =>
        gates.exclusive(template, async () => {
          await adminPool.query(`create database "${database}" template "${template}"`);
          created.add(database);
        }),
      );
      cloneQueue = run.catch(() => {});
      await run;
    },
    pool(database) {
      if (closed) return Promise.reject(new Error('the stand-ins are shutting down'));
      const dropping = gates.active(database);
      if (dropping) return dropping.then(() => backend.pool(database));
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
          // An idle client dying (server restart) must not crash the stand-ins; checked-out ones
          // are watched by whoever holds them (neon-http.ts).
          databasePool.on('error', () => {});
          return databasePool;
        })();
        pools.set(database, pool);
        pool.catch(() => {
          if (pools.get(database) === pool) pools.delete(database);
        });
      }
      return pool;
    },
    dropDatabase(database) {
      return gates.exclusive(database, () => drop(database));
    },
    async close() {
      closed = true;
      await gates.all();
      // Pools being made when we closed land in the map too: end until none is left.
      while (pools.size > 0) await Promise.allSettled([...pools.keys()].map(closePool));
      if (options.dropCreatedOnClose) {
        for (const database of created) {
          await drop(database).catch((error: unknown) => {
            console.warn(`[stand-ins] could not drop database ${database}: ${String(error)}`);
          });
        }
      }
      await adminPool.end();
    },
  };
  return backend;
}
