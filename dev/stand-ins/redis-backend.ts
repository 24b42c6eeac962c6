/**
 * The contract between the Upstash REST front (upstash-rest.ts) and a Redis engine:
 * a real redis-server reached over TCP (redis-real.ts) or the in-memory engine
 * (redis-embedded/). Both must answer the same commands with the same replies, so
 * that a differential test can compare them byte for byte through the REST layer.
 */

/** A Redis error reply (`-ERR ...`, `-WRONGTYPE ...`). Carried as a value, never thrown. */
export class ReplyError {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

/**
 * A RESP2 reply as the REST layer needs it:
 * - `null`: nil bulk string or nil array;
 * - `number`: integer reply within ±2^53, `bigint` beyond;
 * - `Uint8Array`: bulk string, raw bytes (Upstash base64-encodes these);
 * - `StatusReply`: simple string (`+OK`, `+PONG`, `+string` from TYPE);
 * - `ReplyError`: error reply;
 * - arrays, nested.
 */
export type Reply = null | number | bigint | Uint8Array | StatusReply | ReplyError | Reply[];

export class StatusReply {
  readonly status: string;
  constructor(status: string) {
    this.status = status;
  }
}

/** A command as sent on the wire: name first, every argument as bytes. */
export type Command = Uint8Array[];

export interface RedisBackend {
  /** Human-readable description for the startup line, e.g. `redis-server 127.0.0.1:6379`. */
  readonly description: string;
  /**
   * Runs commands one after another, in order, not atomically (Upstash `/` and `/pipeline`).
   * Redis errors come back as ReplyError entries; it rejects only when the engine is unreachable.
   */
  pipeline(commands: Command[]): Promise<Reply[]>;
  /**
   * Runs commands atomically as MULTI ... EXEC (Upstash `/multi-exec`). Resolves to one reply per
   * command, or to a single ReplyError when Redis refuses the whole transaction (EXECABORT).
   */
  transaction(commands: Command[]): Promise<Reply[] | ReplyError>;
  /** Deletes every key (used by tests and `--flush`). */
  flushAll(): Promise<void>;
  close(): Promise<void>;
}
