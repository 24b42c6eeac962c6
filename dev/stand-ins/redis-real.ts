import { Redis } from 'ioredis';
import { ReplyError, type Command, type RedisBackend, type Reply } from './redis-backend.ts';

/** A real redis-server reached over TCP. Replies keep their raw bytes (callBuffer). */
export async function createRealRedis(url: string): Promise<RedisBackend> {
  const parsed = new URL(url);
  const client = new Redis(url, {
    lazyConnect: true,
    // Fail fast when the server is gone instead of queueing: the REST caller sees a 5xx at once.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
  client.on('error', () => {});
  await client.connect();

  return {
    description: `redis-server ${parsed.hostname}:${parsed.port || '6379'}`,
    async pipeline(commands) {
      const pipeline = client.pipeline();
      for (const [name, ...args] of commands) pipeline.callBuffer(Buffer.from(name!).toString('latin1'), ...args.map((a) => Buffer.from(a)));
      const results = (await pipeline.exec()) ?? [];
      return results.map(([error, value]) => toReply(error, value));
    },
    async transaction(commands) {
      const multi = client.multi();
      for (const [name, ...args] of commands) multi.callBuffer(Buffer.from(name!).toString('latin1'), ...args.map((a) => Buffer.from(a)));
      try {
        const results = (await multi.exec()) ?? [];
        return results.map(([error, value]) => toReply(error, value));
      } catch (error) {
        if (isReplyError(error)) return new ReplyError(error.message);
        throw error;
      }
    },
    async flushAll() {
      await client.flushall();
    },
    async close() {
      client.disconnect();
    },
  };
}

function toReply(error: Error | null, value: unknown): Reply {
  if (error) {
    if (isReplyError(error)) return new ReplyError(error.message);
    throw error;
  }
  return convert(value);
}

function convert(value: unknown): Reply {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'bigint') return value;
  if (Buffer.isBuffer(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return new TextEncoder().encode(value);
  if (isReplyError(value)) return new ReplyError(value.message);
  if (Array.isArray(value)) return value.map(convert);
  throw new Error(`unexpected reply from redis: ${typeof value}`);
}

/** ioredis' reply errors come from its RESP decoder under several classes; all are named ReplyError. */
function isReplyError(value: unknown): value is Error {
  return value instanceof Error && value.name === 'ReplyError';
}
