/**
 * The in-memory Redis 7.0 engine behind the RedisBackend interface, for machines without
 * redis-server. Everything runs synchronously in-process, so a transaction is atomic simply by
 * not yielding between its commands.
 */

import { Buffer } from 'node:buffer';
import { ReplyError, StatusReply } from '../redis-backend.ts';
import type { Command, RedisBackend, Reply } from '../redis-backend.ts';
import { collectionCommands } from './commands-collections.ts';
import { keyCommands } from './commands-keys.ts';
import { stringCommands } from './commands-strings.ts';
import { asBuffer, errorReply } from './context.ts';
import type { CommandDef, ExecContext } from './context.ts';
import { Keyspace } from './keyspace.ts';
import { Scripting, scriptingCommands } from './scripting.ts';

const COMMANDS = new Map<string, CommandDef>(
  [...keyCommands, ...stringCommands, ...collectionCommands, ...scriptingCommands].map((c) => [c.name, c]),
);

type Lookup = { cmd: CommandDef } | { error: string };

/** Up to the first NUL, like "%s" on a C string. */
function cstr(b: Buffer): Buffer {
  const nul = b.indexOf(0);
  return nul === -1 ? b : b.subarray(0, nul);
}

/** processCommand's rejection text, byte-exact (rejectCommandFormat maps \r and \n to spaces). */
function rejection(text: Buffer): string {
  return Buffer.from(text.map((c) => (c === 0x0d || c === 0x0a ? 0x20 : c))).toString('utf8');
}

/** lookupCommand + the arity check of processCommand, with Redis 7.0's error texts. */
function lookupCommand(argv: Buffer[]): Lookup {
  const name = argv[0]!.toString('latin1').toLowerCase();
  let cmd = COMMANDS.get(name);
  if (cmd !== undefined && cmd.subcommands !== undefined && argv.length >= 2) {
    const sub = cmd.subcommands[argv[1]!.toString('latin1').toLowerCase()];
    if (sub === undefined) {
      const text = Buffer.concat([
        Buffer.from("ERR unknown subcommand '"),
        cstr(argv[1]!).subarray(0, 128),
        Buffer.from(`'. Try ${name.toUpperCase()} HELP.`),
      ]);
      return { error: rejection(text) };
    }
    cmd = sub;
  }
  if (cmd === undefined) {
    const parts: Buffer[] = [Buffer.from("ERR unknown command '"), cstr(argv[0]!).subarray(0, 128)];
    parts.push(Buffer.from("', with args beginning with: "));
    let args = 0;
    for (let i = 1; i < argv.length && args < 128; i++) {
      const a = cstr(argv[i]!).subarray(0, 128 - args);
      parts.push(Buffer.from("'"), a, Buffer.from("' "));
      args += a.length + 3;
    }
    return { error: rejection(Buffer.concat(parts)) };
  }
  const argc = argv.length;
  if ((cmd.arity > 0 && cmd.arity !== argc) || argc < -cmd.arity) {
    return { error: `ERR wrong number of arguments for '${cmd.name}' command` };
  }
  return { cmd };
}

function run(ctx: ExecContext, cmd: CommandDef, argv: Buffer[]): Reply {
  try {
    return cmd.run!(ctx, argv);
  } catch (e) {
    return errorReply(e);
  }
}

/** redis.call's path (scriptCall): its own wording for lookup failures, then the script's rules. */
function callFromScript(ctx: ExecContext, argv: Buffer[]): Reply {
  const name = argv[0]!.toString('latin1').toLowerCase();
  let cmd = COMMANDS.get(name);
  if (cmd?.subcommands !== undefined) {
    cmd = argv.length >= 2 ? cmd.subcommands[argv[1]!.toString('latin1').toLowerCase()] : cmd;
  }
  if (cmd === undefined) return new ReplyError('ERR Unknown Redis command called from script');
  const argc = argv.length;
  if ((cmd.arity > 0 && cmd.arity !== argc) || argc < -cmd.arity) {
    return new ReplyError('ERR Wrong number of args calling Redis command from script');
  }
  if (cmd.noscript || cmd.run === undefined) return new ReplyError('ERR This Redis command is not allowed from script');
  if (cmd.write && ctx.script?.readOnly) {
    return new ReplyError('ERR Write commands are not allowed from read-only scripts.');
  }
  return run(ctx, cmd, argv);
}

