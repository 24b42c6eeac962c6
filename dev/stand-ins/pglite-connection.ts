import { EventEmitter } from 'node:events';
import type { PGlite } from '@electric-sql/pglite';
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser';

/**
 * pg's `connection` for a PGlite instance, in place of `@electric-sql/pglite/node-postgres`.
 *
 * That adapter hands pg messages already parsed by PGlite's own parser, which decodes every text
 * with a default `TextDecoder`: a value starting with U+FEFF loses it (PostgreSQL and pg keep it).
 * This one asks PGlite for the raw reply bytes (`execProtocolRaw`) and parses them with pg's own
 * parser (pg-protocol, `Buffer#toString`), so the stand-in hands back what PostgreSQL sent.
 * The rest follows the adapter: no startup exchange (PGlite is already one open session), one
 * queue so replies keep their order, and `end()` that leaves the shared instance open.
 */
export class PgliteConnection extends EventEmitter {
  readonly #db: PGlite;
  #queue: Promise<unknown>;
  readonly #parser = new Parser();
  #emitMessage = false;

  // Read by pg's Client.end(), which skips connection.end() without it.
  _connecting = false;
  // pg's Client.end() destroys the stream when a query is still active.
  readonly stream = { destroy: () => this.end() };
  parsedStatements = {};
  submittedNamedStatements = {};

  constructor(db: PGlite) {
    super();
    this.#db = db;
    this.#queue = db.waitReady;
    this.on('newListener', (event) => {
      if (event === 'message') this.#emitMessage = true;
    });
  }

  #send(message: Buffer): void {
    this.#queue = this.#queue
      .then(() => this.#db.execProtocolRaw(message))
      .then((reply) => {
        this.#parser.parse(Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength), (msg) => {
          if (this.#emitMessage) this.emit('message', msg);
          // pg expects an ErrorResponse as 'errorMessage'.
          this.emit(msg.name === 'error' ? 'errorMessage' : msg.name, msg);
        });
      })
      .catch((error: unknown) => {
        this.emit('error', error);
      });
  }

  async connect(): Promise<void> {
    this._connecting = true;
    await this.#db.waitReady;
    process.nextTick(() => this.emit('readyForQuery'));
  }

  // No TLS, no startup, no password, no cancel: PGlite is one session inside this process.
  requestSsl(): void {}
  startup(): void {}
  password(): void {}
  cancel(): void {}
  ref(): void {}
  unref(): void {}

  query(text: string): void {
    this.#send(serialize.query(text));
  }
  parse(query: Parameters<typeof serialize.parse>[0]): void {
    this.#send(serialize.parse(query));
  }
  bind(config: Parameters<typeof serialize.bind>[0]): void {
    this.#send(serialize.bind(config));
  }
  execute(config: Parameters<typeof serialize.execute>[0]): void {
    this.#send(serialize.execute(config));
  }
  describe(msg: Parameters<typeof serialize.describe>[0]): void {
    this.#send(serialize.describe(msg));
  }
  close(msg: Parameters<typeof serialize.close>[0]): void {
    this.#send(serialize.close(msg));
  }
  flush(): void {
    this.#send(serialize.flush());
  }
  sync(): void {
    this.#send(serialize.sync());
  }
  sendCopyFromChunk(chunk: Buffer): void {
    this.#send(serialize.copyData(chunk));
  }
  endCopyFrom(): void {
    this.#send(serialize.copyDone());
  }
  sendCopyFail(message: string): void {
    this.#send(serialize.copyFail(message));
  }

  end(): void {
    // Like a socket closing: pg waits for 'end'. The PGlite instance is ours and stays open.
    this.#queue = this.#queue.then(() => this.emit('end'));
    // The pool reuses this connection for its next client: the ended client's listeners go.
    for (const event of this.eventNames()) if (event !== 'newListener') this.removeAllListeners(event);
    this.#emitMessage = false;
  }
}
