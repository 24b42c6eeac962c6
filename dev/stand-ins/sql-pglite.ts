import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { PGlite } from '@electric-sql/pglite';
import { btree_gin } from '@electric-sql/pglite/contrib/btree_gin';
import pg from 'pg';
import { PgliteConnection } from './pglite-connection.ts';
import { createDatabaseGates, endPoolWhenIdle, textTypes, type SqlBackend } from './sql-backend.ts';

/**
 * PGlite (Postgres in WASM) for machines with no Postgres installed. Each database name is its
 * own PGlite instance: persisted under `<dataDir>/pglite/<name>` when a data dir is given, in
 * memory otherwise. A fresh instance costs an initdb in WASM (about 5-10 s), so the first one is
 * dumped as a gzip template and every later database starts from it (under 1 s).
 */
export function createPgliteBackend(options: { dataDir?: string; templateCache: string }): SqlBackend {
  const instances = new Map<string, Promise<{ db: PGlite; pool: pg.Pool }>>();
  let template: Promise<Blob> | undefined;
  let closed = false;

  /** Closes an instance once the requests using it (queued ones included) are done. */
  async function closeInstance(database: string): Promise<void> {
    const instance = instances.get(database);
    instances.delete(database);
    const open = await instance?.catch(() => null);
    if (!open) return;
    await endPoolWhenIdle(open.pool);
    await open.db.close();
  }
  // A drop waits for the requests on its database; requests that arrive meanwhile wait for it, so a
  // database directory is never opened twice (a new instance on files an old one still writes).
  const gates = createDatabaseGates(closeInstance);

  function loadTemplate(): Promise<Blob> {
    template ??= (async () => {
      const file = path.join(options.templateCache, `pglite-template-${pgliteVersion()}.tar.gz`);
      if (fs.existsSync(file)) return new Blob([fs.readFileSync(file)]);
      const fresh = await PGlite.create();
      const dump = await fresh.dumpDataDir('gzip');
      await fresh.close();
      fs.mkdirSync(options.templateCache, { recursive: true });
      // Write then rename: two processes making the template at once never see half a file.
      const partial = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
      fs.renameSync(partial, file);
      return dump;
    })();
    return template;
  }

  async function open(database: string, from?: Blob): Promise<{ db: PGlite; pool: pg.Pool }> {
    const dir = options.dataDir ? path.join(options.dataDir, 'pglite', database) : undefined;
    const existing = dir !== undefined && fs.existsSync(path.join(dir, 'PG_VERSION'));
    if (dir) fs.mkdirSync(path.dirname(dir), { recursive: true });
    let db: PGlite;
    // PGlite has no extensions of its own: each one the migrations create must be loaded here.
    // btree_gin: the search index holds user_id beside the document (migrations/0004).
    const extensions = { btree_gin };
    try {
      db = existing
        ? await PGlite.create(dir, { extensions })
        : await PGlite.create(dir, { extensions, loadDataDir: from ?? (await loadTemplate()) });
    } catch (error) {
      throw new Error(
        `PGlite could not open ${dir ?? 'an in-memory database'} (${String(error)}); ` +
          `if it is corrupt or from another PGlite version, move it away and start again`,
        { cause: error },
      );
    }
    // PGlite is one session: settings made here hold for every request.
    await db.exec(`set timezone = 'UTC'; set datestyle = 'ISO, MDY'; set intervalstyle = 'postgres'`);
    // One client, kept: pool.query() would destroy it on any query error, and PGlite is one session.
    // Callers use connect()/release() instead. PgliteConnection, not PGlite's node-postgres adapter,
    // which drops a leading U+FEFF from texts.
    const connection = { connection: new PgliteConnection(db), user: 'postgres', database: 'postgres' };
    const pool = new pg.Pool({ ...connection, max: 1, idleTimeoutMillis: 0, types: textTypes });
    pool.on('error', () => {});
    return { db, pool };
  }

  // A template's dump is taken once and reused for every copy.
  const dumps = new Map<string, Promise<Blob>>();

  const backend: SqlBackend = {
    async clone(template, database) {
      await gates.active(database); // a drop of that name finishes first (its files go)
      if (instances.has(database)) throw new Error(`database ${database} already exists`);
      let dump = dumps.get(template);
      if (!dump) {
        dump = (async () => {
          const source = await backend.pool(template);
          // Nothing may run on the template while it is dumped: hold its only client meanwhile.
          const client = await source.connect();
          try {
            const instance = await instances.get(template);
            if (!instance) throw new Error(`template ${template} is gone`);
            return await instance.db.dumpDataDir('gzip');
          } finally {
            client.release();
          }
        })();
        dumps.set(template, dump);
        dump.catch(() => dumps.delete(template));
      }
      const instance = open(database, await dump);
      instances.set(database, instance);
      instance.catch(() => instances.delete(database));
      await instance;
    },
    async connect(database) {
      for (let attempt = 1; ; attempt++) {
        const pool = await backend.pool(database);
        try {
          return await pool.connect();
        } catch (error) {
          // Ended by a drop meanwhile: the next pool() waits for the drop, then opens afresh.
          if (!pool.ending || attempt >= 3) throw error;
        }
      }
    },
    description: options.dataDir
      ? `PGlite ${pgliteVersion()} in ${options.dataDir}`
      : `PGlite ${pgliteVersion()} in memory`,
    async pool(database) {
      if (closed) throw new Error('the stand-ins are shutting down');
      const dropping = gates.active(database);
      if (dropping) return dropping.then(() => backend.pool(database));
      let instance = instances.get(database);
      if (!instance) {
        instance = open(database);
        instances.set(database, instance);
        instance.catch(() => instances.delete(database));
      }
      return (await instance).pool;
    },
    dropDatabase(database) {
      return gates.exclusive(database, () => {
        if (options.dataDir)
          fs.rmSync(path.join(options.dataDir, 'pglite', database), { recursive: true, force: true });
        return Promise.resolve();
      });
    },
    async close() {
      // Closing PGlite checkpoints and flushes its files: no committed data is lost on Ctrl-C.
      closed = true;
      await gates.all();
      while (instances.size > 0) {
        await Promise.allSettled([...instances.keys()].map((database) => closeInstance(database)));
      }
    },
  };
  return backend;
}

let version: string | undefined;
function pgliteVersion(): string {
  // The package does not export its package.json; find it beside the entry point. (createRequire,
  // not import.meta.resolve, which vitest's module runner lacks.)
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  version ??= (
    JSON.parse(fs.readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }
  ).version;
  return version;
}
