import net from 'node:net';
import { ReplyError, StatusReply, type Command, type RedisBackend, type Reply } from './redis-backend.ts';

/**
 * A real redis-server reached over TCP with a minimal RESP2 client of our own. Client libraries
 * reshape replies by command name (ioredis turns HGETALL into an object and status replies into
 * bytes), and the REST layer must hand back exactly what Redis said, so this keeps every reply's
 * type and bytes. Commands of one call are written in one chunk, so a MULTI ... EXEC block never
 * interleaves with another request's commands on the shared connection.
 */
export async function createRealRedis(url: string): Promise<RedisBackend> {
  const { hostname, port } = new URL(url);
  const connection = new RespConnection(hostname || '127.0.0.1', Number(port || 6379));
  const [pong] = await connection.send([[bytes('PING')]]);
  if (!(pong instanceof StatusReply)) throw new Error(`unexpected PING reply: ${JSON.stringify(pong)}`);

  return {
    description: `redis-server ${hostname}:${port || '6379'}`,
    pipeline: (commands) => connection.send(commands),
    async transaction(commands) {
      const replies = await connection.send([[bytes('MULTI')], ...commands, [bytes('EXEC')]]);
      const exec = replies[replies.length - 1] ?? null;
      if (exec instanceof ReplyError) return exec;
      if (!Array.isArray(exec)) return new ReplyError('EXECABORT Transaction discarded because of previous errors.');
      return exec;
    },
    async flushAll() {
      await connection.send([[bytes('FLUSHALL')]]);
    },
    close() {
      connection.close();
      return Promise.resolve();
    },
  };
}

const bytes = (text: string) => Buffer.from(text, 'utf8');

interface Pending {
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

class RespConnection {
  readonly #host: string;
  readonly #port: number;
  #socket: net.Socket | null = null;
  #buffer: Buffer = Buffer.alloc(0);
  readonly #pending: Pending[] = [];
  #closed = false;

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
  }

  send(commands: Command[]): Promise<Reply[]> {
    if (this.#closed) return Promise.reject(new Error('connection closed'));
    const socket = this.#connect();
    const replies = commands.map(
      () => new Promise<Reply>((resolve, reject) => this.#pending.push({ resolve, reject })),
    );
    socket.write(Buffer.concat(commands.map(encodeCommand)));
    return Promise.all(replies);
  }

  close(): void {
    this.#closed = true;
    this.#socket?.destroy();
  }

  /** Connects lazily, and again after the server went away (its pending replies failed). */
  #connect(): net.Socket {
    if (this.#socket && !this.#socket.destroyed) return this.#socket;
    const socket = net.connect(this.#port, this.#host);
    socket.setNoDelay(true);
    this.#buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    const fail = (error: Error) => {
      for (const pending of this.#pending.splice(0)) pending.reject(error);
      socket.destroy();
      if (this.#socket === socket) this.#socket = null;
    };
    socket.on('error', (error) => fail(new Error(`redis ${this.#host}:${this.#port}: ${error.message}`)));
    socket.on('close', () => fail(new Error(`redis ${this.#host}:${this.#port}: connection closed`)));
    this.#socket = socket;
    return socket;
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    let offset = 0;
    for (;;) {
      const parsed = parseReply(this.#buffer, offset);
      if (!parsed) break;
      offset = parsed.next;
      this.#pending.shift()?.resolve(parsed.reply);
    }
    this.#buffer = this.#buffer.subarray(offset);
  }
}

function encodeCommand(command: Command): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${command.length}\r\n`)];
  for (const arg of command) parts.push(Buffer.from(`$${arg.length}\r\n`), Buffer.from(arg), Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

/** One RESP2 reply starting at offset, or null when the buffer does not hold all of it yet. */
function parseReply(buffer: Buffer, offset: number): { reply: Reply; next: number } | null {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd === -1) return null;
  const type = String.fromCharCode(buffer[offset]!);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
      return { reply: new StatusReply(line), next };
    case '-':
      return { reply: new ReplyError(line), next };
    case ':': {
      const big = BigInt(line);
      // As redis-backend.ts defines it: a number within ±2^53 (exact as a double), a bigint beyond.
      const safe = big <= 2n ** 53n && big >= -(2n ** 53n);
      return { reply: safe ? Number(big) : big, next };
    }
    case '$': {
      const length = Number(line);
      if (length < 0) return { reply: null, next };
      if (buffer.length < next + length + 2) return null;
      return { reply: new Uint8Array(buffer.subarray(next, next + length)), next: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { reply: null, next };
      const items: Reply[] = [];
      let cursor = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, cursor);
        if (!item) return null;
        items.push(item.reply);
        cursor = item.next;
      }
      return { reply: items, next: cursor };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}
