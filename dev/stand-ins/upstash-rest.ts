import { createHash, timingSafeEqual } from 'node:crypto';
import { ReplyError, StatusReply, type Command, type RedisBackend, type Reply } from './redis-backend.ts';
import type { HttpAnswer } from './neon-http.ts';

/**
 * Upstash's Redis REST protocol as @upstash/redis and @upstash/ratelimit speak it:
 * `POST /` (one command), `POST /pipeline`, `POST /multi-exec`, and the path form
 * (`GET /get/key`). See docs/local-services.md.
 */

export type UpstashRoute =
  { kind: 'single' } | { kind: 'pipeline' } | { kind: 'multi-exec' } | { kind: 'path'; segments: string[] };

const encoder = new TextEncoder();

export function routeOf(pathname: string): UpstashRoute {
  const segments = pathname.split('/').filter((s) => s !== '');
  if (segments.length === 0) return { kind: 'single' };
  if (segments.length === 1 && segments[0] === 'pipeline') return { kind: 'pipeline' };
  if (segments.length === 1 && segments[0] === 'multi-exec') return { kind: 'multi-exec' };
  return { kind: 'path', segments: segments.map((s) => decodeURIComponent(s)) };
}

/** Bearer-token check in constant time: 401 like Upstash when missing or wrong. */
export function authorized(authorization: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
  if (given === undefined) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

export async function handleUpstash(
  redis: RedisBackend,
  scripts: ScriptRewriter,
  route: UpstashRoute,
  headers: Record<string, string | undefined>,
  rawBody: string,
  tally?: ScriptTally,
): Promise<HttpAnswer> {
  const base64 = (headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
  const encode = (reply: Reply) => encodeReply(reply, base64);

  if (route.kind === 'single' || route.kind === 'path') {
    let command: Command | null;
    if (route.kind === 'single') {
      command = parseCommand(parseJson(rawBody));
    } else {
      // The path form takes a request body, when there is one, as the last argument.
      const args: unknown[] = [...route.segments];
      if (rawBody !== '') args.push(rawBody);
      command = parseCommand(args);
    }
    if (command === null) return { status: 400, body: { error: 'ERR failed to parse command' } };
    const replies = await scripts.run(redis, [command], 'pipeline', tally);
    const reply = replies instanceof ReplyError ? replies : (replies[0] ?? null);
    if (reply instanceof ReplyError) return { status: 400, body: { error: reply.message } };
    return { status: 200, body: { result: encode(reply) } };
  }

  const parsed = parseJson(rawBody);
  const commands = Array.isArray(parsed) ? parsed.map(parseCommand) : null;
  if (commands === null || commands.length === 0 || commands.some((c) => c === null)) {
    return { status: 400, body: { error: 'ERR failed to parse pipeline request' } };
  }
  const replies = await scripts.run(
    redis,
    commands as Command[],
    route.kind === 'pipeline' ? 'pipeline' : 'transaction',
    tally,
  );
  if (replies instanceof ReplyError) return { status: 400, body: { error: replies.message } };
  return {
    status: 200,
    body: replies.map((reply) => (reply instanceof ReplyError ? { error: reply.message } : { result: encode(reply) })),
  };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** A command is a non-empty array of strings, numbers or booleans; anything else is refused. */
function parseCommand(value: unknown): Command | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  const command: Command = [];
  for (const arg of value) {
    if (typeof arg === 'string') command.push(encoder.encode(arg));
    else if (typeof arg === 'number' && Number.isFinite(arg)) command.push(encoder.encode(String(arg)));
    else if (typeof arg === 'boolean') command.push(encoder.encode(String(arg)));
    else return null;
  }
  return command;
}

/** Upstash-Encoding: base64 turns every string, at any depth, into base64; numbers and null stay. */
export function encodeReply(reply: Reply, base64: boolean): unknown {
  if (reply === null || typeof reply === 'number') return reply;
  if (typeof reply === 'bigint') return Number(reply);
  if (reply instanceof Uint8Array)
    return base64 ? Buffer.from(reply).toString('base64') : Buffer.from(reply).toString('utf8');
  if (reply instanceof StatusReply) return base64 ? Buffer.from(reply.status).toString('base64') : reply.status;
  if (reply instanceof ReplyError) return { error: reply.message };
  return reply.map((r) => encodeReply(r, base64));
}

const SHEBANG_FLAG_UPSTASH_ONLY = 'allow-key-locking';

/**
 * What Upstash enforces for a script with `allow-key-locking` (it locks only the keys in KEYS;
 * docs: https://upstash.com/docs/redis/features/key-locking), as Lua run before the script's own
 * code: it refuses a key not in KEYS, or a database-wide command, with an error reply (raised for
 * redis.call, returned as an error table by redis.pcall). One line, so the script's own line
 * numbers hold. The error texts are ours (Upstash does not document its own); the shape, a Redis
 * error reply, is Upstash's.
 *
 * - `__keylock_check(...)` returns its arguments when the command may run, else raises;
 * - `__keylock_call`, `__keylock_pcall`: checked redis.call and redis.pcall.
 *
 * Which arguments are keys: every one for DEL, EXISTS, UNLINK, TOUCH, MGET; every other one for
 * MSET and MSETNX; none for PING, TIME, ECHO; the first for every other command. SCAN, KEYS,
 * FLUSHDB, FLUSHALL, DBSIZE and RANDOMKEY need the whole database. A number is compared as Redis
 * passes it on (`%.17g`).
 */
const KEY_LOCKING_PRELUDE = [
  'local __keylock_check, __keylock_call, __keylock_pcall',
  'do',
  'local rcall, rpcall, type, select, format, lower, error = redis.call, redis.pcall, type, select, string.format, string.lower, error',
  'local declared = {}',
  'for i = 1, #KEYS do declared[KEYS[i]] = true end',
  'local wide = {scan = true, keys = true, flushdb = true, flushall = true, dbsize = true, randomkey = true}',
  'local every = {del = true, exists = true, unlink = true, touch = true, mget = true}',
  'local pairwise = {mset = true, msetnx = true}',
  'local none = {ping = true, time = true, echo = true}',
  'local function refusal(...)',
  'local name = ...',
  "if type(name) ~= 'string' then return nil end",
  'local command = lower(name)',
  'if wide[command] then return format("ERR \'%s\' refused: a script with allow-key-locking may not run database-wide commands", command) end',
  'if none[command] then return nil end',
  'local last, step = 2, 1',
  "if every[command] then last = select('#', ...) elseif pairwise[command] then last, step = select('#', ...), 2 end",
  'for i = 2, last, step do',
  'local key = (select(i, ...))',
  "if type(key) == 'number' then key = format('%.17g', key) end",
  "if type(key) == 'string' and not declared[key] then return format(\"ERR '%s' on key '%s' refused: a script with allow-key-locking may touch only the keys passed in KEYS\", command, key) end",
  'end',
  'return nil',
  'end',
  '__keylock_check = function(...) local e = refusal(...) if e then error({err = e}) end return ... end',
  '__keylock_call = function(...) return rcall(__keylock_check(...)) end',
  '__keylock_pcall = function(...) local e = refusal(...) if e then return {err = e} end return rpcall(...) end',
  'end',
].join(' ');

const LONG_BRACKET = /\[(=*)\[/y;
const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/y;
const REDIS_CALL_REST = /\s*\.\s*(p?call)(?![A-Za-z0-9_])(\s*\()?/y;

/**
 * Sends the script's own calls through the checks: `redis.call(ARGS)` becomes
 * `redis.call(__keylock_check(ARGS))`, so Redis still sees the command called from the script's
 * line and its errors name that line; `redis.pcall` and any other use of `redis.call` (passed as a
 * value, as in `pcall(redis.call, ...)`, or called with a string or table literal) become the
 * checked wrappers. It follows Lua's strings, long brackets and comments, and nothing more: a
 * textual rewrite, good enough for a stand-in, that misses `redis['call']` or `redis` under another
 * name.
 */
function routeCallsThroughChecks(body: string): string {
  let out = '';
  let i = 0;
  /** Per open parenthesis: whether its closing one also closes a `__keylock_check(`. */
  const closesCheck: boolean[] = [];
  const skipLong = (from: number, equals: string): number => {
    const end = body.indexOf(`]${equals}]`, from);
    return end === -1 ? body.length : end + equals.length + 2;
  };
  while (i < body.length) {
    const c = body[i]!;
    let next = i + 1;
    if (body.startsWith('--', i)) {
      LONG_BRACKET.lastIndex = i + 2;
      const long = LONG_BRACKET.exec(body);
      const newline = body.indexOf('\n', i);
      next = long ? skipLong(LONG_BRACKET.lastIndex, long[1]!) : newline === -1 ? body.length : newline;
    } else if (c === '[') {
      LONG_BRACKET.lastIndex = i;
      const long = LONG_BRACKET.exec(body);
      if (long) next = skipLong(LONG_BRACKET.lastIndex, long[1]!);
    } else if (c === '"' || c === "'") {
      while (next < body.length && body[next] !== c && body[next] !== '\n') next += body[next] === '\\' ? 2 : 1;
      next = Math.min(next + 1, body.length);
    } else if (c === '(') {
      closesCheck.push(false);
    } else if (c === ')') {
      out += closesCheck.pop() ? '))' : ')';
      i = next;
      continue;
    } else if (/[A-Za-z_]/.test(c)) {
      IDENTIFIER.lastIndex = i;
      const word = IDENTIFIER.exec(body)![0];
      next = i + word.length;
      REDIS_CALL_REST.lastIndex = next;
      const call = word === 'redis' && !/[.:]\s*$/.test(out) ? REDIS_CALL_REST.exec(body) : null;
      if (call) {
        i = REDIS_CALL_REST.lastIndex;
        if (call[1] === 'call' && call[2]) {
          out += 'redis.call(__keylock_check(';
          closesCheck.push(true);
        } else {
          out += `__keylock_${call[1]}${call[2] ?? ''}`;
          if (call[2]) closesCheck.push(false);
        }
        continue;
      }
    }
    out += body.slice(i, next);
    i = next;
  }
  return out;
}

/**
 * Errors of a script command Redis refused before running the script: it took no lock and does not
 * count. Errors raised while running end in ` script: <sha>, on @user_script:<line>.` and do count,
 * even when they begin the same way (INCR of a non-integer inside the script).
 */
const DID_NOT_RUN = new RegExp(
  [
    '^NOSCRIPT ',
    '^ERR Error compiling script ',
    "^ERR Number of keys can't be",
    "^ERR wrong number of arguments for '",
    '^ERR value is not an integer or out of range$', // numkeys
    "^ERR unknown command '(eval|evalsha)(_ro)?'",
    '^ERR Unknown lua shebang option',
    '^ERR Unexpected (engine|flag) in script shebang',
    '^ERR Invalid (engine in )?script shebang',
  ].join('|'),
  'i',
);

/** Per request: scripts that ran, and those Upstash runs under the database's global lock. */
export interface ScriptTally {
  scripts: number;
  globalLockScripts: number;
}

/** What #rewrite found in one command: its rewritten form, the reply fix-up, and whether it runs a script. */
interface Rewritten {
  command: Command;
  fixup?: (reply: Reply) => Reply;
  /** EVAL/EVALSHA(_RO): whether the script carries allow-key-locking. */
  script?: 'flagged' | 'unflagged';
}

/**
 * @upstash/ratelimit's scripts start with `#!lua flags=allow-key-locking`, a flag only Upstash
 * knows; Redis 7 refuses the script. This strips the flag and keeps a map from the sha1 of the
 * original script (which the client computes and sends with EVALSHA) to the cleaned script, so
 * EVALSHA, SCRIPT LOAD and SCRIPT EXISTS keep working with the client's shas. The cleaned script
 * enforces what Upstash enforces for the flag (KEY_LOCKING_PRELUDE), on both backends.
 *
 * A sha it has a cleaned script for is a flagged script, so a request can count the
 * scripts Upstash would run under its global lock: those without the flag, and every script in a
 * MULTI/EXEC transaction.
 */
export class ScriptRewriter {
  readonly #cleanShaByOriginal = new Map<string, string>();
  readonly #originalShaByClean = new Map<string, string>();

  /** Runs commands with their scripts rewritten, and the replies mapped back; counts scripts in `tally`. */
  async run(
    redis: RedisBackend,
    commands: Command[],
    mode: 'pipeline' | 'transaction',
    tally?: ScriptTally,
  ): Promise<Reply[] | ReplyError> {
    const rewritten = commands.map((command) => this.#rewrite(command));
    const sent = rewritten.map((r) => r.command);
    const replies = mode === 'pipeline' ? await redis.pipeline(sent) : await redis.transaction(sent);
    if (replies instanceof ReplyError) return replies; // EXECABORT: nothing ran
    return replies.map((reply, i) => {
      const { fixup, script } = rewritten[i]!;
      if (tally && script && !(reply instanceof ReplyError && DID_NOT_RUN.test(reply.message))) {
        tally.scripts++;
        if (script === 'unflagged' || mode === 'transaction') tally.globalLockScripts++;
      }
      return this.#restoreShas(fixup ? fixup(reply) : reply);
    });
  }

  #rewrite(command: Command): Rewritten {
    const name = Buffer.from(command[0] ?? [])
      .toString('latin1')
      .toLowerCase();
    const second = command[1];
    if (second === undefined) return { command };

    if (name === 'eval' || name === 'eval_ro') {
      const clean = this.#clean(second);
      return clean
        ? { command: [command[0]!, clean, ...command.slice(2)], script: 'flagged' }
        : { command, script: 'unflagged' };
    }
    if (name === 'evalsha' || name === 'evalsha_ro') {
      const sha = Buffer.from(second).toString('latin1').toLowerCase();
      const cleanSha = this.#cleanShaByOriginal.get(sha);
      // A flagged script is one #clean rewrote; a sha it never saw can only be an unflagged script,
      // since Redis never accepted a flagged one under its own sha. (A redis-server kept between
      // stand-in runs may know scripts we do not.)
      const script = cleanSha ? 'flagged' : 'unflagged';
      return cleanSha
        ? { command: [command[0]!, encoder.encode(cleanSha), ...command.slice(2)], script }
        : { command, script };
    }
    if (name === 'script') {
      const sub = Buffer.from(second).toString('latin1').toLowerCase();
      if (sub === 'load' && command[2]) {
        const original = sha1(command[2]);
        const clean = this.#clean(command[2]);
        if (!clean) return { command };
        // Redis answers the sha of what it loaded; the client expects the sha of what it sent.
        return {
          command: [command[0]!, second, clean],
          fixup: (reply) => (reply instanceof Uint8Array ? encoder.encode(original) : reply),
        };
      }
      if (sub === 'exists') {
        return {
          command: [
            command[0]!,
            second,
            ...command.slice(2).map((sha) => {
              const clean = this.#cleanShaByOriginal.get(Buffer.from(sha).toString('latin1').toLowerCase());
              return clean ? encoder.encode(clean) : sha;
            }),
          ],
        };
      }
    }
    return { command };
  }

  /** The cleaned script when it carries the Upstash-only flag, else null (sent untouched). */
  #clean(script: Uint8Array): Uint8Array | null {
    const text = Buffer.from(script).toString('utf8');
    const match = /^#!lua[ \t]+flags=([^\n]*)/.exec(text);
    if (!match) return null;
    const flags = match[1]!.split(',').map((f) => f.trim());
    if (!flags.includes(SHEBANG_FLAG_UPSTASH_ONLY)) return null;
    const kept = flags.filter((f) => f !== SHEBANG_FLAG_UPSTASH_ONLY && f !== '');
    const rest = routeCallsThroughChecks(text.slice(match[0].length));
    // The prelude takes the shebang's line, or, when other flags keep the shebang, starts the
    // second line: the script's own lines keep their numbers in Redis' error messages.
    const cleaned = encoder.encode(
      kept.length
        ? `#!lua flags=${kept.join(',')}\n${KEY_LOCKING_PRELUDE} ${rest.replace(/^\n/, '')}`
        : `${KEY_LOCKING_PRELUDE}${rest}`,
    );
    const originalSha = sha1(script);
    const cleanSha = sha1(cleaned);
    this.#cleanShaByOriginal.set(originalSha, cleanSha);
    this.#originalShaByClean.set(cleanSha, originalSha);
    return cleaned;
  }

  /** Redis names the script's sha in error messages: show the client's sha, not ours. */
  #restoreShas(reply: Reply): Reply {
    if (!(reply instanceof ReplyError) || this.#originalShaByClean.size === 0) return reply;
    const message = reply.message.replace(/\b[0-9a-f]{40}\b/g, (sha) => this.#originalShaByClean.get(sha) ?? sha);
    return message === reply.message ? reply : new ReplyError(message);
  }
}

function sha1(data: Uint8Array | string): string {
  return createHash('sha1').update(data).digest('hex');
}
