/* global atob, crypto, fetch, Response, TextDecoder, TextEncoder, URL -- a Worker: workerd's globals */
/**
 * The "floor" for bench:cpu: a plain module Worker with no framework and no validation library
 * that makes the same round trips as the project's routes and answers JSON of about the same size:
 * one Upstash /pipeline POST before the work (the rate limit, with the cache read or the cache
 * invalidation), one Neon /sql POST unless the cache answered, and the one Upstash request the
 * project makes after the response (a read's cache fill, a write's second invalidation), through
 * waitUntil as the project does. It is not correct app logic: it only shows what the I/O itself
 * costs in CPU on workerd, so that the project's CPU can be read as a ratio.
 */

const encoder = new TextEncoder();
const TASK_COLUMNS =
  'id, user_id, title, description, status, priority, due_date, created_at, updated_at, deleted_at, version';

function json(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

function base64UrlBytes(text) {
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** HS256 verification with the key imported on every request, as a naive Worker would. */
async function userIdFrom(request, env) {
  const token = (request.headers.get('authorization') ?? '').replace(/^Bearer /, '');
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) return null;
  const first = env.JWT_KEYS.split(',')[0];
  const secret = first.slice(first.indexOf(':') + 1);
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'verify',
  ]);
  const valid = await crypto.subtle.verify(
    'HMAC',
    key,
    base64UrlBytes(signature),
    encoder.encode(`${header}.${payload}`),
  );
  if (!valid) return null;
  const claims = JSON.parse(new TextDecoder().decode(base64UrlBytes(payload)));
  if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) return null;
  return claims.sub;
}

/** One Upstash round trip: the commands as one pipeline; their results in order. */
async function upstash(env, commands) {
  const res = await fetch(`${env.UPSTASH_REDIS_REST_URL}/pipeline`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(commands),
  });
  if (!res.ok) throw new Error(`upstash ${res.status}: ${await res.text()}`);
  return (await res.json()).map((reply) => reply.result);
}

/** The request's Upstash round trip: a fixed-window counter (the shape of a rate limit) and more. */
async function countRequest(env, userId, more = []) {
  const key = `floor:rl:${userId}:${Math.floor(Date.now() / 60_000)}`;
  const results = await upstash(env, [['INCR', key], ['EXPIRE', key, '60'], ...more]);
  return results.slice(2);
}

/** A read: the cached answer when there is one, else the query's, stored after the response. */
async function cachedRead(env, ctx, userId, key, load) {
  const cacheKey = `floor:cache:${userId}:${key}`;
  const [cached] = await countRequest(env, userId, [['GET', cacheKey]]);
  if (typeof cached === 'string') return text(cached, 'hit');
  const body = JSON.stringify(await load());
  ctx.waitUntil(upstash(env, [['SET', cacheKey, body, 'EX', '300']]));
  return text(body, 'miss');
}

/** A write: the cache generation moves before it (with the rate limit) and after the response. */
async function write(env, ctx, userId, work) {
  const generation = ['INCR', `floor:cache:${userId}:gen`];
  await countRequest(env, userId, [generation]);
  const response = await work();
  ctx.waitUntil(upstash(env, [generation]));
  return response;
}

function text(body, cache) {
  return new Response(body, { headers: { 'content-type': 'application/json', 'x-cache': cache } });
}

/** One Neon round trip, with the headers the @neondatabase/serverless HTTP driver sends. */
async function query(env, text, params) {
  const res = await fetch(env.NEON_FETCH_ENDPOINT, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'Neon-Connection-String': env.DATABASE_URL,
      'Neon-Raw-Text-Output': 'true',
      'Neon-Array-Mode': 'true',
    },
    body: JSON.stringify({ query: text, params }),
  });
  if (!res.ok) throw new Error(`neon ${res.status}: ${await res.text()}`);
  const result = await res.json();
  // Array mode: rows are arrays of text; name the columns as the driver does.
  const names = result.fields.map((f) => f.name);
  return result.rows.map((row) => Object.fromEntries(row.map((value, i) => [names[i], value])));
}

async function handle(request, env, ctx) {
  const url = new URL(request.url);
  const path = url.pathname;
  if (path === '/health' || path === '/health/ready') return json({ status: 'ok' });

  const userId = await userIdFrom(request, env);
  if (!userId) return json({ error: { code: 'UNAUTHENTICATED' } }, 401);

  if (path === '/api/v1/auth/me' && request.method === 'GET') {
    await countRequest(env, userId);
    const [user] = await query(env, 'select id, email, full_name, created_at from users where id = $1', [userId]);
    return json(user);
  }
  if (path === '/api/v1/tasks' && request.method === 'GET') {
    return cachedRead(env, ctx, userId, `list:${url.search}`, async () => {
      const limit = Number(url.searchParams.get('limit') ?? 20);
      const rows = await query(
        env,
        `select ${TASK_COLUMNS} from tasks where user_id = $1 and deleted_at is null order by created_at desc limit $2`,
        [userId, limit],
      );
      return { data: rows, next_cursor: null };
    });
  }
  if (path === '/api/v1/tasks' && request.method === 'POST') {
    const body = await request.json();
    return write(env, ctx, userId, async () => {
      const [task] = await query(
        env,
        // The project computes the next position key in SQL; a unique random key will do here.
        `insert into tasks (user_id, title, priority, position) values ($1, $2, $3, $4) returning ${TASK_COLUMNS}`,
        [userId, body.title, body.priority ?? 'medium', `z${crypto.randomUUID()}`],
      );
      return json(task, 201);
    });
  }
  const match = /^\/api\/v1\/tasks\/([0-9a-f-]{36})$/.exec(path);
  if (match) {
    const id = match[1];
    if (request.method === 'GET') {
      return cachedRead(env, ctx, userId, `task:${id}`, async () => {
        const [task] = await query(env, `select ${TASK_COLUMNS} from tasks where id = $1 and user_id = $2`, [
          id,
          userId,
        ]);
        return task;
      });
    }
    if (request.method === 'PATCH') {
      const body = await request.json();
      return write(env, ctx, userId, async () => {
        const [task] = await query(
          env,
          `update tasks set title = coalesce($3, title), updated_at = now(), version = version + 1
           where id = $1 and user_id = $2 returning ${TASK_COLUMNS}`,
          [id, userId, body.title ?? null],
        );
        return task ? json(task) : json({ error: { code: 'NOT_FOUND' } }, 404);
      });
    }
    if (request.method === 'DELETE') {
      return write(env, ctx, userId, async () => {
        await query(env, 'update tasks set deleted_at = now() where id = $1 and user_id = $2', [id, userId]);
        return new Response(null, { status: 204 });
      });
    }
  }
  return json({ error: { code: 'NOT_FOUND' } }, 404);
}

export default {
  async fetch(request, env, ctx) {
    try {
      return await handle(request, env, ctx);
    } catch (error) {
      return json({ error: { code: 'INTERNAL', message: String(error) } }, 500);
    }
  },
};