export interface EmbeddedRedisOptions {
  /** Clock in ms since the epoch; tests inject one to drive expiry. */
  now?: () => number;
}

export function createEmbeddedRedis(options: EmbeddedRedisOptions = {}): RedisBackend {
  const now = options.now ?? (() => Date.now());
  const ks = new Keyspace(now);
  const scripting = new Scripting(callFromScript, (name) => COMMANDS.has(name));
  const ctx: ExecContext = { ks, now, scripting, script: undefined };
  let closed = false;

  const execute = (command: Command): Reply => {
    const argv = command.map(asBuffer);
    if (argv.length === 0) return new ReplyError('ERR empty command');
    const found = lookupCommand(argv);
    if ('error' in found) return new ReplyError(found.error);
    return run(ctx, found.cmd, argv);
  };

  /**
   * MULTI/EXEC/DISCARD sent inside one pipeline behave as on a single Redis connection; WATCH is
   * accepted but, with nothing able to interleave, it can never fail an EXEC.
   */
  const runPipeline = (commands: Command[]): Reply[] => {
    const replies: Reply[] = [];
    let queue: Buffer[][] | undefined;
    let dirty = false;
    for (const command of commands) {
      const argv = command.map(asBuffer);
      const name = argv[0]?.toString('latin1').toLowerCase();
      if (name === 'multi' || name === 'exec' || name === 'discard' || name === 'watch' || name === 'unwatch') {
        const arity = name === 'watch' ? -2 : 1;
        if ((arity > 0 && argv.length !== arity) || argv.length < -arity) {
          replies.push(new ReplyError(`ERR wrong number of arguments for '${name}' command`));
          if (queue !== undefined) dirty = true;
          continue;
        }
        if (name === 'multi') {
          if (queue !== undefined) replies.push(new ReplyError('ERR MULTI calls can not be nested'));
          else {
            queue = [];
            dirty = false;
            replies.push(new StatusReply('OK'));
          }
        } else if (name === 'exec' || name === 'discard') {
          if (queue === undefined) replies.push(new ReplyError(`ERR ${name.toUpperCase()} without MULTI`));
          else if (name === 'discard') replies.push(new StatusReply('OK'));
          else replies.push(dirty ? EXECABORT : queue.map(execute));
          queue = undefined;
        } else if (name === 'watch' && queue !== undefined) {
          replies.push(new ReplyError('ERR WATCH inside MULTI is not allowed'));
        } else replies.push(new StatusReply('OK'));
        continue;
      }
      if (queue === undefined) {
        replies.push(execute(command));
        continue;
      }
      const found = argv.length === 0 ? { error: 'ERR empty command' } : lookupCommand(argv);
      if ('error' in found) {
        dirty = true;
        replies.push(new ReplyError(found.error));
      } else {
        queue.push(argv);
        replies.push(new StatusReply('QUEUED'));
      }
    }
    return replies;
  };

  const checkOpen = (): void => {
    if (closed) throw new Error('embedded redis is closed');
  };

  return {
    description: 'embedded in-memory Redis 7.0 emulation (fengari Lua)',
    pipeline(commands: Command[]): Promise<Reply[]> {
      return settle(() => {
        checkOpen();
        return runPipeline(commands);
      });
    },
    transaction(commands: Command[]): Promise<Reply[] | ReplyError> {
      return settle(() => {
        checkOpen();
        const argvs = commands.map((c) => c.map(asBuffer));
        for (const argv of argvs) {
          if (argv.length === 0 || 'error' in lookupCommand(argv)) return EXECABORT;
        }
        return argvs.map((argv) => execute(argv));
      });
    },
    flushAll(): Promise<void> {
      return settle(() => {
        checkOpen();
        ks.clear();
      });
    },
    close(): Promise<void> {
      closed = true;
      return Promise.resolve();
    },
  };
}

/**
 * Answers on a later macrotask, as a server across a socket would (so concurrent HTTP requests
 * overlap as they do against redis-server), then runs the whole batch synchronously so nothing
 * interleaves with it. Callbacks run in call order, so batches keep their arrival order.
 */
function settle<T>(fn: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    setImmediate(() => {
      try {
        resolve(fn());
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}

const EXECABORT = new ReplyError('EXECABORT Transaction discarded because of previous errors.');
