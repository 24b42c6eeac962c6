import type pg from 'pg';
import { DATABASE_NAME, type SqlBackend } from './sql-backend.ts';

/**
 * Neon's SQL-over-HTTP protocol (`POST /sql`), as @neondatabase/serverless speaks it.
 * See docs/local-services.md for the measured facts this follows.
 */

export interface HttpAnswer {
  status: number;
  body: unknown;
}

interface QueryInput {
  query: string;
  params: unknown[];
}

/** Every error field Neon returns, in Neon's order; absent ones are null. */
const ERROR_FIELDS = [
  'message',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'severity',
  'where',
  'table',
  'column',
  'schema',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const;

const ISOLATION_LEVELS: Record<string, string> = {
  ReadUncommitted: 'read uncommitted',
  ReadCommitted: 'read committed',
  RepeatableRead: 'repeatable read',
  Serializable: 'serializable',
};

/** The database a request targets, read from its connection string; null when unusable. */
export function databaseOf(headers: Record<string, string | undefined>): string | null {
  const connection = headers['neon-connection-string'];
  if (!connection) return null;
  try {
    const name = decodeURIComponent(new URL(connection).pathname.slice(1));
    return DATABASE_NAME.test(name) ? name : null;
  } catch {
    return null;
  }
}

export async function handleNeonSql(
  backend: SqlBackend,
  headers: Record<string, string | undefined>,
  rawBody: string,
): Promise<HttpAnswer> {
  const database = databaseOf(headers);
  if (database === null) {
    return badRequest(
      headers['neon-connection-string']
        ? 'invalid connection string: the database name must match ' + String(DATABASE_NAME)
        : 'missing Neon-Connection-String header',
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    return badRequest('request body is not valid JSON');
  }
  const arrayMode = headers['neon-array-mode'] === 'true';

  if (isRecord(body) && Array.isArray(body.queries)) {
    const queries = body.queries.map(toQuery);
    if (queries.some((q) => q === null))
      return badRequest('every entry of "queries" needs a string "query" and an array "params"');
    const isolation = headers['neon-batch-isolation-level'];
    if (isolation !== undefined && !(isolation in ISOLATION_LEVELS)) {
      return badRequest(`invalid Neon-Batch-Isolation-Level: ${isolation}`);
    }
    let begin = 'begin';
    if (isolation) begin += ` isolation level ${ISOLATION_LEVELS[isolation]}`;
    if (headers['neon-batch-read-only'] === 'true') begin += ' read only';
    if (headers['neon-batch-deferrable'] === 'true') begin += ' deferrable';
    return withClient(backend, database, async (client) => {
      await client.query(begin);
      const results = [];
      try {
        for (const q of queries as QueryInput[]) results.push(toResult(await run(client, q, arrayMode), arrayMode));
        await client.query('commit');
      } catch (error) {
        // A session that ended took its transaction with it: nothing to roll back.
        if (!endsSession(error)) await client.query('rollback').catch(() => {});
        throw error;
      }
      return { status: 200, body: { results } };
    });
  }

  const query = toQuery(body);
  if (query === null) return badRequest('body needs a string "query" and an array "params", or "queries"');
  return withClient(backend, database, async (client) => ({
    status: 200,
    body: toResult(await run(client, query, arrayMode), arrayMode),
  }));
}

/**
 * Runs work on one pooled client. A Postgres error answers 400 with its fields, as Neon does.
 * Only a broken connection discards the client: pool.query() would discard it on any error,
 * which PGlite's single session cannot afford.
 *
 * A checked-out client has no listener of the pool's. When its session ends under it
 * (pg_terminate_backend, a dropped database, a server restart), pg rejects the query in flight and
 * then emits 'error' on the client as the socket closes: without a listener that is an uncaught
 * exception, which takes the whole stand-in down. So the client is watched while it is ours, and a
 * client whose session ended is released with the error, which makes the pool destroy it.
 */
async function withClient(
  backend: SqlBackend,
  database: string,
  work: (client: pg.PoolClient) => Promise<HttpAnswer>,
): Promise<HttpAnswer> {
  let client: pg.PoolClient;
  try {
    client = await backend.connect(database);
  } catch (error) {
    return unavailable(error);
  }
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on('error', onError);
  let answer: HttpAnswer;
  try {
    answer = await work(client);
  } catch (error) {
    if (!broken && (endsSession(error) || !isPostgresError(error))) broken = asError(error);
    answer = isPostgresError(error)
      ? { status: 400, body: Object.fromEntries(ERROR_FIELDS.map((f) => [f, error[f] ?? null])) }
      : unavailable(error);
  }
  client.off('error', onError);
  if (broken) client.release(broken);
  else client.release();
  return answer;
}

/** FATAL and PANIC end the session (57P01 admin shutdown, 57P02 crash, 3D000 database gone). */
function endsSession(error: unknown): boolean {
  return isPostgresError(error) && (error.severity === 'FATAL' || error.severity === 'PANIC');
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function run(client: pg.PoolClient, q: QueryInput, arrayMode: boolean): Promise<pg.QueryResult> {
  // Extended protocol like Neon: one statement per query, `select 1; select 2` is 42601.
  const config: pg.QueryConfig & { queryMode: 'extended' } = { text: q.query, values: q.params, queryMode: 'extended' };
  if (arrayMode) return client.query({ ...config, rowMode: 'array' });
  return client.query(config);
}

function toResult(result: pg.QueryResult, arrayMode: boolean) {
  return {
    fields: result.fields.map((f) => ({
      name: f.name,
      dataTypeID: f.dataTypeID,
      tableID: f.tableID,
      columnID: f.columnID,
      dataTypeSize: f.dataTypeSize,
      dataTypeModifier: f.dataTypeModifier,
      format: 'text',
    })),
    rows: result.rows,
    command: result.command,
    rowCount: result.rowCount,
    rowAsArray: arrayMode,
  };
}

function toQuery(value: unknown): QueryInput | null {
  if (!isRecord(value) || typeof value.query !== 'string') return null;
  const params = value.params ?? [];
  if (!Array.isArray(params)) return null;
  return { query: value.query, params };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type PostgresError = Error & Partial<Record<(typeof ERROR_FIELDS)[number], string>>;

function isPostgresError(error: unknown): error is PostgresError {
  const e = error as { code?: unknown; severity?: unknown };
  return (
    error instanceof Error &&
    typeof e.code === 'string' &&
    /^[0-9A-Z]{5}$/.test(e.code) &&
    typeof e.severity === 'string'
  );
}

function badRequest(message: string): HttpAnswer {
  return { status: 400, body: Object.fromEntries(ERROR_FIELDS.map((f) => [f, f === 'message' ? message : null])) };
}

/** The database cannot be reached: Neon answers a 5xx, which the driver reports without a code. */
function unavailable(error: unknown): HttpAnswer {
  return {
    status: 503,
    body: { message: `database unavailable: ${error instanceof Error ? error.message : String(error)}` },
  };
}
