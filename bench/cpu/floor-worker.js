/* global atob, crypto, fetch, Response, TextDecoder, TextEncoder, URL -- a Worker: workerd's globals */
/**
 * The "floor" for bench:cpu: a plain module Worker with no framework and no validation library
 * that makes the same round trips as the project's routes (one Upstash /pipeline POST, one Neon
 * /sql POST) and answers JSON of about the same size. It is not correct app logic: it only shows
 * what the I/O itself costs in CPU on workerd, so that the project's CPU can be read as a ratio.
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

/** One Upstash round trip: a fixed-window counter, the shape of a rate limit. */
async function countRequest(env, userId) {
  const key = `floor:rl:${userId}:${Math.floor(Date.now() / 60_000)}`;
  const res = await fetch(`${env.UPSTASH_REDIS_REST_URL}/pipeline`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify([
      ['INCR', key],
      ['EXPIRE', key, '60'],
    ]),
  });
  if (!res.ok) throw new Error(`upstash ${res.status}: ${await res.text()}`);
  return res.json();
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

async function handle(request, env) {
  const url = new URL(request.url);
  const path = url.pathname;
  if (path === '/health' || path === '/health/ready') return json({ status: 'ok' });

  const userId = await userIdFrom(request, env);
  if (!userId) return json({ error: { code: 'UNAUTHENTICATED' } }, 401);
  await countRequest(env, userId);

  if (path === '/api/v1/auth/me' && request.method === 'GET') {
    const [user] = await query(env, 'select id, email, full_name, created_at from users where id = $1', [userId]);
    return json(user);
  }
  if (path === '/api/v1/tasks' && request.method === 'GET') {
    const limit = Number(url.searchParams.get('limit') ?? 20);
    const rows = await query(
      env,
      `select ${TASK_COLUMNS} from tasks where user_id = $1 and deleted_at is null order by created_at desc limit $2`,
      [userId, limit],
    );
    return json({ data: rows, next_cursor: null });
  }
  if (path === '/api/v1/tasks' && request.method === 'POST') {
    const body = await request.json();
    const [task] = await query(
      env,
      // The project computes the next position key in SQL; a unique random key will do here.
      `insert into tasks (user_id, title, priority, position) values ($1, $2, $3, $4) returning ${TASK_COLUMNS}`,
      [userId, body.title, body.priority ?? 'medium', `z${crypto.randomUUID()}`],
    );
    return json(task, 201);
  }
  const match = /^\/api\/v1\/tasks\/([0-9a-f-]{36})$/.exec(path);
  if (match) {
    const id = match[1];
    if (request.method === 'GET') {
      const [task] = await query(env, `select ${TASK_COLUMNS} from tasks where id = $1 and user_id = $2`, [id, userId]);
      return task ? json(task) : json({ error: { code: 'NOT_FOUND' } }, 404);
    }
    if (request.method === 'PATCH') {
      const body = await request.json();
      const [task] = await query(
        env,
        `update tasks set title = coalesce($3, title), updated_at = now(), version = version + 1
         where id = $1 and user_id = $2 returning ${TASK_COLUMNS}`,
        [id, userId, body.title ?? null],
      );
      return task ? json(task) : json({ error: { code: 'NOT_FOUND' } }, 404);
    }
    if (request.method === 'DELETE') {
      await query(env, 'update tasks set deleted_at = now() where id = $1 and user_id = $2', [id, userId]);
      return new Response(null, { status: 204 });
    }
  }
  return json({ error: { code: 'NOT_FOUND' } }, 404);
}

export default {
  async fetch(request, env) {
    try {
      return await handle(request, env);
    } catch (error) {
      return json({ error: { code: 'INTERNAL', message: String(error) } }, 500);
    }
  },
};
