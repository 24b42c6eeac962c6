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
    const replies = await scripts.run(redis, [command], 'pipeline');
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
 * @upstash/ratelimit's scripts start with `#!lua flags=allow-key-locking`, a flag only Upstash
 * knows; Redis 7 refuses the script. This strips the flag and keeps a map from the sha1 of the
 * original script (which the client computes and sends with EVALSHA) to the cleaned script, so
 * EVALSHA, SCRIPT LOAD and SCRIPT EXISTS keep working with the client's shas.
 */
export class ScriptRewriter {
  readonly #cleanShaByOriginal = new Map<string, string>();
  readonly #originalShaByClean = new Map<string, string>();

  /** Runs commands with their scripts rewritten, and the replies mapped back. */
  async run(redis: RedisBackend, commands: Command[], mode: 'pipeline' | 'transaction'): Promise<Reply[] | ReplyError> {
    const fixups: ((reply: Reply) => Reply)[] = [];
    const rewritten = commands.map((command) => this.#rewrite(command, fixups));
    const replies = mode === 'pipeline' ? await redis.pipeline(rewritten) : await redis.transaction(rewritten);
    if (replies instanceof ReplyError) return replies;
    return replies.map((reply, i) => this.#restoreShas(fixups[i] ? fixups[i](reply) : reply));
  }

  #rewrite(command: Command, fixups: ((reply: Reply) => Reply)[]): Command {
    const name = Buffer.from(command[0] ?? [])
      .toString('latin1')
      .toLowerCase();
    const second = command[1];
    const index = fixups.length;
    fixups.push((reply) => reply);
    if (second === undefined) return command;

    if (name === 'eval' || name === 'eval_ro') {
      const clean = this.#clean(second);
      return clean ? [command[0]!, clean, ...command.slice(2)] : command;
    }
    if (name === 'evalsha' || name === 'evalsha_ro') {
      const cleanSha = this.#cleanShaByOriginal.get(Buffer.from(second).toString('latin1').toLowerCase());
      return cleanSha ? [command[0]!, encoder.encode(cleanSha), ...command.slice(2)] : command;
    }
    if (name === 'script') {
      const sub = Buffer.from(second).toString('latin1').toLowerCase();
      if (sub === 'load' && command[2]) {
        const original = sha1(command[2]);
        const clean = this.#clean(command[2]);
        if (clean) {
          // Redis answers the sha of what it loaded; the client expects the sha of what it sent.
          fixups[index] = (reply) => (reply instanceof Uint8Array ? encoder.encode(original) : reply);
          return [command[0]!, second, clean];
        }
      }
      if (sub === 'exists') {
        return [
          command[0]!,
          second,
          ...command.slice(2).map((sha) => {
            const clean = this.#cleanShaByOriginal.get(Buffer.from(sha).toString('latin1').toLowerCase());
            return clean ? encoder.encode(clean) : sha;
          }),
        ];
      }
    }
    return command;
  }

  /** The cleaned script when it carries the Upstash-only flag, else null (sent untouched). */
  #clean(script: Uint8Array): Uint8Array | null {
    const text = Buffer.from(script).toString('utf8');
    const match = /^#!lua[ \t]+flags=([^\n]*)/.exec(text);
    if (!match) return null;
    const flags = match[1]!.split(',').map((f) => f.trim());
    if (!flags.includes(SHEBANG_FLAG_UPSTASH_ONLY)) return null;
    const kept = flags.filter((f) => f !== SHEBANG_FLAG_UPSTASH_ONLY && f !== '');
    // An empty first line keeps line numbers in Redis' error messages the same.
    const firstLine = kept.length ? `#!lua flags=${kept.join(',')}` : '';
    const cleaned = encoder.encode(firstLine + text.slice(match[0].length));
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
