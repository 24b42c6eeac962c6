/**
 * The in-memory Redis 7.0 engine behind the RedisBackend interface, for machines without
 * redis-server. It implements only the commands edgetask sends (commands.ts, scripting.ts) and
 * refuses any other by name. Everything runs synchronously in-process, so a transaction is atomic
 * simply by not yielding between its commands.
 */

import { Buffer } from 'node:buffer';
import { ReplyError } from '../redis-backend.ts';
import type { Command, RedisBackend, Reply } from '../redis-backend.ts';
import { commands } from './commands.ts';
import { asBuffer, errorReply, latin1, lower } from './context.ts';
import type { CommandDef, ExecContext } from './context.ts';
import { Keyspace } from './keyspace.ts';
import { Scripting, scriptingCommands } from './scripting.ts';

const COMMANDS = new Map<string, CommandDef>([...commands, ...scriptingCommands].map((c) => [c.name, c]));

type Lookup = { cmd: CommandDef } | { error: string };

/**
 * What the engine answers for a command it does not implement, whether or not Redis has it: named,
 * so a new command in the Worker fails loudly on the embedded backend instead of being emulated
 * wrongly or silently. The real backend (redis-server) runs it.
 */
export function refusal(argv: Buffer[], fromScript = false): string {
  const name = [argv[0]!, ...(COMMANDS.get(lower(argv[0]!))?.subcommands && argv[1] ? [argv[1]] : [])]
    .map((b) => latin1(b.subarray(0, 64)).replace(/[\r\n]/g, ' '))
    .join(' ');
  return (
    `ERR unknown command '${name}'${fromScript ? ' called from script' : ''} (the embedded engine implements only ` +
    'the commands edgetask sends; see dev/stand-ins/redis-embedded/README.md)'
  );
}

/** lookupCommand + the arity check of processCommand, with Redis 7.0's error texts. */
function lookupCommand(argv: Buffer[]): Lookup {
  const cmd = find(argv);
  if (cmd === undefined) return { error: refusal(argv) };
  const argc = argv.length;
  if ((cmd.arity > 0 && cmd.arity !== argc) || argc < -cmd.arity) {
    return { error: `ERR wrong number of arguments for '${cmd.name}' command` };
  }
  return { cmd };
}

/** The command, or its subcommand when it has any and one is given. */
function find(argv: Buffer[]): CommandDef | undefined {
  const cmd = COMMANDS.get(lower(argv[0]!));
  if (cmd?.subcommands === undefined || argv.length < 2) return cmd;
  return cmd.subcommands[lower(argv[1]!)];
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
  const cmd = find(argv);
  if (cmd === undefined) return new ReplyError(refusal(argv, true));
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

  const checkOpen = (): void => {
    if (closed) throw new Error('embedded redis is closed');
  };

  return {
    description: 'embedded in-memory Redis 7.0 engine, the commands edgetask sends (fengari Lua)',
    pipeline(commands: Command[]): Promise<Reply[]> {
      return settle(() => {
        checkOpen();
        return commands.map(execute);
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
